#!/usr/bin/env bash
# manifests/install.yaml and manifests/install-namespaced.yaml with the real kubectl
# against the kube-emulator: server-side dry-run (validated, nothing stored), real apply,
# canaryd's Deployment becoming available, a second apply changing nothing, and a
# broken copy refused by the server.
#   manifests_test.sh <kube-emulator> <source dir>
set -euo pipefail
emulator=$1
src=$2
faults=0

source "$src/tests/e2e/lib.sh"
source "$src/tests/deploy/lib.sh"

start_emulator
require_builtin_types
k_ok "rollouts.canaryd.io" apply -f "$src/crds/" >/dev/null

# ---- install.yaml ----
# A server-side dry-run needs the namespace to exist, as with kube-apiserver.
k_ok "namespace/canaryd-system" create namespace canaryd-system --save-config >/dev/null
out=$(k_ok "deployment.apps/canaryd created (server dry run)" apply --dry-run=server \
  -f "$src/manifests/install.yaml")
for obj in "serviceaccount/canaryd" "clusterrole.rbac.authorization.k8s.io/canaryd" \
  "clusterrolebinding.rbac.authorization.k8s.io/canaryd" \
  "role.rbac.authorization.k8s.io/canaryd-leader-election" \
  "rolebinding.rbac.authorization.k8s.io/canaryd-leader-election" \
  "clusterrole.rbac.authorization.k8s.io/canaryd-aggregate-to-view" \
  "clusterrole.rbac.authorization.k8s.io/canaryd-aggregate-to-edit" \
  "service/canaryd-metrics" "poddisruptionbudget.policy/canaryd"; do
  grep -qF "$obj created (server dry run)" <<<"$out" || fail "dry run: no [$obj created] in: $out"
done
ok "server-side dry-run of install.yaml: every object accepted"
out=$(k get deployment canaryd -n canaryd-system -o name)
grep -q NotFound <<<"$out" || fail "the dry run stored the Deployment: $out"
ok "the dry run stored nothing"

out=$(k_ok "deployment.apps/canaryd created" apply -f "$src/manifests/install.yaml")
grep -qF "poddisruptionbudget.policy/canaryd created" <<<"$out" || fail "apply: $out"
ok "kubectl apply -f manifests/install.yaml"
poll "canaryd's Deployment available with 2 replicas" 30 "2" \
  k get deployment canaryd -n canaryd-system -o jsonpath='{.status.availableReplicas}'
# A second apply creates nothing and leaves the Deployment (its pods) alone.
out=$(k_ok "deployment.apps/canaryd unchanged" apply -f "$src/manifests/install.yaml")
if grep -q " created$" <<<"$out"; then fail "second apply created objects: $out"; fi
ok "a second apply leaves the Deployment unchanged"

# The server validates: a Deployment whose selector does not match its pod labels is
# refused.
sed 's/^      app.kubernetes.io\/instance: canaryd$/      app.kubernetes.io\/instance: other/' \
  "$src/manifests/install.yaml" >"$work/broken.yaml"
out=$(k apply --dry-run=server -f "$work/broken.yaml")
grep -qF 'selector' <<<"$out" && grep -qi 'invalid' <<<"$out" ||
  fail "a Deployment with a selector not matching its labels was not refused: $out"
ok "the server refuses a broken copy"

# ---- install-namespaced.yaml, in the namespace shop ----
k_ok "namespace/shop" create namespace shop --save-config >/dev/null
out=$(k_ok "deployment.apps/canaryd created (server dry run)" apply -n shop --dry-run=server \
  -f "$src/manifests/install-namespaced.yaml")
for obj in "serviceaccount/canaryd" "role.rbac.authorization.k8s.io/canaryd" \
  "rolebinding.rbac.authorization.k8s.io/canaryd" "service/canaryd-metrics" \
  "poddisruptionbudget.policy/canaryd"; do
  grep -qF "$obj created (server dry run)" <<<"$out" || fail "dry run: no [$obj created] in: $out"
done
ok "server-side dry-run of install-namespaced.yaml: every object accepted"
k_ok "deployment.apps/canaryd created" apply -n shop \
  -f "$src/manifests/install-namespaced.yaml" >/dev/null
ok "kubectl apply -n shop -f manifests/install-namespaced.yaml"
poll "the namespaced Deployment available" 30 "2" \
  k get deployment canaryd -n shop -o jsonpath='{.status.availableReplicas}'
out=$(k get clusterrole -o name)
grep -q "clusterrole.rbac.authorization.k8s.io/canaryd$" <<<"$out" ||
  fail "install.yaml's ClusterRole is missing: $out"
out=$(k get deployment canaryd -n shop -o jsonpath='{.spec.template.spec.containers[0].args}')
grep -qF -- '--namespace=$(POD_NAMESPACE)' <<<"$out" || fail "args: $out"
ok "the namespaced canaryd watches its own namespace only"

# ---- uninstall ----
k_ok "deleted" delete --ignore-not-found -n shop \
  -f "$src/manifests/install-namespaced.yaml" >/dev/null
k_ok "deleted" delete --ignore-not-found -f "$src/manifests/install.yaml" >/dev/null
namespace_gone() {
  if grep -q NotFound <<<"$(k get namespace canaryd-system -o name)"; then echo gone; fi
}
poll "uninstall removed the namespace" 30 "gone" namespace_gone
out=$(k get crd rollouts.canaryd.io -o name)
grep -q "rollouts.canaryd.io" <<<"$out" || fail "the CRD went with the uninstall: $out"
ok "the CRDs stay"

summary
