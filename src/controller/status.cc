// Status: conditions, phase, replica counts and history (Argo Rollouts'
// rollout/sync.go persistRolloutStatus and calculateRolloutConditions).
#include <algorithm>

#include "api/defaults.h"
#include "controller/context.h"
#include "controller/names.h"
#include "controller/selector.h"

namespace canaryd::controller {

const api::Condition* findCondition(const api::RolloutStatus& status, std::string_view type) {
  for (const auto& c : status.conditions)
    if (c.type == type) return &c;
  return nullptr;
}

void setCondition(api::RolloutStatus& status, const std::string& type, bool value,
                  const std::string& reason, const std::string& message, api::Time now) {
  const std::string s = value ? "True" : "False";
  auto it = std::find_if(status.conditions.begin(), status.conditions.end(),
                         [&](const api::Condition& c) { return c.type == type; });
  if (it == status.conditions.end()) {
    api::Condition c;
    c.type = type;
    c.status = s;
    c.reason = reason;
    c.message = message;
    c.lastTransitionTime = now;
    status.conditions.push_back(std::move(c));
    return;
  }
  // As metav1 conditions: lastTransitionTime moves only when the status flips.
  if (it->status != s) {
    it->status = s;
    it->lastTransitionTime = now;
  }
  it->reason = reason;
  it->message = message;
}

void appendHistory(api::RolloutStatus& status, api::HistoryEntry entry) {
  status.history.push_back(std::move(entry));
  if (status.history.size() > api::kMaxHistoryEntries)
    status.history.erase(status.history.begin(),
                         status.history.end() - static_cast<long>(api::kMaxHistoryEntries));
}

namespace {

std::string stepDescription(const api::Rollout& rollout, int32_t index) {
  const auto& steps = rollout.spec.strategy.canary->steps;
  if (index < 0 || index >= static_cast<int32_t>(steps.size())) return "promotion";
  return "step " + std::to_string(index) + " (" + std::string(api::stepKindName(steps[index])) +
         ")";
}

}  // namespace

void computeStatus(Context& ctx, const std::string& degradedReason,
                   const std::string& degradedMessage) {
  auto& s = ctx.newStatus;
  const auto& rollout = ctx.rollout;
  const int32_t replicas = rollout.spec.replicas;
  s.observedGeneration = rollout.metadata.generation;
  s.selector = rollout.spec.selector ? formatLabelSelector(*rollout.spec.selector) : "";

  int32_t total = 0, ready = 0, available = 0, updated = 0;
  for (const auto& rs : ctx.allRSs) {
    total += rs->replicas;
    ready += rs->readyReplicas;
    available += rs->availableReplicas;
    if (rs->podTemplateHash == ctx.desiredHash) updated += rs->replicas;
  }
  s.replicas = total;
  s.readyReplicas = ready;
  s.availableReplicas = available;
  s.updatedReplicas = updated;

  const bool active = ctx.canaryActive();
  const bool completed = !active && ctx.stableRS && ctx.stableRS->availableReplicas >= replicas;
  const bool paused = rollout.spec.paused || !s.pauseConditions.empty();
  const api::Time now = ctx.now;

  std::string progressingReason;
  std::string message;
  if (!degradedReason.empty()) {
    s.phase = api::RolloutPhase::kDegraded;
    message = degradedMessage;
    progressingReason = degradedReason;
  } else if (s.abort) {
    s.phase = api::RolloutPhase::kDegraded;
    const auto* aborted = findCondition(s, "Aborted");
    message = "Aborted: " + (aborted ? aborted->message : std::string("aborted"));
    progressingReason = aborted ? aborted->reason : "RolloutAborted";
  } else if (paused) {
    s.phase = api::RolloutPhase::kPaused;
    if (rollout.spec.paused) {
      message = "Paused: spec.paused is true";
    } else if (!ctx.pauseMessage.empty()) {
      message = "Paused: " + ctx.pauseMessage;
    } else if (s.pauseConditions.back().reason == "Inconclusive") {
      const auto* pausedCond = findCondition(s, "Paused");
      message = pausedCond ? pausedCond->message : "Paused: analysis inconclusive";
    } else {
      message = "Paused at " + stepDescription(rollout, ctx.stepIndex());
    }
  } else if (completed) {
    s.phase = api::RolloutPhase::kHealthy;
  } else {
    s.phase = api::RolloutPhase::kProgressing;
    if (active && !ctx.waitMessage.empty()) {
      message = "Canary at " + stepDescription(rollout, ctx.stepIndex()) + ": " + ctx.waitMessage;
    } else if (active) {
      int32_t canaryAvailable = ctx.canaryRS ? ctx.canaryRS->availableReplicas : 0;
      message = "Canary at " + stepDescription(rollout, ctx.stepIndex()) + ": " +
                std::to_string(canaryAvailable) + " canary pods available, weight " +
                std::to_string(s.canaryWeight);
    } else {
      int32_t stableAvailable = ctx.stableRS ? ctx.stableRS->availableReplicas : 0;
      message = "Waiting for the stable ReplicaSet: " + std::to_string(stableAvailable) + "/" +
                std::to_string(replicas) + " available";
    }
  }
  s.message = message;

  const bool healthy =
      s.phase == api::RolloutPhase::kHealthy && s.observedGeneration == rollout.metadata.generation;
  std::string readyReason = healthy                                   ? "RolloutHealthy"
                            : s.phase == api::RolloutPhase::kDegraded ? progressingReason
                            : s.phase == api::RolloutPhase::kPaused   ? "RolloutPaused"
                                                                      : "RolloutProgressing";
  setCondition(s, "Ready", healthy, readyReason, healthy ? "Rollout is healthy" : message, now);

  // Progressing: False only when the rollout can no longer progress on its own.
  bool progressing = s.phase != api::RolloutPhase::kDegraded;
  std::string reason = !progressing                            ? progressingReason
                       : s.phase == api::RolloutPhase::kPaused ? "RolloutPaused"
                       : completed                             ? "NewReplicaSetAvailable"
                                                               : "ReplicaSetUpdated";
  const api::Condition* before = findCondition(s, "Progressing");
  bool touched = ctx.progressed || !before || before->status != (progressing ? "True" : "False");
  setCondition(s, "Progressing", progressing, reason, message, now);
  for (auto& c : s.conditions)
    if (c.type == "Progressing" && (touched || !c.lastUpdateTime)) c.lastUpdateTime = now;

  setCondition(s, "Available", available >= replicas,
               available >= replicas ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
               std::to_string(available) + "/" + std::to_string(replicas) + " replicas available",
               now);

  std::string pauseReason = !s.pauseConditions.empty() ? s.pauseConditions.back().reason
                            : rollout.spec.paused      ? "PausedBySpec"
                                                       : "Resumed";
  std::string pausedMessage = paused ? message : "";
  if (!s.pauseConditions.empty() && s.pauseConditions.back().reason == "Inconclusive" &&
      ctx.pauseMessage.empty()) {
    const auto* prev = findCondition(s, "Paused");
    if (prev) pausedMessage = prev->message;
  }
  setCondition(s, "Paused", paused, pauseReason, pausedMessage, now);

  if (!findCondition(s, "Aborted")) setCondition(s, "Aborted", false, "NotAborted", "", now);
  setCondition(s, "InvalidSpec", false, "SpecValid", "", now);
  setCondition(s, "Completed", completed, completed ? "RolloutCompleted" : "RolloutNotCompleted",
               "", now);
}

}  // namespace canaryd::controller
