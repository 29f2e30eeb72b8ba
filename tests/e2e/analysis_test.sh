#!/usr/bin/env bash
# End-to-end analysis scenarios: the real canaryd binary against the kube-emulator binary,
# a real Prometheus (Debian's /usr/bin/prometheus) scraping two demo-app exporters every
# second (the stable one healthy, the canary one failing at a set rate and latency), and
# the real kubectl. Prometheus attaches service="web-stable" / service="web-canary" to the
# exporters' series, so the generic built-in templates (http_requests_total,
# http_request_duration_seconds_bucket by service) measure the canary app.
#   analysis_test.sh <scenario> <canaryd> <kube-emulator> <source dir> <build dir>
# Scenarios:
#   healthy          a healthy canary is promoted through every step
#   error-rate       a canary over the error-rate threshold is aborted at once
#   latency          a slow canary is aborted by its p95 latency
#   no-data          a canary without traffic pauses (Inconclusive) with the message, and
#                    goes on once it has traffic and is promoted
#   prometheus-down  Prometheus stops mid-analysis: no promotion, abort after the error limit
#   invalid-spec     a missing AnalysisTemplate, then one with an unknown query variable:
#                    InvalidSpec naming them, never a promotion; fixed, the rollout goes on
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
scenario_args "${@:1:4}"
build=$5

demo_app=""
for candidate in "$build/hack/demo/demo-app" "$build/hack/demo/app/demo-app"; do
  if [ -x "$candidate" ]; then demo_app=$candidate; break; fi
done
[ -n "$demo_app" ] || fail "demo-app not built under $build/hack/demo (ninja demo-app)"
prometheus_bin=/usr/bin/prometheus
[ -x "$prometheus_bin" ] || fail "$prometheus_bin is missing (hack/install-deps.sh installs it)"

# The analysis intervals of testdata/analysis/rollout.yaml.
background_interval=3

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_app <name> <version> <error rate> <latency ms>: a demo-app server on a free port;
# its URL is in app_url_<name>.
start_app() {
  local name=$1
  "$demo_app" serve --port 0 --version "$2" --error-rate "$3" --latency-ms "$4" \
    >"$work/app-$name.out" 2>"$work/app-$name.log" &
  pids+=($!)
  local i url=""
  for i in $(seq 100); do
    # The file may not exist yet (the background shell opens it): not an error.
    url=$(sed -n 's/^listening on \(http:\/\/127\.0\.0\.1:[0-9]*\).*/\1/p' "$work/app-$name.out" 2>/dev/null || true)
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || fail "demo-app $name did not start"
  eval "app_url_$name=$url"
  ok "demo-app $name ($2, error rate $3, latency $4 ms) at $url"
}

# start_load <name> <url> <rps>: steady GET load on the URL.
start_load() {
  "$demo_app" load --target "$2/" --rps "$3" >"$work/load-$1.out" 2>"$work/load-$1.log" &
  pids+=($!)
}

# Starts Prometheus scraping both apps every second on a free port: prom_url, prom_pid.
start_prometheus() {
  local stable_target=${app_url_stable#http://} canary_target=${app_url_canary#http://}
  cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
- job_name: stable
  static_configs:
  - targets: ['$stable_target']
    labels: {service: web-stable}
- job_name: canary
  static_configs:
  - targets: ['$canary_target']
    labels: {service: web-canary}
EOF
  local port i
  # The port may be taken between choosing and binding it: try a few.
  for _ in 1 2 3; do
    port=$(free_port)
    "$prometheus_bin" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
      --web.listen-address="127.0.0.1:$port" --log.level=warn >>"$work/prometheus.log" 2>&1 &
    prom_pid=$!
    pids+=("$prom_pid")
    prom_url="http://127.0.0.1:$port"
    for i in $(seq 300); do
      kill -0 "$prom_pid" 2>/dev/null || break
      if curl -sf "$prom_url/-/ready" >/dev/null 2>&1; then
        ok "Prometheus ready at $prom_url"
        return 0
      fi
      sleep 0.1
    done
    kill -KILL "$prom_pid" 2>/dev/null || true
    wait "$prom_pid" 2>/dev/null || true
  done
  fail "Prometheus did not start"
}

# prom_value <promql> [seconds ago]: the query's single value (now, or that many seconds
# ago), "none" for an empty result.
prom_value() {
  local at
  at=$(($(date +%s) - ${2:-0}))
  curl -sf --max-time 5 "$prom_url/api/v1/query" --data-urlencode "query=$1" \
    --data-urlencode "time=$at" | python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if len(r) == 1 else ("none" if not r else "several"))'
}
canary_error_rate='(sum(rate(http_requests_total{service="web-canary",code=~"5.."}[10s])) or vector(0)) / sum(rate(http_requests_total{service="web-canary"}[10s]))'
canary_p95='histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{service="web-canary"}[10s])))'
# "yes" once the query has a number (not empty, not NaN) 2 s ago: canaryd queries at whole
# seconds, so the data it sees must not be only a fraction of a second old.
has_value() {
  local v
  v=$(prom_value "$1" 2 2>/dev/null || echo "unreachable")
  if [[ "$v" =~ ^[0-9.e+-]+$ ]]; then echo yes; else echo "no ($v)"; fi
}

# The demo apps, load and Prometheus: canary_* are the canary app's flags; canary_rps 0
# sends it no traffic.
start_data_plane() {
  start_app stable v1 0 5
  start_app canary v2 "$canary_errors" "$canary_latency_ms"
  start_load stable "$app_url_stable" 20
  if [ "$canary_rps" != 0 ]; then start_load canary "$app_url_canary" "$canary_rps"; fi
  start_prometheus
  if [ "$canary_rps" != 0 ]; then
    # rate() needs two scrapes inside its window: measure only once there is data.
    poll "Prometheus has the canary's error rate" 30 yes has_value "$canary_error_rate"
    poll "Prometheus has the canary's p95 latency" 10 yes has_value "$canary_p95"
  else
    poll "Prometheus scrapes the idle canary" 30 "1" prom_value 'up{service="web-canary"}'
  fi
}

setup_analysis_rollout() {
  k_ok "customresourcedefinition.apiextensions.k8s.io/rollouts.canaryd.io" apply -f "$src/crds/" >/dev/null
  k_ok "condition met" wait --for=condition=Established crd/rollouts.canaryd.io \
    crd/analysistemplates.canaryd.io --timeout=20s >/dev/null
  sed "$@" "$src/tests/e2e/testdata/analysis/rollout.yaml" >"$work/rollout.yaml"
  k_ok "rollout.canaryd.io/web" apply -f "$work/rollout.yaml" >/dev/null
}

# Seconds since the epoch of an RFC 3339 time.
epoch() { date -d "$1" +%s; }

metric_field() {
  field ".status.analysis.metrics[?(@.name==\"$1\")].$2"
}
# "yes" once metric $1 has at least $2 successful measurements in status.analysis.
successes_at_least() {
  local n
  n=$(metric_field "$1" successful)
  if [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge "$2" ]; then echo yes; else echo "no ($n)"; fi
}
# "reason|note" of every Event about the Rollout.
event_lines() {
  k get events.events.k8s.io -n "$ns" -o jsonpath='{range .items[*]}{.reason}|{.note}{"\n"}{end}'
}
# How many times Events with this reason were recorded (series counts included).
events_with_reason() {
  k get events.events.k8s.io -n "$ns" \
    -o jsonpath='{range .items[*]}{.reason}|{.series.count}{"\n"}{end}' |
    awk -F'|' -v r="$1" '$1 == r {n += ($2 == "" ? 1 : $2)} END {print n + 0}'
}
# "yes" when an Event with reason $1 has a note matching the extended regex $2.
event_matches() {
  if event_lines | awk -F'|' -v r="$1" '$1 == r {sub(/^[^|]*\|/, ""); print}' | grep -qE -- "$2"; then
    echo yes
  else
    echo "no: $(event_lines | grep -F "$1|" | head -3)"
  fi
}
# "yes" when the text of `field $1` matches the extended regex $2.
field_matches() {
  local v
  v=$(field "$1")
  if grep -qE -- "$2" <<<"$v"; then echo yes; else echo "no: $v"; fi
}
aborted_message() { field '.status.conditions[?(@.type=="Aborted")].message'; }
# How many Events say a measurement was Failed or Inconclusive. (An Error, a query that
# timed out on a loaded machine, says nothing about the canary.)
bad_measurements() {
  echo $(($(events_with_reason AnalysisMeasurementFailed) +
    $(events_with_reason AnalysisMeasurementInconclusive)))
}

start_emulator
canary_rps=20
canary_errors=0.01
canary_latency_ms=20
case "$scenario" in
error-rate) canary_errors=0.2 canary_latency_ms=0 ;;
latency) canary_errors=0 canary_latency_ms=400 ;;
no-data) canary_rps=0 ;;
esac
start_data_plane
case "$scenario" in
no-data) setup_analysis_rollout -e 's/inconclusiveLimit: 1/inconclusiveLimit: 0/' ;;
# An inline gate that cannot pass before Prometheus is gone.
prometheus-down) setup_analysis_rollout -e 's/count: 2/count: 100/' ;;
*) setup_analysis_rollout -e 's/^x//' ;;
esac
start_canaryd a --leader-elect=false --prometheus-address "$prom_url"
first_stable

case "$scenario" in
healthy)
  set_image 2
  poll "step 1: the timed pause at 25%" 30 "Paused 1 25" state
  canary_hash=$(field .status.currentPodHash)
  poll "background analysis measured the canary successfully" 20 yes successes_at_least error-rate 1
  poll "latency-p95 too" 10 yes successes_at_least latency-p95 1
  poll "step 3: the inline success-rate gate runs" 30 "3" field .status.analysis.stepIndex
  poll "promoted through every step" 60 "Healthy 4 0" state
  poll "stableRS is the canary" 10 "$canary_hash" field .status.stableRS
  poll "history records the promotion" 10 "Promoted" field '.status.history[-1:].outcome'
  # Only the gate passing (or a promote, which this test does not send) leaves step 3.
  events "the gate started once" "1" "Step 3 started: analysis"
  events "Promoted event" "1" "Promoted ReplicaSet web-$canary_hash to stable"
  poll "no failed or inconclusive measurement" 5 "0" bad_measurements
  ;;

error-rate)
  set_image 2
  poll "aborted at step 1: Degraded, weight 0" 40 "Degraded 1 0" state
  canary_hash=$(field .status.currentPodHash)
  poll "Aborted by the analysis" 10 "AnalysisFailed" \
    field '.status.conditions[?(@.type=="Aborted")].reason'
  poll "the reason names the metric, value, threshold and query" 5 yes \
    field_matches '.status.conditions[?(@.type=="Aborted")].message' \
    '^error-rate 0\.[12][0-9]* > max 0\.05 \(query: .*http_requests_total\{service="web-canary"'
  poll "history: aborted on error-rate" 10 "Aborted error-rate" \
    field '.status.history[-1:].outcome} {.status.history[-1:].metric'
  # Measurements and the abort carry whole seconds.
  first_failed=$(metric_field error-rate 'measurements[?(@.phase=="Failed")].startedAt' | awk '{print $1}')
  aborted_at=$(field .status.abortedAt)
  if [ -z "$first_failed" ] || [ -z "$aborted_at" ]; then
    fail "no failed measurement or abortedAt in status"
  fi
  took=$(($(epoch "$aborted_at") - $(epoch "$first_failed")))
  if [ "$took" -lt 0 ] || [ "$took" -gt "$background_interval" ]; then
    fail "aborted ${took}s after the first failing measurement (interval ${background_interval}s)"
  fi
  ok "aborted ${took}s after the first failing measurement"
  poll "an Event for the failed measurement" 10 yes event_matches AnalysisMeasurementFailed \
    '^background analysis: error-rate 0\.[12][0-9]* > max 0\.05 \(query: '
  poll "canary scaled down" 20 "0/0" rs_replicas "$canary_hash"
  poll "stable back at 4" 20 "4/4" rs_replicas "$stable_hash"
  poll "stable Service on the stable hash" 10 "$stable_hash" svc_hash web-stable
  holds "an aborted rollout stays aborted" 3 "Degraded 1 0" state
  ;;

latency)
  set_image 2
  poll "aborted at step 1: Degraded, weight 0" 40 "Degraded 1 0" state
  canary_hash=$(field .status.currentPodHash)
  poll "aborted by latency-p95" 5 yes \
    field_matches '.status.conditions[?(@.type=="Aborted")].message' \
    '^latency-p95 0\.[3-9][0-9]* > max 0\.25 \(query: histogram_quantile\(0\.95, '
  poll "error-rate passed" 5 "Successful" \
    metric_field error-rate 'measurements[-1:].phase'
  poll "history: aborted on latency-p95" 10 "Aborted latency-p95" \
    field '.status.history[-1:].outcome} {.status.history[-1:].metric'
  poll "an Event for the failed measurement" 10 yes event_matches AnalysisMeasurementFailed \
    '^background analysis: latency-p95 0\.[3-9][0-9]* > max 0\.25'
  poll "canary scaled down" 20 "0/0" rs_replicas "$canary_hash"
  poll "stable Service on the stable hash" 10 "$stable_hash" svc_hash web-stable
  ;;

no-data)
  set_image 2
  poll "paused for an inconclusive analysis" 40 "Inconclusive" \
    field '.status.pauseConditions[-1:].reason'
  canary_hash=$(field .status.currentPodHash)
  poll "the message names the metric and what to check" 5 yes field_matches .status.message \
    '^Paused: error-rate: no data( \(NaN\))? for query .*: is the canary receiving traffic\?$'
  poll "the Paused condition says it too" 5 yes \
    field_matches '.status.conditions[?(@.type=="Paused")].message' 'is the canary receiving traffic\?'
  poll "an Event for the inconclusive measurement" 10 yes \
    event_matches AnalysisMeasurementInconclusive '^background analysis: error-rate: no data'
  # The 5 s pause step is soon over, yet the rollout waits.
  holds "no progress while inconclusive" 7 "Paused 1 25" state
  poll "stableRS unchanged" 5 "$stable_hash" field .status.stableRS

  # Traffic reaches the canary; a user promotes: measuring resumes and the rollout goes on.
  start_load canary "$app_url_canary" 20
  poll "Prometheus has the canary's error rate" 30 yes has_value "$canary_error_rate"
  poll "Prometheus has the canary's p95 latency" 10 yes has_value "$canary_p95"
  promote
  poll "promoted through the remaining steps" 60 "Healthy 4 0" state
  poll "stableRS is the canary" 10 "$canary_hash" field .status.stableRS
  ;;

prometheus-down)
  set_image 2
  poll "step 3: the inline gate measures" 40 yes successes_at_least success-rate 1
  canary_hash=$(field .status.currentPodHash)
  kill -KILL "$prom_pid"
  wait "$prom_pid" 2>/dev/null || true
  ok "Prometheus stopped"
  poll "aborted at step 3 after the error limit: Degraded, weight 0" 40 "Degraded 3 0" state
  poll "3 consecutive errors, as consecutiveErrorLimit 2 allows 2" 5 "success-rate 3 3" \
    field '.status.analysis.metrics[0].name} {.status.analysis.metrics[0].consecutiveError} {.status.analysis.metrics[0].error'
  poll "the reason says so and names the metric" 5 yes \
    field_matches '.status.conditions[?(@.type=="Aborted")].message' \
    '^success-rate: 3 consecutive errors \(consecutiveErrorLimit 2\); last: success-rate: .*(refused|connect)'
  poll "an Event for each error" 10 "3" events_with_reason AnalysisMeasurementError
  poll "never promoted: stableRS unchanged" 5 "$stable_hash" field .status.stableRS
  poll "history: aborted" 5 "Aborted" field '.status.history[*].outcome'
  poll "canary scaled down" 20 "0/0" rs_replicas "$canary_hash"
  poll "stable Service on the stable hash" 10 "$stable_hash" svc_hash web-stable
  ;;

invalid-spec)
  # Referencing an AnalysisTemplate changes nothing while no canary runs.
  k_ok "patched" -n "$ns" patch rollout "$rollout" --type=merge \
    -p '{"spec":{"strategy":{"canary":{"analysis":{"templates":[{"name":"http-slo"}]}}}}}' >/dev/null
  set_image 2
  poll "InvalidSpec: the template is missing" 40 'True|spec.strategy.canary.analysis.templates[0].name: Invalid value: "http-slo": AnalysisTemplate "http-slo" not found in namespace e2e' \
    field '.status.conditions[?(@.type=="InvalidSpec")].status}|{.status.conditions[?(@.type=="InvalidSpec")].message'
  poll "phase Degraded at step 1" 5 "Degraded 1" field '.status.phase} {.status.currentStepIndex'
  canary_hash=$(field .status.currentPodHash)
  holds "never promoted" 4 "Degraded 1 $stable_hash" \
    field '.status.phase} {.status.currentStepIndex} {.status.stableRS'
  poll "an InvalidSpec Event names the template" 10 yes event_matches InvalidSpec 'AnalysisTemplate "http-slo" not found'

  # The template appears with a variable canaryd does not know.
  sed 's/{{canaryService}}/{{podName}}/' "$src/tests/e2e/testdata/analysis/template.yaml" >"$work/template.yaml"
  # The template's informer enqueues the Rollout: it is looked at again untouched.
  generation=$(field .metadata.generation)
  k_ok "analysistemplate.canaryd.io/http-slo" apply -f "$work/template.yaml" >/dev/null
  poll "InvalidSpec: the unknown variable, naming the template and metric" 20 yes \
    field_matches '.status.conditions[?(@.type=="InvalidSpec")].message' \
    '^spec\.strategy\.canary\.analysis\.templates\[0\]: Invalid value: "http-slo": AnalysisTemplate e2e/http-slo spec\.metrics\[0\]: canary-up: unknown variable \{\{podName\}\}'
  poll "still Degraded at step 1, not promoted" 5 "Degraded 1 $stable_hash" \
    field '.status.phase} {.status.currentStepIndex} {.status.stableRS'

  # Fixed: the analysis runs and the rollout goes on to promotion.
  k_ok "analysistemplate.canaryd.io/http-slo" apply -f "$src/tests/e2e/testdata/analysis/template.yaml" >/dev/null
  poll "InvalidSpec cleared" 20 "False" field '.status.conditions[?(@.type=="InvalidSpec")].status'
  poll "promoted through every step" 60 "Healthy 4 0" state
  poll "stableRS is the canary" 10 "$canary_hash" field .status.stableRS
  poll "the Rollout's spec was not touched" 5 "$generation" field .metadata.generation
  ;;

*)
  echo "unknown scenario $scenario"
  exit 2
  ;;
esac

summary
