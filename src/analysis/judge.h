// Judging: measurements against a metric's thresholds, and a metric's phase from its
// counts and the analysis limits. Pure functions of their arguments (Argo Rollouts'
// evaluate and assessMetricStatus, with canaryd's no-data policy); thread-safe.
#pragma once

#include <optional>
#include <string>

#include "analysis/provider.h"
#include "api/types.h"

namespace canaryd::analysis {

// A number for messages: %g with up to 6 significant digits; "NaN", "+Inf", "-Inf".
std::string formatValue(double v);

// One measurement of `metric` from what its provider returned for `query` at `now`:
// * Error: the query could not run ("error-rate: <why> (query: ...)").
// * No data (an empty vector) or NaN (0/0: no requests in the window): by metric.noData,
//   Inconclusive by default ("error-rate: no data for query ...: is the canary receiving
//   traffic?"), Failed (noData: fail) or Successful (noData: pass).
// * A value below min or above max (+-Inf included): Failed, "error-rate 0.08 > max 0.01
//   (query: ...)". Otherwise Successful, "error-rate 0.003 <= max 0.01".
// Prometheus warnings are appended to the message. value is set for numbers (NaN too).
api::Measurement judgeMeasurement(const api::Metric& metric, const std::string& query,
                                  const QueryResult& result, api::Time now);

struct Limits {
  int32_t failureLimit = api::kDefaultFailureLimit;
  int32_t consecutiveErrorLimit = api::kDefaultConsecutiveErrorLimit;
  int32_t inconclusiveLimit = api::kDefaultInconclusiveLimit;
  // Inline analysis steps: successful measurements for the metric to pass. Background
  // analysis has none: its metrics run until the rollout ends.
  std::optional<int32_t> count;
};

// The metric's phase from its counts, first match wins (Argo Rollouts' order):
// failed > failureLimit: Failed; consecutiveError > consecutiveErrorLimit: Error;
// inconclusive > inconclusiveLimit: Inconclusive; successful >= count: Successful;
// otherwise Running.
api::AnalysisPhase metricPhase(const api::MetricResult& result, const Limits& limits);

// The phase of a whole analysis from its metrics': Failed, then Error, then Inconclusive
// if any metric has it; Successful when every metric is; Running otherwise.
api::AnalysisPhase analysisPhase(const std::vector<api::MetricResult>& metrics);

// Why a metric in a terminal phase ended, for the rollout's message and history: the
// deciding measurement's message, with the count against its limit, e.g.
// "error-rate: 5 consecutive errors (consecutiveErrorLimit 4); last: <message>".
std::string metricVerdict(const api::MetricResult& result, const Limits& limits);

}  // namespace canaryd::analysis
