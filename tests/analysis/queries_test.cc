// Built-in metric templates and {{variable}} rendering.
#include "analysis/queries.h"

#include <gtest/gtest.h>

namespace canaryd::analysis {
namespace {

api::Rollout rollout(bool nginx) {
  api::Rollout r;
  r.metadata.name = "podinfo";
  r.metadata.namespace_ = "shop";
  api::CanaryStrategy c;
  c.canaryService = "podinfo-canary";
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

TEST(Queries, RateWindow) {
  EXPECT_EQ(rateWindow(std::chrono::seconds(30)), std::chrono::seconds(30));
  EXPECT_EQ(rateWindow(std::chrono::seconds(2)), kMinRateWindow);
  EXPECT_EQ(rateWindow(std::chrono::milliseconds(30500)), std::chrono::seconds(31));
  EXPECT_EQ(formatPromDuration(std::chrono::seconds(90)), "90s");
  EXPECT_EQ(formatPromDuration(std::chrono::milliseconds(1500)), "1500ms");
}

TEST(Queries, Variables) {
  auto v = queryVariables(rollout(true), "abc123", "def456", std::chrono::seconds(20));
  EXPECT_EQ(v.namespace_, "shop");
  EXPECT_EQ(v.rollout, "podinfo");
  EXPECT_EQ(v.canaryService, "podinfo-canary");
  EXPECT_EQ(v.stableService, "podinfo-stable");
  EXPECT_EQ(v.canaryIngress, "podinfo-podinfo-canary");
  EXPECT_EQ(v.canaryHash, "abc123");
  EXPECT_EQ(v.stableHash, "def456");
  EXPECT_EQ(v.interval, "20s");
  EXPECT_EQ(queryVariables(rollout(false), "a", "b", std::chrono::seconds(20)).canaryIngress, "");
}

TEST(Queries, GenericBuiltins) {
  auto v = queryVariables(rollout(false), "abc", "def", std::chrono::seconds(30));
  EXPECT_EQ(builtinQuery("error-rate", v, false).query,
            "(sum(rate(http_requests_total{service=\"podinfo-canary\",code=~\"5..\"}[30s])) or "
            "vector(0)) / sum(rate(http_requests_total{service=\"podinfo-canary\"}[30s]))");
  EXPECT_EQ(builtinQuery("success-rate", v, false).query,
            "(sum(rate(http_requests_total{service=\"podinfo-canary\",code!~\"5..\"}[30s])) or "
            "vector(0)) / sum(rate(http_requests_total{service=\"podinfo-canary\"}[30s]))");
  EXPECT_EQ(builtinQuery("latency-p95", v, false).query,
            "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{"
            "service=\"podinfo-canary\"}[30s])))");
  EXPECT_EQ(builtinQuery("latency-p99", v, false).query,
            "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{"
            "service=\"podinfo-canary\"}[30s])))");
  EXPECT_NE(builtinQuery("latency-p50", v, false).error, "");
}

TEST(Queries, NginxBuiltins) {
  auto v = queryVariables(rollout(true), "abc", "def", std::chrono::seconds(30));
  EXPECT_EQ(builtinQuery("error-rate", v, true).query,
            "(sum(rate(nginx_ingress_controller_requests{namespace=\"shop\",ingress=\"podinfo-"
            "podinfo-canary\",status=~\"5..\"}[30s])) or vector(0)) / sum(rate(nginx_ingress_"
            "controller_requests{namespace=\"shop\",ingress=\"podinfo-podinfo-canary\"}[30s]))");
  EXPECT_EQ(builtinQuery("latency-p99", v, true).query,
            "histogram_quantile(0.99, sum by (le) (rate(nginx_ingress_controller_request_"
            "duration_seconds_bucket{namespace=\"shop\",ingress=\"podinfo-podinfo-canary\"}"
            "[30s])))");
}

TEST(Queries, CustomQueryRendering) {
  auto v = queryVariables(rollout(true), "abc", "def", std::chrono::seconds(30));
  auto r = renderQuery(
      "max(x{ns=\"{{namespace}}\",r=\"{{ rollout "
      "}}\",s=\"{{canaryService}}\",t=\"{{stableService}}\","
      "i=\"{{canaryIngress}}\",h=\"{{canaryHash}}\",k=\"{{stableHash}}\"}[{{interval}}])",
      v);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.query,
            "max(x{ns=\"shop\",r=\"podinfo\",s=\"podinfo-canary\",t=\"podinfo-stable\","
            "i=\"podinfo-podinfo-canary\",h=\"abc\",k=\"def\"}[30s])");
  EXPECT_EQ(renderQuery("up", v).query, "up");
}

TEST(Queries, CustomQueryErrors) {
  auto v = queryVariables(rollout(false), "abc", "def", std::chrono::seconds(30));
  EXPECT_EQ(renderQuery("x{a=\"{{foo}}\"}", v).error,
            "unknown variable {{foo}}; supported: namespace, rollout, canaryService, "
            "stableService, canaryIngress, canaryHash, stableHash, interval");
  EXPECT_EQ(renderQuery("x{a=\"{{canaryIngress}}\"}", v).error,
            "variable {{canaryIngress}} has no value (it needs trafficRouting.nginx)");
  EXPECT_NE(renderQuery("x{a=\"{{rollout\"}", v).error.find("unclosed"), std::string::npos);
  api::Metric m;
  m.name = "saturation";
  m.query = "{{nope}}";
  EXPECT_EQ(metricQuery(m, v, false).error.rfind("saturation: unknown variable {{nope}}", 0), 0u);
}

TEST(Queries, LabelValuesAreEscaped) { EXPECT_EQ(escapeLabelValue("a\"b\\c"), "a\\\"b\\\\c"); }

}  // namespace
}  // namespace canaryd::analysis
