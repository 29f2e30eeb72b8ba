// The canary step engine and lifecycle (Argo Rollouts' rollout/canary.go): first apply,
// new revision, rollback fast-path, superseding, abort and retry, the progress deadline,
// the steps, and promotion. Every decision is a function of spec + status + the observed
// ReplicaSets, so a restarted controller makes the same one.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "api/defaults.h"
#include "controller/context.h"
#include "controller/names.h"

namespace canaryd::controller {
namespace {

int32_t ceilPercent(int64_t replicas, int64_t weight, int64_t total) {
  if (weight <= 0 || replicas <= 0) return 0;
  int64_t v = (replicas * weight + total - 1) / total;
  return static_cast<int32_t>(std::min<int64_t>(v, replicas));
}

std::string describeStep(const api::Step& step) {
  if (auto* w = std::get_if<api::SetWeightStep>(&step))
    return "setWeight " + std::to_string(w->weight);
  if (auto* p = std::get_if<api::PauseStep>(&step))
    return p->duration ? "pause " + api::formatDuration(*p->duration) : "pause";
  if (auto* c = std::get_if<api::SetCanaryScaleStep>(&step)) {
    if (c->replicas) return "setCanaryScale replicas " + std::to_string(*c->replicas);
    if (c->weight) return "setCanaryScale weight " + std::to_string(*c->weight);
    return "setCanaryScale matchTrafficWeight";
  }
  return std::string(api::stepKindName(step));
}

void resetCanaryProgress(Context& ctx, int32_t stepIndex) {
  auto& s = ctx.newStatus;
  s.currentStepIndex = stepIndex;
  s.pauseConditions.clear();
  s.promoteFull = false;
  s.abort = false;
  s.abortedAt.reset();
  ctx.progressed = true;
}

void endAbortCondition(Context& ctx, const std::string& reason, const std::string& message) {
  const auto* aborted = findCondition(ctx.newStatus, "Aborted");
  if (aborted && aborted->status == "True")
    setCondition(ctx.newStatus, "Aborted", false, reason, message, ctx.now);
}

int32_t canaryAvailable(const Context& ctx) {
  return ctx.canaryRS ? ctx.canaryRS->availableReplicas : 0;
}

api::HistoryEntry historyEntry(const Context& ctx, std::string outcome, std::string reason) {
  api::HistoryEntry entry;
  entry.podHash = ctx.desiredHash;
  entry.outcome = std::move(outcome);
  entry.reason = std::move(reason);
  entry.finishedAt = ctx.now;
  if (ctx.canaryRS) {
    entry.revision = revisionOf(*ctx.canaryRS);
    entry.startedAt = ctx.canaryRS->metadata.creationTimestamp;
  }
  return entry;
}

// Whether step `index` is done, given what has been observed.
bool stepComplete(Context& ctx, int32_t index) {
  const api::Step& step = ctx.canary.steps[index];
  if (auto* w = std::get_if<api::SetWeightStep>(&step)) {
    DesiredScale scale = desiredScaleAt(ctx.rollout, index, ctx.routed());
    if (canaryAvailable(ctx) < scale.canary) return false;
    if (ctx.routed()) {
      // The weight is told to the data plane by reconcileTraffic; the step is done once a
      // reconcile has told it (status.canaryWeight) and the data plane, when it can say,
      // applies it.
      if (ctx.newStatus.canaryWeight != w->weight) return false;
      if (auto verified = ctx.router->verifyWeight(w->weight); verified && !*verified) {
        ctx.requeueNoLaterThan(ctx.now + std::chrono::seconds(10));
        return false;
      }
    }
    return true;
  }
  if (auto* p = std::get_if<api::PauseStep>(&step)) return reconcilePauseStep(ctx, *p, index);
  if (auto* a = std::get_if<api::AnalysisStep>(&step)) return runAnalysisStep(ctx, *a, index);
  if (auto* h = std::get_if<api::SetHeaderRouteStep>(&step)) {
    if (!ctx.routed()) return true;
    if (auto r = ctx.router->setHeaderRoute(*h); !r) {
      ctx.fail(r.error().invalidSpec ? Result::terminal(r.error().message)
                                     : Result::transient(r.error().message));
      return false;
    }
    return true;
  }
  if (std::holds_alternative<api::SetCanaryScaleStep>(step))
    return canaryAvailable(ctx) >= desiredScaleAt(ctx.rollout, index, ctx.routed()).canary;
  return true;
}

bool pausedForInconclusive(const api::RolloutStatus& s) {
  return std::any_of(s.pauseConditions.begin(), s.pauseConditions.end(),
                     [](const api::PauseCondition& p) { return p.reason == "Inconclusive"; });
}

void promote(Context& ctx) {
  auto& s = ctx.newStatus;
  std::string reason = s.promoteFull ? "PromotedFull" : "StepsCompleted";
  appendHistory(s, historyEntry(ctx, "Promoted", reason));
  std::string name = replicaSetName(ctx.rollout.metadata.name, ctx.desiredHash);
  ctx.event(EventType::kNormal, "Promoted",
            "Promoted ReplicaSet " + name + " to stable" + (s.promoteFull ? " (promoteFull)" : ""));
  spdlog::info("{}: promoted {} to stable", ctx.key, name);
  ctx.demotedStableRS = ctx.stableRS;
  s.stableRS = ctx.desiredHash;
  s.currentStepIndex = ctx.stepCount();
  s.pauseConditions.clear();
  s.promoteFull = false;
  ctx.progressed = true;
  ctx.canaryEnded = true;
  sortReplicaSets(ctx);
}

// True when the progress deadline has passed (and aborts); otherwise schedules a check.
bool progressDeadlineExceeded(Context& ctx) {
  const auto& old = ctx.rollout.status;
  int32_t available = 0, updated = 0;
  for (const auto& rs : ctx.allRSs) {
    available += rs->availableReplicas;
    if (rs->podTemplateHash == ctx.desiredHash) updated += rs->replicas;
  }
  if (available != old.availableReplicas || updated != old.updatedReplicas) ctx.progressed = true;
  const auto* progressing = findCondition(old, "Progressing");
  if (!progressing || !progressing->lastUpdateTime) ctx.progressed = true;
  api::Time lastProgress = ctx.progressed ? ctx.now : *progressing->lastUpdateTime;
  api::Time deadline =
      lastProgress + std::chrono::seconds(ctx.rollout.spec.progressDeadlineSeconds);
  // As the Deployment controller: exceeded once the deadline is strictly in the past.
  if (!ctx.progressed && ctx.now > deadline) {
    abortRollout(ctx, "ProgressDeadlineExceeded",
                 "ReplicaSet " + replicaSetName(ctx.rollout.metadata.name, ctx.desiredHash) +
                     " has not progressed for more than " +
                     std::to_string(ctx.rollout.spec.progressDeadlineSeconds) +
                     "s (progressDeadlineSeconds)");
    return true;
  }
  ctx.requeueNoLaterThan(deadline + std::chrono::seconds(1));
  return false;
}

}  // namespace

int32_t maxTrafficWeight(const api::CanaryStrategy& canary) {
  if (canary.trafficRouting && canary.trafficRouting->maxTrafficWeight &&
      *canary.trafficRouting->maxTrafficWeight > 0)
    return *canary.trafficRouting->maxTrafficWeight;
  return api::kDefaultMaxTrafficWeight;
}

DesiredScale desiredScaleAt(const api::Rollout& rollout, int32_t index, bool routed) {
  const auto& canary = *rollout.spec.strategy.canary;
  const int32_t replicas = rollout.spec.replicas;
  const int32_t n = static_cast<int32_t>(canary.steps.size());
  const int32_t total = routed ? maxTrafficWeight(canary) : 100;
  int32_t weight = 0;
  const api::SetCanaryScaleStep* scaleStep = nullptr;
  for (int32_t i = 0; i <= std::min(index, n - 1); ++i) {
    if (auto* w = std::get_if<api::SetWeightStep>(&canary.steps[i])) weight = w->weight;
    if (auto* c = std::get_if<api::SetCanaryScaleStep>(&canary.steps[i])) scaleStep = c;
  }
  DesiredScale out;
  out.weight = weight;
  const int32_t byWeight = ceilPercent(replicas, weight, total);
  out.stable = routed ? replicas : replicas - byWeight;
  if (index >= n) {
    // Promoting: the canary at full scale; the stable keeps its last step's share until the
    // stable Service has moved over.
    out.canary = replicas;
    return out;
  }
  out.canary = byWeight;
  if (scaleStep) {
    if (scaleStep->replicas) {
      out.canary = *scaleStep->replicas;
    } else if (scaleStep->weight) {
      out.canary = ceilPercent(replicas, *scaleStep->weight, 100);
    }
  }
  return out;
}

DesiredScale desiredScale(const Context& ctx) {
  const int32_t replicas = ctx.rollout.spec.replicas;
  if (!ctx.canaryActive()) return DesiredScale{replicas, 0, 0};
  DesiredScale scale = desiredScaleAt(ctx.rollout, ctx.stepIndex(), ctx.routed());
  if (ctx.aborted()) {
    scale.stable = replicas;
    scale.weight = 0;
    api::Time until = ctx.newStatus.abortedAt.value_or(ctx.now) +
                      std::chrono::seconds(ctx.canary.abortScaleDownDelaySeconds);
    if (ctx.now >= until) scale.canary = 0;
  }
  return scale;
}

void abortRollout(Context& ctx, const std::string& reason, const std::string& message,
                  const std::string& metric, const std::optional<api::Measurement>& measurement) {
  auto& s = ctx.newStatus;
  s.abort = true;
  s.abortedAt = ctx.now;
  s.pauseConditions.clear();
  setCondition(s, "Aborted", true, reason, message, ctx.now);
  api::HistoryEntry entry = historyEntry(ctx, "Aborted", reason);
  entry.metric = metric;
  entry.measurement = measurement;
  appendHistory(s, std::move(entry));
  ctx.event(EventType::kWarning, "Aborted", reason + ": " + message);
  spdlog::warn("{}: aborted: {}: {}", ctx.key, reason, message);
  ctx.canaryEnded = true;
  if (ctx.canary.abortScaleDownDelaySeconds > 0)
    ctx.requeueNoLaterThan(ctx.now + std::chrono::seconds(ctx.canary.abortScaleDownDelaySeconds));
}

void reconcileCanary(Context& ctx) {
  auto& s = ctx.newStatus;
  const auto& old = ctx.rollout.status;
  const int32_t n = ctx.stepCount();
  if (old.observedGeneration != ctx.rollout.metadata.generation) ctx.progressed = true;

  if (s.stableRS.empty()) {
    // First apply: the template becomes stable at full scale, with no steps.
    s.stableRS = ctx.desiredHash;
    s.currentPodHash = ctx.desiredHash;
    resetCanaryProgress(ctx, n);
    s.canaryWeight = 0;
    spdlog::info("{}: first revision {} becomes stable", ctx.key, ctx.desiredHash);
    sortReplicaSets(ctx);
    return;
  }

  if (!ctx.canaryActive()) {
    if (s.currentPodHash != ctx.desiredHash) {
      // Rollback fast-path: the template is the stable one again; no steps.
      if (!s.currentPodHash.empty()) {
        ctx.event(EventType::kNormal, "RolledBack",
                  "Template matches the stable ReplicaSet " +
                      replicaSetName(ctx.rollout.metadata.name, ctx.desiredHash) +
                      ": back to stable without steps");
        spdlog::info("{}: rollback to stable {}", ctx.key, ctx.desiredHash);
        ctx.canaryEnded = true;
      }
      s.currentPodHash = ctx.desiredHash;
      endAbortCondition(ctx, "RolledBack", "");
      resetCanaryProgress(ctx, n);
    }
    // Nothing is in flight: an abort or promote request has nothing to act on.
    s.abort = false;
    s.abortedAt.reset();
    s.promoteFull = false;
    s.pauseConditions.clear();
    s.currentStepIndex = n;
    return;
  }

  if (s.currentPodHash != ctx.desiredHash) {
    bool superseding = !s.currentPodHash.empty() && s.currentPodHash != s.stableRS;
    std::string name = replicaSetName(ctx.rollout.metadata.name, ctx.desiredHash);
    ctx.event(EventType::kNormal, "RolloutUpdated",
              "New revision " + ctx.desiredHash + ": canary ReplicaSet " + name +
                  (superseding ? ", superseding " + s.currentPodHash : "") + ", steps from 0");
    spdlog::info("{}: new revision {}{}", ctx.key, ctx.desiredHash,
                 superseding ? " superseding " + s.currentPodHash : "");
    if (superseding) ctx.canaryEnded = true;
    s.currentPodHash = ctx.desiredHash;
    endAbortCondition(ctx, "NewRevision", "");
    s.analysis.reset();
    resetCanaryProgress(ctx, 0);
    s.canaryWeight = ctx.routed() ? s.canaryWeight : 0;
  }

  if (s.abort) {
    if (!s.abortedAt) abortRollout(ctx, "AbortedByUser", "status.abort was set");
    api::Time until = *s.abortedAt + std::chrono::seconds(ctx.canary.abortScaleDownDelaySeconds);
    if (ctx.now < until) ctx.requeueNoLaterThan(until);
    return;
  }
  if (s.abortedAt) {
    // Retry: status.abort was cleared after an abort; the canary starts over.
    ctx.event(EventType::kNormal, "Retried", "status.abort was cleared: steps restart from 0");
    spdlog::info("{}: retry after abort", ctx.key);
    endAbortCondition(ctx, "Retried", "");
    s.analysis.reset();
    resetCanaryProgress(ctx, 0);
  }

  if (ctx.rollout.spec.paused) return;

  if (s.promoteFull && (ctx.stepIndex() < n || !s.pauseConditions.empty())) {
    // As `kubectl argo rollouts promote --full`: the current pause (a pause step or an
    // Inconclusive analysis), every remaining step and the analysis are skipped, whether or
    // not the pause conditions were removed too.
    ctx.event(EventType::kNormal, "StepStarted", "promoteFull: remaining steps skipped");
    spdlog::info("{}: promoteFull at step {}: remaining steps skipped", ctx.key, ctx.stepIndex());
    s.currentStepIndex = n;
    s.pauseConditions.clear();
    ctx.progressed = true;
  } else if (promotedByUser(old)) {
    // Promote: the user removed the pause conditions of a pause canaryd entered; leave the
    // pause (or inconclusive analysis) step.
    int32_t index = ctx.stepIndex();
    ctx.event(EventType::kNormal, "Resumed", "Promoted at step " + std::to_string(index));
    spdlog::info("{}: promoted by user at step {}", ctx.key, index);
    if (index < n && (std::holds_alternative<api::PauseStep>(ctx.canary.steps[index]) ||
                      std::holds_alternative<api::AnalysisStep>(ctx.canary.steps[index]))) {
      s.currentStepIndex = index + 1;
      if (index + 1 < n)
        ctx.event(EventType::kNormal, "StepStarted",
                  "Step " + std::to_string(index + 1) +
                      " started: " + describeStep(ctx.canary.steps[index + 1]));
    }
    ctx.progressed = true;
  }

  // Paused time does not count against progressDeadlineSeconds.
  if (s.pauseConditions.empty() && progressDeadlineExceeded(ctx)) return;
  if (pausedForInconclusive(s)) return;

  // promoteFull skips the analysis as well.
  if (!s.promoteFull) runBackgroundAnalysis(ctx);
  if (ctx.failure || s.abort || pausedForInconclusive(s)) return;

  for (int32_t guard = 0; guard <= n; ++guard) {
    int32_t index = ctx.stepIndex();
    if (index >= n) {
      // Background analysis is measured while the canary scales up, and holds the
      // promotion while a measurement is due or not passing.
      const bool ready = ctx.canaryRS && canaryAvailable(ctx) >= ctx.rollout.spec.replicas;
      if (!s.promoteFull && analysisHoldsPromotion(ctx)) {
        // The canary's pods are what the status names first.
        if (!ready) ctx.waitMessage.clear();
        return;
      }
      if (ready) promote(ctx);
      return;
    }
    bool done = stepComplete(ctx, index);
    if (ctx.failure || s.abort || !done) return;
    s.currentStepIndex = index + 1;
    ctx.progressed = true;
    if (index + 1 < n) {
      std::string what = describeStep(ctx.canary.steps[index + 1]);
      ctx.event(EventType::kNormal, "StepStarted",
                "Step " + std::to_string(index + 1) + " started: " + what);
      spdlog::info("{}: step {} started: {}", ctx.key, index + 1, what);
    } else {
      spdlog::info("{}: steps completed, promoting", ctx.key);
    }
  }
}

}  // namespace canaryd::controller
