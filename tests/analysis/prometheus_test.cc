// The Prometheus client and the built-in templates against a real Prometheus loaded with
// fixed series (see prometheus_server.h), each value checked against the value computed
// by hand from the fixture below.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "analysis/prometheus/beast_transport.h"
#include "analysis/prometheus/client.h"
#include "analysis/queries.h"
#include "analysis/runner.h"
#include "prometheus_server.h"

namespace canaryd::analysis {
namespace {

using namespace std::chrono_literals;
using Kind = QueryResult::Kind;

// Samples every 10 s from kStart for 10 minutes; queries at kAt with a 60 s rate window.
constexpr int64_t kStart = 1700000000;  // 2023-11-14T22:13:20Z
constexpr int kSamples = 61;
const api::Time kAt{std::chrono::seconds(kStart + 300)};
constexpr auto kInterval = 60s;

struct Series {
  std::string name;
  std::string labels;
  int64_t first;
  int64_t perTenSeconds;  // a counter growing linearly
};

// How the expected values follow from the fixture: rate() over [60s] of a counter that
// grows by k every 10 s is k/10 per second (seven samples span the window exactly, and a
// linear counter's extrapolated rate is its slope anyway).
//
// Generic (service="podinfo-canary"): 200 +95, 500 +3, 503 +2 per 10 s: 10 req/s, 0.5 of
// them 5xx: error-rate 0.5/10 = 0.05, success-rate 9.5/10 = 0.95. Duration buckets +50
// (le 0.1), +80 (0.25), +90 (0.5), +100 (1), +100 (+Inf): per second 5, 8, 9, 10, 10;
// p95's rank 0.95*10 = 9.5 falls in (0.5, 1] between counts 9 and 10:
// 0.5 + 0.5*(9.5-9)/(10-9) = 0.75; p99: rank 9.9: 0.5 + 0.5*0.9 = 0.95.
// podinfo-stable's series differ, so a selector that leaked them would change every value.
//
// nginx (namespace shop, ingress podinfo-podinfo-canary): 200 +16, 404 +2, 502 +2: 2 req/s,
// 0.2 of them 5xx: error-rate 0.1, success-rate 0.9 (a 404 is a success). Buckets +10
// (0.05), +14 (0.1), +18 (0.5), +20 (2), +20 (+Inf): per second 1, 1.4, 1.8, 2, 2;
// p95: rank 1.9 in (0.5, 2]: 0.5 + 1.5*(1.9-1.8)/(2-1.8) = 1.25; p99: rank 1.98:
// 0.5 + 1.5*0.18/0.2 = 1.85. The stable Ingress and another namespace add 5xx that must
// not count.
//
// service="healthy" served only 200s (4 req/s) and has no 5xx series at all: error-rate 0
// (not no data, thanks to "or vector(0)"), success-rate 1.
// service="idle" has series that do not move: every rate is 0, so ratios are 0/0 = NaN
// and quantiles NaN. service="absent" has no series: empty results.
std::vector<Series> fixtureSeries() {
  std::vector<Series> s = {
      {"http_requests_total", R"(service="podinfo-canary",code="200")", 1000, 95},
      {"http_requests_total", R"(service="podinfo-canary",code="500")", 100, 3},
      {"http_requests_total", R"(service="podinfo-canary",code="503")", 50, 2},
      {"http_requests_total", R"(service="podinfo-stable",code="200")", 5000, 100},
      {"http_requests_total", R"(service="podinfo-stable",code="500")", 10, 7},
      {"http_requests_total", R"(service="idle",code="200")", 70, 0},
      {"http_requests_total", R"(service="healthy",code="200")", 0, 40},
      {"nginx_ingress_controller_requests",
       R"(namespace="shop",ingress="podinfo-podinfo-canary",status="200")", 300, 16},
      {"nginx_ingress_controller_requests",
       R"(namespace="shop",ingress="podinfo-podinfo-canary",status="404")", 30, 2},
      {"nginx_ingress_controller_requests",
       R"(namespace="shop",ingress="podinfo-podinfo-canary",status="502")", 20, 2},
      {"nginx_ingress_controller_requests", R"(namespace="shop",ingress="podinfo",status="500")", 0,
       10},
      {"nginx_ingress_controller_requests",
       R"(namespace="other",ingress="podinfo-podinfo-canary",status="500")", 0, 10},
  };
  auto buckets = [&](const std::string& name, const std::string& scope,
                     std::vector<std::pair<std::string, int64_t>> les) {
    for (const auto& [le, k] : les) s.push_back({name, scope + ",le=\"" + le + "\"", 10 * k, k});
  };
  buckets("http_request_duration_seconds_bucket", R"(service="podinfo-canary")",
          {{"0.1", 50}, {"0.25", 80}, {"0.5", 90}, {"1", 100}, {"+Inf", 100}});
  buckets("http_request_duration_seconds_bucket", R"(service="podinfo-stable")",
          {{"0.1", 100}, {"0.25", 100}, {"0.5", 100}, {"1", 100}, {"+Inf", 100}});
  buckets("http_request_duration_seconds_bucket", R"(service="idle")",
          {{"0.1", 0}, {"0.25", 0}, {"0.5", 0}, {"1", 0}, {"+Inf", 0}});
  buckets("nginx_ingress_controller_request_duration_seconds_bucket",
          R"(namespace="shop",ingress="podinfo-podinfo-canary")",
          {{"0.05", 10}, {"0.1", 14}, {"0.5", 18}, {"2", 20}, {"+Inf", 20}});
  return s;
}

// OpenMetrics text: one family of type unknown per metric name (the type does not matter
// to PromQL), each series' samples in time order, timestamps in seconds, "# EOF" last.
std::string fixture() {
  std::ostringstream out;
  std::string family;
  for (const auto& s : fixtureSeries()) {
    if (s.name != family) {
      family = s.name;
      out << "# TYPE " << family << " unknown\n";
    }
    for (int i = 0; i < kSamples; ++i)
      out << s.name << "{" << s.labels << "} " << s.first + i * s.perTenSeconds << " "
          << kStart + 10 * i << "\n";
  }
  out << "# EOF\n";
  return out.str();
}

class PrometheusTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new testing::PrometheusServer(fixture()); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(server_->ok()) << server_->error(); }

  api::PrometheusProvider spec() const {
    api::PrometheusProvider p;
    p.address = server_->address();
    p.timeout = 5s;
    return p;
  }
  QueryResult query(const std::string& q) {
    prometheus::PrometheusClient client(transport_, spec());
    return client.measure(q, kAt);
  }
  static api::Rollout rollout(bool nginx, const std::string& canaryService = "podinfo-canary") {
    api::Rollout r;
    r.metadata.name = "podinfo";
    r.metadata.namespace_ = "shop";
    api::CanaryStrategy c;
    c.canaryService = canaryService;
    c.stableService = "podinfo-stable";
    if (nginx) {
      api::TrafficRouting t;
      t.nginx = api::NginxTrafficRouting{};
      t.nginx->stableIngress = "podinfo";
      c.trafficRouting = t;
    }
    r.spec.strategy.canary = c;
    return r;
  }
  QueryResult builtin(const std::string& name, bool nginx,
                      const std::string& canaryService = "podinfo-canary") {
    auto vars = queryVariables(rollout(nginx, canaryService), "c", "s", kInterval);
    RenderedQuery q = builtinQuery(name, vars, nginx);
    EXPECT_EQ(q.error, "");
    return query(q.query);
  }

  static testing::PrometheusServer* server_;
  std::shared_ptr<prometheus::BeastHttpTransport> transport_ =
      std::make_shared<prometheus::BeastHttpTransport>();
};

testing::PrometheusServer* PrometheusTest::server_ = nullptr;

void expectValue(const QueryResult& r, double expected) {
  ASSERT_EQ(r.kind, Kind::kValue) << r.message;
  EXPECT_NEAR(r.value, expected, 1e-9);
  EXPECT_EQ(r.message, "");
}

TEST_F(PrometheusTest, GenericBuiltins) {
  expectValue(builtin("error-rate", false), 0.05);
  expectValue(builtin("success-rate", false), 0.95);
  expectValue(builtin("latency-p95", false), 0.75);
  expectValue(builtin("latency-p99", false), 0.95);
}

TEST_F(PrometheusTest, NginxBuiltins) {
  expectValue(builtin("error-rate", true), 0.1);
  expectValue(builtin("success-rate", true), 0.9);
  expectValue(builtin("latency-p95", true), 1.25);
  expectValue(builtin("latency-p99", true), 1.85);
}

TEST_F(PrometheusTest, NoErrorSeriesIsZeroNotNoData) {
  expectValue(builtin("error-rate", false, "healthy"), 0);
  expectValue(builtin("success-rate", false, "healthy"), 1);
}

TEST_F(PrometheusTest, NoTrafficIsNaN) {
  for (const char* name : {"error-rate", "success-rate", "latency-p95", "latency-p99"}) {
    QueryResult r = builtin(name, false, "idle");
    ASSERT_EQ(r.kind, Kind::kValue) << name << ": " << r.message;
    EXPECT_TRUE(std::isnan(r.value)) << name << ": " << r.value;
  }
}

TEST_F(PrometheusTest, NoSeriesIsNoData) {
  for (const char* name : {"error-rate", "success-rate", "latency-p95", "latency-p99"})
    EXPECT_EQ(builtin(name, false, "absent").kind, Kind::kNoData) << name;
}

TEST_F(PrometheusTest, ScalarAndSeveralSeriesAndMatrixAndString) {
  expectValue(query("scalar(sum(rate(http_requests_total{service=\"podinfo-canary\"}[60s])))"), 10);
  QueryResult multi = query("rate(http_requests_total{service=\"podinfo-canary\"}[60s])");
  ASSERT_EQ(multi.kind, Kind::kError);
  EXPECT_EQ(multi.message.rfind("the query returned 3 series; aggregate them to one", 0), 0u)
      << multi.message;
  QueryResult matrix = query("http_requests_total{service=\"podinfo-canary\",code=\"200\"}[1m]");
  ASSERT_EQ(matrix.kind, Kind::kError);
  EXPECT_NE(matrix.message.find("range vector (matrix)"), std::string::npos) << matrix.message;
  QueryResult str = query("\"hello\"");
  ASSERT_EQ(str.kind, Kind::kError);
  EXPECT_EQ(str.message, "the query returned a string; a number is needed");
}

TEST_F(PrometheusTest, SyntaxErrorIsBadData) {
  QueryResult r = query("sum(rate(");
  ASSERT_EQ(r.kind, Kind::kError);
  EXPECT_EQ(
      r.message.rfind("Prometheus bad_data error (HTTP 400): invalid parameter \"query\": ", 0), 0u)
      << r.message;
}

TEST_F(PrometheusTest, EvaluatesAtTheRequestedTime) {
  // kAt is the 31st sample (index 30) of each series.
  QueryResult r = query("sum(http_requests_total{service=\"podinfo-canary\"})");
  ASSERT_EQ(r.kind, Kind::kValue) << r.message;
  EXPECT_EQ(r.value, (1000 + 30 * 95) + (100 + 30 * 3) + (50 + 30 * 2));
}

TEST_F(PrometheusTest, RunnerAbortsOnTheCanaryErrorRate) {
  prometheus::PrometheusProviderFactory factory(transport_, nullptr);
  Runner runner(factory, nullptr);
  api::Rollout r = rollout(false);
  api::AnalysisSpec spec;
  spec.interval = kInterval;
  spec.prometheus = this->spec();
  api::Metric errors;
  errors.name = "error-rate";
  errors.templateName = "error-rate";
  errors.max = 0.01;
  api::Metric latency;
  latency.name = "latency-p95";
  latency.templateName = "latency-p95";
  latency.max = 1;
  spec.metrics = {latency, errors};
  api::RolloutStatus status;
  controller::AnalysisRequest request{r, status, spec, std::nullopt, "s", "c", kAt};
  controller::AnalysisResult result = runner.run(request);
  EXPECT_EQ(result.outcome, controller::AnalysisOutcome::kFailed);
  EXPECT_EQ(result.reason,
            "error-rate 0.05 > max 0.01 (query: (sum(rate(http_requests_total{service=\"podinfo-"
            "canary\",code=~\"5..\"}[60s])) or vector(0)) / sum(rate(http_requests_total{"
            "service=\"podinfo-canary\"}[60s])))");
  EXPECT_EQ(result.status.metrics[0].phase, api::AnalysisPhase::kRunning);
  EXPECT_NEAR(*result.status.metrics[0].lastValue, 0.75, 1e-9);
  EXPECT_EQ(result.status.metrics[0].measurements[0].message, "latency-p95 0.75 <= max 1");
}

TEST(PrometheusStopped, IsAnError) {
  testing::PrometheusServer server("# EOF\n");
  ASSERT_TRUE(server.ok()) << server.error();
  auto transport = std::make_shared<prometheus::BeastHttpTransport>();
  api::PrometheusProvider spec;
  spec.address = server.address();
  spec.timeout = 2s;
  prometheus::PrometheusClient client(transport, spec);
  QueryResult up = client.measure("vector(1)", kAt);
  ASSERT_EQ(up.kind, Kind::kValue) << up.message;
  server.stop();
  QueryResult down = client.measure("vector(1)", kAt);
  ASSERT_EQ(down.kind, Kind::kError);
  EXPECT_EQ(down.message, "Prometheus " + server.address() + ": connecting to 127.0.0.1:" +
                              std::to_string(server.port()) + ": Connection refused");
}

}  // namespace
}  // namespace canaryd::analysis
