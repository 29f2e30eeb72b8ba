// Analysis glue: which analysis applies now, and what its verdict does to the rollout
// (Failed aborts, Inconclusive pauses, InvalidSpec stops it with the InvalidSpec
// condition, a measurement due or not passing holds the promotion), with an Event for
// every measurement that did not pass. Measuring and judging belong to the AnalysisRunner.
#include <spdlog/spdlog.h>

#include "controller/context.h"

namespace canaryd::controller {
namespace {

// "AnalysisMeasurementFailed" and so on; "" for a measurement that passed.
std::string measurementEventReason(api::AnalysisPhase phase) {
  switch (phase) {
    case api::AnalysisPhase::kFailed:
      return "AnalysisMeasurementFailed";
    case api::AnalysisPhase::kInconclusive:
      return "AnalysisMeasurementInconclusive";
    case api::AnalysisPhase::kError:
      return "AnalysisMeasurementError";
    default:
      return "";
  }
}

void applyResult(Context& ctx, const AnalysisResult& result, std::optional<int32_t> stepIndex) {
  if (result.outcome == AnalysisOutcome::kInvalidSpec) {
    // Nothing else is written (the reconciler reports ctx.specErrors), and the steps stop.
    ctx.specErrors.insert(ctx.specErrors.end(), result.specErrors.begin(), result.specErrors.end());
    ctx.fail(Result::terminal(result.reason));
    return;
  }
  ctx.newStatus.analysis = result.status;
  if (result.nextRunAt) ctx.requeueNoLaterThan(*result.nextRunAt);
  // One Event per measurement that did not pass: the message names the metric, the value
  // and the threshold (or why there was no value) and the query. Bound to the status write
  // that records the measurement: a measurement lost with a failed write is taken again.
  const std::string where =
      stepIndex ? "step " + std::to_string(*stepIndex) + " analysis" : "background analysis";
  for (const auto& t : result.taken) {
    std::string reason = measurementEventReason(t.measurement.phase);
    if (reason.empty()) continue;
    ctx.event(EventType::kWarning, reason, where + ": " + t.measurement.message);
  }
  switch (result.outcome) {
    case AnalysisOutcome::kFailed:
      abortRollout(ctx, "AnalysisFailed", result.reason, result.metric, result.measurement);
      break;
    case AnalysisOutcome::kInconclusive:
      pauseInconclusive(ctx, result.reason);
      break;
    case AnalysisOutcome::kRunning:
    case AnalysisOutcome::kSuccessful:
    case AnalysisOutcome::kInvalidSpec:
      break;
  }
}

}  // namespace

std::string missingCapability(const Context& ctx) {
  const auto& c = ctx.canary;
  if (c.trafficRouting && !ctx.routers) {
    std::string which = c.trafficRouting->nginx        ? "nginx"
                        : c.trafficRouting->gatewayAPI ? "gatewayAPI"
                                                       : "";
    std::string field = "spec.strategy.canary.trafficRouting";
    if (!which.empty()) field += "." + which;
    return "traffic routing (" + field + ") is not available in this build of canaryd";
  }
  if (!ctx.analysis) {
    if (c.analysis)
      return "analysis (spec.strategy.canary.analysis) is not available in this build of "
             "canaryd";
    for (size_t i = 0; i < c.steps.size(); ++i)
      if (std::holds_alternative<api::AnalysisStep>(c.steps[i]))
        return "analysis (spec.strategy.canary.steps[" + std::to_string(i) +
               "].analysis) is not available in this build of canaryd";
  }
  return "";
}

void runBackgroundAnalysis(Context& ctx) {
  const auto& c = ctx.canary;
  if (!c.analysis || !ctx.analysis || !ctx.canaryActive() || ctx.aborted()) return;
  int32_t index = ctx.stepIndex();
  if (index < c.analysis->startingStep) return;
  // An inline analysis step owns status.analysis while it runs.
  if (index < ctx.stepCount() && std::holds_alternative<api::AnalysisStep>(c.steps[index])) return;
  AnalysisRequest request{ctx.rollout,  ctx.newStatus,          *c.analysis,
                          std::nullopt, ctx.newStatus.stableRS, ctx.desiredHash,
                          ctx.now};
  ctx.backgroundAnalysisRan = true;
  applyResult(ctx, ctx.analysis->run(request), std::nullopt);
}

bool analysisHoldsPromotion(Context& ctx) {
  const auto& c = ctx.canary;
  if (!c.analysis || !ctx.analysis || ctx.stepIndex() < c.analysis->startingStep) return false;
  if (!ctx.backgroundAnalysisRan) {
    // The steps ended in this reconcile, past where background analysis was looked at (or
    // before its startingStep): what is due is measured before deciding.
    runBackgroundAnalysis(ctx);
    if (ctx.failure || ctx.aborted() || !ctx.newStatus.pauseConditions.empty()) return true;
  }
  const auto& a = ctx.newStatus.analysis;
  auto hold = [&](const std::string& why, std::optional<api::Time> next) {
    ctx.waitMessage = "waiting for analysis: " + why;
    // Due now (the clock at the boundary of an interval): the reconciler waits a second.
    ctx.requeueNoLaterThan(next && *next > ctx.now ? *next : ctx.now);
    spdlog::info("{}: promotion held, {}", ctx.key, ctx.waitMessage);
    return true;
  };
  if (!a || a->stepIndex) return hold("no background measurement yet", std::nullopt);

  // Due: never measured, or the analysis' next measurement time reached with nothing newer.
  const bool nextDue = a->nextMeasurementAt && *a->nextMeasurementAt <= ctx.now;
  const auto interval = std::chrono::ceil<std::chrono::seconds>(c.analysis->interval);
  std::string due;
  for (const auto& m : a->metrics) {
    bool isDue = m.measurements.empty();
    if (!isDue && nextDue) {
      const auto& last = m.measurements.back();
      auto started = last.startedAt ? last.startedAt : last.finishedAt;
      isDue = !started || *started + interval <= ctx.now;
    }
    if (isDue) due += (due.empty() ? "" : ", ") + m.name;
  }
  if (nextDue || !due.empty())
    return hold((due.empty() ? std::string("a") : due) + " measurement due", a->nextMeasurementAt);
  for (const auto& m : a->metrics) {
    if (m.measurements.empty()) continue;
    const auto& last = m.measurements.back();
    if (last.phase != api::AnalysisPhase::kFailed && last.phase != api::AnalysisPhase::kError &&
        last.phase != api::AnalysisPhase::kInconclusive)
      continue;
    // The measurement's message without the query, which status.analysis shows.
    std::string detail = last.message.substr(0, last.message.find(" (query: "));
    return hold(m.name + " last measurement " + std::string(api::toString(last.phase)) +
                    (detail.empty() ? "" : ": " + detail),
                a->nextMeasurementAt);
  }
  return false;
}

bool runAnalysisStep(Context& ctx, const api::AnalysisStep& step, int32_t index) {
  AnalysisRequest request{ctx.rollout, ctx.newStatus,          step.analysis,
                          index,       ctx.newStatus.stableRS, ctx.desiredHash,
                          ctx.now};
  AnalysisResult result = ctx.analysis->run(request);
  applyResult(ctx, result, index);
  return result.outcome == AnalysisOutcome::kSuccessful;
}

}  // namespace canaryd::controller
