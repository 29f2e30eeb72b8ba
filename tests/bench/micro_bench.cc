// Micro-benchmarks (Google Benchmark) of canaryd's hot pure functions, on the same
// realistic Rollout the cluster benchmarks seed (three containers, env, resources, probes,
// the kubectl last-applied annotation; ~12 KB of JSON):
//   * Rollout decoding: JSON text -> api::Rollout (parse + decode), and decode alone;
//   * pod-template-hash of the canonical pod template;
//   * judging: one measurement against its threshold, and a metric's phase.
//   canaryd_micro_bench [--benchmark_min_time=0.5s] [--benchmark_format=json]
#include <benchmark/benchmark.h>

#include <chrono>

#include "analysis/judge.h"
#include "api/decode.h"
#include "api/json.h"
#include "cluster.h"
#include "controller/pod_template_hash.h"

namespace {

using namespace canaryd;

const std::string& rolloutText() {
  static const std::string text = bench::rolloutJson("shop", "web", bench::analysedNginxShape(),
                                                     "http://prometheus.monitoring:9090");
  return text;
}

void BM_DecodeRolloutFromText(benchmark::State& state) {
  const std::string& text = rolloutText();
  for (auto _ : state) {
    auto doc = api::parseJson(text);
    auto decoded = api::decodeRollout(*doc, api::DecodeOptions{.strict = false});
    benchmark::DoNotOptimize(decoded);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
  state.counters["json_bytes"] = static_cast<double>(text.size());
}
BENCHMARK(BM_DecodeRolloutFromText);

void BM_DecodeRolloutParsed(benchmark::State& state) {
  auto doc = api::parseJson(rolloutText());
  for (auto _ : state) {
    auto decoded = api::decodeRollout(*doc, api::DecodeOptions{.strict = false});
    benchmark::DoNotOptimize(decoded);
  }
}
BENCHMARK(BM_DecodeRolloutParsed);

void BM_PodTemplateHash(benchmark::State& state) {
  auto doc = api::parseJson(rolloutText());
  auto decoded = api::decodeRollout(*doc);
  const std::string json = decoded.object.spec.podTemplate->json;
  for (auto _ : state) {
    auto hash = controller::computePodTemplateHash(json, std::nullopt);
    benchmark::DoNotOptimize(hash);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(json.size()));
  state.counters["template_bytes"] = static_cast<double>(json.size());
}
BENCHMARK(BM_PodTemplateHash);

void BM_JudgeMeasurement(benchmark::State& state) {
  api::Metric metric;
  metric.name = "error-rate";
  metric.templateName = "error-rate";
  metric.max = 0.01;
  const std::string query =
      R"((sum(rate(nginx_ingress_controller_requests{namespace="shop",ingress="web-web-canary",status=~"5.."}[30s])) or vector(0)) / sum(rate(nginx_ingress_controller_requests{namespace="shop",ingress="web-web-canary"}[30s])))";
  const auto now =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  // Alternate a passing and a failing value so that both message paths are timed.
  const analysis::QueryResult pass = analysis::QueryResult::ofValue(0.003);
  const analysis::QueryResult failing = analysis::QueryResult::ofValue(0.08);
  bool odd = false;
  for (auto _ : state) {
    auto m = analysis::judgeMeasurement(metric, query, odd ? failing : pass, now);
    benchmark::DoNotOptimize(m);
    odd = !odd;
  }
}
BENCHMARK(BM_JudgeMeasurement);

void BM_MetricPhase(benchmark::State& state) {
  api::MetricResult result;
  result.name = "error-rate";
  result.count = 10;
  result.successful = 8;
  result.failed = 1;
  result.inconclusive = 1;
  analysis::Limits limits;
  limits.failureLimit = 2;
  limits.count = 10;
  for (auto _ : state) {
    auto phase = analysis::metricPhase(result, limits);
    benchmark::DoNotOptimize(phase);
  }
}
BENCHMARK(BM_MetricPhase);

}  // namespace

BENCHMARK_MAIN();
