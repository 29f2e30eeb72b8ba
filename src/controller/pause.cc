// Pauses: pause steps (with a duration, or until promoted) and analysis-inconclusive pauses.
// Everything needed to resume lives in status: the pause condition's startTime (remaining
// time = startTime + duration - now) and the Paused condition, which tells a pause canaryd
// entered from one a user promoted (Argo Rollouts' pauseConditions + controllerPause).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "controller/context.h"

namespace canaryd::controller {
namespace {

constexpr std::string_view kPauseStepReason = "PauseStep";
constexpr std::string_view kInconclusiveReason = "Inconclusive";

std::vector<api::PauseCondition>::iterator findPause(api::RolloutStatus& s,
                                                     std::string_view reason) {
  return std::find_if(s.pauseConditions.begin(), s.pauseConditions.end(),
                      [&](const api::PauseCondition& p) { return p.reason == reason; });
}

}  // namespace

bool promotedByUser(const api::RolloutStatus& status) {
  const auto* paused = findCondition(status, "Paused");
  return paused && paused->status == "True" &&
         (paused->reason == kPauseStepReason || paused->reason == kInconclusiveReason) &&
         status.pauseConditions.empty();
}

void clearPause(Context& ctx) { ctx.newStatus.pauseConditions.clear(); }

bool reconcilePauseStep(Context& ctx, const api::PauseStep& step, int32_t index) {
  auto& s = ctx.newStatus;
  auto it = findPause(s, kPauseStepReason);
  if (it == s.pauseConditions.end()) {
    if (step.duration && *step.duration <= api::Duration::zero()) return true;
    s.pauseConditions.push_back({std::string(kPauseStepReason), ctx.now});
    std::string until = step.duration ? "for " + api::formatDuration(*step.duration)
                                      : std::string("until promoted");
    ctx.event(EventType::kNormal, "Paused",
              "Paused at step " + std::to_string(index) + " " + until);
    spdlog::info("{}: paused at step {} {}", ctx.key, index, until);
    if (step.duration)
      ctx.requeueNoLaterThan(ctx.now + std::chrono::ceil<std::chrono::seconds>(*step.duration));
    return false;
  }
  if (!step.duration) return false;
  api::Time end = it->startTime + std::chrono::ceil<std::chrono::seconds>(*step.duration);
  if (ctx.now < end) {
    ctx.requeueNoLaterThan(end);
    return false;
  }
  s.pauseConditions.erase(it);
  ctx.event(EventType::kNormal, "Resumed",
            "Pause of " + api::formatDuration(*step.duration) + " at step " +
                std::to_string(index) + " is over");
  spdlog::info("{}: pause at step {} is over", ctx.key, index);
  return true;
}

void pauseInconclusive(Context& ctx, const std::string& message) {
  auto& s = ctx.newStatus;
  if (findPause(s, kInconclusiveReason) != s.pauseConditions.end()) return;
  s.pauseConditions.push_back({std::string(kInconclusiveReason), ctx.now});
  ctx.pauseMessage = message;
  ctx.event(EventType::kWarning, "AnalysisInconclusive", message);
  spdlog::warn("{}: analysis inconclusive, pausing: {}", ctx.key, message);
}

}  // namespace canaryd::controller
