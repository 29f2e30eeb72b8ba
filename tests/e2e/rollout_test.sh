#!/usr/bin/env bash
# End-to-end scenarios: the real canaryd binary against the kube-emulator binary, driven
# with the real kubectl. Each scenario starts its own emulator and canaryd processes.
#   rollout_test.sh <scenario> <canaryd> <kube-emulator> <source dir> [emulator flags...]
# Scenarios: full, abort-retry, rollback, supersede, pause-promote, progress-deadline,
# restart, handover, bad-input.
# Extra emulator flags inject faults (--drop-watches-every-seconds 2 --error-fraction 0.05).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
scenario_args "$@"

start_emulator "${emulator_flags[@]}"

case "$scenario" in
restart | handover)
  # An 8 s timed pause at step 1, so that a restart or handover lands in the middle of it.
  setup_rollout -e 's/duration: 2s/duration: 8s/'
  ;;
progress-deadline)
  setup_rollout -e 's/progressDeadlineSeconds: 600/progressDeadlineSeconds: 4/'
  ;;
*)
  setup_rollout -e 's/^x//'
  ;;
esac
case "$scenario" in
rollback)
  # Only the namespaces named (one of them absent) are watched.
  start_canaryd a --leader-elect=false --namespace e2e --namespace absent
  first_stable
  ;;
supersede)
  start_canaryd a --leader-elect=false --log-format json
  first_stable
  ;;
full | abort-retry | progress-deadline | pause-promote | bad-input)
  start_canaryd a --leader-elect=false
  first_stable
  ;;
esac

case "$scenario" in
full)
  set_image 2
  # Step 1 is a 2s pause at 25%: one canary replica of four.
  poll "setWeight 25 then the timed pause" 20 "Paused 1 25" state
  canary_hash=$(field .status.currentPodHash)
  [ "$canary_hash" != "$stable_hash" ] || fail "no new pod hash"
  poll "canary ReplicaSet created with 1 replica" 20 "1/1" rs_replicas "$canary_hash"
  poll "stable ReplicaSet scaled to 3" 20 "3/3" rs_replicas "$stable_hash"
  poll "canary Service pinned to the canary" 20 "$canary_hash" svc_hash web-canary
  # The timed pause ends by itself; step 3 waits for promote.
  poll "timed pause over: setWeight 50, indefinite pause" 20 "Paused 3 50" state
  poll "canary ReplicaSet at 2" 20 "2/2" rs_replicas "$canary_hash"
  poll "stable ReplicaSet at 2" 20 "2/2" rs_replicas "$stable_hash"
  holds "the indefinite pause waits" 3 "Paused 3 50" state
  poll "stable Service still on the stable hash" 5 "$stable_hash" svc_hash web-stable

  promote
  poll "promoted: Healthy, weight 0" 20 "Healthy 4 0" state
  poll "stableRS is the canary" 10 "$canary_hash" field .status.stableRS
  poll "stable Service repointed" 20 "$canary_hash" svc_hash web-stable
  poll "new stable ReplicaSet at 4" 20 "4/4" rs_replicas "$canary_hash"
  poll "old ReplicaSet scaled down" 20 "0/0" rs_replicas "$stable_hash"
  poll "history records the promotion" 10 "Promoted" field '.status.history[-1:].outcome'
  poll "Ready condition True" 10 "True" field '.status.conditions[?(@.type=="Ready")].status'
  events "one StepStarted event for step 1" "1" "Step 1 started: pause 2s"
  events "one StepStarted event for step 3" "1" "Step 3 started: pause"
  events "Promoted event" "1" "Promoted ReplicaSet web-$canary_hash to stable"
  ;;

abort-retry)
  roll_to_step3 2
  abort
  poll "aborted: Degraded, weight 0" 20 "Degraded 3 0" state
  poll "Aborted condition" 10 "True" field '.status.conditions[?(@.type=="Aborted")].status'
  poll "canary scaled down" 20 "0/0" rs_replicas "$canary_hash"
  poll "stable back at 4" 20 "4/4" rs_replicas "$stable_hash"
  poll "stable Service on the stable hash" 10 "$stable_hash" svc_hash web-stable
  poll "history records the abort" 10 "Aborted" field '.status.history[-1:].outcome'
  holds "an aborted rollout stays aborted" 2 "Degraded 3 0" state

  retry
  poll "retry: the steps start over" 20 "Paused 1 25" state
  poll "canary back at 1" 20 "1/1" rs_replicas "$canary_hash"
  poll "walks to step 3 again" 20 "Paused 3 50" state
  promote
  poll "promoted after the retry" 20 "Healthy 4 0" state
  poll "stable Service repointed" 20 "$canary_hash" svc_hash web-stable
  ;;

rollback)
  roll_to_step3 2
  # The stable template again: straight back to stable, no steps.
  set_image 1
  poll "rollback: Healthy at once" 20 "Healthy 4 0" state
  poll "stableRS unchanged" 5 "$stable_hash" field .status.stableRS
  poll "current hash is the stable one" 5 "$stable_hash" field .status.currentPodHash
  poll "stable at 4" 20 "4/4" rs_replicas "$stable_hash"
  poll "canary scaled down" 20 "0/0" rs_replicas "$canary_hash"
  poll "canary Service back on stable" 20 "$stable_hash" svc_hash web-canary
  events "no step started in the rollback" "1" "Step 3 started: pause"
  ;;

supersede)
  roll_to_step3 2
  old_canary=$canary_hash
  set_image 3
  poll "new canary hash" 20 "yes" hash_differs "$old_canary"
  canary_hash=$(field .status.currentPodHash)
  [ "$canary_hash" != "$stable_hash" ] || fail "superseding hash equals stable"
  poll "steps restart: back at the indefinite pause at 50%" 30 "Paused 3 50" state
  poll "superseded canary scaled down" 20 "0/0" rs_replicas "$old_canary"
  poll "new canary at 2" 20 "2/2" rs_replicas "$canary_hash"
  events "step 1 ran once per revision" "2" "Step 1 started: pause 2s"
  promote
  poll "promoted" 20 "Healthy 4 0" state
  poll "stableRS is the superseding canary" 10 "$canary_hash" field .status.stableRS
  poll "stable Service repointed" 20 "$canary_hash" svc_hash web-stable
  python3 - "$work/canaryd-a.log" <<'EOF' || fail "--log-format json: a line is not a JSON object"
import json, sys
n = 0
for line in open(sys.argv[1]):
    rec = json.loads(line)
    assert {"ts", "level", "msg"} <= rec.keys(), line
    n += 1
assert n > 0
EOF
  ok "--log-format json: every log line is a JSON object"
  ;;

pause-promote)
  # A new template with spec.paused: the canary waits before its first step.
  k_ok "patched" -n "$ns" patch rollout "$rollout" --type=json -p \
    '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"example.com/web:2"},
      {"op":"add","path":"/spec/paused","value":true}]' >/dev/null
  poll "spec.paused holds the new revision before step 0" 20 "Paused 0 PausedBySpec" \
    field '.status.phase} {.status.currentStepIndex} {.status.conditions[?(@.type=="Paused")].reason'
  canary_hash=$(field .status.currentPodHash)
  [ "$canary_hash" != "$stable_hash" ] || fail "no new pod hash"
  holds "no step is taken while spec.paused is true" 3 "Paused 0" \
    field '.status.phase} {.status.currentStepIndex'
  poll "stable Service still on the stable hash" 5 "$stable_hash" svc_hash web-stable
  k_ok "patched" -n "$ns" patch rollout "$rollout" --type=merge -p '{"spec":{"paused":false}}' >/dev/null
  poll "resumed: the steps walk to the indefinite pause at 50%" 30 "Paused 3 50" state
  poll "the indefinite pause is a pause condition" 10 "PauseStep True" \
    field '.status.pauseConditions[0].reason} {.status.conditions[?(@.type=="Paused")].status'
  poll "canary ReplicaSet at 2" 20 "2/2" rs_replicas "$canary_hash"
  # A manual pause at the indefinite pause step, lifted again: still waiting for promote.
  k_ok "patched" -n "$ns" patch rollout "$rollout" --type=merge -p '{"spec":{"paused":true}}' >/dev/null
  poll "paused by spec at step 3" 10 "Paused: spec.paused is true" field .status.message
  k_ok "patched" -n "$ns" patch rollout "$rollout" --type=merge -p '{"spec":{"paused":false}}' >/dev/null
  poll "unpaused: back at the pause step" 10 "Paused at step 3 (pause)" field .status.message
  holds "the indefinite pause waits for promote" 2 "Paused 3 50" state
  # Promote: remove status.pauseConditions (what `kubectl canary promote` sends).
  promote
  poll "promoted: Healthy, weight 0" 20 "Healthy 4 0" state
  poll "stableRS is the canary" 10 "$canary_hash" field .status.stableRS
  poll "stable Service repointed" 20 "$canary_hash" svc_hash web-stable
  poll "old ReplicaSet scaled down" 20 "0/0" rs_replicas "$stable_hash"
  events "step 1 started once (not while paused)" "1" "Step 1 started: pause 2s"
  events "Promoted event" "1" "Promoted ReplicaSet web-$canary_hash to stable"
  ;;

bad-input)
  # The ReplicaSets' names, sorted, on one line.
  rs_names() { k get rs -n "$ns" -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | sort | xargs; }
  # A ReplicaSet edited by hand is put back.
  k_ok "patched" -n "$ns" patch rs "$rollout-$stable_hash" --type=merge \
    -p '{"spec":{"replicas":7}}' >/dev/null
  poll "a hand-scaled stable ReplicaSet is put back to 4" 20 "4/4" rs_replicas "$stable_hash"

  # An invalid spec (two field errors the API server's schema lets through) with a new
  # template: InvalidSpec naming both, Degraded, and nothing written but the status.
  clear_requests
  k_ok "patched" -n "$ns" patch rollout "$rollout" --type=json -p \
    '[{"op":"replace","path":"/spec/template/metadata/labels/app","value":"other"},
      {"op":"replace","path":"/spec/strategy/canary/canaryService","value":"web-stable"}]' >/dev/null
  poll "invalid spec: InvalidSpec, Degraded" 20 "True Degraded" \
    field '.status.conditions[?(@.type=="InvalidSpec")].status} {.status.phase'
  invalid_message() {
    local m
    m=$(field '.status.conditions[?(@.type=="InvalidSpec")].message')
    grep -qF 'spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`' <<<"$m" &&
      grep -qF 'spec.strategy.canary.canaryService: Invalid value: "web-stable": must differ from stableService' <<<"$m" &&
      echo both || echo "[$m]"
  }
  poll "InvalidSpec names every field error" 10 "both" invalid_message
  holds "nothing else happens" 2 "True Degraded" \
    field '.status.conditions[?(@.type=="InvalidSpec")].status} {.status.phase'
  poll "canaryd wrote the Rollout status only" 5 "update rollouts/status web" canaryd_writes
  poll "no canary ReplicaSet" 5 "$rollout-$stable_hash" rs_names
  # Fixed: the rollout goes on.
  k_ok "patched" -n "$ns" patch rollout "$rollout" --type=json -p \
    '[{"op":"replace","path":"/spec/template/metadata/labels/app","value":"web"},
      {"op":"replace","path":"/spec/template/spec/containers/0/image","value":"example.com/web:2"},
      {"op":"replace","path":"/spec/strategy/canary/canaryService","value":"web-canary"}]' >/dev/null
  poll "fixed: the canary walks to the indefinite pause" 30 "Paused 3 50" state
  poll "InvalidSpec False" 10 "False" field '.status.conditions[?(@.type=="InvalidSpec")].status'
  canary_hash=$(field .status.currentPodHash)
  [ "$canary_hash" != "$stable_hash" ] || fail "no new pod hash"

  # A missing Service: InvalidSpec with its name; the ReplicaSets stay as they are.
  k_ok "patched" -n "$ns" patch rollout "$rollout" --type=merge \
    -p '{"spec":{"strategy":{"canary":{"canaryService":"web-missing"}}}}' >/dev/null
  poll "missing Service: InvalidSpec naming it" 20 \
    'spec.strategy.canary.canaryService: Invalid value: "web-missing": Service not found in namespace "e2e"' \
    field '.status.conditions[?(@.type=="InvalidSpec")].message'
  poll "canary ReplicaSet untouched" 5 "2/2" rs_replicas "$canary_hash"
  # The Service is created: its informer settles the Rollout, untouched.
  generation=$(field .metadata.generation)
  cat >"$work/web-missing.yaml" <<EOF
apiVersion: v1
kind: Service
metadata: {name: web-missing, namespace: $ns}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
EOF
  k_ok "service/web-missing created" apply -f "$work/web-missing.yaml" >/dev/null
  poll "Service created: at the same step" 20 "Paused 3 50 False" \
    field '.status.phase} {.status.currentStepIndex} {.status.canaryWeight} {.status.conditions[?(@.type=="InvalidSpec")].status'
  poll "the new canary Service selects the canary" 20 "$canary_hash" svc_hash web-missing
  poll "the Rollout's spec was not touched" 5 "$generation" field .metadata.generation
  k_ok "patched" -n "$ns" patch rollout "$rollout" --type=merge \
    -p '{"spec":{"strategy":{"canary":{"canaryService":"web-canary"}}}}' >/dev/null
  poll "canaryService back: at the same step" 20 "Paused 3 50 False" \
    field '.status.phase} {.status.currentStepIndex} {.status.canaryWeight} {.status.conditions[?(@.type=="InvalidSpec")].status'

  # A selector that does not match the template's labels.
  k_ok "patched" -n "$ns" patch rollout "$rollout" --type=json \
    -p '[{"op":"replace","path":"/spec/template/metadata/labels/app","value":"other"}]' >/dev/null
  selector_error() {
    field '.status.conditions[?(@.type=="InvalidSpec")].message' |
      grep -qF 'spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`' &&
      echo yes || echo no
  }
  poll "selector mismatch: InvalidSpec" 20 "yes" selector_error
  poll "no ReplicaSet for the mismatched template" 5 \
    "$(printf '%s\n' "$rollout-$stable_hash" "$rollout-$canary_hash" | sort | xargs)" rs_names
  k_ok "patched" -n "$ns" patch rollout "$rollout" --type=json \
    -p '[{"op":"replace","path":"/spec/template/metadata/labels/app","value":"web"}]' >/dev/null
  poll "labels back: at the same step with the same canary" 20 "Paused 3 50 $canary_hash" \
    field '.status.phase} {.status.currentStepIndex} {.status.canaryWeight} {.status.currentPodHash'

  # Deleted mid-step: garbage collection removes the ReplicaSets, and canaryd writes
  # nothing more (no error loop on the vanished Rollout).
  # A retried delete whose first attempt landed (the injected fault hit kubectl's later
  # request) answers NotFound: deleted either way.
  out=$(k -n "$ns" delete rollout "$rollout" --wait=false)
  grep -qE 'deleted|NotFound' <<<"$out" || fail "kubectl delete rollout: $out"
  poll "owned ReplicaSets garbage-collected" 20 "" rs_names
  clear_requests
  log_lines=$(wc -l <"$work/canaryd-a.log")
  holds "the Rollout stays gone" 3 "" k get rollouts -n "$ns" -o name
  poll "canaryd wrote nothing after the deletion" 5 "" canaryd_writes
  # Nor did it retry anything about it, or warn: at most debug lines.
  about=$(tail -n +"$((log_lines + 1))" "$work/canaryd-a.log" | grep -F "e2e/web" || true)
  if [ -n "$about" ] && grep -v '^[^ ]* D ' <<<"$about" | grep -q .; then
    fail "canaryd went on about the deleted Rollout: $(grep -v '^[^ ]* D ' <<<"$about" | tail -3)"
  fi
  ok "no retry or warning about the deleted Rollout ($(grep -c . <<<"$about") debug lines)"
  ;;

progress-deadline)
  # A canary whose pods never become ready, and a 4 s progress deadline.
  k_ok "patched" -n "$ns" patch rollout "$rollout" --type=merge -p \
    '{"spec":{"template":{"metadata":{"annotations":{"emulator.canaryd.io/never-ready":"true"}}}}}' >/dev/null
  canary_hash=""
  poll "progress deadline exceeded: Degraded, weight 0" 30 "Degraded 0" \
    field '.status.phase} {.status.canaryWeight'
  poll "reason ProgressDeadlineExceeded" 10 "ProgressDeadlineExceeded" \
    field '.status.conditions[?(@.type=="Progressing")].reason'
  canary_hash=$(field .status.currentPodHash)
  poll "stable at 4" 20 "4/4" rs_replicas "$stable_hash"
  poll "never-ready canary scaled down" 20 "0/0" rs_replicas "$canary_hash"
  poll "stable Service untouched" 5 "$stable_hash" svc_hash web-stable
  poll "history records the abort" 10 "Aborted" field '.status.history[-1:].outcome'
  ;;

restart)
  start_canaryd a --leader-elect=false
  first_stable
  set_image 2
  poll "paused at step 1 (8s)" 20 "Paused 1 25" state
  started=$(field '.status.pauseConditions[0].startTime')
  [ -n "$started" ] || fail "no pause start time"
  # Restart 4 s into the pause: a pause restarted from zero would then end 12 s after its
  # start instead of 8 s.
  start_s=$(date -d "$started" +%s)
  wait_s=$((start_s + 4 - $(date +%s)))
  if [ "$wait_s" -gt 0 ]; then holds "the pause goes on under a" "$wait_s" "Paused 1 25" state; fi
  stop_canaryd a TERM
  start_canaryd b --leader-elect=false
  holds "after the restart: still at step 1 with the same pause" 1 "Paused 1 25 $started" \
    field '.status.phase} {.status.currentStepIndex} {.status.canaryWeight} {.status.pauseConditions[0].startTime'
  poll "the pause ends: past step 1" 20 "yes" past_step 1
  # startTime has whole seconds; the end is observed by polling. The pause ends 8 s after
  # its start, or as soon as b works when b came up later than that (injected faults slow
  # its first lists); a pause restarted by b would end 8 s after b started working.
  elapsed=$(($(date +%s) - start_s))
  workers_at=$(grep -m1 "started .* workers" "$work/canaryd-b.log" | cut -d' ' -f1)
  ready=$(($(date -d "$workers_at" +%s) - start_s))
  limit=$((ready > 8 ? ready + 3 : 11))
  if [ "$elapsed" -lt 7 ] || [ "$elapsed" -gt "$limit" ]; then
    fail "the 8 s pause ended ${elapsed} s after its start (b worked from ${ready} s; limit ${limit} s)"
  fi
  ok "the pause kept its start time across the restart (ended ${elapsed} s after it)"
  poll "step 3 reached" 20 "Paused 3 50" state
  events "step 1 started once" "1" "Step 1 started: pause 8s"
  events "weight 0 -> 25 once" "1" "Canary weight 0 -> 25 (replica ratio)"
  events "weight 25 -> 50 once" "1" "Canary weight 25 -> 50 (replica ratio)"
  promote
  poll "promoted by the new process" 20 "Healthy 4 0" state
  ;;

handover)
  lease=(--leader-elect=true --leader-election-namespace default --leader-election-id canaryd-e2e
    --leader-election-lease-duration 3s --leader-election-renew-deadline 2s
    --leader-election-retry-period 500ms)
  start_canaryd a "${lease[@]}"
  poll "a leads" 20 "a" k get lease canaryd-e2e -n default -o jsonpath='{.spec.holderIdentity}'
  start_canaryd b "${lease[@]}"
  first_stable
  holds "b stays a standby while a leads" 2 "a" k get lease canaryd-e2e -n default -o jsonpath='{.spec.holderIdentity}'
  set_image 2
  poll "paused at step 1 (8s) under a" 20 "Paused 1 25" state
  t0=$(date +%s%N)
  stop_canaryd a TERM
  poll "b takes over" 10 "b" k get lease canaryd-e2e -n default -o jsonpath='{.spec.holderIdentity}'
  took_ms=$((($(date +%s%N) - t0) / 1000000))
  # a released the Lease on SIGTERM, so b did not wait out the 3 s lease duration. (With
  # injected faults the release itself may fail; then b waits for the expiry.)
  if [ "$faults" -eq 0 ] && [ "$took_ms" -ge 2500 ]; then
    fail "b took ${took_ms} ms to take over a released Lease"
  fi
  ok "b took over ${took_ms} ms after the SIGTERM to a"
  poll "b walks on to step 3" 25 "Paused 3 50" state
  canary_hash=$(field .status.currentPodHash)
  events "step 1 started once" "1" "Step 1 started: pause 8s"
  events "step 2 started once" "1" "Step 2 started: setWeight 50"
  events "step 3 started once" "1" "Step 3 started: pause"
  events "weight 0 -> 25 once" "1" "Canary weight 0 -> 25 (replica ratio)"
  events "weight 25 -> 50 once" "1" "Canary weight 25 -> 50 (replica ratio)"
  # Now a crash of the leader (no Lease release): a fresh standby takes over after the
  # lease duration and promotes.
  start_canaryd c "${lease[@]}"
  stop_canaryd b KILL
  poll "c takes over after the lease expires" 15 "c" k get lease canaryd-e2e -n default -o jsonpath='{.spec.holderIdentity}'
  promote
  poll "promoted under c" 20 "Healthy 4 0" state
  poll "stable Service repointed" 20 "$canary_hash" svc_hash web-stable
  events "one Promoted event" "1" "Promoted ReplicaSet web-$canary_hash to stable"
  ;;

*)
  echo "unknown scenario $scenario"
  exit 2
  ;;
esac

summary
