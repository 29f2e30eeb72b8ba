#!/usr/bin/env bash
# Drives the real kubectl against kube-emulator and asserts on every command's output:
# apply of the project's CRDs and examples (default flags, so server-side validation
# with fieldValidation=Strict), get with printer columns, get -o yaml, get -w, the three
# patch types and --subresource=status, scale, label, delete with garbage collection,
# wait --for=condition, api-resources and explain of a CRD field.
#   kubectl_test.sh <kube-emulator binary> <source dir>
set -euo pipefail
emulator=$1
src=$2
work=$(mktemp -d)
passed=0
failed=0
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }
# expect <description> <needle> <haystack>: the output contains the text.
expect() {
  if grep -qF -- "$2" <<<"$3"; then ok "$1"; else fail "$1: expected [$2] in:"; echo "$3" | sed 's/^/    /'; fi
}
expect_not() {
  if grep -qF -- "$2" <<<"$3"; then fail "$1: unexpected [$2] in:"; echo "$3" | sed 's/^/    /'; else ok "$1"; fi
}
# poll <description> <needle> <command...>: re-runs the command until its output has the text.
poll() {
  local desc=$1 needle=$2
  shift 2
  local out="" deadline=$((SECONDS + 60))
  while [ $SECONDS -lt $deadline ]; do
    out=$("$@" 2>&1 || true)
    if grep -qF -- "$needle" <<<"$out"; then ok "$desc"; return; fi
    sleep 0.1
  done
  fail "$desc: expected [$needle] in:"
  echo "$out" | sed 's/^/    /'
}
# kubectl whose failure shows in the asserted output rather than ending the script.
k() { kubectl --kubeconfig "$work/kubeconfig" "$@" 2>&1 || true; }

"$emulator" --port 0 --kubeconfig-out "$work/kubeconfig" --ready-delay-ms 200 >"$work/stdout" 2>"$work/stderr" &
pid=$!
# started <stdout file>: waits (60 s at most, a loaded machine under sanitizers is slow) for
# the emulator's first line.
started() {
  local deadline=$((SECONDS + 60))
  while [ $SECONDS -lt $deadline ]; do
    grep -q '^listening on ' "$1" 2>/dev/null && return
    sleep 0.1
  done
}
started "$work/stdout"
expect "emulator prints its address" "listening on http://127.0.0.1:" "$(head -1 "$work/stdout")"

out=$(k version)
expect "version" "Server Version: v1.32" "$out"

out=$(k apply -f "$src/crds/")
expect "apply crds: rollouts" "customresourcedefinition.apiextensions.k8s.io/rollouts.canaryd.io created" "$out"
expect "apply crds: analysistemplates" "customresourcedefinition.apiextensions.k8s.io/analysistemplates.canaryd.io created" "$out"
out=$(k wait --for=condition=Established crd/rollouts.canaryd.io --timeout=60s)
expect "wait for CRD Established" "customresourcedefinition.apiextensions.k8s.io/rollouts.canaryd.io condition met" "$out"

out=$(k api-resources)
expect "api-resources: deployments" "$(printf 'deployments')" "$out"
expect "api-resources: rollouts with short names" "cro,crollout" "$out"
expect "api-resources: rollouts group" "canaryd.io/v1alpha1" "$out"
out=$(k api-resources --api-group=canaryd.io -o name)
expect "api-resources -o name" "rollouts.canaryd.io" "$out"

for ns in $(grep -h '^  namespace:' "$src"/manifests/examples/*.yaml | awk '{print $2}' | sort -u); do
  out=$(k create namespace "$ns")
  expect "create namespace $ns" "namespace/$ns created" "$out"
done
docs=$(grep -c '^kind:' "$src"/manifests/examples/*.yaml | awk -F: '{s+=$2} END {print s}')
out=$(k apply -f "$src/manifests/examples/")
created=$(grep -c ' created$' <<<"$out" || true)
if [ "$created" -eq "$docs" ]; then ok "apply examples: $docs objects created"; else fail "apply examples: $created of $docs created:"; echo "$out"; fi
expect_not "apply examples: no errors" "rror" "$out"
out=$(k apply -f "$src/manifests/examples/")
unchanged=$(grep -c ' unchanged$' <<<"$out" || true)
if [ "$unchanged" -eq "$docs" ]; then ok "second apply: all unchanged"; else fail "second apply: $unchanged of $docs unchanged:"; echo "$out"; fi

# A changed custom object on the next apply: kubectl sends a JSON merge patch.
file=$(grep -l '^kind: Rollout' "$src"/manifests/examples/*.yaml | awk 'NR == 1')
name=$(awk '/^kind: Rollout/{r=1} r && /^  name:/{print $2; exit}' "$file")
awk '/^kind: Rollout/{r=1} r && /^  replicas:/ && !done {sub(/replicas: [0-9]+/, "replicas: 9"); done=1} {print}' "$file" >"$work/changed.yaml"
expect "apply a changed Rollout" "rollout.canaryd.io/$name configured" "$(k apply -f "$work/changed.yaml")"
expect "changed Rollout stored" "9" "$(k get rollout "$name" -n shop -o jsonpath='{.spec.replicas}')"
expect "changed Rollout generation" "2" "$(k get rollout "$name" -n shop -o jsonpath='{.metadata.generation}')"

out=$(k get rollouts -n shop)
expect "get: printer columns" "NAME" "$out"
expect "get: Desired column" "DESIRED" "$out"
expect "get: Phase column" "PHASE" "$out"
rollout=$(k get rollouts -n shop -o name | awk 'NR == 1' | sed 's|.*/||')
expect "get -o name" "rollout.canaryd.io/" "$(k get rollouts -n shop -o name)"

out=$(k get rollout "$rollout" -n shop -o yaml)
expect "get -o yaml: kind" "kind: Rollout" "$out"
expect "get -o yaml: apiVersion" "apiVersion: canaryd.io/v1alpha1" "$out"
expect "get -o yaml: generation" "generation: " "$out"
expect "get -o yaml: uid" "uid: " "$out"
expect "get -o yaml: last-applied" "kubectl.kubernetes.io/last-applied-configuration" "$out"

gen=$(k get rollout "$rollout" -n shop -o jsonpath='{.metadata.generation}')
# get -w sees a later change (a watch with the Table printer).
kubectl --kubeconfig "$work/kubeconfig" get rollouts -n shop -w --output-watch-events >"$work/watch" 2>&1 &
watcher=$!
poll "get -w: initial list" "ADDED" cat "$work/watch"
out=$(k patch rollout "$rollout" -n shop --type=merge -p '{"spec":{"replicas":7}}')
expect "patch --type=merge" "rollout.canaryd.io/$rollout patched" "$out"
poll "get -w: sees the change" "MODIFIED" cat "$work/watch"
kill "$watcher" 2>/dev/null || true
wait "$watcher" 2>/dev/null || true
expect "patch merge applied" "7" "$(k get rollout "$rollout" -n shop -o jsonpath='{.spec.replicas}')"
expect "generation bumped by spec change" "$((gen + 1))" "$(k get rollout "$rollout" -n shop -o jsonpath='{.metadata.generation}')"

out=$(k patch rollout "$rollout" -n shop --type=json -p '[{"op":"replace","path":"/spec/replicas","value":2}]')
expect "patch --type=json" "rollout.canaryd.io/$rollout patched" "$out"
expect "patch json applied" "2" "$(k get rollout "$rollout" -n shop -o jsonpath='{.spec.replicas}')"

out=$(k patch rollout "$rollout" -n shop --subresource=status --type=merge -p '{"status":{"phase":"Healthy","replicas":2,"availableReplicas":2}}')
expect "patch --subresource=status" "rollout.canaryd.io/$rollout patched" "$out"
out=$(k get rollout "$rollout" -n shop)
expect "status shows in printer columns" "Healthy" "$out"
expect "status did not bump generation" "$((gen + 2))" "$(k get rollout "$rollout" -n shop -o jsonpath='{.metadata.generation}')"

out=$(k scale rollout "$rollout" -n shop --replicas=5)
expect "scale a Rollout" "rollout.canaryd.io/$rollout scaled" "$out"
expect "scale applied" "5" "$(k get rollout "$rollout" -n shop -o jsonpath='{.spec.replicas}')"

out=$(k label rollout "$rollout" -n shop team=checkout)
expect "label" "rollout.canaryd.io/$rollout labeled" "$out"
out=$(k get rollouts -n shop -l team=checkout -o name)
expect "get -l" "rollout.canaryd.io/$rollout" "$out"
expect "get -l selects one" "1" "$(wc -l <<<"$out" | tr -d ' ')"

# Server-side validation: strict unknown fields, schema errors.
cat >"$work/bad.yaml" <<YAML
apiVersion: canaryd.io/v1alpha1
kind: Rollout
metadata: {name: bad, namespace: shop}
spec: {replicas: 1, bogusField: true}
YAML
out=$(k apply -f "$work/bad.yaml" || true)
expect "strict field validation" 'strict decoding error: unknown field "spec.bogusField"' "$out"
cat >"$work/invalid.yaml" <<YAML
apiVersion: canaryd.io/v1alpha1
kind: Rollout
metadata: {name: invalid, namespace: shop}
spec: {replicas: -1}
YAML
out=$(k apply -f "$work/invalid.yaml" || true)
expect "schema validation" 'spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0' "$out"

# Built-in kinds: strategic merge on the second apply, patch, wait, delete with GC.
cat >"$work/web.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: nginx:1.25
        env: [{name: MODE, value: one}]
      - name: sidecar
        image: busybox:1.36
YAML
expect "apply deployment" "deployment.apps/web created" "$(k apply -f "$work/web.yaml")"
out=$(k wait --for=condition=Available deployment/web --timeout=60s)
expect "wait --for=condition=Available" "deployment.apps/web condition met" "$out"
out=$(k get deployment web)
expect "deployment printer columns" "READY   UP-TO-DATE   AVAILABLE" "$out"
expect "deployment ready" "2/2" "$out"
sed 's/nginx:1.25/nginx:1.26/; s/value: one/value: two/' "$work/web.yaml" >"$work/web2.yaml"
expect "second apply (strategic merge)" "deployment.apps/web configured" "$(k apply -f "$work/web2.yaml")"
expect "second apply kept both containers" "nginx:1.26 busybox:1.36" \
  "$(k get deployment web -o jsonpath='{.spec.template.spec.containers[*].image}')"
out=$(k patch deployment web -p '{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"nginx:1.27"}]}}}}')
expect "patch (strategic, the default)" "deployment.apps/web patched" "$out"
expect "strategic patch merged by name" "nginx:1.27 busybox:1.36" \
  "$(k get deployment web -o jsonpath='{.spec.template.spec.containers[*].image}')"
expect "scale a Deployment" "deployment.apps/web scaled" "$(k scale deployment web --replicas=3)"
poll "deployment converges after scale" "3/3" k get deployment web

uid=$(k get deployment web -o jsonpath='{.metadata.uid}')
cat >"$work/rs.yaml" <<YAML
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-1
  namespace: default
  ownerReferences:
  - {apiVersion: apps/v1, kind: Deployment, name: web, uid: $uid, controller: true}
spec:
  replicas: 1
  selector: {matchLabels: {app: web, rs: one}}
  template:
    metadata: {labels: {app: web, rs: one}}
    spec: {containers: [{name: app, image: nginx}]}
YAML
expect "create dependent ReplicaSet" "replicaset.apps/web-1 created" "$(k apply -f "$work/rs.yaml")"
expect "delete owner" 'deployment.apps "web" deleted' "$(k delete deployment web)"
poll "dependent ReplicaSet garbage collected" 'replicasets.apps "web-1" not found' k get rs web-1

out=$(k explain rollouts.spec.replicas)
expect "explain: kind" "KIND:       Rollout" "$out"
expect "explain: field" "FIELD: replicas <integer>" "$out"
out=$(k explain rollouts.spec.strategy.canary)
expect "explain: nested field" "FIELD: canary <Object>" "$out"
expect "explain: nested fields listed" "steps" "$out"

out=$(k delete rollout "$rollout" -n shop)
expect "delete custom object" "rollout.canaryd.io \"$rollout\" deleted" "$out"
expect "deleted object is gone" "NotFound" "$(k get rollout "$rollout" -n shop)"

# The server stops cleanly on SIGTERM (under sanitizers: no leaks, no errors).
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
if [ "$status" -eq 0 ]; then ok "emulator exits 0 on SIGTERM"; else fail "emulator exit status $status:"; cat "$work/stderr"; fi
expect_not "emulator stderr has no sanitizer report" "Sanitizer" "$(cat "$work/stderr")"

# --tls: HTTPS with the generated CA and a bearer token, both in the kubeconfig.
"$emulator" --port 0 --tls --kubeconfig-out "$work/tls-kubeconfig" >"$work/tls-stdout" 2>&1 &
pid=$!
started "$work/tls-stdout"
expect "--tls serves https" "listening on https://127.0.0.1:" "$(head -1 "$work/tls-stdout")"
expect "kubectl over TLS with the token" "namespace/default" \
  "$(kubectl --kubeconfig "$work/tls-kubeconfig" get namespaces -o name 2>&1)"
expect "TLS with a wrong token is 401" "(Unauthorized)" \
  "$(kubectl --kubeconfig "$work/tls-kubeconfig" --token=wrong get namespaces 2>&1 </dev/null)"

echo "kubectl_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
