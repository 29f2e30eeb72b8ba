#!/usr/bin/env bash
# Least privilege, checked against what canaryd really does: canaryd runs against the
# kube-emulator through rollouts that make every kind of API call it has (replica ratio
# with abort, retry, promotion and old-ReplicaSet deletion; a pod-template-hash
# collision; nginx and Gateway API traffic routing; an analysis whose Prometheus needs a
# Secret; leader election with a Lease release on SIGTERM) while the emulator logs every
# request. Then tests/deploy/rbac_check.py checks that each request is granted by
# manifests/install.yaml and by the chart's rendering, and that they grant nothing that
# was not used. A second canaryd, watching one namespace, is checked against
# manifests/install-namespaced.yaml and the chart's rbac.scope=namespaced rendering.
#   rbac_test.sh <canaryd> <kube-emulator> <source dir>
set -euo pipefail
canaryd=$1
emulator=$2
src=$3
faults=0
helm=$("$src/hack/install-helm.sh")

source "$src/tests/e2e/lib.sh"
export HELM_CACHE_HOME="$work/helm/cache" HELM_CONFIG_HOME="$work/helm/config" \
  HELM_DATA_HOME="$work/helm/data"

start_emulator
# The Lease lives in canaryd-system, as in manifests/install.yaml.
k_ok "namespace/canaryd-system" create namespace canaryd-system >/dev/null

# ---- fixtures ----
setup_rollout -e 's/\be2e\b/rbac-ratio/g' -e 's/revisionHistoryLimit: 2/revisionHistoryLimit: 0/'
sed 's/\be2e\b/rbac-collide/g' "$src/tests/e2e/testdata/rollout.yaml" >"$work/collide.yaml"
k_ok "rollout.canaryd.io/web" apply -f "$work/collide.yaml" >/dev/null
# A loopback port where nothing listens, for the analysis' Prometheus.
closed_port=$(python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
sed "s/127.0.0.1:65535/127.0.0.1:$closed_port/" "$src/tests/deploy/testdata/rbac-rollouts.yaml" \
  >"$work/rbac-rollouts.yaml"
k_ok "rollout.canaryd.io/web" apply -f "$work/rbac-rollouts.yaml" >/dev/null

# manifest_args <manifest> <namespace>: the `canaryd run` flags of the manifest's
# Deployment, one a line, as the kubelet passes them in <namespace> ($(POD_NAMESPACE)
# expanded), with /metrics and the probes on loopback ports chosen at run time (tests run
# in parallel).
manifest_args() {
  python3 - "$1" "$2" <<'EOF'
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "Deployment":
        args = d["spec"]["template"]["spec"]["containers"][0]["args"]
assert args[0] == "run", args
for a in args[1:]:
    flag = a.split("=")[0]
    if flag in ("--metrics-bind-address", "--health-probe-bind-address"):
        a = flag + "=127.0.0.1:0"
    print(a.replace("$(POD_NAMESPACE)", sys.argv[2]))
EOF
}

# start_as_deployed <name> <manifest> <namespace>: `canaryd run` with exactly the flags of
# the manifest's Deployment and the downward-API environment of a pod named <name> in
# <namespace>; its pid in canaryd_pid_<name> (for lib.sh's stop_canaryd).
start_as_deployed() {
  local name=$1 args
  mapfile -t args < <(manifest_args "$2" "$3")
  POD_NAME=$name POD_NAMESPACE=$3 "$canaryd" run --kubeconfig "$work/kubeconfig" "${args[@]}" \
    >>"$work/canaryd-$name.log" 2>&1 &
  pids+=($!)
  eval "canaryd_pid_$name=$!"
}

# canaryd as manifests/install.yaml runs it: every namespace, the Lease in its own.
start_as_deployed a "$src/manifests/install.yaml" canaryd-system
poll "canaryd leads through the Lease canaryd-system/canaryd" 30 "a" \
  k get lease canaryd -n canaryd-system -o jsonpath='{.spec.holderIdentity}'

rs_gone() {
  local out
  out=$(k get rs "$rollout-$1" -n "$ns" -o name)
  if grep -q NotFound <<<"$out"; then echo gone; else echo "present: $out"; fi
}

# ---- replica ratio: steps, abort, retry (Events repeat: their series are patched),
# promotion, and the old ReplicaSet deleted (revisionHistoryLimit 0) ----
ns=rbac-ratio
first_stable
roll_to_step3 2
abort
poll "aborted" 20 "Degraded 3 0" state
retry
poll "retried: back at the indefinite pause" 30 "Paused 3 50" state
promote
poll "promoted" 20 "Healthy 4 0" state
poll "old ReplicaSet deleted (revisionHistoryLimit 0)" 20 "gone" rs_gone "$stable_hash"
ratio_canary_hash=$canary_hash

# ---- a pod-template-hash collision: a ReplicaSet that is not the Rollout's already has
# the canary's name; canaryd reads it, then bumps status.collisionCount ----
ns=rbac-collide
first_stable
cat >"$work/squatter.yaml" <<EOF
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-$ratio_canary_hash
  namespace: rbac-collide
spec:
  replicas: 0
  selector:
    matchLabels: {app: squatter}
  template:
    metadata:
      labels: {app: squatter}
    spec:
      containers: [{name: squatter, image: example.com/squatter:1}]
EOF
k_ok "replicaset.apps/web-$ratio_canary_hash" apply -f "$work/squatter.yaml" >/dev/null
set_image 2
poll "hash collision: collisionCount 1" 20 "1" field .status.collisionCount
poll "the canary under another hash" 20 "yes" hash_differs "$ratio_canary_hash"
poll "and the steps go on" 30 "Paused 3 50" state

# ---- nginx: the canary Ingress beside the stable one ----
ns=rbac-nginx
canary_weight() {
  local weight='{.metadata.annotations.nginx\.ingress\.kubernetes\.io/canary-weight}'
  k get ingress -n "$ns" -o jsonpath="{range .items[*]}{.metadata.name}=$weight {end}"
}
first_stable
set_image 2
poll "nginx: paused at 50%" 30 "Paused 3 50" state
poll "nginx: canary Ingress at weight 50" 10 "web= web-web-canary=50 " canary_weight
promote
poll "nginx: promoted" 20 "Healthy 4 0" state
poll "nginx: canary Ingress back to 0" 10 "web= web-web-canary=0 " canary_weight

# ---- Gateway API: the HTTPRoute's backend weights ----
ns=rbac-gateway
route_weights() {
  k get httproute web -n "$ns" -o jsonpath='{.spec.rules[0].backendRefs[*].weight}'
}
first_stable
set_image 2
poll "gateway: paused at 50%" 30 "Paused 3 50" state
poll "gateway: HTTPRoute weights 50/50" 10 "50 50" route_weights
promote
poll "gateway: promoted" 20 "Healthy 4 0" state
poll "gateway: HTTPRoute weights 100/0" 10 "100 0" route_weights

# ---- analysis: credentials from a Secret, a Prometheus that refuses connections ----
ns=rbac-analysis
first_stable
set_image 2
poll "analysis: the unreachable Prometheus aborts the rollout" 60 "Degraded" field .status.phase

# SIGTERM: the Lease is released (read, then written).
stop_canaryd a
poll "Lease released" 10 "" \
  k get lease canaryd -n canaryd-system -o jsonpath='{.spec.holderIdentity}'

k get --raw '/_emulator/requests?userAgent=canaryd' >"$work/requests.json"
python3 - "$work/requests.json" <<'EOF' || fail "the request log has no canaryd requests"
import json, sys
assert json.load(open(sys.argv[1]))["requests"]
EOF

check() {
  local desc=$1
  shift
  local out rc=0
  out=$(python3 "$src/tests/deploy/rbac_check.py" "$@" 2>&1) || rc=$?
  echo "$out" | sed 's/^/    /'
  if [ "$rc" -eq 0 ]; then ok "$desc"; else fail "$desc"; fi
}

check "manifests/install.yaml grants every request canaryd made, and nothing unused" \
  "$work/requests.json" "$src/manifests/install.yaml" canaryd-system/canaryd --all-used
"$helm" template canaryd "$src/charts/canaryd" --namespace canaryd-system >"$work/chart.yaml" \
  2>"$work/helm.log" || fail "helm template: $(cat "$work/helm.log")"
check "the chart (rbac.scope=cluster) grants every request, and nothing unused" \
  "$work/requests.json" "$work/chart.yaml" canaryd-system/canaryd --all-used

# The checker itself: a rule missing a verb, and a verb granted but never used, fail.
refused() {
  local desc=$1 expect=$2 manifest=$3 out
  if out=$(python3 "$src/tests/deploy/rbac_check.py" "$work/requests.json" "$manifest" \
    canaryd-system/canaryd --all-used 2>&1); then
    fail "$desc: the check passed"
  fi
  grep -qF -- "$expect" <<<"$out" || fail "$desc: expected [$expect] in: $out"
  ok "$desc"
}
sed 's/\[get, list, watch, create, patch, delete\]/[get, list, watch, create, patch]/' \
  "$src/manifests/install.yaml" >"$work/no-delete.yaml"
refused "a ClusterRole without delete on ReplicaSets fails the check" \
  "FAIL: not granted: delete replicasets.apps web-" "$work/no-delete.yaml"
sed 's/  verbs: \[get\]$/  verbs: [get, list]/' "$src/manifests/install.yaml" \
  >"$work/list-secrets.yaml"
refused "a ClusterRole that may list Secrets fails the check" \
  "FAIL: granted but never used: list secrets (ClusterRole/canaryd)" "$work/list-secrets.yaml"

# ---- one namespace: install-namespaced.yaml's Role ----
before=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["requests"]))' \
  "$work/requests.json")
ns=rbac-ns
setup_rollout -e 's/\be2e\b/rbac-ns/g'
# As install-namespaced.yaml runs it in rbac-ns: only that namespace, the Lease there too.
start_as_deployed b "$src/manifests/install-namespaced.yaml" rbac-ns
first_stable
roll_to_step3 2
promote
poll "namespaced: promoted" 20 "Healthy 4 0" state
stop_canaryd b
k get --raw '/_emulator/requests?userAgent=canaryd' | python3 -c '
import json, sys
log = json.load(sys.stdin)
log["requests"] = log["requests"][int(sys.argv[1]):]
json.dump(log, sys.stdout)' "$before" >"$work/requests-ns.json"

check "install-namespaced.yaml grants a one-namespace canaryd's requests, as install.yaml does" \
  "$work/requests-ns.json" "$src/manifests/install-namespaced.yaml" rbac-ns/canaryd \
  --namespace rbac-ns --same-rules-as "$src/manifests/install.yaml" canaryd-system/canaryd default
"$helm" template canaryd "$src/charts/canaryd" --namespace rbac-ns --set rbac.scope=namespaced \
  >"$work/chart-ns.yaml" 2>"$work/helm.log" || fail "helm template: $(cat "$work/helm.log")"
check "the chart (rbac.scope=namespaced) grants every request, and the same rules as install.yaml" \
  "$work/requests-ns.json" "$work/chart-ns.yaml" rbac-ns/canaryd \
  --same-rules-as "$src/manifests/install.yaml" canaryd-system/canaryd default

summary
