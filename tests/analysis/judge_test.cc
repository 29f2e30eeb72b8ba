// Judging tables: measurements against thresholds, metric phases against limits.
#include "analysis/judge.h"

#include <gtest/gtest.h>

#include <cmath>

namespace canaryd::analysis {
namespace {

using api::AnalysisPhase;
using Phase = api::AnalysisPhase;

const api::Time kNow{std::chrono::seconds(1700000300)};

api::Metric metric(std::optional<double> min, std::optional<double> max,
                   api::NoDataPolicy noData = api::NoDataPolicy::kInconclusive) {
  api::Metric m;
  m.name = "error-rate";
  m.templateName = "error-rate";
  m.min = min;
  m.max = max;
  m.noData = noData;
  return m;
}

struct MeasurementCase {
  std::optional<double> min, max;
  api::NoDataPolicy noData;
  QueryResult result;
  Phase phase;
  std::string message;
};

TEST(JudgeMeasurement, Table) {
  const auto pass = api::NoDataPolicy::kPass;
  const auto fail = api::NoDataPolicy::kFail;
  const auto inc = api::NoDataPolicy::kInconclusive;
  std::vector<MeasurementCase> cases = {
      {{},
       0.01,
       inc,
       QueryResult::ofValue(0.08),
       Phase::kFailed,
       "error-rate 0.08 > max 0.01 (query: Q)"},
      {{},
       0.01,
       inc,
       QueryResult::ofValue(0.003),
       Phase::kSuccessful,
       "error-rate 0.003 <= max 0.01"},
      {{},
       0.01,
       inc,
       QueryResult::ofValue(0.01),
       Phase::kSuccessful,
       "error-rate 0.01 <= max 0.01"},
      {0.9,
       {},
       inc,
       QueryResult::ofValue(0.5),
       Phase::kFailed,
       "error-rate 0.5 < min 0.9 (query: Q)"},
      {0.1, 0.2, inc, QueryResult::ofValue(0.15), Phase::kSuccessful,
       "error-rate 0.15 >= min 0.1, <= max 0.2"},
      {{},
       0.01,
       inc,
       QueryResult::ofValue(INFINITY),
       Phase::kFailed,
       "error-rate +Inf > max 0.01 (query: Q)"},
      {0.0,
       {},
       inc,
       QueryResult::ofValue(-INFINITY),
       Phase::kFailed,
       "error-rate -Inf < min 0 (query: Q)"},
      {{},
       0.01,
       inc,
       QueryResult::noData(),
       Phase::kInconclusive,
       "error-rate: no data for query Q: is the canary receiving traffic?"},
      {{},
       0.01,
       inc,
       QueryResult::ofValue(NAN),
       Phase::kInconclusive,
       "error-rate: no data (NaN) for query Q: is the canary receiving traffic?"},
      {{},
       0.01,
       fail,
       QueryResult::noData(),
       Phase::kFailed,
       "error-rate: no data (noData: fail) for query Q: is the canary receiving traffic?"},
      {{},
       0.01,
       pass,
       QueryResult::ofValue(NAN),
       Phase::kSuccessful,
       "error-rate: no data (NaN), passed (noData: pass) (query: Q)"},
      {{},
       0.01,
       inc,
       QueryResult::error("Prometheus bad_data error (HTTP 400): x"),
       Phase::kError,
       "error-rate: Prometheus bad_data error (HTTP 400): x (query: Q)"},
      {{},
       0.01,
       inc,
       QueryResult::ofValue(0.001, "warnings: w"),
       Phase::kSuccessful,
       "error-rate 0.001 <= max 0.01; warnings: w"},
  };
  for (const auto& c : cases) {
    auto m = judgeMeasurement(metric(c.min, c.max, c.noData), "Q", c.result, kNow);
    EXPECT_EQ(m.phase, c.phase) << c.message;
    EXPECT_EQ(m.message, c.message);
    EXPECT_EQ(m.query, "Q");
    EXPECT_EQ(m.startedAt, kNow);
    EXPECT_EQ(m.value.has_value(), c.result.kind == QueryResult::Kind::kValue);
  }
}

struct PhaseCase {
  int successful, failed, inconclusive, consecutiveError;
  std::optional<int32_t> count;
  Phase phase;
};

TEST(MetricPhase, Table) {
  // Limits: failureLimit 1, consecutiveErrorLimit 2, inconclusiveLimit 1.
  std::vector<PhaseCase> cases = {
      {0, 0, 0, 0, {}, Phase::kRunning},      {5, 1, 1, 2, {}, Phase::kRunning},
      {0, 2, 0, 0, {}, Phase::kFailed},       {0, 0, 0, 3, {}, Phase::kError},
      {0, 0, 2, 0, {}, Phase::kInconclusive}, {3, 0, 0, 0, 3, Phase::kSuccessful},
      {2, 0, 0, 0, 3, Phase::kRunning},       {3, 2, 0, 0, 3, Phase::kFailed},
      {0, 2, 2, 3, {}, Phase::kFailed},       {0, 0, 2, 3, {}, Phase::kError},
      {3, 1, 1, 2, 3, Phase::kSuccessful},
  };
  Limits limits{1, 2, 1, std::nullopt};
  for (const auto& c : cases) {
    api::MetricResult r;
    r.successful = c.successful;
    r.failed = c.failed;
    r.inconclusive = c.inconclusive;
    r.consecutiveError = c.consecutiveError;
    limits.count = c.count;
    EXPECT_EQ(metricPhase(r, limits), c.phase)
        << c.successful << "/" << c.failed << "/" << c.inconclusive << "/" << c.consecutiveError;
  }
}

TEST(AnalysisPhase, WorstMetricWins) {
  auto of = [](std::vector<Phase> phases) {
    std::vector<api::MetricResult> ms;
    for (auto p : phases) ms.push_back(api::MetricResult{.name = "m", .phase = p});
    return analysisPhase(ms);
  };
  EXPECT_EQ(of({Phase::kSuccessful, Phase::kSuccessful}), Phase::kSuccessful);
  EXPECT_EQ(of({Phase::kSuccessful, Phase::kRunning}), Phase::kRunning);
  EXPECT_EQ(of({Phase::kInconclusive, Phase::kError}), Phase::kError);
  EXPECT_EQ(of({Phase::kError, Phase::kFailed}), Phase::kFailed);
  EXPECT_EQ(of({Phase::kInconclusive, Phase::kSuccessful}), Phase::kInconclusive);
  EXPECT_EQ(of({}), Phase::kRunning);
}

TEST(MetricVerdict, NamesTheCountsAndTheLastMeasurement) {
  api::MetricResult r;
  r.name = "error-rate";
  r.phase = Phase::kError;
  r.consecutiveError = 5;
  r.measurements.push_back(api::Measurement{.message = "error-rate: refused (query: Q)"});
  EXPECT_EQ(metricVerdict(r, Limits{0, 4, 0, {}}),
            "error-rate: 5 consecutive errors (consecutiveErrorLimit 4); last: error-rate: "
            "refused (query: Q)");
  r.phase = Phase::kFailed;
  r.measurements.back().message = "error-rate 0.08 > max 0.01 (query: Q)";
  EXPECT_EQ(metricVerdict(r, Limits{0, 4, 0, {}}), "error-rate 0.08 > max 0.01 (query: Q)");
  r.failed = 3;
  EXPECT_EQ(metricVerdict(r, Limits{2, 4, 0, {}}),
            "error-rate: 3 failed measurements (failureLimit 2); last: error-rate 0.08 > max "
            "0.01 (query: Q)");
}

}  // namespace
}  // namespace canaryd::analysis
