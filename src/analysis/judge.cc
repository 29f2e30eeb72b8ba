#include "analysis/judge.h"

#include <cmath>
#include <cstdio>

namespace canaryd::analysis {
namespace {

std::string withWarnings(std::string message, const std::string& warnings) {
  if (warnings.empty()) return message;
  return message + "; " + warnings;
}

}  // namespace

std::string formatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

api::Measurement judgeMeasurement(const api::Metric& metric, const std::string& query,
                                  const QueryResult& result, api::Time now) {
  api::Measurement m;
  m.query = query;
  m.startedAt = now;
  m.finishedAt = now;
  const std::string q = " (query: " + query + ")";
  if (result.kind == QueryResult::Kind::kError) {
    m.phase = api::AnalysisPhase::kError;
    m.message = metric.name + ": " + result.message + q;
    return m;
  }
  std::string warnings = result.message;
  if (result.kind == QueryResult::Kind::kValue) m.value = result.value;
  bool noData = result.kind == QueryResult::Kind::kNoData || std::isnan(result.value);
  if (noData) {
    std::string what = result.kind == QueryResult::Kind::kNoData ? "no data" : "no data (NaN)";
    switch (metric.noData) {
      case api::NoDataPolicy::kInconclusive:
        m.phase = api::AnalysisPhase::kInconclusive;
        m.message = metric.name + ": " + what + " for query " + query +
                    ": is the canary receiving traffic?";
        break;
      case api::NoDataPolicy::kFail:
        m.phase = api::AnalysisPhase::kFailed;
        m.message = metric.name + ": " + what + " (noData: fail) for query " + query +
                    ": is the canary receiving traffic?";
        break;
      case api::NoDataPolicy::kPass:
        m.phase = api::AnalysisPhase::kSuccessful;
        m.message = metric.name + ": " + what + ", passed (noData: pass)" + q;
        break;
    }
    m.message = withWarnings(m.message, warnings);
    return m;
  }
  double v = result.value;
  std::string value = metric.name + " " + formatValue(v);
  if (metric.min && v < *metric.min) {
    m.phase = api::AnalysisPhase::kFailed;
    m.message = value + " < min " + formatValue(*metric.min) + q;
  } else if (metric.max && v > *metric.max) {
    m.phase = api::AnalysisPhase::kFailed;
    m.message = value + " > max " + formatValue(*metric.max) + q;
  } else {
    m.phase = api::AnalysisPhase::kSuccessful;
    std::string within;
    if (metric.min) within += " >= min " + formatValue(*metric.min);
    if (metric.max)
      within += std::string(within.empty() ? "" : ",") + " <= max " + formatValue(*metric.max);
    m.message = value + within;
  }
  m.message = withWarnings(m.message, warnings);
  return m;
}

api::AnalysisPhase metricPhase(const api::MetricResult& r, const Limits& limits) {
  if (r.failed > limits.failureLimit) return api::AnalysisPhase::kFailed;
  if (r.consecutiveError > limits.consecutiveErrorLimit) return api::AnalysisPhase::kError;
  if (r.inconclusive > limits.inconclusiveLimit) return api::AnalysisPhase::kInconclusive;
  if (limits.count && r.successful >= *limits.count) return api::AnalysisPhase::kSuccessful;
  return api::AnalysisPhase::kRunning;
}

api::AnalysisPhase analysisPhase(const std::vector<api::MetricResult>& metrics) {
  for (auto p :
       {api::AnalysisPhase::kFailed, api::AnalysisPhase::kError, api::AnalysisPhase::kInconclusive})
    for (const auto& m : metrics)
      if (m.phase == p) return p;
  if (metrics.empty()) return api::AnalysisPhase::kRunning;
  for (const auto& m : metrics)
    if (m.phase != api::AnalysisPhase::kSuccessful) return api::AnalysisPhase::kRunning;
  return api::AnalysisPhase::kSuccessful;
}

std::string metricVerdict(const api::MetricResult& r, const Limits& limits) {
  std::string last = r.measurements.empty() ? "" : r.measurements.back().message;
  auto counted = [&](int32_t n, const char* what, const char* limitName, int32_t limit) {
    return r.name + ": " + std::to_string(n) + " " + what + " (" + limitName + " " +
           std::to_string(limit) + "); last: " + last;
  };
  switch (r.phase) {
    case api::AnalysisPhase::kFailed:
      return limits.failureLimit == 0
                 ? last
                 : counted(r.failed, "failed measurements", "failureLimit", limits.failureLimit);
    case api::AnalysisPhase::kError:
      return counted(r.consecutiveError, "consecutive errors", "consecutiveErrorLimit",
                     limits.consecutiveErrorLimit);
    case api::AnalysisPhase::kInconclusive:
      return limits.inconclusiveLimit == 0 ? last
                                           : counted(r.inconclusive, "inconclusive measurements",
                                                     "inconclusiveLimit", limits.inconclusiveLimit);
    default:
      return last;
  }
}

}  // namespace canaryd::analysis
