# Shared by the tests/deploy scripts, after tests/e2e/lib.sh (its `k` and `fail`).

# The built-in API types canaryd's manifests and chart create beyond what a controller
# needs: RBAC and PodDisruptionBudgets. Fails with a clear message when the emulator
# does not serve one, rather than with kubectl's "could not find the requested resource".
require_builtin_types() {
  local out resource
  out=$(k api-resources -o name)
  for resource in clusterroles.rbac.authorization.k8s.io \
    clusterrolebindings.rbac.authorization.k8s.io roles.rbac.authorization.k8s.io \
    rolebindings.rbac.authorization.k8s.io poddisruptionbudgets.policy; do
    grep -qx "$resource" <<<"$out" ||
      fail "kube-emulator does not serve $resource (hack/kube-emulator/resource_types.cc)"
  done
  ok "the emulator serves RBAC and PodDisruptionBudgets"
}
