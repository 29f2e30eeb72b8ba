// What analysis and router outcomes write: an analysis that cannot run as specified
// (AnalysisOutcome::kInvalidSpec), the Warning Events of measurements that did not pass
// (bound to the status write that records them), and InvalidSpec results caused by objects
// outside the Rollout, which are looked at again after ReconcilerOptions'
// invalidReferenceRequeue while errors in the spec itself wait for the Rollout to change.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "scenario_util.h"

namespace canaryd::controller::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string H1 = World::hashOf("web:1");
const std::string H2 = World::hashOf("web:2");

constexpr const char* kStepAnalysisSteps =
    R"([{"setWeight":25},{"analysis":{"count":2,"interval":"20s",)"
    R"("prometheus":{"address":"http://prom:9090"},"templates":[{"name":"http-slo"}]}},)"
    R"({"setWeight":50},{"pause":{}}])";
constexpr const char* kNginx = R"("trafficRouting":{"nginx":{"stableIngress":"web"}},)";

const api::Condition& condition(const api::RolloutStatus& s, std::string_view type) {
  for (const auto& c : s.conditions)
    if (c.type == type) return c;
  static api::Condition none;
  ADD_FAILURE() << "no condition " << type;
  return none;
}

AnalysisResult runningUntil(api::Time next) {
  AnalysisResult r;
  r.outcome = AnalysisOutcome::kRunning;
  r.nextRunAt = next;
  r.status.phase = api::AnalysisPhase::kRunning;
  r.status.stepIndex = 1;
  r.status.nextMeasurementAt = next;
  return r;
}

// An analysis that cannot run as specified: `value` of the field at `path` is invalid.
AnalysisResult invalidSpec(std::string path, std::string_view value, std::string detail) {
  AnalysisResult r;
  r.outcome = AnalysisOutcome::kInvalidSpec;
  r.specErrors.push_back(
      api::invalidStringError(api::FieldPath(std::move(path)), value, std::move(detail)));
  r.reason = "InvalidSpec: " + api::joinErrors(r.specErrors);
  return r;
}

AnalysisResult invalidTemplate() {
  AnalysisResult r =
      invalidSpec("spec.strategy.canary.steps[1].analysis.templates[0]", "http-slo",
                  "AnalysisTemplate shop/http-slo spec.metrics[0]: canary-up: unknown variable "
                  "{{podName}}");
  r.status.phase = api::AnalysisPhase::kError;
  r.status.stepIndex = 1;
  r.status.message = r.reason;
  return r;
}

// At the inline analysis step (index 1) of web:2, the analysis Running; actions cleared.
void atAnalysisStep(World& w) {
  applyWeb2WithAnalysis(w, {.steps = kStepAnalysisSteps},
                        [](api::Time now) { return runningUntil(now + 20s); });
  w.settle();
  ASSERT_EQ(w.status().currentStepIndex, 1);
  w.writer.reset();
}

// ---- AnalysisOutcome::kInvalidSpec ----

TEST(OutcomesTest, AnAnalysisInvalidSpecNamesTheTemplateAndMetricAndWritesNothingElse) {
  World w;
  atAnalysisStep(w);
  const auto before = w.status();
  std::string canaryRv = w.rs("web:2").metadata.resourceVersion;
  w.analysis.script = {invalidTemplate()};
  w.clock.step(20s);
  Result r = w.reconcile();

  EXPECT_EQ(r.error, Result::Error::kTerminal);
  // A template change enqueues the Rollout (its informer): no timed look again.
  EXPECT_FALSE(r.requeueAfter);
  ASSERT_EQ(w.writer.actions.size(), 2u) << ::testing::PrintToString(w.writer.actions);
  EXPECT_EQ(w.writer.actions[0], (Action{"analysis-run", "analysis", "step-1", ""}));
  EXPECT_EQ(w.writer.actions[1].verb, "update-status");
  const auto& s = w.status();
  EXPECT_EQ(s.phase, api::RolloutPhase::kDegraded);
  const std::string expected =
      "spec.strategy.canary.steps[1].analysis.templates[0]: Invalid value: \"http-slo\": "
      "AnalysisTemplate shop/http-slo spec.metrics[0]: canary-up: unknown variable {{podName}}";
  EXPECT_EQ(condition(s, "InvalidSpec").status, "True");
  EXPECT_EQ(condition(s, "InvalidSpec").message, expected);
  EXPECT_EQ(condition(s, "Ready").status, "False");
  EXPECT_EQ(condition(s, "Ready").reason, "InvalidSpec");
  EXPECT_EQ(s.message, "InvalidSpec: " + expected);
  // Nothing else: the step, the analysis status and the ReplicaSets stay as they were.
  EXPECT_EQ(s.currentStepIndex, before.currentStepIndex);
  EXPECT_EQ(s.analysis, before.analysis);
  EXPECT_EQ(s.canaryWeight, before.canaryWeight);
  EXPECT_EQ(s.stableRS, H1);
  EXPECT_EQ(w.rs("web:2").metadata.resourceVersion, canaryRv);
  ASSERT_EQ(w.writer.events.size(), 1u);
  EXPECT_EQ(w.writer.events[0].type, EventType::kWarning);
  EXPECT_EQ(w.writer.events[0].reason, "InvalidSpec");
  EXPECT_EQ(w.writer.events[0].message, expected);

  // The same again: no write, no second Event.
  w.writer.reset();
  w.reconcile();
  EXPECT_EQ(w.writer.objectWrites(),
            (std::vector<Action>{{"analysis-run", "analysis", "step-1", ""}}));
  EXPECT_TRUE(w.writer.events.empty());

  // The template fixed: the analysis runs again and the condition clears.
  w.analysis.script = {runningUntil(nowOf(w) + 20s)};
  w.reconcile();
  EXPECT_EQ(condition(w.status(), "InvalidSpec").status, "False");
  EXPECT_EQ(w.status().phase, api::RolloutPhase::kProgressing);
  EXPECT_EQ(w.status().currentStepIndex, 1);
}

TEST(OutcomesTest, ABackgroundAnalysisInvalidSpecStopsTheSteps) {
  World w;
  applyWeb2WithAnalysis(
      w, {.extraCanary = R"("analysis":{"templates":[{"name":"missing"}]},)"}, [](api::Time) {
        return invalidSpec("spec.strategy.canary.analysis.templates[0].name", "missing",
                           "AnalysisTemplate \"missing\" not found in namespace shop");
      });
  Result r = w.settle();
  EXPECT_EQ(r.error, Result::Error::kTerminal);
  EXPECT_FALSE(r.requeueAfter);
  const auto& s = w.status();
  EXPECT_EQ(s.phase, api::RolloutPhase::kDegraded);
  EXPECT_THAT(condition(s, "InvalidSpec").message,
              HasSubstr("spec.strategy.canary.analysis.templates[0].name: Invalid value: "
                        "\"missing\": AnalysisTemplate \"missing\" not found"));
  // The first reconcile of the revision already stopped: no canary ReplicaSet.
  EXPECT_FALSE(w.hasRS("web:2"));
  EXPECT_EQ(s.stableRS, H1);
  EXPECT_THAT(w.writer.eventReasons(), ElementsAre("InvalidSpec"));
}

// ---- measurement Events ----

api::Measurement taken(api::AnalysisPhase phase, std::string message) {
  api::Measurement m;
  m.phase = phase;
  m.message = std::move(message);
  m.query = "q";
  return m;
}

AnalysisResult withMeasurements(AnalysisResult r) {
  r.taken = {{"errors", taken(api::AnalysisPhase::kSuccessful, "errors 0.001 <= max 0.01")},
             {"p95", taken(api::AnalysisPhase::kFailed, "p95 0.9 > max 0.5 (query: q)")},
             {"rate", taken(api::AnalysisPhase::kInconclusive,
                            "rate: no data for query q: is the canary receiving traffic?")},
             {"up", taken(api::AnalysisPhase::kError, "up: connection refused (query: q)")}};
  // The measurements are recorded in status.analysis, so the status changes.
  r.status.metrics.resize(4);
  r.status.metrics[0].name = "errors";
  r.status.metrics[0].count = 1;
  return r;
}

std::vector<RecordedEvent> warnings(const World& w) {
  std::vector<RecordedEvent> out;
  for (const auto& e : w.writer.events)
    if (e.type == EventType::kWarning) out.push_back(e);
  return out;
}

TEST(OutcomesTest, OneWarningEventPerMeasurementThatDidNotPass) {
  World w;
  atAnalysisStep(w);
  w.analysis.script = {withMeasurements(runningUntil(nowOf(w) + 40s))};
  w.clock.step(20s);
  Result r = w.reconcile();
  EXPECT_EQ(r.error, Result::Error::kNone);
  auto got = warnings(w);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].reason, "AnalysisMeasurementFailed");
  EXPECT_EQ(got[0].message, "step 1 analysis: p95 0.9 > max 0.5 (query: q)");
  EXPECT_EQ(got[1].reason, "AnalysisMeasurementInconclusive");
  EXPECT_EQ(got[1].message,
            "step 1 analysis: rate: no data for query q: is the canary receiving traffic?");
  EXPECT_EQ(got[2].reason, "AnalysisMeasurementError");
  EXPECT_EQ(got[2].message, "step 1 analysis: up: connection refused (query: q)");
  EXPECT_EQ(w.writer.events.size(), 3u);  // none for the measurement that passed
  ASSERT_TRUE(w.status().analysis);
  EXPECT_EQ(w.status().analysis->metrics.size(), 4u);
}

TEST(OutcomesTest, BackgroundMeasurementEventsSaySo) {
  World w;
  applyWeb2WithAnalysis(w, {.extraCanary = R"("analysis":{"templates":[{"name":"http-slo"}]},)"},
                        [](api::Time now) {
                          AnalysisResult r = withMeasurements(runningUntil(now + 60s));
                          r.status.stepIndex.reset();
                          r.taken.resize(2);  // one passed, one failed
                          return r;
                        });
  w.reconcile();
  auto got = warnings(w);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].reason, "AnalysisMeasurementFailed");
  EXPECT_EQ(got[0].message, "background analysis: p95 0.9 > max 0.5 (query: q)");
}

TEST(OutcomesTest, MeasurementEventsAreRecordedOnlyWhenTheStatusWriteSucceeds) {
  World w;
  atAnalysisStep(w);
  w.analysis.script = {withMeasurements(runningUntil(nowOf(w) + 40s))};
  w.clock.step(20s);
  w.writer.failNext("update-status", "rollouts",
                    WriteError{WriteError::Kind::kConflict, "the object has been modified"});
  Result r = w.reconcile();
  EXPECT_EQ(r.error, Result::Error::kTransient);
  // The measurements were lost with the status: the next reconcile takes them again.
  EXPECT_TRUE(w.writer.events.empty()) << ::testing::PrintToString(w.writer.eventReasons());
  ASSERT_TRUE(w.status().analysis);
  EXPECT_TRUE(w.status().analysis->metrics.empty());

  r = w.reconcile();
  EXPECT_EQ(r.error, Result::Error::kNone);
  EXPECT_THAT(w.writer.eventReasons(),
              ElementsAre("AnalysisMeasurementFailed", "AnalysisMeasurementInconclusive",
                          "AnalysisMeasurementError"));
}

// ---- InvalidSpec: looked at again, or not ----

TEST(OutcomesTest, AMissingStableIngressIsLookedAtAgainAfterTheDelay) {
  World w;
  w.useRouter = true;
  w.options.invalidReferenceRequeue = 2s;
  w.routers.failure = RouterError{true, "stable Ingress shop/web (trafficRouting.nginx) not found"};
  w.apply(Spec{.extraCanary = kNginx});
  Result r = w.reconcile();
  EXPECT_EQ(r.error, Result::Error::kTerminal);
  EXPECT_EQ(r.requeueAfter, std::chrono::milliseconds(2s));
  ASSERT_EQ(w.writer.actions.size(), 1u);
  EXPECT_EQ(w.writer.actions[0].verb, "update-status");
  EXPECT_EQ(condition(w.status(), "InvalidSpec").message,
            "spec.strategy.canary.trafficRouting: Invalid value: \"nginx\": stable Ingress "
            "shop/web (trafficRouting.nginx) not found");
  EXPECT_EQ(w.status().phase, api::RolloutPhase::kDegraded);

  // Still missing: looked at again, nothing written, still requeued.
  w.writer.reset();
  r = w.reconcile();
  EXPECT_TRUE(w.writer.actions.empty());
  EXPECT_TRUE(w.writer.events.empty());
  EXPECT_EQ(r.requeueAfter, std::chrono::milliseconds(2s));

  // The Ingress appears: the requeued reconcile settles the Rollout with no change to it.
  w.routers.failure.reset();
  w.settle();
  EXPECT_EQ(condition(w.status(), "InvalidSpec").status, "False");
  EXPECT_EQ(w.status().phase, api::RolloutPhase::kHealthy);
  EXPECT_EQ(w.status().stableRS, H1);
}

TEST(OutcomesTest, TheDefaultDelayIsThirtySeconds) {
  World w;
  w.useRouter = true;
  w.routers.failure = RouterError{true,
                                  "HTTPRoute shop/web has no rule with a backendRef to "
                                  "Service web-stable"};
  w.apply(Spec{.extraCanary = R"("trafficRouting":{"gatewayAPI":{"httpRoute":"web"}},)"});
  Result r = w.reconcile();
  EXPECT_EQ(r.error, Result::Error::kTerminal);
  EXPECT_EQ(r.requeueAfter, std::chrono::milliseconds(30s));
  EXPECT_THAT(condition(w.status(), "InvalidSpec").message,
              HasSubstr("Invalid value: \"gatewayAPI\": HTTPRoute shop/web has no rule"));
}

TEST(OutcomesTest, ARouterRefusingAWeightMidRolloutIsAnInvalidSpecLookedAtAgain) {
  World w;
  w.useRouter = true;
  w.options.invalidReferenceRequeue = 2s;
  w.healthyAt(Spec{.extraCanary = kNginx});
  w.apply(Spec{.image = "web:2", .extraCanary = kNginx});
  w.reconcile();  // the canary is created; no weight before it has pods
  w.makeReady();
  w.writer.reset();
  // The foreign Ingress appeared between the router's checks and its write.
  w.routers.setWeightFailure = RouterError{
      true, "Ingress shop/web-web-canary exists and is not controlled by Rollout shop/web"};
  Result r = w.reconcile();
  EXPECT_EQ(r.error, Result::Error::kTerminal);
  EXPECT_EQ(r.requeueAfter, std::chrono::milliseconds(2s));
  EXPECT_EQ(condition(w.status(), "InvalidSpec").status, "True");
  EXPECT_THAT(condition(w.status(), "InvalidSpec").message,
              HasSubstr("web-web-canary exists and is not controlled by Rollout shop/web"));
  EXPECT_EQ(w.status().canaryWeight, 0);

  w.routers.setWeightFailure.reset();
  w.settle();
  EXPECT_EQ(condition(w.status(), "InvalidSpec").status, "False");
  EXPECT_EQ(w.status().canaryWeight, 25);
}

TEST(OutcomesTest, ErrorsInTheSpecOrInWatchedObjectsAreNotLookedAtAgain) {
  {
    World w;
    w.options.invalidReferenceRequeue = 2s;
    w.apply(Spec{.replicas = -1});
    Result r = w.reconcile();
    EXPECT_EQ(r.error, Result::Error::kTerminal);
    EXPECT_FALSE(r.requeueAfter) << "a field error waits for the Rollout to change";
  }
  {
    World w;
    w.options.invalidReferenceRequeue = 2s;
    w.lister.services.erase("shop/web-canary");
    w.apply(Spec{});
    Result r = w.reconcile();
    EXPECT_EQ(r.error, Result::Error::kTerminal);
    EXPECT_THAT(condition(w.status(), "InvalidSpec").message, HasSubstr("web-canary"));
    EXPECT_FALSE(r.requeueAfter) << "the Service informer enqueues the Rollout";
  }
}

}  // namespace
}  // namespace canaryd::controller::testing
