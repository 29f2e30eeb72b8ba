#!/usr/bin/env bash
# The kubectl-canary plugin against the kube-emulator with canaryd running: every command's
# output and exit code, run as `kubectl canary ...` through kubectl's plugin mechanism
# (kubectl-canary on PATH), including `status --watch` as a CI gate (0 at promotion, 1
# after an abort, 2 on timeout), kubeconfig/context/namespace flags, a missing CRD, a
# missing Rollout, usage errors and colour only on a terminal.
#   plugin_test.sh <kubectl-canary> <canaryd> <kube-emulator> <source dir>
set -euo pipefail
plugin=$(realpath "$1")
canaryd=$2
emulator=$3
src=$4

source "$src/tests/e2e/lib.sh"

mkdir -p "$work/bin"
ln -s "$plugin" "$work/bin/kubectl-canary"
export PATH="$work/bin:$PATH"
unset NO_COLOR KUBECONFIG

# run <args...>: `kubectl canary <args>`; sets rc, and out/err to its stdout/stderr.
run() {
  rc=0
  kubectl canary "$@" >"$work/run.out" 2>"$work/run.err" || rc=$?
  out=$(cat "$work/run.out")
  err=$(cat "$work/run.err")
}
# kc <args...>: run with the test's kubeconfig.
kc() { run --kubeconfig "$work/kubeconfig" "$@"; }

# expect <description> <rc> <stdout regex> [<stderr regex>]: the last run's exit code and
# output (extended regexes, matched against any line; "" matches anything).
expect() {
  local desc=$1 want_rc=$2 want_out=$3 want_err=${4:-}
  if [ "$rc" -ne "$want_rc" ]; then
    fail "$desc: exit $rc, want $want_rc; stdout [$out] stderr [$err]"
  fi
  if [ -n "$want_out" ] && ! grep -qE -- "$want_out" <<<"$out"; then
    fail "$desc: stdout [$out] does not match [$want_out]"
  fi
  if [ -n "$want_err" ] && ! grep -qE -- "$want_err" <<<"$err"; then
    fail "$desc: stderr [$err] does not match [$want_err]"
  fi
  ok "$desc"
}

# json_holds <python expression over d>: the last run's stdout parses as JSON and d satisfies it.
json_holds() { python3 -c "import json, sys; d = json.load(sys.stdin); assert $1, d" <<<"$out"; }

# watch_start <name> <args...>: `kubectl canary status --watch` in the background; its
# exit code lands in $work/<name>.rc.
watch_start() {
  local name=$1
  shift
  (
    rc=0
    kubectl canary --kubeconfig "$work/kubeconfig" status "$@" >"$work/$name.out" \
      2>"$work/$name.err" || rc=$?
    echo "$rc" >"$work/$name.rc"
  ) &
  pids+=($!)
}
watch_rc() { cat "$work/$1.rc" 2>/dev/null || echo running; }
# Waits until the watcher has printed its first line (it is then watching).
watch_started() {
  poll "status --watch ($1) printed the current phase" 20 yes \
    bash -c "[ -s '$work/$1.out' ] && echo yes || echo no"
}

# ---- before canaryd's CRDs are installed ----

start_emulator

kc version
expect "version" 0 '^kubectl-canary v[0-9]+\.[0-9]+\.[0-9]+ \(canaryd.io/v1alpha1\)$'
kc list --bogus
expect "unknown flag: usage error" 2 "" "^error: .*--bogus"
kc get
expect "missing ROLLOUT: usage error" 2 "" "ROLLOUT is required"
kc frobnicate web
expect "unknown command: usage error" 2 "" "^error: "
kc list -o xml
expect "bad -o value: usage error" 2 "" "^error: .*xml"
kc status web --watch --timeout soon
expect "bad --timeout: usage error" 2 "" "--timeout: not a duration"
kc --help
expect "--help lists the commands" 0 "promote +Leave the current pause"

kc list
expect "list without the CRD says to install it" 1 "" "install canaryd's CRDs"
kc get web
expect "get without the CRD says to install it" 1 "" \
  "^error: the server doesn't have a resource type \"rollouts\" in canaryd.io/v1alpha1: install"
run --kubeconfig "$work/missing-kubeconfig" list
expect "a kubeconfig that does not exist" 1 "" "^error: .*missing-kubeconfig"

# ---- a Rollout at its first revision ----

setup_rollout -e 's/^x//'
start_canaryd a --leader-elect=false
first_stable

kc get nope -n e2e
expect "get of a missing Rollout: kubectl's NotFound" 1 "" \
  '^Error from server \(NotFound\): rollouts.canaryd.io "nope" not found$'
kc status nope -n e2e
expect "status of a missing Rollout" 1 "" \
  '^Error from server \(NotFound\): rollouts.canaryd.io "nope" not found$'
kc promote nope -n e2e
expect "promote of a missing Rollout" 1 "" '"nope" not found'
kc pause nope -n e2e
expect "pause of a missing Rollout" 1 "" '"nope" not found'

kc list
expect "list in the context's namespace (default): none" 0 "" \
  "^No resources found in default namespace\.$"
kc list -n e2e
expect "list -n e2e" 0 "^web +Healthy +4/4 +0 +[0-9]+s$"
[ "$(head -1 <<<"$out")" = "NAME   PHASE     STEP   WEIGHT   AGE" ] || fail "list header: [$out]"
kc list -A
expect "list -A adds NAMESPACE" 0 "^e2e +web +Healthy +4/4 +0 +[0-9]+s$"
grep -qE "^NAMESPACE +NAME +PHASE +STEP +WEIGHT +AGE$" <<<"$out" || fail "list -A header: [$out]"
kc list -n e2e -o json
expect "list -o json" 0 '"kind": "List"'
json_holds 'd["items"][0]["metadata"]["name"] == "web" and d["items"][0]["kind"] == "Rollout"' ||
  fail "list -o json: not a List of the Rollout: $out"
kc list -A -o yaml
expect "list -o yaml" 0 "^kind: List$"
grep -qE "^- apiVersion: canaryd.io/v1alpha1$" <<<"$out" || fail "list -o yaml items: [$out]"
grep -qE "^    name: web$" <<<"$out" || fail "list -o yaml name: [$out]"

# The namespace comes from the kubeconfig context, and --context picks a context.
cp "$work/kubeconfig" "$work/kubeconfig-e2e"
context_field() {
  kubectl --kubeconfig "$work/kubeconfig" config view -o jsonpath="{.contexts[0].context.$1}"
}
cluster=$(context_field cluster)
user=$(context_field user)
kubectl --kubeconfig "$work/kubeconfig-e2e" config set-context --current --namespace=e2e >/dev/null
kubectl --kubeconfig "$work/kubeconfig" config set-context in-e2e --cluster="$cluster" \
  --user="$user" --namespace=e2e >/dev/null
KUBECONFIG="$work/kubeconfig-e2e" run list
expect "KUBECONFIG, and -n defaulting to the context's namespace" 0 "^web +Healthy"
kc --context in-e2e status web
expect "--context selects a context and its namespace" 0 "^Healthy$"
kc --context nowhere status web
expect "--context of a context that does not exist" 2 "" "^error: .*nowhere"
kc -n e2e status web
expect "status of a Healthy Rollout: exit 0" 0 "^Healthy$"
kc status web -n e2e --watch
expect "status --watch of a Healthy Rollout returns at once" 0 "^Healthy$"

kc promote web -n e2e
expect "promote with no canary in progress" 1 "" 'rollout "web" has no canary in progress'
kc abort web -n e2e
expect "abort with no canary in progress" 1 "" 'rollout "web" has no canary in progress'
kc retry web -n e2e
expect "retry of a Rollout that is not aborted" 1 "" 'rollout "web" is not aborted'
kc history web -n e2e
expect "history before any canary finished" 0 "" "^No history for rollout \"web\""

# ---- a canary paused at its indefinite pause ----

roll_to_step3 2
kc status web -n e2e
expect "status while Paused: exit 2 (not decided)" 2 "^Paused - Paused at step 3 \(pause\)$"
kc status web -n e2e --watch --timeout 2s
expect "status --watch --timeout: exit 2 when time is up" 2 "^Paused - " \
  '^error: timed out after 2s waiting for rollout "web"'
kc list -n e2e
expect "list shows the step and weight" 0 "^web +Paused +3/4 +50 +[0-9]+s$"
kc get web -n e2e
expect "get: phase" 0 "^Phase: +Paused$"
for line in "^Message: +Paused at step 3 \(pause\)$" \
  "^Weight: +canary 50, stable 50$" \
  "^Step: +3/4$" \
  "^Paused: +PauseStep for [0-9a-z]+ \(until promoted: kubectl canary promote web\)$" \
  "^Images: +example.com/web:2$" \
  "^  \[x\] 0  setWeight: 25$" "^  \[x\] 1  pause: 2s$" "^  \[x\] 2  setWeight: 50$" \
  "^  \[>\] 3  pause: until promoted$" \
  "^  stable +web-$stable_hash +2 +2 +2 +2$" \
  "^  canary +web-$canary_hash +2 +2 +2 +2$" \
  "^  Ready +False +RolloutPaused +[0-9a-z]+ +Paused at step 3 \(pause\)$"; do
  grep -qE -- "$line" <<<"$out" || fail "get: no line matching [$line] in:
$out"
done
ok "get: steps with the current one marked, weights, ReplicaSets, conditions"
kc get web -n e2e -o json
expect "get -o json" 0 '"kind": "Rollout"'
json_holds 'd["status"]["currentStepIndex"] == 3' || fail "get -o json: [$out]"
kc get web -n e2e -o yaml
expect "get -o yaml" 0 "^  currentStepIndex: 3$"
grep -qE "^      - image: example.com/web:2$" <<<"$out" || fail "get -o yaml image: [$out]"

kc pause web -n e2e
expect "pause" 0 "^rollout.canaryd.io/web paused$"
poll "pause sets spec.paused" 10 "true" field .spec.paused
kc get web -n e2e
expect "get shows the manual pause" 0 "^Paused: +spec.paused is true \(kubectl canary resume\)$"
kc resume web -n e2e
expect "resume" 0 "^rollout.canaryd.io/web resumed$"
poll "resume clears spec.paused" 10 "false" field .spec.paused
poll "still waiting at the indefinite pause" 10 "Paused 3 50" state

# status --watch through the real kubectl, returning 0 at promotion.
watch_start promote-watch web -n e2e --watch --timeout 2m
watch_started promote-watch
run -n e2e --kubeconfig "$work/kubeconfig" promote web
expect "kubectl canary promote" 0 "^rollout.canaryd.io/web promoted \(pause at step 3 ended\)$"
poll "status --watch exits 0 once the canary is promoted" 40 0 watch_rc promote-watch
grep -qx "Healthy" "$work/promote-watch.out" ||
  fail "status --watch output: $(cat "$work/promote-watch.out")"
grep -qx "Paused - Paused at step 3 (pause)" "$work/promote-watch.out" ||
  fail "status --watch first line: $(cat "$work/promote-watch.out")"
ok "status --watch printed Paused, then Healthy"
kc status web -n e2e
expect "status after promotion" 0 "^Healthy$"
poll "stableRS is the promoted canary" 10 "$canary_hash" field .status.stableRS

kc history web -n e2e
expect "history lists the promotion" 0 "^[0-9]+ +web-$canary_hash +Promoted +StepsCompleted "
kc history web -n e2e -o json
expect "history -o json" 0 ""
json_holds 'd[-1]["outcome"] == "Promoted"' || fail "history -o json: [$out]"
kc history web -n e2e -o yaml
expect "history -o yaml" 0 "^  outcome: Promoted$"

# ---- abort, retry, promote --full ----

stable_hash=$canary_hash
roll_to_step3 3
watch_start abort-watch web -n e2e --watch --timeout 2m
watch_started abort-watch
run --kubeconfig "$work/kubeconfig" -n e2e abort web
expect "kubectl canary abort" 0 "^rollout.canaryd.io/web aborted$"
poll "status --watch exits 1 once the canary is aborted" 40 1 watch_rc abort-watch
grep -qE "^Degraded - Aborted: " "$work/abort-watch.out" ||
  fail "abort watch: $(cat "$work/abort-watch.out")"
ok "status --watch printed Degraded with the reason"
kc status web -n e2e
expect "status of an aborted Rollout: exit 1" 1 "^Degraded - Aborted: "
kc get web -n e2e
expect "get shows the abort" 0 "^Aborted: +[0-9a-z]+ ago \(kubectl canary retry web\)$"
kc promote web -n e2e
expect "promote of an aborted Rollout" 1 "" 'rollout "web" is aborted: `kubectl canary retry web`'
kc history web -n e2e
expect "history lists the abort" 0 "^[0-9]+ +web-$canary_hash +Aborted +AbortedByUser "

kc retry web -n e2e
expect "retry" 0 "^rollout.canaryd.io/web retried$"
poll "retry: the canary starts over and reaches the pause again" 30 "Paused 3 50" state
kc promote web -n e2e --full
expect "promote --full" 0 "^rollout.canaryd.io/web promoted \(full: remaining steps skipped\)$"
poll "promote --full: Healthy" 30 "Healthy 4 0" state
poll "the full promotion made the canary stable" 10 "$canary_hash" field .status.stableRS

# ---- colour only on a terminal, and never with NO_COLOR ----

kc list -n e2e
[[ "$out" != *$'\e['* ]] || fail "colour written to a pipe: [$out]"
on_tty="kubectl canary --kubeconfig '$work/kubeconfig' list -n e2e"
tty_out=$(script -qc "$on_tty" /dev/null)
[[ "$tty_out" == *$'\e[32mHealthy\e[0m'* ]] || fail "no colour on a terminal: [$tty_out]"
tty_out=$(NO_COLOR=1 script -qc "$on_tty" /dev/null)
[[ "$tty_out" != *$'\e['* ]] || fail "colour with NO_COLOR set: [$tty_out]"
ok "colour on a terminal only, and not with NO_COLOR"

summary
