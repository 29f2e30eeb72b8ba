#!/usr/bin/env bash
# Drives the real helm 3.17 against kube-emulator: install, list, status, upgrade,
# rollback and uninstall of a small chart made here, with --wait (so the simulated
# deployment controller and Service ClusterIPs are what helm's readiness checks expect).
# helm stores its releases as protobuf Secrets or ConfigMaps and deletes with protobuf
# DeleteOptions, so this also checks the emulator's protobuf bodies.
#   helm_test.sh <kube-emulator binary> <source dir>
set -euo pipefail
emulator=$1
src=$2
helm=$("$src/hack/install-helm.sh")
work=$(mktemp -d)
passed=0
failed=0
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }
expect() {
  if grep -qF -- "$2" <<<"$3"; then ok "$1"; else fail "$1: expected [$2] in:"; echo "$3" | sed 's/^/    /'; fi
}
expect_eq() {
  if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected exactly [$2], got:"; echo "$3" | sed 's/^/    /'; fi
}
expect_not() {
  if grep -qF -- "$2" <<<"$3"; then fail "$1: unexpected [$2] in:"; echo "$3" | sed 's/^/    /'; else ok "$1"; fi
}
export HELM_CACHE_HOME="$work/helm/cache" HELM_CONFIG_HOME="$work/helm/config" \
  HELM_DATA_HOME="$work/helm/data"
h() { "$helm" --kubeconfig "$work/kubeconfig" "$@" 2>&1 || echo "exit status $?"; }
k() { kubectl --kubeconfig "$work/kubeconfig" "$@" 2>&1 || echo "exit status $?"; }

"$emulator" --port 0 --kubeconfig-out "$work/kubeconfig" --ready-delay-ms 200 >"$work/stdout" 2>"$work/stderr" &
pid=$!
for _ in $(seq 100); do
  grep -q '^listening on ' "$work/stdout" 2>/dev/null && break
  sleep 0.1
done
expect "emulator prints its address" "listening on http://127.0.0.1:" "$(head -1 "$work/stdout")"

chart="$work/shop"
mkdir -p "$chart/templates"
cat >"$chart/Chart.yaml" <<'YAML'
apiVersion: v2
name: shop
version: 0.1.0
appVersion: "1.0"
YAML
cat >"$chart/values.yaml" <<'YAML'
replicas: 2
greeting: hello
YAML
cat >"$chart/templates/configmap.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
data:
  greeting: {{ .Values.greeting | quote }}
YAML
cat >"$chart/templates/service.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-web
spec:
  selector: {app: {{ .Release.Name }}-web}
  ports: [{port: 80, targetPort: 8080}]
YAML
cat >"$chart/templates/deployment.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: {{ .Release.Name }}-web}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}-web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports: [{containerPort: 8080}]
YAML

out=$(h lint "$chart")
expect "helm lint" "1 chart(s) linted, 0 chart(s) failed" "$out"

out=$(h install shop "$chart" --namespace default --wait --timeout 60s)
expect "helm install" "STATUS: deployed" "$out"
expect_not "helm install: no error" "Error" "$out"

out=$(h list --namespace default)
expect "helm list shows the release" "deployed" "$out"
expect "helm list names the chart" "shop-0.1.0" "$out"

out=$(k get secrets -l owner=helm,name=shop -o name)
expect "release stored as a Secret" "secret/sh.helm.release.v1.shop.v1" "$out"
out=$(k get configmap shop-config -o jsonpath='{.data.greeting}')
expect "the chart's ConfigMap exists" "hello" "$out"
out=$(k get deployment shop-web -o jsonpath='{.status.availableReplicas}')
expect_eq "the chart's Deployment is available" "2" "$out"
# What helm --wait waited for: the Service's ClusterIP and the Deployment's ReplicaSet.
out=$(k get service shop-web -o jsonpath='{.spec.clusterIP}')
if [[ "$out" =~ ^10\.(9[6-9]|10[0-9]|11[01])\.[0-9]+\.[0-9]+$ ]]; then
  ok "the Service has a ClusterIP"
else
  fail "the Service has a ClusterIP: got [$out]"
fi
rs='{range .items[*]}{.metadata.name} {.metadata.ownerReferences[0].kind}/'
rs+='{.metadata.ownerReferences[0].name} {.spec.replicas} {.status.readyReplicas} '
rs+='{.metadata.labels.pod-template-hash}{"\n"}{end}'
out=$(k get replicasets -l app=shop-web -o jsonpath="$rs")
hash=${out##* }
expect_eq "the Deployment owns a ReplicaSet named by its pod-template-hash" \
  "shop-web-$hash Deployment/shop-web 2 2 $hash" "$out"
out=$(h status shop --namespace default)
expect "helm status" "STATUS: deployed" "$out"
expect "helm status names the revision" "REVISION: 1" "$out"

out=$(h upgrade shop "$chart" --namespace default --set greeting=bonjour --set replicas=3 --wait --timeout 60s)
expect "helm upgrade" "STATUS: deployed" "$out"
out=$(k get configmap shop-config -o jsonpath='{.data.greeting}')
expect "upgrade changed the ConfigMap" "bonjour" "$out"
out=$(k get deployment shop-web -o jsonpath='{.spec.replicas}')
expect_eq "upgrade scaled the Deployment" "3" "$out"
out=$(k get deployment shop-web -o jsonpath='{.status.readyReplicas}')
expect_eq "upgrade --wait waited for the new replicas" "3" "$out"

out=$(h history shop --namespace default)
expect "helm history has revision 2" "Upgrade complete" "$out"

out=$(h rollback shop 1 --namespace default --wait --timeout 60s)
expect "helm rollback" "Rollback was a success" "$out"
out=$(k get configmap shop-config -o jsonpath='{.data.greeting}')
expect "rollback restored the ConfigMap" "hello" "$out"
out=$(k get deployment shop-web -o jsonpath='{.spec.replicas}')
expect_eq "rollback restored the replicas" "2" "$out"
out=$(k get secrets -l owner=helm,name=shop -o name)
expect "rollback stored revision 3" "secret/sh.helm.release.v1.shop.v3" "$out"

out=$(h uninstall shop --namespace default)
expect "helm uninstall" 'release "shop" uninstalled' "$out"
out=$(k get configmap shop-config)
expect "uninstall removed the ConfigMap" "NotFound" "$out"
out=$(k get deployment shop-web)
expect "uninstall removed the Deployment" "NotFound" "$out"
out=$(k get service shop-web)
expect "uninstall removed the Service" "NotFound" "$out"
out=$(k get secrets -l owner=helm,name=shop -o name)
expect_eq "uninstall removed the release Secrets" "" "$out"
for _ in $(seq 100); do
  out=$(k get replicasets -l app=shop-web -o name)
  [ -z "$out" ] && break
  sleep 0.1
done
expect_eq "the garbage collector removed the ReplicaSet" "" "$out"
out=$(h list --namespace default --all)
expect_not "no release left" "shop" "$out"

# The ConfigMap storage driver: releases as protobuf ConfigMaps, in a namespace helm creates.
out=$(HELM_DRIVER=configmap h install cm "$chart" --namespace store --create-namespace --wait \
  --timeout 60s)
expect "helm install (configmap driver)" "STATUS: deployed" "$out"
out=$(k get configmaps -n store -l owner=helm,name=cm -o name)
expect "release stored as a ConfigMap" "configmap/sh.helm.release.v1.cm.v1" "$out"
out=$(HELM_DRIVER=configmap h uninstall cm --namespace store)
expect "helm uninstall (configmap driver)" 'release "cm" uninstalled' "$out"
out=$(k get configmaps -n store -l owner=helm -o name)
expect_eq "uninstall removed the release ConfigMap" "" "$out"

# Every request helm sent was understood: no 4xx but the 404s its waits and lookups
# expect, no 5xx (a protobuf body the emulator cannot read would be 400 or 415).
out=$(k get --raw /_emulator/counters | python3 -c '
import json, sys
for r in json.load(sys.stdin)["requests"]:
    if r["code"] >= 400 and r["code"] != 404:
        print(r["verb"], r["resource"], r["code"])')
expect_eq "no request refused" "" "$out"

# The server stops cleanly on SIGTERM (under sanitizers: no leaks, no errors).
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
if [ "$status" -eq 0 ]; then ok "emulator exits 0 on SIGTERM"; else fail "emulator exit status $status:"; cat "$work/stderr"; fi
expect_not "emulator stderr has no sanitizer report" "Sanitizer" "$(cat "$work/stderr")"

echo "helm_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
