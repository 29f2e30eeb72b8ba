#!/usr/bin/env bash
# The Helm chart with the real helm 3.17: lint, template (default values; rbac.scope
# namespaced with a ServiceMonitor), values.schema.json refusing bad values with a clear
# message, the rendering agreeing with manifests/install.yaml, then install, upgrade and
# uninstall against the kube-emulator, whose validation every rendered object passes.
#   chart_test.sh <kube-emulator> <source dir>
set -euo pipefail
emulator=$1
src=$2
faults=0
helm=$("$src/hack/install-helm.sh")
chart="$src/charts/canaryd"

source "$src/tests/e2e/lib.sh"
source "$src/tests/deploy/lib.sh"
export HELM_CACHE_HOME="$work/helm/cache" HELM_CONFIG_HOME="$work/helm/config" \
  HELM_DATA_HOME="$work/helm/data"

# helm's output and exit status; never fails the script.
h() { "$helm" --kubeconfig "$work/kubeconfig" "$@" 2>&1 || echo "exit status $?"; }
expect() {
  if grep -qF -- "$2" <<<"$3"; then ok "$1"; else fail "$1: expected [$2] in: $3"; fi
}
expect_not() {
  if grep -qF -- "$2" <<<"$3"; then fail "$1: unexpected [$2] in: $3"; else ok "$1"; fi
}
# kinds <file>: "Kind/namespace/name" of each object, sorted, one a line.
kinds() {
  python3 -c '
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d: print("%s/%s/%s" % (d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]))
' "$1" | sort
}

# ---- lint and template ----
out=$(h lint --strict "$chart")
expect "helm lint --strict" "1 chart(s) linted, 0 chart(s) failed" "$out"
out=$(h lint --strict "$chart" --set rbac.scope=namespaced --set serviceMonitor.enabled=true)
expect "helm lint --strict (namespaced, ServiceMonitor)" "1 chart(s) linted, 0 chart(s) failed" \
  "$out"

"$helm" template canaryd "$chart" --namespace canaryd-system >"$work/default.yaml" \
  2>"$work/helm.err" || fail "helm template: $(cat "$work/helm.err")"
out=$(kinds "$work/default.yaml")
expected="ClusterRole//canaryd
ClusterRole//canaryd-aggregate-to-edit
ClusterRole//canaryd-aggregate-to-view
ClusterRoleBinding//canaryd
Deployment/canaryd-system/canaryd
PodDisruptionBudget/canaryd-system/canaryd
Role/canaryd-system/canaryd-leader-election
RoleBinding/canaryd-system/canaryd-leader-election
Service/canaryd-system/canaryd-metrics
ServiceAccount/canaryd-system/canaryd"
[ "$out" = "$expected" ] || fail "helm template (defaults): objects [$out], expected [$expected]"
ok "helm template (defaults): the objects of manifests/install.yaml, same names"

"$helm" template canaryd "$chart" --namespace canaryd-system --set rbac.scope=namespaced \
  --set 'rbac.namespaces={shop,web}' --set serviceMonitor.enabled=true \
  --set prometheus.address=http://prometheus.monitoring:9090 >"$work/namespaced.yaml" \
  2>"$work/helm.err" || fail "helm template (namespaced): $(cat "$work/helm.err")"
out=$(kinds "$work/namespaced.yaml")
expect "namespaced: a Role in shop" "Role/shop/canaryd" "$out"
expect "namespaced: a RoleBinding in web" "RoleBinding/web/canaryd" "$out"
expect "namespaced: the ServiceMonitor" "ServiceMonitor/canaryd-system/canaryd" "$out"
if grep -qx "ClusterRole//canaryd" <<<"$out"; then fail "namespaced: a ClusterRole for canaryd"; fi
ok "namespaced: no ClusterRole for canaryd"
expect_not "namespaced: no ClusterRoleBinding" "ClusterRoleBinding" "$out"
args=$(python3 -c '
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "Deployment":
        print(" ".join(d["spec"]["template"]["spec"]["containers"][0]["args"]))
' "$work/namespaced.yaml")
expect "namespaced: watches shop" "--namespace=shop --namespace=web" "$args"
expect "namespaced: the default Prometheus" \
  "--prometheus-address=http://prometheus.monitoring:9090" "$args"

# The chart's Deployment runs canaryd as manifests/install.yaml's does.
python3 - "$work/default.yaml" "$src/manifests/install.yaml" <<'EOF' ||
  fail "the chart's Deployment differs from manifests/install.yaml's"
import sys, yaml
def deployment(path):
    for d in yaml.safe_load_all(open(path)):
        if d and d["kind"] == "Deployment":
            return d
chart, manifest = deployment(sys.argv[1]), deployment(sys.argv[2])
def pick(d):
    pod = d["spec"]["template"]["spec"]
    c = pod["containers"][0]
    return {
        "replicas": d["spec"]["replicas"],
        "strategy": d["spec"]["strategy"],
        "podSecurityContext": pod["securityContext"],
        "terminationGracePeriodSeconds": pod["terminationGracePeriodSeconds"],
        "securityContext": c["securityContext"],
        "ports": c["ports"], "env": c["env"], "resources": c["resources"],
        "livenessProbe": c["livenessProbe"], "readinessProbe": c["readinessProbe"],
        "image": c["image"].split(":")[-1],
        # The flags both pass (the chart also spells out its defaults).
        "args": sorted(a for a in c["args"] if a.split("=")[0] in (
            "run", "--leader-elect", "--leader-election-id", "--metrics-bind-address",
            "--health-probe-bind-address", "--log-format")),
    }
a, b = pick(chart), pick(manifest)
bad = [k for k in a if a[k] != b[k]]
for k in bad:
    print(f"{k}: chart {a[k]} != manifest {b[k]}")
sys.exit(1 if bad else 0)
EOF
ok "the chart's Deployment runs canaryd as manifests/install.yaml's does"

# ---- values.schema.json and the chart's own checks refuse bad values ----
out=$(h template canaryd "$chart" --set rbac.scope=everywhere)
expect "schema: rbac.scope must be cluster or namespaced" \
  "rbac.scope: rbac.scope must be one of the following: \"cluster\", \"namespaced\"" "$out"
out=$(h template canaryd "$chart" --set replicaCount=two)
expect "schema: replicaCount must be an integer" \
  "replicaCount: Invalid type. Expected: integer, given: string" "$out"
out=$(h template canaryd "$chart" --set leaderElection.leaseDuration=forever)
expect "schema: a duration" "leaderElection.leaseDuration: Does not match pattern" "$out"
out=$(h template canaryd "$chart" --set replicas=3)
expect "schema: unknown top-level key" "Additional property replicas is not allowed" "$out"
out=$(h template canaryd "$chart" --set image.name=x)
expect "schema: unknown key under image" "image: Additional property name is not allowed" "$out"
out=$(h template canaryd "$chart" --set 'rbac.namespaces={shop}')
expect "rbac.namespaces without rbac.scope=namespaced" \
  "rbac.namespaces is set but rbac.scope is cluster" "$out"
out=$(h template canaryd "$chart" --set leaderElection.enabled=false)
expect "two replicas without leader election" \
  "replicaCount > 1 needs leaderElection.enabled=true" "$out"
out=$(h template canaryd "$chart" --set leaderElection.enabled=false --set replicaCount=1)
expect "one replica without leader election renders" "--leader-elect=false" "$out"
expect_not "one replica: no PodDisruptionBudget" "kind: PodDisruptionBudget" "$out"

# ---- install, upgrade, uninstall against the emulator ----
start_emulator
require_builtin_types
# The Prometheus Operator's CRD, for the ServiceMonitor.
k_ok "servicemonitors.monitoring.coreos.com" \
  apply -f "$src/tests/deploy/testdata/servicemonitor-crd.yaml" >/dev/null
k_ok "namespace/shop" create namespace shop >/dev/null

# Every object of the namespaced rendering, with the ServiceMonitor, passes the server's
# validation (kubectl asks for strict field validation: an unknown field is refused).
# (Released in its own namespace: helm creates canaryd-system below.)
k_ok "namespace/web" create namespace web >/dev/null
k_ok "namespace/dry-run" create namespace dry-run >/dev/null
"$helm" template canaryd "$chart" --namespace dry-run --set rbac.scope=namespaced \
  --set 'rbac.namespaces={shop,web}' --set serviceMonitor.enabled=true >"$work/dry-run.yaml"
out=$(k_ok "servicemonitor.monitoring.coreos.com/canaryd created (server dry run)" apply \
  --dry-run=server -f "$work/dry-run.yaml")
accepted=$(grep -c "created (server dry run)" <<<"$out")
[ "$accepted" = "$(grep -c "^kind:" "$work/dry-run.yaml")" ] ||
  fail "server dry run of the namespaced rendering: $out"
ok "server-side dry-run of the namespaced rendering: every object accepted"

out=$(h install canaryd "$chart" --namespace canaryd-system --create-namespace \
  --set serviceMonitor.enabled=true --wait --timeout 90s)
expect "helm install" "STATUS: deployed" "$out"
expect "NOTES.txt" "watches Rollouts in every namespace" "$out"
out=$(k get crd -o name)
expect "the chart's CRDs installed" \
  "customresourcedefinition.apiextensions.k8s.io/rollouts.canaryd.io" "$out"
poll "Deployment available with 2 replicas" 30 "2" \
  k get deployment canaryd -n canaryd-system -o jsonpath='{.status.availableReplicas}'
for obj in clusterrole/canaryd clusterrolebinding/canaryd role/canaryd-leader-election \
  rolebinding/canaryd-leader-election serviceaccount/canaryd service/canaryd-metrics \
  poddisruptionbudget/canaryd servicemonitor/canaryd; do
  out=$(k get "$obj" -n canaryd-system -o name)
  expect "installed: $obj" "${obj#*/}" "$out"
done
out=$(k get clusterrole canaryd -o jsonpath='{.rules[?(@.resources[0]=="secrets")].verbs}')
expect "Secrets: get only" '["get"]' "$out"

out=$(h upgrade canaryd "$chart" --namespace canaryd-system --set rbac.scope=namespaced \
  --set 'rbac.namespaces={shop}' --wait --timeout 90s)
expect "helm upgrade to rbac.scope=namespaced" "STATUS: deployed" "$out"
out=$(k get role canaryd -n shop -o name)
expect "upgrade: a Role in shop" "role.rbac.authorization.k8s.io/canaryd" "$out"
out=$(k get clusterrole canaryd -o name)
expect "upgrade: the ClusterRole removed" "NotFound" "$out"
out=$(k get servicemonitor canaryd -n canaryd-system -o name)
expect "upgrade: the ServiceMonitor removed" "NotFound" "$out"
out=$(k get deployment canaryd -n canaryd-system \
  -o jsonpath='{.spec.template.spec.containers[0].args}')
expect "upgrade: canaryd watches shop only" "--namespace=shop" "$out"

out=$(h uninstall canaryd --namespace canaryd-system)
expect "helm uninstall" 'release "canaryd" uninstalled' "$out"
out=$(k get deployment canaryd -n canaryd-system -o name)
expect "uninstall removed the Deployment" "NotFound" "$out"
out=$(k get role canaryd -n shop -o name)
expect "uninstall removed the Role" "NotFound" "$out"
out=$(k get crd rollouts.canaryd.io -o name)
expect "the CRDs stay after an uninstall (Rollouts are not deleted)" "rollouts.canaryd.io" "$out"

# Every request helm sent was accepted: nothing refused but the 404s of its lookups.
out=$(k get --raw '/_emulator/requests?userAgent=Helm/' | python3 -c '
import json, sys
requests = json.load(sys.stdin)["requests"]
if not requests:
    print("no request from helm in the log")
for r in requests:
    if r["code"] >= 400 and r["code"] != 404:
        print(r["verb"], r["resource"], r["name"], r["code"])')
[ -z "$out" ] || fail "requests refused: $out"
ok "no helm request refused"

summary
