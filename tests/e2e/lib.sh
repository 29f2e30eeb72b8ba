# Shared helpers of the end-to-end scenarios (sourced by the tests/e2e scripts and other
# scripts that drive the binaries): start the kube-emulator and canaryd binaries, drive
# them with the real kubectl, poll with deadlines, and stop every process started at exit.

work=$(mktemp -d)
passed=0
failed=0
pids=()

cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  # E2E_KEEP=<dir>: keep every log there.
  if [ -n "${E2E_KEEP:-}" ]; then mkdir -p "$E2E_KEEP" && cp "$work"/*.log "$E2E_KEEP"/ 2>/dev/null || true; fi
  if [ "$failed" -ne 0 ]; then
    for f in "$work"/*.log; do
      [ -f "$f" ] || continue
      echo "---- $(basename "$f") (last 60 lines)"
      tail -60 "$f"
    done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# scenario_args <scenario> <canaryd> <kube-emulator> <source dir> [emulator flags...]: the
# command line of the scenario scripts. Sets scenario, canaryd, emulator, src,
# emulator_flags and faults (how many emulator flags: non-zero when the emulator injects
# faults).
scenario_args() {
  scenario=$1 canaryd=$2 emulator=$3 src=$4
  shift 4
  emulator_flags=("$@")
  faults=$#
}

ok() { passed=$((passed + 1)); echo "ok: $1"; }
fail() {
  failed=$((failed + 1))
  # stderr: callers may have redirected stdout.
  echo "FAIL: $1" >&2
  # One failure ends the scenario: later steps depend on it.
  exit 1
}

# An answer that says nothing about the cluster: a fault the emulator injected (5xx,
# 429) or a broken connection. Reads are retried on these.
transient_kubectl_error() {
  grep -qE "injected fault|InternalError|Internal error|TooManyRequests|unable to handle the request|connection reset|EOF" <<<"$1"
}

# kubectl_retry <tries> <pause> <expect> <kubectl args...>: the retry loop of k and k_ok.
# Runs kubectl against the emulator (its stdout in the caller's kout, its stderr in kerr)
# at most <tries> times, <pause> seconds apart, until it succeeds with `expect` in its
# output. With an `expect` any failure is retried; with "" only an injected fault. Returns
# 0 on success, else non-zero.
kubectl_retry() {
  local tries=$1 pause=$2 expect=$3 i rc
  # One file per shell, so that calls from concurrent subshells never share one.
  local err="$work/kubectl-$BASHPID.err"
  shift 3
  for i in $(seq "$tries"); do
    rc=0
    kout=$(kubectl --kubeconfig "$work/kubeconfig" "$@" 2>"$err") || rc=$?
    kerr=$(<"$err")
    [ "$rc" -eq 0 ] && grep -qF -- "$expect" <<<"$kout"$'\n'"$kerr" && return 0
    [ -n "$expect" ] || transient_kubectl_error "$kout$kerr" || return 1
    sleep "$pause"
  done
  return 1
}

# kubectl against the emulator; its output (stderr too when it fails), never failing the
# script. Retried while the failure is an injected fault.
k() {
  local kout kerr
  if kubectl_retry 40 0.05 "" "$@"; then echo "$kout"; else echo "$kout$kerr"; fi
}
# kubectl that must succeed: retried (with injected faults a request may fail), the
# output (stdout, then stderr) checked for `expect`.
k_ok() {
  local expect=$1 kout kerr rc=0
  shift
  kubectl_retry 30 0.2 "$expect" "$@" || rc=$?
  kout+=${kerr:+$'\n'$kerr}
  [ "$rc" -eq 0 ] || fail "kubectl $*: expected [$expect], got: $kout"
  echo "$kout"
}

# watch_until <seconds> <pause> <stop> <command...>: the loop of poll and holds. Re-runs
# the command, its output (stderr too) in the caller's `out`, every <pause> seconds until
# `<stop>` succeeds (returns 0) or the seconds run out (returns 1).
watch_until() {
  local deadline=$((SECONDS + $1)) pause=$2 stop=$3
  shift 3
  while [ $SECONDS -lt "$deadline" ]; do
    out=$("$@" 2>&1 || true)
    "$stop" && return 0
    sleep "$pause"
  done
  return 1
}

# poll <description> <seconds> <expected> <command...>: re-runs the command until its
# output equals the expected text.
poll() {
  local desc=$1 seconds=$2 expected=$3 out=""
  shift 3
  watch_until "$seconds" 0.1 output_expected "$@" ||
    fail "$desc: expected [$expected], last output [$out]"
  ok "$desc"
}
output_expected() { [ "$out" = "$expected" ]; }

# holds <description> <seconds> <expected> <command...>: the output stays equal to the
# expected text for the whole time (something that must not happen, does not).
holds() {
  local desc=$1 seconds=$2 expected=$3 out=""
  shift 3
  if watch_until "$seconds" 0.2 output_changed "$@"; then
    fail "$desc: expected [$expected] to hold, got [$out]"
  fi
  ok "$desc"
}
# A failed kubectl (injected fault) says nothing about the state: not a change.
output_changed() { [ "$out" != "$expected" ] && ! grep -q "rror" <<<"$out"; }

start_emulator() {
  "$emulator" --port 0 --kubeconfig-out "$work/kubeconfig" --ready-delay-ms 100 "$@" \
    >"$work/emulator.out" 2>"$work/emulator.log" &
  pids+=($!)
  local i
  for i in $(seq 100); do
    grep -q '^listening on ' "$work/emulator.out" 2>/dev/null && break
    sleep 0.1
  done
  grep -q '^listening on http://127.0.0.1:' "$work/emulator.out" || fail "emulator did not start"
  ok "emulator started"
}

# start_canaryd <name> [flags...]: runs `canaryd run` as POD_NAME=<name>; its pid is in
# canaryd_pid_<name>, its log in $work/canaryd-<name>.log. The health and metrics servers
# listen on free loopback ports (the addresses are logged) unless the flags, or the
# CANARYD_*_BIND_ADDRESS variables, say otherwise: several canaryd run at once.
start_canaryd() {
  local name=$1
  shift
  POD_NAME=$name \
    CANARYD_HEALTH_PROBE_BIND_ADDRESS=${CANARYD_HEALTH_PROBE_BIND_ADDRESS:-127.0.0.1:0} \
    CANARYD_METRICS_BIND_ADDRESS=${CANARYD_METRICS_BIND_ADDRESS:-127.0.0.1:0} \
    "$canaryd" run --kubeconfig "$work/kubeconfig" --log-level debug "$@" \
    >>"$work/canaryd-$name.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  eval "canaryd_pid_$name=$pid"
}

# stop_canaryd <name> [signal]: signals it and waits for it to exit (SIGTERM: within 10 s).
stop_canaryd() {
  local name=$1 sig=${2:-TERM}
  local var="canaryd_pid_$name"
  local pid=${!var}
  kill "-$sig" "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 11))
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt "$deadline" ]; do sleep 0.05; done
  if kill -0 "$pid" 2>/dev/null; then fail "canaryd $name still running after SIG$sig"; fi
  local rc=0
  wait "$pid" 2>/dev/null || rc=$?
  # A graceful stop exits 0 (and, under the sanitizers, with no leak or error report).
  if [ "$sig" = TERM ] && [ "$rc" -ne 0 ]; then fail "canaryd $name exited with $rc after SIGTERM"; fi
  ok "canaryd $name exited after SIG$sig"
}

# ---- the Rollout under test (tests/e2e/testdata/rollout.yaml: e2e/web) ----

ns=e2e
rollout=web

# "phase step weight"
state() {
  k get rollout "$rollout" -n "$ns" \
    -o jsonpath='{.status.phase} {.status.currentStepIndex} {.status.canaryWeight}'
}
field() { k get rollout "$rollout" -n "$ns" -o jsonpath="{$1}"; }
# "yes" when status.currentPodHash is set and differs from $1.
hash_differs() {
  local h
  h=$(field .status.currentPodHash)
  if [ -n "$h" ] && [ "$h" != "$1" ]; then echo yes; else echo "no ($h)"; fi
}
# "yes" once status.currentStepIndex is past $1.
past_step() {
  local i
  i=$(field .status.currentStepIndex)
  if [[ "$i" =~ ^[0-9]+$ ]] && [ "$i" -gt "$1" ]; then echo yes; else echo "no ($i)"; fi
}
# "spec.replicas/status.availableReplicas" of the ReplicaSet with this hash.
rs_replicas() {
  local out
  out=$(k get rs "$rollout-$1" -n "$ns" -o jsonpath='{.spec.replicas}/{.status.availableReplicas}')
  # The API leaves out a zero availableReplicas.
  [[ "$out" == */ ]] && out="${out}0"
  echo "$out"
}
svc_hash() { k get svc "$1" -n "$ns" -o jsonpath='{.spec.selector.canaryd\.io/pod-template-hash}'; }

set_image() {
  k_ok "patched" -n "$ns" patch rollout "$rollout" --type=json \
    -p "[{\"op\":\"replace\",\"path\":\"/spec/template/spec/containers/0/image\",\"value\":\"example.com/web:$1\"}]" >/dev/null
}
promote() {
  k_ok "patched" -n "$ns" patch rollout "$rollout" --subresource=status --type=merge \
    -p '{"status":{"pauseConditions":null}}' >/dev/null
}
abort() {
  k_ok "patched" -n "$ns" patch rollout "$rollout" --subresource=status --type=merge \
    -p '{"status":{"abort":true}}' >/dev/null
}
retry() {
  k_ok "patched" -n "$ns" patch rollout "$rollout" --subresource=status --type=merge \
    -p '{"status":{"abort":false}}' >/dev/null
}

# How many times an Event with this note was recorded about the Rollout (series counts
# included), over every Event object.
event_count() {
  local out
  out=$(k get events.events.k8s.io -n "$ns" \
    -o jsonpath='{range .items[*]}{.note}|{.series.count}{"\n"}{end}')
  awk -F'|' -v note="$1" '$1 == note {n += ($2 == "" ? 1 : $2)} END {print n + 0}' <<<"$out"
}

# events <description> <n> <note>: the Event with this note was recorded n times. With
# injected faults an Event write may fail for good (Events are best effort), so there
# only "at most n" is asserted: nothing was repeated.
events() {
  local desc=$1 n=$2 note=$3
  if [ "${faults:-0}" -eq 0 ]; then
    poll "$desc" 10 "$n" event_count "$note"
    return
  fi
  local got
  got=$(event_count "$note")
  if [ "$got" -gt "$n" ]; then fail "$desc: $got Events, at most $n expected"; fi
  ok "$desc ($got of $n recorded under injected faults)"
}

# Applies the CRDs and the test Rollout (with `sed` expressions applied to it).
setup_rollout() {
  k_ok "customresourcedefinition.apiextensions.k8s.io/rollouts.canaryd.io" apply -f "$src/crds/" >/dev/null
  k_ok "condition met" wait --for=condition=Established crd/rollouts.canaryd.io --timeout=20s >/dev/null
  sed "$@" "$src/tests/e2e/testdata/rollout.yaml" >"$work/rollout.yaml"
  k_ok "rollout.canaryd.io/web" apply -f "$work/rollout.yaml" >/dev/null
}

# Waits for the first revision to be stable and Healthy. Sets stable_hash.
first_stable() {
  poll "first revision Healthy at full scale, no steps" 30 "Healthy 4 0" state
  stable_hash=$(field .status.stableRS)
  [ -n "$stable_hash" ] || fail "status.stableRS is empty"
  poll "stable ReplicaSet at 4 replicas" 20 "4/4" rs_replicas "$stable_hash"
  poll "stable Service pinned to the stable hash" 20 "$stable_hash" svc_hash web-stable
  poll "canary Service pinned to the stable hash" 20 "$stable_hash" svc_hash web-canary
}

# Changes the image and waits for the canary to pause at the indefinite step 3 (50%).
# Sets canary_hash.
roll_to_step3() {
  set_image "$1"
  poll "new revision: steps walk to the indefinite pause at 50%" 30 "Paused 3 50" state
  canary_hash=$(field .status.currentPodHash)
  [ "$canary_hash" != "$stable_hash" ] || fail "no new pod hash"
  poll "canary ReplicaSet at 2 of 4" 20 "2/2" rs_replicas "$canary_hash"
  poll "stable ReplicaSet at 2 of 4" 20 "2/2" rs_replicas "$stable_hash"
}

# ---- the emulator's request log (GET /_emulator/requests) ----

clear_requests() { k delete --raw /_emulator/requests >/dev/null; }
# The writes canaryd sent since the log was cleared, one "verb resource[/subresource] name"
# line each, sorted and without repeats; Events (best effort, not the Rollout's objects)
# are left out.
canaryd_writes() {
  k get --raw "/_emulator/requests?userAgent=canaryd" | python3 -c '
import json, sys
seen = set()
for r in json.load(sys.stdin)["requests"]:
    if r["verb"] in ("get", "list", "watch") or r["resource"] == "events":
        continue
    res = r["resource"] + ("/" + r["subresource"] if r.get("subresource") else "")
    seen.add("%s %s %s" % (r["verb"], res, r.get("name", "")))
print("\n".join(sorted(seen)))
'
}

summary() {
  echo "passed: $passed, failed: $failed"
  [ "$failed" -eq 0 ]
}
