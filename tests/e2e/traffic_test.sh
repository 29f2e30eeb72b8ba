#!/usr/bin/env bash
# End-to-end traffic routing scenarios: the real canaryd binary against the kube-emulator
# binary, driven and checked with the real kubectl. Each scenario starts its own processes.
#   traffic_test.sh <scenario> <canaryd> <kube-emulator> <source dir> [emulator flags...]
# Scenarios:
#   nginx            a full rollout through the canary Ingress, checked at every step
#   nginx-abort      abort (weight 0 before any scaling), retry, promote
#   gateway          a full rollout through the HTTPRoute, checked at every step
#   gateway-abort    abort (weight 0 before any scaling), retry, promote
#   nginx-unready    a canary with no available pod gets no traffic
#   foreign-ingress  an Ingress of the canary Ingress's name owned by something else (once
#                    it is gone, the Rollout settles by itself)
#   nginx-invalid    an Ingress with no path to stableService, a missing stable Ingress
#                    created later (before and mid-rollout): the Rollout settles by itself
#   gateway-invalid  an HTTPRoute with no backendRef to stableService, a missing HTTPRoute
#                    created later: the Rollout settles by itself
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
scenario_args "$@"
# An InvalidSpec caused by an Ingress or HTTPRoute (which canaryd does not watch) is looked
# at again after this delay: short here, so that fixing the object settles the Rollout soon.
export CANARYD_INVALID_SPEC_REQUEUE=2s
data="$src/tests/e2e/testdata/traffic"
canary_ingress=web-web-canary
nginx_prefix=nginx.ingress.kubernetes.io/

# ---- what kubectl sees ----

# Views of the objects kubectl prints as JSON: view.py <view> [args] < object or log.
cat >"$work/view.py" <<'EOF'
import json
import sys

view, args = sys.argv[1], sys.argv[2:]
doc = json.load(sys.stdin)


def annotations(o):
    return o["metadata"].get("annotations", {})


if view == "nginx-annotations":
    # The nginx annotations, sorted, without the prefix: "canary=true canary-weight=10 ...".
    p = "nginx.ingress.kubernetes.io/"
    print(" ".join(f"{k[len(p):]}={v}" for k, v in sorted(annotations(doc).items())
                   if k.startswith(p)))
elif view == "annotation":
    print(annotations(doc).get(args[0], "<absent>"))
elif view == "ingress-spec":
    # Class, TLS, every path with its backend, and the owners.
    s = doc["spec"]
    paths = []
    for r in s.get("rules", []):
        for p in r.get("http", {}).get("paths", []):
            svc = p["backend"]["service"]
            port = svc["port"].get("number", svc["port"].get("name"))
            paths.append(f"{r.get('host', '*')}{p['path']}({p['pathType']})->{svc['name']}:{port}")
    tls = ";".join(",".join(t.get("hosts", [])) + "/" + t.get("secretName", "")
                   for t in s.get("tls", []))
    owners = ",".join(f"{r['kind']}/{r['name']}/controller={r.get('controller', False)}"
                      for r in doc["metadata"].get("ownerReferences", []))
    print(f"class={s.get('ingressClassName', '')} tls={tls} paths={' '.join(paths)} owners={owners}")
elif view == "route-rules":
    # "name/paths[header matches]->backend:port@weight,... | ..." (name "-" when unnamed).
    out = []
    for r in doc["spec"]["rules"]:
        matches = r.get("matches", [])
        headers = ",".join(f"{h['name']}:{h.get('type', 'Exact')}={h['value']}"
                           for m in matches for h in m.get("headers", []))
        paths = ",".join(m["path"]["value"] for m in matches if "path" in m)
        refs = ",".join(f"{b['name']}:{b.get('port')}" + (f"@{b['weight']}" if "weight" in b else "")
                        for b in r.get("backendRefs", []))
        out.append(f"{r.get('name', '-')}{paths}[{headers}]->{refs}")
    print(" | ".join(out))
elif view == "weight-sum":
    # The sum of the backendRef weights of the rule named args[0] (Gateway API's default is 1).
    rule = [r for r in doc["spec"]["rules"] if r.get("name") == args[0]][0]
    print(sum(b.get("weight", 1) for b in rule["backendRefs"]))
elif view == "request-count":
    print(len(doc["requests"]))
elif view == "request-order":
    # args: mark, "verb resource name" twice. "before" when, among the requests after the
    # mark, the first successful request like the first came before the first like the second.
    log = doc["requests"][int(args[0]):]

    def first(spec):
        for i, r in enumerate(log):
            if [r["verb"], r["resource"], r["name"]] == spec.split() and \
                    r["subresource"] == "" and r["code"] < 300:
                return i
        return None

    a, b = first(args[1]), first(args[2])
    if a is None or b is None:
        print(f"missing: {args[1]}={a} {args[2]}={b}")
    elif a < b:
        print("before")
    else:
        print(f"after: {args[1]} at {a}, {args[2]} at {b}")
EOF

# view <view> [args] -- <kubectl args>: kubectl's JSON through view.py.
view() {
  local v=() out
  while [ "$1" != "--" ]; do
    v+=("$1")
    shift
  done
  shift
  out=$(k "$@")
  python3 "$work/view.py" "${v[@]}" <<<"$out"
}

nginx_annotations() { view nginx-annotations -- get ingress "$1" -n "$ns" -o json; }
# annotation <resource> <name> <key>
annotation() { view annotation "$3" -- get "$1" "$2" -n "$ns" -o json; }
ingress_spec() { view ingress-spec -- get ingress "$1" -n "$ns" -o json; }
route_rules() { view route-rules -- get httproute web -n "$ns" -o json; }
# Gateway API weights are relative; canaryd keeps those of a managed rule summing to 100.
main_weight_sum() { view weight-sum main -- get httproute web -n "$ns" -o json; }

# "yes" when the Rollout is Degraded with an InvalidSpec condition whose message contains $1.
invalid_spec_naming() {
  local out
  out=$(field '.status.phase}|{.status.conditions[?(@.type=="InvalidSpec")].status}|{.status.conditions[?(@.type=="InvalidSpec")].message')
  if [[ "$out" == "Degraded|True|"*"$1"* ]]; then echo yes; else echo "no: $out"; fi
}

# The names of the objects of a resource in the namespace, each followed by a space.
names() { k get "$1" -n "$ns" -o jsonpath='{range .items[*]}{.metadata.name}{" "}{end}'; }
resource_version() { k get "$1" "$2" -n "$ns" -o jsonpath='{.metadata.resourceVersion}'; }

# The request log of the emulator (GET /_emulator/requests), canaryd's requests only.
# request_mark: how many there are so far. request_order <mark> <verb resource name>
# <verb resource name>: "before" when the first happened before the second after the mark.
request_mark() { view request-count -- get --raw '/_emulator/requests?userAgent=canaryd'; }
request_order() { view request-order "$@" -- get --raw '/_emulator/requests?userAgent=canaryd'; }

# ---- set-up ----

# Applies the CRDs, the namespace and Services, the given fixtures, and the Rollout with
# the `sed` expressions given after `--`.
setup() {
  k_ok "customresourcedefinition.apiextensions.k8s.io/rollouts.canaryd.io" apply -f "$src/crds/" >/dev/null
  k_ok "condition met" wait --for=condition=Established crd/rollouts.canaryd.io --timeout=20s >/dev/null
  # The emulator serves HTTPRoute (gateway.networking.k8s.io/v1) from the start.
  k_ok "httproutes" api-resources --api-group=gateway.networking.k8s.io -o name >/dev/null
  k_ok "namespace/e2e" apply -f "$data/common.yaml" >/dev/null
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    k_ok "created" apply -f "$data/$1" >/dev/null
    shift
  done
  [ $# -gt 0 ] && shift
  sed -e '' "$@" "$data/rollout.yaml" >"$work/rollout.yaml"
  k_ok "rollout.canaryd.io/web" apply -f "$work/rollout.yaml" >/dev/null
}

gateway_routing='s|^        nginx: .*|        gatewayAPI: {httpRoute: web}|'

# The first revision: stable at full scale, no steps, and no router write (weight 0 with no
# canary). Sets stable_hash.
first_stable() {
  poll "first revision Healthy at full scale, no steps" 30 "Healthy 5 0" state
  stable_hash=$(field .status.stableRS)
  [ -n "$stable_hash" ] || fail "status.stableRS is empty"
  poll "stable ReplicaSet at 4 replicas" 20 "4/4" rs_replicas "$stable_hash"
  poll "stable Service pinned to the stable hash" 20 "$stable_hash" svc_hash web-stable
}

# A new revision walked to step 1 (setWeight 10, then the indefinite pause). Sets canary_hash.
to_step1() {
  set_image "$1"
  poll "setWeight 10, then the indefinite pause" 30 "Paused 1 10" state
  canary_hash=$(field .status.currentPodHash)
  [ "$canary_hash" != "$stable_hash" ] || fail "no new pod hash"
  # With a router, the canary follows the weight (ceil(4 x 10%) = 1) and stable stays full.
  poll "canary ReplicaSet at 1" 20 "1/1" rs_replicas "$canary_hash"
  poll "stable ReplicaSet stays at 4" 20 "4/4" rs_replicas "$stable_hash"
  poll "canary Service pinned to the canary" 20 "$canary_hash" svc_hash web-canary
}

# From step 1 through the header route and setWeight 40 to the pause at step 4.
to_step4() {
  promote
  poll "header route, setWeight 40, the indefinite pause" 30 "Paused 4 40" state
  poll "canary ReplicaSet at 2" 20 "2/2" rs_replicas "$canary_hash"
  poll "stable ReplicaSet still at 4" 20 "4/4" rs_replicas "$stable_hash"
}

# ---- nginx ----

nginx_step1() {
  poll "canary Ingress: canary, weight 10, prefixed additional annotation" 20 \
    "canary=true canary-weight=10 proxy-read-timeout=30" nginx_annotations "$canary_ingress"
  poll "canary Ingress: class, TLS, only the path to web-stable rewritten to web-canary, owned by the Rollout" 10 \
    "class=nginx tls=web.example.com/web-tls paths=web.example.com/(Prefix)->web-canary:80 owners=Rollout/web/controller=True" \
    ingress_spec "$canary_ingress"
  poll "stable Ingress untouched" 10 \
    "class=nginx tls=web.example.com/web-tls paths=web.example.com/(Prefix)->web-stable:80 web.example.com/api(Prefix)->api:8080 owners=" \
    ingress_spec web
  poll "stable Ingress annotations untouched" 10 "proxy-body-size=8m" nginx_annotations web
  events "one WeightChanged event 0 -> 10" 1 "Canary weight 0 -> 10 (nginx)"
}

nginx_step4() {
  poll "canary Ingress: weight 40 and the header route" 20 \
    "canary=true canary-by-header=X-Canary canary-by-header-value=always canary-weight=40 proxy-read-timeout=30" \
    nginx_annotations "$canary_ingress"
  poll "the header route is named" 10 "beta" annotation ingress "$canary_ingress" canaryd.io/header-route
  poll "status.canaryWeight is what nginx was told" 5 "40" field .status.canaryWeight
}

# Promotes from step 4 and waits for the promotion: Healthy at weight 0, the canary the new
# stable, the stable Service repointed. Sets mark (the request log's length before it).
promote_from_step4() {
  mark=$(request_mark)
  promote
  poll "promoted: Healthy, weight 0" 30 "Healthy 5 0" state
  poll "stableRS is the canary" 10 "$canary_hash" field .status.stableRS
  poll "stable Service repointed" 20 "$canary_hash" svc_hash web-stable
}

# Promotes from step 4 and checks that weight 0 came after the stable Service moved.
nginx_promote() {
  local mark
  promote_from_step4
  poll "canary Ingress back at weight 0, header route removed" 20 \
    "canary=true canary-weight=0 proxy-read-timeout=30" nginx_annotations "$canary_ingress"
  poll "header route name removed" 10 "<absent>" annotation ingress "$canary_ingress" canaryd.io/header-route
  poll "the stable Service moved before the weight went back to 0" 10 "before" \
    request_order "$mark" "patch services web-stable" "patch ingresses $canary_ingress"
  poll "old ReplicaSet scaled down" 20 "0/0" rs_replicas "$stable_hash"
  poll "new stable ReplicaSet at 4" 20 "4/4" rs_replicas "$canary_hash"
  poll "history records the promotion" 10 "Promoted" field '.status.history[-1:].outcome'
}

# ---- Gateway API ----

# gateway_step1 [n]: n WeightChanged events 0 -> 10 so far (default 1).
gateway_step1() {
  poll "HTTPRoute: main weighted 90/10 with the canary backendRef added; api rule unchanged" 20 \
    "main/[]->web-stable:80@90,web-canary:80@10 | api/api[]->api:8080@3" route_rules
  poll "main rule weights sum to 100" 5 "100" main_weight_sum
  poll "the user's annotation kept" 5 "team-web" annotation httproute web example.com/owner
  events "WeightChanged event 0 -> 10 once per start" "${1:-1}" "Canary weight 0 -> 10 (gatewayAPI)"
}

gateway_step4() {
  poll "HTTPRoute: the header rule first (canary only), main 60/40, api unchanged" 20 \
    "-/[X-Canary:Exact=always]->web-canary:80 | main/[]->web-stable:80@60,web-canary:80@40 | api/api[]->api:8080@3" \
    route_rules
  poll "main rule weights sum to 100" 5 "100" main_weight_sum
  poll "the header rule is recorded as canaryd's" 5 '{"web/beta":[0]}' \
    annotation httproute web canaryd.io/header-routes
  poll "status.canaryWeight is what the route says" 5 "40" field .status.canaryWeight
}

gateway_promote() {
  local mark
  promote_from_step4
  poll "HTTPRoute: main back to 100/0, header rule removed" 20 \
    "main/[]->web-stable:80@100,web-canary:80@0 | api/api[]->api:8080@3" route_rules
  poll "main rule weights sum to 100" 5 "100" main_weight_sum
  poll "header rule index removed" 10 "<absent>" annotation httproute web canaryd.io/header-routes
  poll "the stable Service moved before the weight went back to 0" 10 "before" \
    request_order "$mark" "patch services web-stable" "patch httproutes web"
  poll "old ReplicaSet scaled down" 20 "0/0" rs_replicas "$stable_hash"
  poll "history records the promotion" 10 "Promoted" field '.status.history[-1:].outcome'
}

# ---- scenarios ----

start_emulator "${emulator_flags[@]}"

case "$scenario" in
nginx)
  setup ingress.yaml
  start_canaryd a --leader-elect=false
  first_stable
  poll "no canary Ingress before there is a canary" 5 "web " names ingress
  to_step1 2
  nginx_step1
  # Another controller annotates the canary Ingress; it must survive canaryd's writes.
  k_ok "annotated" annotate ingress "$canary_ingress" -n "$ns" example.com/audited=yes >/dev/null
  to_step4
  nginx_step4
  poll "another controller's annotation survived the weight change" 5 "yes" \
    annotation ingress "$canary_ingress" example.com/audited
  poll "canary Ingress spec unchanged" 5 \
    "class=nginx tls=web.example.com/web-tls paths=web.example.com/(Prefix)->web-canary:80 owners=Rollout/web/controller=True" \
    ingress_spec "$canary_ingress"
  events "one WeightChanged event 10 -> 40" 1 "Canary weight 10 -> 40 (nginx)"
  nginx_promote
  poll "another controller's annotation survived the promotion" 5 "yes" \
    annotation ingress "$canary_ingress" example.com/audited
  events "one WeightChanged event 40 -> 0" 1 "Canary weight 40 -> 0 (nginx)"

  # The next revision starts from the kept canary Ingress.
  stable_hash=$canary_hash
  to_step1 3
  poll "second revision: weight 10 on the same canary Ingress" 20 \
    "canary=true canary-weight=10 proxy-read-timeout=30" nginx_annotations "$canary_ingress"
  poll "still only the stable and the canary Ingress" 5 "web web-web-canary " names ingress
  ;;

nginx-abort)
  setup ingress.yaml
  start_canaryd a --leader-elect=false
  first_stable
  to_step1 2
  nginx_step1
  to_step4
  nginx_step4
  mark=$(request_mark)
  abort
  poll "aborted: Degraded, weight 0" 20 "Degraded 4 0" state
  poll "canary Ingress at weight 0, header route removed" 20 \
    "canary=true canary-weight=0 proxy-read-timeout=30" nginx_annotations "$canary_ingress"
  poll "canary scaled down" 20 "0/0" rs_replicas "$canary_hash"
  poll "weight 0 was written before the canary was scaled down" 10 "before" \
    request_order "$mark" "patch ingresses $canary_ingress" "patch replicasets web-$canary_hash"
  poll "stable Service still on the stable hash" 5 "$stable_hash" svc_hash web-stable
  poll "history records the abort" 10 "Aborted" field '.status.history[-1:].outcome'
  holds "an aborted rollout stays at weight 0" 2 \
    "canary=true canary-weight=0 proxy-read-timeout=30" nginx_annotations "$canary_ingress"

  retry
  poll "retry: the steps start over at weight 10" 30 "Paused 1 10" state
  poll "canary Ingress at weight 10 again" 20 \
    "canary=true canary-weight=10 proxy-read-timeout=30" nginx_annotations "$canary_ingress"
  to_step4
  nginx_step4
  nginx_promote
  ;;

gateway)
  setup httproute.yaml -- -e "$gateway_routing"
  start_canaryd a --leader-elect=false
  first_stable
  poll "HTTPRoute untouched before there is a canary" 5 \
    "main/[]->web-stable:80 | api/api[]->api:8080@3" route_rules
  to_step1 2
  gateway_step1
  k_ok "annotated" annotate httproute web -n "$ns" example.com/audited=yes >/dev/null
  to_step4
  gateway_step4
  poll "another controller's annotation survived the weight change" 5 "yes" \
    annotation httproute web example.com/audited
  events "one WeightChanged event 10 -> 40" 1 "Canary weight 10 -> 40 (gatewayAPI)"
  gateway_promote
  poll "another controller's annotation survived the promotion" 5 "yes" \
    annotation httproute web example.com/audited
  poll "no Ingress was created" 5 "" names ingress
  ;;

gateway-abort)
  setup httproute.yaml -- -e "$gateway_routing"
  start_canaryd a --leader-elect=false
  first_stable
  to_step1 2
  gateway_step1
  to_step4
  gateway_step4
  mark=$(request_mark)
  abort
  poll "aborted: Degraded, weight 0" 20 "Degraded 4 0" state
  poll "HTTPRoute: main 100/0, header rule removed" 20 \
    "main/[]->web-stable:80@100,web-canary:80@0 | api/api[]->api:8080@3" route_rules
  poll "canary scaled down" 20 "0/0" rs_replicas "$canary_hash"
  poll "weight 0 was written before the canary was scaled down" 10 "before" \
    request_order "$mark" "patch httproutes web" "patch replicasets web-$canary_hash"
  poll "stable Service still on the stable hash" 5 "$stable_hash" svc_hash web-stable

  retry
  poll "retry: the steps start over at weight 10" 30 "Paused 1 10" state
  gateway_step1 2
  to_step4
  gateway_step4
  gateway_promote
  ;;

nginx-unready)
  # Traffic never goes to a canary with no available pods.
  setup ingress.yaml
  start_canaryd a --leader-elect=false
  first_stable
  k_ok "patched" -n "$ns" patch rollout web --type=merge -p \
    '{"spec":{"template":{"metadata":{"annotations":{"emulator.canaryd.io/never-ready":"true"}}}}}' >/dev/null
  poll "new revision at step 0, weight 0" 20 "Progressing 0 0" state
  canary_hash=$(field .status.currentPodHash)
  poll "canary ReplicaSet at 1 replica, none available" 20 "1/0" rs_replicas "$canary_hash"
  holds "no canary Ingress while the canary has no available pod" 3 "web " names ingress
  poll "still at step 0, weight 0" 5 "Progressing 0 0" state
  abort
  poll "aborted: Degraded, weight 0" 20 "Degraded 0 0" state
  poll "canary scaled down" 20 "0/0" rs_replicas "$canary_hash"
  poll "still no canary Ingress" 5 "web " names ingress
  ;;

foreign-ingress)
  # An Ingress with the canary Ingress's name that another controller owns.
  k_ok "namespace/e2e" apply -f "$data/common.yaml" >/dev/null
  k_ok "configmap/other-controller created" create configmap other-controller -n "$ns" >/dev/null
  owner_uid=$(k get configmap other-controller -n "$ns" -o jsonpath='{.metadata.uid}')
  [ -n "$owner_uid" ] || fail "no uid for the owner"
  cat >"$work/foreign.yaml" <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: $canary_ingress
  namespace: $ns
  annotations:
    example.com/owner: other-controller
  ownerReferences:
  - {apiVersion: v1, kind: ConfigMap, name: other-controller, uid: "$owner_uid", controller: true}
spec:
  ingressClassName: other
  rules:
  - host: other.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service: {name: api, port: {number: 8080}}
EOF
  k_ok "created" create -f "$work/foreign.yaml" >/dev/null
  foreign_rv=$(resource_version ingress "$canary_ingress")
  setup ingress.yaml
  start_canaryd a --leader-elect=false
  poll "InvalidSpec naming the foreign Ingress" 30 "yes" \
    invalid_spec_naming "Ingress e2e/$canary_ingress exists and is not controlled by Rollout e2e/web"
  poll "Ready False" 5 "False" field '.status.conditions[?(@.type=="Ready")].status'
  holds "the foreign Ingress is left alone" 2 "$foreign_rv" resource_version ingress "$canary_ingress"
  poll "its annotations and spec too" 5 \
    "class=other tls= paths=other.example.com/(Prefix)->api:8080 owners=ConfigMap/other-controller/controller=True" \
    ingress_spec "$canary_ingress"
  poll "nothing else written: no ReplicaSet" 5 "" names rs
  events "one InvalidSpec event" 1 \
    "spec.strategy.canary.trafficRouting: Invalid value: \"nginx\": Ingress e2e/$canary_ingress exists and is not controlled by Rollout e2e/web; canaryd leaves it alone"

  # The other controller removes its Ingress: the Rollout settles by itself, untouched.
  generation=$(field .metadata.generation)
  k_ok "deleted" delete ingress "$canary_ingress" -n "$ns" >/dev/null
  poll "foreign Ingress gone" 20 "web " names ingress
  first_stable
  poll "the Rollout's spec was not touched" 5 "$generation" field .metadata.generation
  poll "InvalidSpec cleared" 10 "False" field '.status.conditions[?(@.type=="InvalidSpec")].status'
  to_step1 2
  nginx_step1
  ;;

nginx-invalid)
  # Two stable Ingresses, one with no path to web-stable: InvalidSpec naming it, and no
  # half-written routes (neither canary Ingress).
  setup ingress.yaml ingress-no-path.yaml -- -e 's/stableIngress: web,/stableIngresses: [web, api-only],/'
  api_rv=$(resource_version ingress api-only)
  start_canaryd a --leader-elect=false
  poll "an Ingress with no path to stableService: InvalidSpec naming it" 30 "yes" \
    invalid_spec_naming "Ingress e2e/api-only has no path whose backend is Service web-stable"
  holds "no half-written routes: no canary Ingress at all" 2 "api-only web " names ingress
  poll "nothing written: no ReplicaSet" 5 "" names rs
  poll "the Ingress with no path untouched" 5 "$api_rv" resource_version ingress api-only

  # The Rollout names one stable Ingress, which does not exist yet.
  k_ok "deleted" delete ingress web -n "$ns" >/dev/null
  k_ok "patched" patch rollout web -n "$ns" --type=merge -p \
    '{"spec":{"strategy":{"canary":{"trafficRouting":{"nginx":{"stableIngresses":null,"stableIngress":"web"}}}}}}' >/dev/null
  poll "a missing stable Ingress: InvalidSpec naming it" 30 "yes" \
    invalid_spec_naming "stable Ingress e2e/web (trafficRouting.nginx) not found"
  holds "nothing written: no canary Ingress" 2 "api-only " names ingress
  poll "nothing written: no ReplicaSet" 5 "" names rs

  # The Ingress is created: the Rollout settles by itself, untouched.
  generation=$(field .metadata.generation)
  k_ok "created" apply -f "$data/ingress.yaml" >/dev/null
  first_stable
  poll "InvalidSpec cleared" 10 "False" field '.status.conditions[?(@.type=="InvalidSpec")].status'
  poll "the Rollout's spec was not touched" 5 "$generation" field .metadata.generation
  to_step1 2
  nginx_step1

  # The stable Ingress disappears mid-rollout: the next reconcile (the promote) names it
  # and changes nothing.
  k_ok "deleted" delete ingress web -n "$ns" >/dev/null
  promote
  poll "the stable Ingress gone mid-rollout: InvalidSpec naming it" 30 "yes" \
    invalid_spec_naming "stable Ingress e2e/web (trafficRouting.nginx) not found"
  holds "the canary Ingress keeps its weight" 2 \
    "canary=true canary-weight=10 proxy-read-timeout=30" nginx_annotations "$canary_ingress"
  poll "the canary keeps its replicas" 5 "1/1" rs_replicas "$canary_hash"

  # Recreated: the Rollout settles by itself and carries out the promote.
  generation=$(field .metadata.generation)
  k_ok "created" apply -f "$data/ingress.yaml" >/dev/null
  poll "InvalidSpec cleared once the Ingress is back" 20 "False" \
    field '.status.conditions[?(@.type=="InvalidSpec")].status'
  poll "the promote carried out: header route, setWeight 40, the indefinite pause" 30 \
    "Paused 4 40" state
  nginx_step4
  poll "the Rollout's spec was not touched" 5 "$generation" field .metadata.generation
  ;;

gateway-invalid)
  # The Rollout names an HTTPRoute with no backendRef to stableService.
  setup httproute-no-backend.yaml -- -e 's|^        nginx: .*|        gatewayAPI: {httpRoute: api-only}|'
  api_rv=$(resource_version httproute api-only)
  start_canaryd a --leader-elect=false
  poll "an HTTPRoute with no backendRef to stableService: InvalidSpec naming it" 30 "yes" \
    invalid_spec_naming "HTTPRoute e2e/api-only has no rule with a backendRef to Service web-stable"
  poll "nothing written: no ReplicaSet" 5 "" names rs
  holds "the HTTPRoute is not written" 2 "$api_rv" resource_version httproute api-only

  # Then one that does not exist yet.
  k_ok "patched" patch rollout web -n "$ns" --type=merge -p \
    '{"spec":{"strategy":{"canary":{"trafficRouting":{"gatewayAPI":{"httpRoute":"web"}}}}}}' >/dev/null
  poll "a missing HTTPRoute: InvalidSpec naming it" 30 "yes" \
    invalid_spec_naming "HTTPRoute e2e/web (trafficRouting.gatewayAPI.httpRoute) not found"
  poll "nothing written: no ReplicaSet" 5 "" names rs

  # The HTTPRoute is created: the Rollout settles by itself, untouched.
  generation=$(field .metadata.generation)
  k_ok "created" apply -f "$data/httproute.yaml" >/dev/null
  first_stable
  poll "InvalidSpec cleared" 10 "False" field '.status.conditions[?(@.type=="InvalidSpec")].status'
  poll "the Rollout's spec was not touched" 5 "$generation" field .metadata.generation
  to_step1 2
  gateway_step1
  poll "the other HTTPRoute still untouched" 5 "$api_rv" resource_version httproute api-only
  ;;

*)
  echo "unknown scenario $scenario"
  exit 2
  ;;
esac

summary
