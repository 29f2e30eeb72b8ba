// The step engine with the extension points: traffic routers and analysis runners (fakes
// recording into the same action log as the writer, so ordering is asserted), and the
// Degraded state when a build lacks them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "world.h"

namespace canaryd::controller::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kNginx = R"("trafficRouting":{"nginx":{"stableIngress":"web"}},)";
constexpr const char* kAnalysisStep =
    R"({"analysis":{"count":2,"interval":"20s","prometheus":{"address":"http://prom:9090"},)"
    R"("metrics":[{"name":"errors","template":"error-rate","max":0.01}]}})";

std::vector<Action> routerCalls(const World& w) {
  std::vector<Action> out;
  for (const auto& a : w.writer.actions)
    if (a.resource == "router") out.push_back(a);
  return out;
}

TEST(ExtensionsTest, TrafficRoutingWithoutARouterIsDegradedAndDoesNotProgress) {
  World w;
  w.apply(Spec{.extraCanary = kNginx});
  Result r = w.reconcile();
  EXPECT_EQ(r.error, Result::Error::kTerminal);
  ASSERT_EQ(w.writer.actions.size(), 1u);
  EXPECT_EQ(w.writer.actions[0].verb, "update-status");
  EXPECT_EQ(w.status().phase, api::RolloutPhase::kDegraded);
  EXPECT_EQ(w.status().message,
            "traffic routing (spec.strategy.canary.trafficRouting.nginx) is not available in "
            "this build of canaryd");
  EXPECT_THAT(w.writer.eventReasons(), ElementsAre("UnsupportedFeature"));
}

TEST(ExtensionsTest, AnAnalysisStepWithoutARunnerIsDegraded) {
  World w;
  w.apply(Spec{.steps = std::string("[") + kAnalysisStep + "]"});
  w.reconcile();
  ASSERT_EQ(w.writer.actions.size(), 1u);
  EXPECT_THAT(w.status().message, HasSubstr("spec.strategy.canary.steps[0].analysis"));
}

TEST(ExtensionsTest, WithARouterTheCanaryFollowsTheWeightAndTheStableStaysFull) {
  World w;
  w.useRouter = true;
  w.healthyAt(Spec{.extraCanary = kNginx});
  w.apply(Spec{.image = "web:2", .extraCanary = kNginx});
  w.reconcile();
  // The canary is created; no weight yet (no available canary pod); the stable stays at 4.
  auto writes = w.writer.objectWrites();
  ASSERT_EQ(writes.size(), 1u) << ::testing::PrintToString(writes);
  EXPECT_EQ(writes[0].verb, "create");
  EXPECT_EQ(w.rs("web:2").specReplicas, 1);
  EXPECT_TRUE(routerCalls(w).empty());
  EXPECT_EQ(w.status().canaryWeight, 0);

  w.makeReady();
  w.writer.reset();
  w.reconcile();
  EXPECT_THAT(routerCalls(w), ElementsAre(Action{"set-weight", "router", "", "25"}));
  EXPECT_EQ(w.status().canaryWeight, 25);
  EXPECT_EQ(w.status().currentStepIndex, 0);  // done once the weight has been told
  w.reconcile();
  EXPECT_EQ(w.status().currentStepIndex, 1);
  EXPECT_EQ(w.rs("web:1").specReplicas, 4);
}

TEST(ExtensionsTest, AStepWaitsWhileTheDataPlaneHasNotAppliedTheWeight) {
  World w;
  w.useRouter = true;
  w.routers.verified = false;
  w.healthyAt(Spec{.extraCanary = kNginx});
  w.apply(Spec{.image = "web:2", .extraCanary = kNginx});
  Result r = w.settle();
  EXPECT_EQ(w.status().currentStepIndex, 0);
  EXPECT_EQ(r.requeueAfter, std::chrono::milliseconds(10s));
  w.routers.verified = true;
  w.settle();
  EXPECT_EQ(w.status().currentStepIndex, 1);
}

TEST(ExtensionsTest, AbortSetsWeightZeroBeforeAnyScaling) {
  World w;
  w.useRouter = true;
  Spec spec{.extraCanary = std::string(kNginx) + R"("abortScaleDownDelaySeconds":0,)"};
  w.healthyAt(spec);
  spec.image = "web:2";
  w.apply(spec);
  w.settle();
  ASSERT_EQ(w.status().currentStepIndex, 1);
  w.writer.reset();
  w.patchStatus([](api::RolloutStatus& s) { s.abort = true; });
  w.reconcile();
  std::vector<std::string> verbs;
  for (const auto& a : w.writer.actions) verbs.push_back(a.verb + " " + a.resource);
  EXPECT_THAT(verbs,
              ElementsAre("patch services", "set-weight router", "remove-managed-routes router",
                          "patch replicasets", "update-status rollouts"));
  EXPECT_EQ(w.writer.actions[1].body, "0");
  EXPECT_EQ(w.rs("web:2").specReplicas, 0);
}

TEST(ExtensionsTest, PromotionRepointsTheStableServiceBeforeWeightZero) {
  World w;
  w.useRouter = true;
  Spec spec{.steps = R"([{"setWeight":50}])", .extraCanary = kNginx};
  w.healthyAt(spec);
  spec.image = "web:2";
  w.apply(spec);
  for (int i = 0; i < 10 && w.status().stableRS != World::hashOf("web:2"); ++i) {
    w.writer.reset();
    w.reconcile();
    w.makeReady();
  }
  ASSERT_EQ(w.status().stableRS, World::hashOf("web:2"));
  std::vector<std::string> verbs;
  for (const auto& a : w.writer.actions) verbs.push_back(a.verb + " " + a.name);
  EXPECT_THAT(verbs, ::testing::IsSupersetOf({"patch web-stable", "set-weight "}));
  auto pos = [&](const std::string& v) {
    return std::find(verbs.begin(), verbs.end(), v) - verbs.begin();
  };
  EXPECT_LT(pos("patch web-stable"), pos("set-weight "));
  EXPECT_EQ(w.status().canaryWeight, 0);
}

AnalysisResult outcome(AnalysisOutcome o, std::string reason = {},
                       std::optional<api::Time> next = std::nullopt) {
  AnalysisResult r;
  r.outcome = o;
  r.reason = std::move(reason);
  r.nextRunAt = next;
  r.status.phase =
      o == AnalysisOutcome::kFailed ? api::AnalysisPhase::kFailed : api::AnalysisPhase::kRunning;
  return r;
}

TEST(ExtensionsTest, AnInlineAnalysisStepGatesTheNextStep) {
  World w;
  w.useAnalysis = true;
  Spec spec{.steps = std::string(R"([{"setWeight":25},)") + kAnalysisStep +
                     R"(,{"setWeight":50},{"pause":{}}])"};
  w.healthyAt(spec);
  auto start = std::chrono::floor<std::chrono::seconds>(w.clock.wallNow());
  w.analysis.script = {outcome(AnalysisOutcome::kRunning, "", start + 20s)};
  spec.image = "web:2";
  w.apply(spec);
  Result r = w.settle();
  EXPECT_EQ(w.status().currentStepIndex, 1);
  EXPECT_EQ(r.requeueAfter, std::chrono::milliseconds(20s));
  ASSERT_TRUE(w.status().analysis);
  EXPECT_EQ(w.status().analysis->phase, api::AnalysisPhase::kRunning);

  w.analysis.script = {outcome(AnalysisOutcome::kSuccessful)};
  w.clock.step(20s);
  w.settle();
  EXPECT_EQ(w.status().currentStepIndex, 3);
  EXPECT_THAT(w.writer.actions,
              ::testing::Contains(Action{"analysis-run", "analysis", "step-1", ""}));
}

TEST(ExtensionsTest, AFailedAnalysisAbortsWithTheMetricInHistory) {
  World w;
  w.useAnalysis = true;
  Spec spec{.steps = std::string(R"([{"setWeight":25},)") + kAnalysisStep + "]"};
  w.healthyAt(spec);
  AnalysisResult failed = outcome(AnalysisOutcome::kFailed, "errors: 0.2 > max 0.01");
  failed.metric = "errors";
  failed.measurement = api::Measurement{api::AnalysisPhase::kFailed, 0.2, "sum(rate(x[1m]))"};
  w.analysis.script = {failed};
  spec.image = "web:2";
  w.apply(spec);
  w.settle();
  auto s = w.status();
  EXPECT_TRUE(s.abort);
  EXPECT_EQ(s.phase, api::RolloutPhase::kDegraded);
  EXPECT_EQ(s.canaryWeight, 0);
  ASSERT_EQ(s.history.size(), 1u);
  EXPECT_EQ(s.history[0].reason, "AnalysisFailed");
  EXPECT_EQ(s.history[0].metric, "errors");
  ASSERT_TRUE(s.history[0].measurement);
  EXPECT_EQ(s.history[0].measurement->value, 0.2);
  EXPECT_THAT(s.message, HasSubstr("errors: 0.2 > max 0.01"));
}

TEST(ExtensionsTest, AnInconclusiveAnalysisPausesUntilPromoted) {
  World w;
  w.useAnalysis = true;
  Spec spec{.steps =
                std::string(R"([{"setWeight":25},)") + kAnalysisStep + R"(,{"setWeight":50}])"};
  w.healthyAt(spec);
  w.analysis.script = {
      outcome(AnalysisOutcome::kInconclusive, "errors: no data: is the canary receiving traffic?")};
  spec.image = "web:2";
  w.apply(spec);
  w.settle();
  auto s = w.status();
  EXPECT_EQ(s.phase, api::RolloutPhase::kPaused);
  ASSERT_EQ(s.pauseConditions.size(), 1u);
  EXPECT_EQ(s.pauseConditions[0].reason, "Inconclusive");
  EXPECT_THAT(s.message, HasSubstr("no data"));
  EXPECT_EQ(s.currentStepIndex, 1);
  // Staying paused does not rewrite the status.
  w.writer.reset();
  w.clock.step(5s);
  w.reconcile();
  EXPECT_TRUE(w.writer.actions.empty()) << ::testing::PrintToString(w.writer.actions);

  // Promote leaves the analysis step.
  w.patchStatus([](api::RolloutStatus& st) { st.pauseConditions.clear(); });
  w.reconcile();
  EXPECT_EQ(w.status().currentStepIndex, 2);
  EXPECT_EQ(w.status().phase, api::RolloutPhase::kProgressing);
}

TEST(ExtensionsTest, BackgroundAnalysisFailureAbortsFromItsStartingStep) {
  World w;
  w.useAnalysis = true;
  Spec spec{.extraCanary =
                R"("analysis":{"startingStep":1,"prometheus":{"address":"http://prom:9090"},)"
                R"("metrics":[{"name":"errors","template":"error-rate","max":0.01}]},)"};
  w.healthyAt(spec);
  w.analysis.script = {outcome(AnalysisOutcome::kFailed, "errors: 0.5 > max 0.01")};
  spec.image = "web:2";
  w.apply(spec);
  w.reconcile();  // step 0: before startingStep, no analysis
  EXPECT_THAT(
      w.writer.actions,
      ::testing::Not(::testing::Contains(Action{"analysis-run", "analysis", "background", ""})));
  w.settle();
  EXPECT_TRUE(w.status().abort);
  EXPECT_EQ(w.status().history.back().reason, "AnalysisFailed");
}

}  // namespace
}  // namespace canaryd::controller::testing
