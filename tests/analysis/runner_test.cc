// Runner: scheduling from status (restart-resume), counts, limits and outcomes, with a fake
// provider and a FakeClock stepping time.
#include "analysis/runner.h"

#include <gtest/gtest.h>

#include <cmath>
#include <deque>
#include <functional>
#include <map>
#include <mutex>

#include "analysis/queries.h"
#include "workqueue/clock.h"

namespace canaryd::analysis {
namespace {

using api::AnalysisPhase;
using controller::AnalysisOutcome;
using controller::AnalysisRequest;
using controller::AnalysisResult;
using namespace std::chrono_literals;

// Answers each query from a per-metric-template script (the last answer repeats).
class FakeProvider : public Provider {
 public:
  QueryResult measure(const std::string& query, api::Time now) override {
    std::lock_guard lock(mu);
    calls.push_back({query, now});
    for (auto& [needle, script] : scripts) {
      if (query.find(needle) == std::string::npos) continue;
      QueryResult r = script.front();
      if (script.size() > 1) script.pop_front();
      return r;
    }
    return QueryResult::error("no script for " + query);
  }
  std::mutex mu;
  std::map<std::string, std::deque<QueryResult>> scripts;  // by a substring of the query
  std::vector<std::pair<std::string, api::Time>> calls;
};

class FakeFactory : public ProviderFactory {
 public:
  ProviderOrError provider(std::string_view ns, const api::PrometheusProvider& spec) override {
    namespaces.push_back(std::string(ns));
    addresses.push_back(spec.address);
    if (!error.empty()) return {nullptr, error};
    return {fake, ""};
  }
  std::shared_ptr<FakeProvider> fake = std::make_shared<FakeProvider>();
  std::string error;
  std::vector<std::string> namespaces, addresses;
};

class FakeTemplates : public TemplateResolver {
 public:
  std::optional<api::AnalysisTemplateSpec> find(std::string_view ns,
                                                std::string_view name) const override {
    auto it = templates.find(std::string(ns) + "/" + std::string(name));
    if (it == templates.end()) return std::nullopt;
    return it->second;
  }
  std::map<std::string, api::AnalysisTemplateSpec> templates;
};

api::Metric metric(const std::string& name, const std::string& tpl, std::optional<double> max) {
  api::Metric m;
  m.name = name;
  m.templateName = tpl;
  m.max = max;
  return m;
}

class RunnerTest : public ::testing::Test {
 protected:
  RunnerTest() {
    rollout.metadata.name = "podinfo";
    rollout.metadata.namespace_ = "shop";
    api::CanaryStrategy c;
    c.canaryService = "podinfo-canary";
    c.stableService = "podinfo-stable";
    rollout.spec.strategy.canary = c;
    spec.interval = 30s;
    spec.consecutiveErrorLimit = 2;
    spec.prometheus = api::PrometheusProvider{.address = "http://prometheus:9090"};
    spec.metrics = {metric("error-rate", "error-rate", 0.01),
                    metric("latency-p95", "latency-p95", 0.3)};
    script("http_requests_total", {QueryResult::ofValue(0.001)});
    script("http_request_duration_seconds_bucket", {QueryResult::ofValue(0.2)});
  }

  void script(const std::string& needle, std::vector<QueryResult> answers) {
    factory.fake->scripts[needle] = std::deque<QueryResult>(answers.begin(), answers.end());
  }

  api::Time now() const {
    return std::chrono::time_point_cast<std::chrono::seconds>(clock.wallNow());
  }

  // One reconcile: runs the analysis on `status` and stores what it returns, as the
  // controller writes status.analysis.
  AnalysisResult run(Runner& runner, std::optional<int32_t> stepIndex = std::nullopt) {
    AnalysisRequest request{rollout, status, spec, stepIndex, "stable1", "canary1", now()};
    AnalysisResult result = runner.run(request);
    status.analysis = result.status;
    return result;
  }
  AnalysisResult run(std::optional<int32_t> stepIndex = std::nullopt) {
    return run(runner, stepIndex);
  }
  size_t calls() const { return factory.fake->calls.size(); }

  workqueue::FakeClock clock;
  FakeFactory factory;
  FakeTemplates templates;
  Runner runner{factory, &templates};
  api::Rollout rollout;
  api::RolloutStatus status;
  api::AnalysisSpec spec;
};

TEST_F(RunnerTest, MeasuresAtTheIntervalAndSaysWhenToComeBack) {
  api::Time start = now();
  AnalysisResult r = run();
  EXPECT_EQ(r.outcome, AnalysisOutcome::kRunning);
  EXPECT_EQ(calls(), 2u);
  EXPECT_EQ(r.nextRunAt, start + 30s);
  EXPECT_EQ(r.status.nextMeasurementAt, start + 30s);
  EXPECT_EQ(r.status.phase, AnalysisPhase::kRunning);
  ASSERT_EQ(r.status.metrics.size(), 2u);
  const auto& m = r.status.metrics[0];
  EXPECT_EQ(m.name, "error-rate");
  EXPECT_EQ(m.phase, AnalysisPhase::kRunning);
  EXPECT_EQ(m.count, 1);
  EXPECT_EQ(m.successful, 1);
  EXPECT_EQ(m.lastValue, 0.001);
  EXPECT_EQ(m.max, 0.01);
  ASSERT_EQ(m.measurements.size(), 1u);
  EXPECT_EQ(m.measurements[0].phase, AnalysisPhase::kSuccessful);
  EXPECT_EQ(m.measurements[0].startedAt, start);
  EXPECT_NE(m.measurements[0].query.find("http_requests_total{service=\"podinfo-canary\""),
            std::string::npos);
  EXPECT_EQ(factory.namespaces.back(), "shop");
  EXPECT_EQ(factory.addresses.back(), "http://prometheus:9090");
  EXPECT_EQ(factory.fake->calls[0].second, start);

  // A reconcile before the interval measures nothing.
  clock.step(29s);
  r = run();
  EXPECT_EQ(calls(), 2u);
  EXPECT_EQ(r.outcome, AnalysisOutcome::kRunning);
  EXPECT_EQ(r.nextRunAt, start + 30s);

  clock.step(1s);
  r = run();
  EXPECT_EQ(calls(), 4u);
  EXPECT_EQ(r.status.metrics[0].count, 2);
  EXPECT_EQ(r.nextRunAt, start + 60s);
}

TEST_F(RunnerTest, RestartResumesFromStatus) {
  api::Time start = now();
  run();
  clock.step(10s);
  // A new runner (a restarted controller or a new leader) with the status as written.
  FakeFactory otherFactory;
  otherFactory.fake = factory.fake;
  Runner restarted(otherFactory, &templates);
  AnalysisResult r = run(restarted);
  EXPECT_EQ(calls(), 2u) << "not due yet: the last measurement time is in status";
  EXPECT_EQ(r.nextRunAt, start + 30s);
  EXPECT_EQ(r.status.metrics[0].count, 1);
  clock.step(20s);
  r = run(restarted);
  EXPECT_EQ(calls(), 4u);
  EXPECT_EQ(r.status.metrics[0].count, 2);
  EXPECT_EQ(r.status.metrics[0].successful, 2);
}

TEST_F(RunnerTest, FailedMeasurementAbortsWithMetricValueThresholdAndQuery) {
  script("http_requests_total", {QueryResult::ofValue(0.08)});
  AnalysisResult r = run();
  EXPECT_EQ(r.outcome, AnalysisOutcome::kFailed);
  std::string query = r.status.metrics[0].measurements[0].query;
  EXPECT_EQ(r.reason, "error-rate 0.08 > max 0.01 (query: " + query + ")");
  EXPECT_EQ(r.metric, "error-rate");
  ASSERT_TRUE(r.measurement);
  EXPECT_EQ(r.measurement->value, 0.08);
  EXPECT_EQ(r.status.phase, AnalysisPhase::kFailed);
  EXPECT_EQ(r.status.message, r.reason);
  EXPECT_EQ(r.nextRunAt, std::nullopt);
  EXPECT_EQ(r.status.nextMeasurementAt, std::nullopt);

  // Called again (the abort is in progress): the same verdict, nothing measured.
  clock.step(60s);
  AnalysisResult again = run();
  EXPECT_EQ(calls(), 2u);
  EXPECT_EQ(again.outcome, AnalysisOutcome::kFailed);
  EXPECT_EQ(again.reason, r.reason);
}

TEST_F(RunnerTest, FailuresWithinFailureLimitKeepRunning) {
  spec.failureLimit = 1;
  script("http_requests_total",
         {QueryResult::ofValue(0.08), QueryResult::ofValue(0.002), QueryResult::ofValue(0.09)});
  EXPECT_EQ(run().outcome, AnalysisOutcome::kRunning);
  clock.step(30s);
  EXPECT_EQ(run().outcome, AnalysisOutcome::kRunning);
  clock.step(30s);
  AnalysisResult r = run();
  EXPECT_EQ(r.outcome, AnalysisOutcome::kFailed);
  EXPECT_EQ(r.status.metrics[0].failed, 2);
  EXPECT_EQ(r.reason.rfind("error-rate: 2 failed measurements (failureLimit 1); last: "
                           "error-rate 0.09 > max 0.01",
                           0),
            0u)
      << r.reason;
}

TEST_F(RunnerTest, ConsecutiveErrorsPastTheLimitAbort) {
  QueryResult refused =
      QueryResult::error("Prometheus http://prometheus:9090: connecting: refused");
  script("http_requests_total",
         {refused, refused, QueryResult::ofValue(0.001), refused, refused, refused});
  std::vector<AnalysisOutcome> outcomes;
  for (int i = 0; i < 6; ++i) {
    outcomes.push_back(run().outcome);
    clock.step(30s);
  }
  EXPECT_EQ(outcomes,
            (std::vector<AnalysisOutcome>{AnalysisOutcome::kRunning, AnalysisOutcome::kRunning,
                                          AnalysisOutcome::kRunning, AnalysisOutcome::kRunning,
                                          AnalysisOutcome::kRunning, AnalysisOutcome::kFailed}));
  const auto& m = status.analysis->metrics[0];
  EXPECT_EQ(m.phase, AnalysisPhase::kError);
  EXPECT_EQ(m.error, 5);
  EXPECT_EQ(m.consecutiveError, 3);
  EXPECT_EQ(m.lastValue, 0.001) << "an error keeps the last value measured";
  EXPECT_EQ(status.analysis->phase, AnalysisPhase::kError);
  EXPECT_EQ(status.analysis->message.rfind(
                "error-rate: 3 consecutive errors (consecutiveErrorLimit 2); last: error-rate: "
                "Prometheus http://prometheus:9090: connecting: refused (query: ",
                0),
            0u)
      << status.analysis->message;
}

TEST_F(RunnerTest, NoDataIsInconclusiveAndResumingStartsTheCountOver) {
  script("http_requests_total", {QueryResult::noData(), QueryResult::ofValue(0.001)});
  AnalysisResult r = run();
  EXPECT_EQ(r.outcome, AnalysisOutcome::kInconclusive);
  std::string query = r.status.metrics[0].measurements[0].query;
  EXPECT_EQ(r.reason,
            "error-rate: no data for query " + query + ": is the canary receiving traffic?");
  EXPECT_EQ(r.status.phase, AnalysisPhase::kInconclusive);
  EXPECT_EQ(r.metric, "error-rate");

  // The user promoted: the controller calls again; measuring goes on.
  clock.step(30s);
  r = run();
  EXPECT_EQ(r.outcome, AnalysisOutcome::kRunning);
  EXPECT_EQ(r.status.metrics[0].inconclusive, 0);
  EXPECT_EQ(r.status.metrics[0].count, 2);
  EXPECT_EQ(r.status.message, "");
}

TEST_F(RunnerTest, InlineStepPassesAfterCountSuccessfulMeasurements) {
  spec.count = 3;
  spec.interval = 20s;
  EXPECT_EQ(run(4).outcome, AnalysisOutcome::kRunning);
  EXPECT_EQ(status.analysis->stepIndex, 4);
  clock.step(20s);
  EXPECT_EQ(run(4).outcome, AnalysisOutcome::kRunning);
  clock.step(20s);
  AnalysisResult r = run(4);
  EXPECT_EQ(r.outcome, AnalysisOutcome::kSuccessful);
  EXPECT_EQ(r.status.phase, AnalysisPhase::kSuccessful);
  EXPECT_EQ(r.status.metrics[0].phase, AnalysisPhase::kSuccessful);
  EXPECT_EQ(r.nextRunAt, std::nullopt);
  EXPECT_EQ(r.status.message, "Successful: error-rate passed 3 of 3; latency-p95 passed 3 of 3");
  EXPECT_EQ(calls(), 6u);
}

TEST_F(RunnerTest, InlineStepIsNotSuccessfulWhileAMetricIsStillShort) {
  spec.count = 2;
  // latency-p95 has no data once, so it needs a third measurement.
  script("http_request_duration_seconds_bucket",
         {QueryResult::ofValue(0.2), QueryResult::ofValue(NAN), QueryResult::ofValue(0.2)});
  spec.inconclusiveLimit = 1;
  run(2);
  clock.step(30s);
  AnalysisResult r = run(2);
  EXPECT_EQ(r.outcome, AnalysisOutcome::kRunning);
  EXPECT_EQ(r.status.metrics[0].phase, AnalysisPhase::kSuccessful);
  EXPECT_EQ(r.status.metrics[1].phase, AnalysisPhase::kRunning);
  EXPECT_EQ(r.nextRunAt, now() + 30s);
  clock.step(30s);
  r = run(2);
  EXPECT_EQ(r.outcome, AnalysisOutcome::kSuccessful);
  EXPECT_EQ(calls(), 5u) << "a metric that passed is not measured again";
}

TEST_F(RunnerTest, AnotherAnalysisStatusIsNotCarriedOver) {
  run();  // background
  clock.step(5s);
  AnalysisResult r = run(3);  // an inline step starts afresh, measuring at once
  EXPECT_EQ(calls(), 4u);
  EXPECT_EQ(r.status.stepIndex, 3);
  EXPECT_EQ(r.status.metrics[0].count, 1);
}

TEST_F(RunnerTest, KeepsTheLastMeasurementsOnly) {
  for (size_t i = 0; i < api::kMaxMeasurementsPerMetric + 5; ++i) {
    run();
    clock.step(30s);
  }
  const auto& m = status.analysis->metrics[0];
  EXPECT_EQ(m.measurements.size(), api::kMaxMeasurementsPerMetric);
  EXPECT_EQ(m.count, static_cast<int32_t>(api::kMaxMeasurementsPerMetric + 5));
  EXPECT_EQ(m.measurements.back().startedAt, now() - 30s);
}

TEST_F(RunnerTest, TemplatesAreMergedAndMissingOnesAreInvalidSpec) {
  spec.templates = {{"http-slo"}, {"latency"}};
  AnalysisResult r = run(2);
  EXPECT_EQ(r.outcome, AnalysisOutcome::kInvalidSpec);
  ASSERT_EQ(r.specErrors.size(), 2u) << "every missing template is named";
  EXPECT_EQ(r.specErrors[0].toString(),
            "spec.strategy.canary.steps[2].analysis.templates[0].name: Invalid value: "
            "\"http-slo\": AnalysisTemplate \"http-slo\" not found in namespace shop");
  EXPECT_EQ(r.specErrors[1].field, "spec.strategy.canary.steps[2].analysis.templates[1].name");
  EXPECT_EQ(r.reason, "InvalidSpec: " + api::joinErrors(r.specErrors));
  EXPECT_EQ(r.status.phase, AnalysisPhase::kError);
  EXPECT_TRUE(r.taken.empty());
  EXPECT_EQ(calls(), 0u);
  spec.templates = {{"http-slo"}};

  api::AnalysisTemplateSpec t;
  api::Metric custom;
  custom.name = "saturation";
  custom.query = "max(cpu{svc=\"{{canaryService}}\",hash=\"{{canaryHash}}\"})";
  custom.max = 0.8;
  t.metrics = {custom};
  templates.templates["shop/http-slo"] = t;
  script("cpu{", {QueryResult::ofValue(0.5)});
  status.analysis.reset();
  r = run();
  EXPECT_EQ(r.outcome, AnalysisOutcome::kRunning);
  EXPECT_TRUE(r.specErrors.empty());
  ASSERT_EQ(r.status.metrics.size(), 3u);
  EXPECT_EQ(r.status.metrics[2].name, "saturation");
  EXPECT_EQ(r.status.metrics[2].measurements[0].query,
            "max(cpu{svc=\"podinfo-canary\",hash=\"canary1\"})");
}

TEST_F(RunnerTest, ProviderFromTemplateOrBackgroundAnalysis) {
  spec.prometheus.reset();
  AnalysisResult r = run(1);
  EXPECT_EQ(r.outcome, AnalysisOutcome::kInvalidSpec);
  ASSERT_EQ(r.specErrors.size(), 1u);
  EXPECT_EQ(r.specErrors[0].field, "spec.strategy.canary.steps[1].analysis.prometheus.address");
  EXPECT_NE(r.reason.find("no Prometheus to query"), std::string::npos);

  api::AnalysisSpec background;
  background.prometheus = api::PrometheusProvider{.address = "http://bg:9090"};
  rollout.spec.strategy.canary->analysis = background;
  status.analysis.reset();
  run(1);
  EXPECT_EQ(factory.addresses.back(), "http://bg:9090");

  api::AnalysisTemplateSpec t;
  t.prometheus = api::PrometheusProvider{.address = "http://tpl:9090"};
  t.metrics = {metric("success-rate", "success-rate", {})};
  t.metrics[0].min = 0.9;
  templates.templates["shop/slo"] = t;
  spec.templates = {{"slo"}};
  script("code!~", {QueryResult::ofValue(0.99)});
  status.analysis.reset();
  run(1);
  EXPECT_EQ(factory.addresses.back(), "http://tpl:9090");
}

TEST_F(RunnerTest, DuplicateMetricAndBadVariableAreInvalidSpec) {
  spec.metrics.push_back(metric("error-rate", "error-rate", 0.02));
  AnalysisResult r = run();
  EXPECT_EQ(r.outcome, AnalysisOutcome::kInvalidSpec);
  EXPECT_EQ(r.reason,
            "InvalidSpec: spec.strategy.canary.analysis.metrics[2].name: Invalid value: "
            "\"error-rate\": metric \"error-rate\" is defined more than once (in metrics and/or "
            "AnalysisTemplates)");
  spec.metrics.pop_back();
  api::Metric custom;
  custom.name = "ingress-errors";
  custom.query = "sum(x{ingress=\"{{canaryIngress}}\"})";
  custom.max = 1;
  spec.metrics.push_back(custom);
  status.analysis.reset();
  r = run();
  EXPECT_EQ(r.outcome, AnalysisOutcome::kInvalidSpec);
  ASSERT_EQ(r.specErrors.size(), 1u);
  EXPECT_EQ(r.specErrors[0].field, "spec.strategy.canary.analysis.metrics[2].query");
  EXPECT_EQ(r.specErrors[0].detail,
            "ingress-errors: variable {{canaryIngress}} has no value (it needs "
            "trafficRouting.nginx)");
  EXPECT_EQ(calls(), 0u) << "nothing is measured while the spec is invalid";
}

TEST_F(RunnerTest, AnUnknownVariableInATemplateNamesTheTemplateAndTheMetric) {
  api::AnalysisTemplateSpec t;
  api::Metric custom;
  custom.name = "saturation";
  custom.query = "max(cpu{pod=~\"{{podName}}.*\"})";
  t.metrics = {custom};
  templates.templates["shop/http-slo"] = t;
  spec.templates = {{"http-slo"}};
  AnalysisResult r = run(3);
  EXPECT_EQ(r.outcome, AnalysisOutcome::kInvalidSpec);
  ASSERT_EQ(r.specErrors.size(), 1u);
  EXPECT_EQ(r.specErrors[0].field, "spec.strategy.canary.steps[3].analysis.templates[0]");
  EXPECT_EQ(r.specErrors[0].value, "\"http-slo\"");
  EXPECT_EQ(r.specErrors[0].detail.rfind("AnalysisTemplate shop/http-slo spec.metrics[0]: "
                                         "saturation: unknown variable {{podName}}; supported: ",
                                         0),
            0u)
      << r.specErrors[0].detail;
  EXPECT_EQ(calls(), 0u);
}

TEST_F(RunnerTest, EveryMeasurementTakenIsReportedOnce) {
  std::vector<std::pair<std::string, std::string>> seen;
  RunnerOptions options;
  options.onMeasurement = [&](const std::string& metric, std::string_view phase) {
    seen.emplace_back(metric, std::string(phase));
  };
  Runner counted(factory, &templates, options);
  script("http_requests_total", {QueryResult::ofValue(0.001), QueryResult::noData(),
                                 QueryResult::error("connection refused")});
  script("http_request_duration_seconds_bucket",
         {QueryResult::ofValue(0.2), QueryResult::ofValue(0.5)});
  spec.inconclusiveLimit = 1;
  AnalysisResult r = run(counted);
  ASSERT_EQ(r.taken.size(), 2u);
  EXPECT_EQ(r.taken[0].metric, "error-rate");
  EXPECT_EQ(r.taken[0].measurement.phase, AnalysisPhase::kSuccessful);
  EXPECT_EQ(r.taken[1].metric, "latency-p95");

  clock.step(10s);
  r = run(counted);
  EXPECT_TRUE(r.taken.empty()) << "nothing was due";

  clock.step(20s);
  r = run(counted);
  EXPECT_EQ(r.outcome, AnalysisOutcome::kFailed);
  ASSERT_EQ(r.taken.size(), 2u);
  EXPECT_EQ(r.taken[0].measurement.phase, AnalysisPhase::kInconclusive);
  EXPECT_EQ(r.taken[1].measurement.phase, AnalysisPhase::kFailed);
  EXPECT_EQ(r.taken[1].measurement.message.rfind("latency-p95 0.5 > max 0.3 (query: ", 0), 0u);

  // The analysis ended: later calls measure nothing and report nothing.
  clock.step(30s);
  EXPECT_TRUE(run(counted).taken.empty());

  // A provider that cannot be made still yields an Error measurement per metric.
  status.analysis.reset();
  factory.error = "prometheus.authSecretRef: Secret shop/prom-auth: not found";
  run(counted);
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(seen, (std::vector<P>{{"error-rate", "Successful"},
                                  {"latency-p95", "Successful"},
                                  {"error-rate", "Inconclusive"},
                                  {"latency-p95", "Failed"},
                                  {"error-rate", "Error"},
                                  {"latency-p95", "Error"}}));
}

TEST_F(RunnerTest, ProviderThatCannotBeMadeIsAnErrorMeasurement) {
  factory.error = "prometheus.authSecretRef: Secret shop/prom-auth: not found";
  AnalysisResult r = run();
  EXPECT_EQ(r.outcome, AnalysisOutcome::kRunning);
  const auto& m = r.status.metrics[0];
  EXPECT_EQ(m.error, 1);
  EXPECT_EQ(m.measurements[0].phase, AnalysisPhase::kError);
  EXPECT_EQ(
      m.measurements[0].message.rfind(
          "error-rate: prometheus.authSecretRef: Secret shop/prom-auth: not found (query: ", 0),
      0u);
}

TEST_F(RunnerTest, NginxRoutingUsesTheCanaryIngressMetrics) {
  api::TrafficRouting t;
  t.nginx = api::NginxTrafficRouting{};
  t.nginx->stableIngress = "podinfo";
  rollout.spec.strategy.canary->trafficRouting = t;
  script("nginx_ingress_controller_requests", {QueryResult::ofValue(0.0)});
  script("nginx_ingress_controller_request_duration", {QueryResult::ofValue(0.1)});
  AnalysisResult r = run();
  EXPECT_EQ(r.outcome, AnalysisOutcome::kRunning);
  EXPECT_NE(r.status.metrics[0].measurements[0].query.find("ingress=\"podinfo-podinfo-canary\""),
            std::string::npos);
}

}  // namespace
}  // namespace canaryd::analysis
