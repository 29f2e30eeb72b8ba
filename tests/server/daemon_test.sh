#!/usr/bin/env bash
# The canaryd daemon against the kube-emulator binary: flag errors, bind errors, /readyz
# before the CRDs are installed (with the install message) and after, /metrics after a
# rollout step, and SIGTERM with two processes: the leader exits within 10 s and the
# standby leads within 2 s of that exit.
#   daemon_test.sh <canaryd> <kube-emulator> <source dir>
set -euo pipefail
canaryd=$1
emulator=$2
src=$3

source "$src/tests/e2e/lib.sh"

# Every listener on a free loopback port, named in the log.
serve=(--metrics-bind-address 127.0.0.1:0 --health-probe-bind-address 127.0.0.1:0)

# served_url <name> <metrics|health probes>: the URL canaryd <name> logged, or "".
served_url() {
  grep -m1 -o "serving $2 on http://127\.0\.0\.1:[0-9]*" "$work/canaryd-$1.log" 2>/dev/null |
    sed 's/.* on //' || true
}
# wait_url <name> <metrics|health probes>: waits for the URL and prints it.
wait_url() {
  local url="" deadline=$((SECONDS + 30))
  while [ $SECONDS -lt "$deadline" ]; do
    url=$(served_url "$1" "$2")
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || fail "canaryd $1 did not log 'serving $2 on http://127.0.0.1:PORT'"
  echo "$url"
}
# The HTTP status of a GET.
status_of() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" || true; }
body_of() { curl -s --max-time 5 "$1" || true; }
# "yes" when the body of the GET has this line, else the body.
has_line() {
  local body
  body=$(body_of "$1")
  if grep -qxF -- "$2" <<<"$body"; then echo yes; else echo "no: $(head -c 300 <<<"$body")"; fi
}
# "yes" when the body of the GET contains the text, else the body.
has_text() {
  local body
  body=$(body_of "$1")
  if grep -qF -- "$2" <<<"$body"; then echo yes; else echo "no: $(head -c 300 <<<"$body")"; fi
}
# "yes" when the log of canaryd <name> has a line matching the regular expression.
log_has() { if grep -q -- "$2" "$work/canaryd-$1.log"; then echo yes; else echo no; fi; }
lease_holder() { k get lease canaryd-daemon -n default -o jsonpath='{.spec.holderIdentity}'; }

# ---- flags ----
rc=0
out=$("$canaryd" run --no-such-flag 2>&1) || rc=$?
[ "$rc" -ne 0 ] && grep -q "not expected: --no-such-flag" <<<"$out" ||
  fail "unknown flag: rc $rc, output [$out]"
ok "an unknown flag is an error (exit $rc)"
rc=0
out=$("$canaryd" run --metrics-bind-address localhost 2>&1) || rc=$?
[ "$rc" -ne 0 ] && grep -qF 'bind address "localhost": expected host:port, :port, or 0' <<<"$out" ||
  fail "bad bind address: rc $rc, output [$out]"
ok "a bad bind address is an error (exit $rc)"
rc=0
out=$(CANARYD_HEALTH_PROBE_BIND_ADDRESS=:70000 "$canaryd" run 2>&1) || rc=$?
[ "$rc" -ne 0 ] && grep -qF 'bind address ":70000"' <<<"$out" ||
  fail "bad bind address from the environment: rc $rc, output [$out]"
ok "the environment variable fallback is checked too (exit $rc)"
help=$("$canaryd" run --help)
for flag in --metrics-bind-address --health-probe-bind-address --leader-elect --log-format \
  --kube-api-qps --prometheus-address CANARYD_METRICS_BIND_ADDRESS; do
  grep -q -- "$flag" <<<"$help" || fail "--help does not mention $flag"
done
ok "--help lists the flags and their environment variables"

# ---- /readyz before and after the CRDs ----
start_emulator
start_canaryd a --leader-elect=false "${serve[@]}"
probes=$(wait_url a "health probes")
metrics=$(wait_url a metrics)
ok "a serves health probes on $probes and metrics on $metrics"
poll "/healthz answers 200 at once" 10 200 status_of "$probes/healthz"
poll "/readyz is 503 without the CRDs" 10 503 status_of "$probes/readyz"
poll "/readyz says to install the CRDs" 30 "yes" has_text "$probes/readyz" \
  "not ready: the canaryd CRDs are not installed (the API server does not serve analysistemplates.canaryd.io, rollouts.canaryd.io): install them with \`kubectl apply -f crds/\`; retrying"
poll "the log says to install the CRDs" 30 yes \
  log_has a "not ready: the canaryd CRDs are not installed .*kubectl apply -f crds/"
[ "$(status_of "$probes/readyz")" = 503 ] || fail "/readyz not 503 before the CRDs"
ok "still not ready while the CRDs are missing"
# An 8 s timed pause at step 1, so that the metrics are read while it lasts.
setup_rollout -e 's/duration: 2s/duration: 8s/'
poll "/readyz is 200 once the CRDs are installed and the caches synced" 60 200 \
  status_of "$probes/readyz"
first_stable

# ---- /metrics after a rollout step ----
set_image 2
poll "setWeight 25 then the timed pause" 20 "Paused 1 25" state
# "yes" when one scrape shows the Rollout's phase, weight and step as the Rollout has them.
rollout_gauges() {
  local body want
  body=$(body_of "$metrics/metrics")
  for want in "canaryd_rollout_info{namespace=\"e2e\",rollout=\"web\",phase=\"$1\"} 1" \
    "canaryd_rollout_weight{namespace=\"e2e\",rollout=\"web\"} $2" \
    "canaryd_rollout_step{namespace=\"e2e\",rollout=\"web\"} $3"; do
    grep -qxF -- "$want" <<<"$body" || {
      echo "no [$want] in: $(grep canaryd_rollout_ <<<"$body")"
      return
    }
  done
  echo yes
}
poll "/metrics: rollout_info, rollout_weight and rollout_step of the paused step" 10 yes \
  rollout_gauges Paused 25 1
text=$(body_of "$metrics/metrics")
for want in '# TYPE canaryd_reconcile_duration_seconds histogram' \
  'canaryd_reconcile_duration_seconds_bucket{le="+Inf"} ' \
  'canaryd_reconcile_duration_seconds_count ' \
  'canaryd_reconcile_errors_total ' \
  'canaryd_kube_requests_total{code="200",verb="list"} ' \
  'canaryd_kube_requests_total{code="200",verb="watch"} ' \
  'canaryd_kube_requests_total{code="404",verb="list"} ' \
  'canaryd_kube_requests_total{code="201",verb="create"} ' \
  'canaryd_workqueue_depth{name="rollouts"} ' \
  'canaryd_leader 1' \
  'canaryd_build_info{version="'; do
  grep -qF -- "$want" <<<"$text" || fail "/metrics lacks [$want]: $(head -c 2000 <<<"$text")"
done
count=$(grep -m1 '^canaryd_reconcile_duration_seconds_count ' <<<"$text" | cut -d' ' -f2)
[ "${count%%.*}" -gt 0 ] || fail "no reconcile observed: $count"
ok "/metrics has the reconcile histogram ($count reconciles), kube request counters, queue and leader"
curl -s -D - -o /dev/null "$metrics/metrics" | grep -qi '^content-type: text/plain; version=0.0.4' ||
  fail "/metrics Content-Type is not the Prometheus text format"
ok "/metrics in the Prometheus text format 0.0.4"

# ---- a port in use ----
port=${metrics##*:}
rc=0
timeout 30 "$canaryd" run --kubeconfig "$work/kubeconfig" --leader-elect=false \
  --metrics-bind-address "127.0.0.1:$port" --health-probe-bind-address 127.0.0.1:0 \
  >"$work/canaryd-busy.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -qF "listen on 127.0.0.1:$port: Address already in use" "$work/canaryd-busy.log" ||
  fail "port in use: rc $rc, log [$(cat "$work/canaryd-busy.log")]"
ok "a port in use: a clear error and exit 1"
stop_canaryd a TERM

# ---- SIGTERM: the leader releases the Lease, the standby takes over ----
lease=(--leader-elect=true --leader-election-namespace default --leader-election-id canaryd-daemon
  --leader-election-lease-duration 6s --leader-election-renew-deadline 4s
  --leader-election-retry-period 200ms)
start_canaryd b "${lease[@]}" "${serve[@]}"
poll "b leads" 30 b lease_holder
start_canaryd c "${lease[@]}" "${serve[@]}"
metrics_b=$(wait_url b metrics)
metrics_c=$(wait_url c metrics)
probes_c=$(wait_url c "health probes")
poll "the standby c is ready (caches synced)" 60 200 status_of "$probes_c/readyz"
poll "canaryd_leader 1 on b" 10 yes has_line "$metrics_b/metrics" 'canaryd_leader 1'
poll "canaryd_leader 0 on the standby c" 10 yes has_line "$metrics_c/metrics" 'canaryd_leader 0'
holds "c stays a standby while b leads" 1 b lease_holder

kill -TERM "$canaryd_pid_b"
t_term=$(date +%s%N)
while kill -0 "$canaryd_pid_b" 2>/dev/null && [ $(($(date +%s%N) - t_term)) -lt 12000000000 ]; do
  sleep 0.02
done
t_exit=$(date +%s%N)
kill -0 "$canaryd_pid_b" 2>/dev/null && fail "b still running 12 s after SIGTERM"
rc=0
wait "$canaryd_pid_b" || rc=$?
[ "$rc" -eq 0 ] || fail "b exited with $rc after SIGTERM"
exit_ms=$(((t_exit - t_term) / 1000000))
[ "$exit_ms" -lt 10000 ] || fail "b took ${exit_ms} ms to exit after SIGTERM"
ok "b exited 0, ${exit_ms} ms after SIGTERM"
poll "c takes over" 10 c lease_holder
# The Lease's acquireTime is c's clock (this machine's): how long after b's exit c took it.
acquired=$(k get lease canaryd-daemon -n default -o jsonpath='{.spec.acquireTime}')
took_ms=$((($(date -d "$acquired" +%s%N) - t_exit) / 1000000))
[ "$took_ms" -lt 2000 ] || fail "c acquired the Lease ${took_ms} ms after b exited (at $acquired)"
# Negative when c took it between the release and the exit (seen by polling).
ok "c acquired the released Lease ${took_ms} ms after b exited"
poll "canaryd_leader 1 on c" 10 yes has_line "$metrics_c/metrics" 'canaryd_leader 1'
poll "c walks on to the indefinite pause" 30 "Paused 3 50" state
promote
poll "c carries the rollout on: promoted" 30 "Healthy 4 0" state
stop_canaryd c TERM

summary
