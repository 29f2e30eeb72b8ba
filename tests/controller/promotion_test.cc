// Promotion: held by background analysis while a measurement is due or the latest one of a
// metric did not pass (issue "promotion never happens while a measurement is due or
// failing"), and forced by status.promoteFull whatever pause is in place (Argo Rollouts'
// `promote --full`: pauses, steps and analysis skipped).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "scenario_util.h"

namespace canaryd::controller::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string H1 = World::hashOf("web:1");
const std::string H2 = World::hashOf("web:2");

// Background analysis from step 0 every 20 s; one setWeight step, so that the step engine
// reaches the promotion as soon as the canary has its pods.
constexpr const char* kBackground =
    R"("analysis":{"startingStep":0,"interval":"20s","failureLimit":3,)"
    R"("prometheus":{"address":"http://prom:9090"},)"
    R"("metrics":[{"name":"errors","template":"error-rate","max":0.05},)"
    R"({"name":"p95","template":"latency-p95","max":0.5}]},)";
constexpr const char* kOneStep = R"([{"setWeight":50}])";
const Spec kBackgroundSpec{.steps = kOneStep, .extraCanary = kBackground};

api::Measurement measurement(api::AnalysisPhase phase, std::optional<double> value,
                             std::string message, api::Time at) {
  api::Measurement m;
  m.phase = phase;
  m.value = value;
  m.query = "sum(rate(x[20s]))";
  m.message = std::move(message);
  m.startedAt = at;
  m.finishedAt = at;
  return m;
}

api::MetricResult metric(std::string name, std::vector<api::Measurement> measurements) {
  api::MetricResult r;
  r.name = std::move(name);
  r.phase = api::AnalysisPhase::kRunning;
  for (const auto& m : measurements) {
    ++r.count;
    if (m.phase == api::AnalysisPhase::kSuccessful) ++r.successful;
    if (m.phase == api::AnalysisPhase::kFailed) ++r.failed;
    if (m.phase == api::AnalysisPhase::kInconclusive) ++r.inconclusive;
    if (m.phase == api::AnalysisPhase::kError) ++r.error;
    if (m.value) r.lastValue = m.value;
  }
  r.measurements = std::move(measurements);
  return r;
}

// A Running background analysis (no verdict) with these metrics, next measured at `next`.
AnalysisResult running(std::vector<api::MetricResult> metrics, std::optional<api::Time> next) {
  AnalysisResult r;
  r.outcome = AnalysisOutcome::kRunning;
  r.nextRunAt = next;
  r.status.phase = api::AnalysisPhase::kRunning;
  r.status.nextMeasurementAt = next;
  r.status.metrics = std::move(metrics);
  return r;
}

struct HoldCase {
  std::string name;
  // The background analysis' answer on every run, given the time of the reconcile.
  std::function<AnalysisResult(api::Time)> result;
  bool promoted = false;
  std::string message;  // status.message, when held
  std::chrono::milliseconds requeueAfter{0};
};

void PrintTo(const HoldCase& c, std::ostream* os) { *os << c.name; }

class PromotionHoldTest : public ::testing::TestWithParam<HoldCase> {};

TEST_P(PromotionHoldTest, AtTheEndOfTheSteps) {
  const HoldCase& c = GetParam();
  World w;
  applyWeb2WithAnalysis(w, kBackgroundSpec, c.result);
  Result r = w.settle();
  const auto& s = w.status();
  if (c.promoted) {
    EXPECT_EQ(s.stableRS, H2);
    ASSERT_EQ(s.history.size(), 1u);
    EXPECT_EQ(s.history[0].outcome, "Promoted");
    EXPECT_EQ(s.phase, api::RolloutPhase::kHealthy);
    return;
  }
  EXPECT_EQ(s.stableRS, H1);
  EXPECT_TRUE(s.history.empty());
  EXPECT_EQ(s.currentStepIndex, 1);
  EXPECT_EQ(s.phase, api::RolloutPhase::kProgressing);
  EXPECT_EQ(s.message, c.message);
  EXPECT_FALSE(s.abort);
  EXPECT_TRUE(s.pauseConditions.empty());
  EXPECT_EQ(r.error, Result::Error::kNone);
  EXPECT_EQ(r.requeueAfter, c.requeueAfter);
  // The canary is at full scale, the stable one too: nothing moves while held.
  EXPECT_EQ(w.rs("web:2").specReplicas, 4);
  EXPECT_THAT(w.writer.eventReasons(), Not(Contains("Promoted")));
}

const api::AnalysisPhase kOk = api::AnalysisPhase::kSuccessful;

INSTANTIATE_TEST_SUITE_P(
    Reconciler, PromotionHoldTest,
    ::testing::Values(
        HoldCase{"EveryLatestMeasurementPassed",
                 [](api::Time t) {
                   return running({metric("errors", {measurement(kOk, 0.01, "errors 0.01", t)}),
                                   metric("p95", {measurement(kOk, 0.2, "p95 0.2", t)})},
                                  t + 20s);
                 },
                 true},
        HoldCase{"AFailedMeasurementUnderFailureLimit",
                 [](api::Time t) {
                   return running(
                       {metric(
                            "errors",
                            {measurement(kOk, 0.01, "errors 0.01", t - 20s),
                             measurement(api::AnalysisPhase::kFailed, 0.07,
                                         "errors 0.07 > max 0.05 (query: sum(rate(x[20s])))", t)}),
                        metric("p95", {measurement(kOk, 0.2, "p95 0.2", t)})},
                       t + 20s);
                 },
                 false,
                 "Canary at promotion: waiting for analysis: errors last measurement Failed: "
                 "errors 0.07 > max 0.05",
                 20s},
        HoldCase{"AnErrorMeasurement",
                 [](api::Time t) {
                   return running(
                       {metric("errors", {measurement(kOk, 0.01, "errors 0.01", t)}),
                        metric("p95", {measurement(api::AnalysisPhase::kError, std::nullopt,
                                                   "p95: connection refused (query: q)", t)})},
                       t + 20s);
                 },
                 false,
                 "Canary at promotion: waiting for analysis: p95 last measurement Error: p95: "
                 "connection refused",
                 20s},
        HoldCase{"AnInconclusiveMeasurement",
                 [](api::Time t) {
                   return running(
                       {metric("errors",
                               {measurement(api::AnalysisPhase::kInconclusive, std::nullopt,
                                            "errors: no data: is the canary receiving traffic?",
                                            t - 5s)}),
                        metric("p95", {measurement(kOk, 0.2, "p95 0.2", t - 5s)})},
                       t + 15s);
                 },
                 false,
                 "Canary at promotion: waiting for analysis: errors last measurement "
                 "Inconclusive: errors: no data: is the canary receiving traffic?",
                 15s},
        HoldCase{"AMeasurementDue",
                 // The runner could not take it (its next time reached, nothing newer):
                 // checked again in a second.
                 [](api::Time t) {
                   return running(
                       {metric("errors", {measurement(kOk, 0.01, "errors 0.01", t - 20s)}),
                        metric("p95", {measurement(kOk, 0.2, "p95 0.2", t - 5s)})},
                       t);
                 },
                 false, "Canary at promotion: waiting for analysis: errors measurement due", 1s},
        HoldCase{"AMetricNeverMeasured",
                 [](api::Time t) {
                   return running({metric("errors", {measurement(kOk, 0.01, "errors 0.01", t)}),
                                   metric("p95", {})},
                                  t);
                 },
                 false, "Canary at promotion: waiting for analysis: p95 measurement due", 1s}),
    [](const ::testing::TestParamInfo<HoldCase>& info) { return info.param.name; });

TEST(PromotionTest, AHeldPromotionHappensOnceTheNextMeasurementPasses) {
  World w;
  auto failedAt = [](api::Time at) {
    return measurement(api::AnalysisPhase::kFailed, 0.07, "errors 0.07 > max 0.05", at);
  };
  const api::Time t = applyWeb2WithAnalysis(w, kBackgroundSpec, [&](api::Time now) {
    return running(
        {metric("errors", {failedAt(now)}), metric("p95", {measurement(kOk, 0.2, "p95 0.2", now)})},
        now + 20s);
  });
  w.settle();
  ASSERT_EQ(w.status().stableRS, H1);

  // Twenty seconds on, the next measurement passes: promoted in that reconcile.
  w.clock.step(20s);
  const api::Time t2 = nowOf(w);
  w.analysis.script = {running(
      {metric("errors", {failedAt(t), measurement(kOk, 0.01, "errors 0.01", t2)}),
       metric("p95", {measurement(kOk, 0.2, "p95 0.2", t), measurement(kOk, 0.2, "p95", t2)})},
      t2 + 20s)};
  w.writer.reset();
  w.reconcile();
  EXPECT_EQ(w.status().stableRS, H2);
  EXPECT_THAT(w.writer.eventReasons(), Contains("Promoted"));
  EXPECT_EQ(w.status().history.back().reason, "StepsCompleted");
}

TEST(PromotionTest, StepsEndingBeforeTheStartingStepAreMeasuredBeforePromotion) {
  World w;
  // From step 1, which completes in the reconcile that completes step 0 (the canary's one
  // pod is enough for both): background analysis first runs at the end of the steps.
  std::string background = kBackground;
  background.replace(background.find("\"startingStep\":0"), 16, "\"startingStep\":1");
  Spec spec{.steps = R"([{"setWeight":25},{"setWeight":25}])", .extraCanary = background};
  applyWeb2WithAnalysis(w, spec, [](api::Time t) {
    return running(
        {metric("errors", {measurement(api::AnalysisPhase::kFailed, 0.09, "errors 0.09", t)}),
         metric("p95", {measurement(kOk, 0.2, "p95 0.2", t)})},
        t + 20s);
  });
  w.reconcile();  // step 0: the canary is created, before startingStep
  EXPECT_THAT(w.writer.actions,
              Not(Contains(Action{"analysis-run", "analysis", "background", ""})));
  w.settle();
  EXPECT_THAT(w.writer.actions, Contains(Action{"analysis-run", "analysis", "background", ""}));
  EXPECT_EQ(w.status().stableRS, H1);
  EXPECT_THAT(w.status().message,
              HasSubstr("waiting for analysis: errors last measurement Failed: errors 0.09"));
}

TEST(PromotionTest, AnAnalysisAbortAtTheEndOfTheStepsIsNotAPromotion) {
  World w;
  applyWeb2WithAnalysis(w, kBackgroundSpec, [](api::Time t) {
    return running({metric("errors", {}), metric("p95", {})}, t + 20s);
  });
  w.settle();
  ASSERT_EQ(w.status().currentStepIndex, 1);
  AnalysisResult failed;
  failed.outcome = AnalysisOutcome::kFailed;
  failed.reason = "errors: 4 failed measurements (failureLimit 3)";
  failed.status.phase = api::AnalysisPhase::kFailed;
  w.analysis.script = {failed};
  w.clock.step(20s);
  w.settle();
  EXPECT_TRUE(w.status().abort);
  EXPECT_EQ(w.status().stableRS, H1);
  EXPECT_EQ(w.status().history.back().outcome, "Aborted");
}

// ---- promoteFull ----

TEST(PromotionTest, PromoteFullLeavesAPauseStepWhoseConditionRemains) {
  World w;
  w.healthyAt(Spec{});
  w.apply(Spec{.image = "web:2"});
  w.settle();
  ASSERT_EQ(w.status().currentStepIndex, 1);
  ASSERT_EQ(w.status().pauseConditions.size(), 1u);
  w.writer.reset();
  // Only promoteFull: the PauseStep condition stays in place.
  w.patchStatus([](api::RolloutStatus& s) { s.promoteFull = true; });
  w.reconcile();
  EXPECT_EQ(w.status().currentStepIndex, 4);
  EXPECT_TRUE(w.status().pauseConditions.empty());
  w.settle();
  auto s = w.status();
  EXPECT_EQ(s.stableRS, H2);
  EXPECT_FALSE(s.promoteFull);
  EXPECT_EQ(s.history.back().reason, "PromotedFull");
  EXPECT_EQ(s.phase, api::RolloutPhase::kHealthy);
  // No step was walked through one by one, and no "Resumed" for a promote-by-removal.
  EXPECT_THAT(w.writer.eventReasons(), Not(Contains("Resumed")));
  EXPECT_THAT(w.writer.eventReasons(), Not(Contains("Paused")));
  int started = 0;
  for (const auto& e : w.writer.events)
    if (e.reason == "StepStarted") {
      ++started;
      EXPECT_EQ(e.message, "promoteFull: remaining steps skipped");
    }
  EXPECT_EQ(started, 1);
}

TEST(PromotionTest, PromoteFullWithThePauseConditionsClearedIsOneFullPromotion) {
  World w;
  w.healthyAt(Spec{});
  w.apply(Spec{.image = "web:2"});
  w.settle();
  w.writer.reset();
  // What kubectl canary promote --full sends.
  w.patchStatus([](api::RolloutStatus& s) {
    s.promoteFull = true;
    s.pauseConditions.clear();
  });
  w.settle();
  EXPECT_EQ(w.status().stableRS, H2);
  EXPECT_EQ(w.status().history.back().reason, "PromotedFull");
  EXPECT_THAT(w.writer.eventReasons(), Not(Contains("Resumed")));
}

TEST(PromotionTest, PromoteFullLeavesAnInconclusiveAnalysisPause) {
  World w;
  Spec spec{.steps = R"([{"setWeight":25},{"analysis":{"count":2,"interval":"20s",)"
                     R"("prometheus":{"address":"http://prom:9090"},)"
                     R"("metrics":[{"name":"errors","template":"error-rate","max":0.01}]}},)"
                     R"({"setWeight":50},{"pause":{}}])"};
  applyWeb2WithAnalysis(w, spec, [](api::Time) {
    AnalysisResult inconclusive;
    inconclusive.outcome = AnalysisOutcome::kInconclusive;
    inconclusive.reason = "errors: no data: is the canary receiving traffic?";
    inconclusive.status.phase = api::AnalysisPhase::kInconclusive;
    return inconclusive;
  });
  w.settle();
  ASSERT_EQ(w.status().phase, api::RolloutPhase::kPaused);
  ASSERT_EQ(w.status().pauseConditions.at(0).reason, "Inconclusive");

  w.writer.reset();
  w.patchStatus([](api::RolloutStatus& s) { s.promoteFull = true; });
  w.settle();
  auto s = w.status();
  EXPECT_EQ(s.stableRS, H2);
  EXPECT_EQ(s.history.back().reason, "PromotedFull");
  // The analysis step and the pause at step 3 were skipped, not run.
  EXPECT_THAT(w.writer.actions, Not(Contains(Action{"analysis-run", "analysis", "step-1", ""})));
}

TEST(PromotionTest, PromoteFullSkipsTheBackgroundAnalysisHold) {
  World w;
  applyWeb2WithAnalysis(w, kBackgroundSpec, [](api::Time t) {
    return running(
        {metric("errors", {measurement(api::AnalysisPhase::kFailed, 0.07, "errors 0.07", t)}),
         metric("p95", {measurement(kOk, 0.2, "p95 0.2", t)})},
        t + 20s);
  });
  w.settle();
  ASSERT_EQ(w.status().stableRS, H1);
  w.writer.reset();
  w.patchStatus([](api::RolloutStatus& s) { s.promoteFull = true; });
  w.reconcile();
  EXPECT_EQ(w.status().stableRS, H2);
  EXPECT_EQ(w.status().history.back().reason, "PromotedFull");
  EXPECT_THAT(w.writer.actions,
              Not(Contains(Action{"analysis-run", "analysis", "background", ""})));
}

TEST(PromotionTest, SpecPausedStillHoldsAPromoteFull) {
  World w;
  w.healthyAt(Spec{});
  w.apply(Spec{.image = "web:2", .paused = true});
  w.settle();
  w.patchStatus([](api::RolloutStatus& s) { s.promoteFull = true; });
  w.settle();
  EXPECT_EQ(w.status().stableRS, H1);
  EXPECT_EQ(w.status().currentStepIndex, 0);
  EXPECT_TRUE(w.status().promoteFull);
  w.apply(Spec{.image = "web:2", .paused = false});
  w.settle();
  EXPECT_EQ(w.status().stableRS, H2);
  EXPECT_EQ(w.status().history.back().reason, "PromotedFull");
}

}  // namespace
}  // namespace canaryd::controller::testing
