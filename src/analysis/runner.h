// Runner: canaryd's controller::AnalysisRunner. On each call it takes the measurements that
// are due (every metric at the analysis interval, timed from the last measurement recorded
// in status.analysis, so a restarted or newly elected controller resumes on time), judges
// them (analysis/judge.h) and returns the new status.analysis, the outcome for the
// reconciler and when to be called next. It keeps no state of its own between calls:
// thread-safe as long as its ProviderFactory and TemplateResolver are.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/judge.h"
#include "analysis/provider.h"
#include "api/field_error.h"
#include "controller/analysis_runner.h"

namespace canaryd::analysis {

// Looks up AnalysisTemplates (implemented over the informer cache by the controller).
class TemplateResolver {
 public:
  virtual ~TemplateResolver() = default;
  // The spec of AnalysisTemplate `name` in namespace `ns`; nullopt when there is none.
  virtual std::optional<api::AnalysisTemplateSpec> find(std::string_view ns,
                                                        std::string_view name) const = 0;
};

// The field path of the analysis a request runs: spec.strategy.canary.analysis (background)
// or spec.strategy.canary.steps[i].analysis.
api::FieldPath analysisPath(std::optional<int32_t> stepIndex);

// The metrics and the provider an analysis runs.
struct ResolvedAnalysis {
  std::vector<api::Metric> metrics;  // spec.metrics, then each template's, in order
  // Where each metric is defined, for errors: `<path>.metrics[i]` for the analysis' own,
  // `<path>.templates[j]` for an AnalysisTemplate's (with the template's name as value).
  struct Origin {
    api::FieldPath path;
    std::string templateName;  // empty for the analysis' own metrics
    size_t index = 0;          // in spec.metrics or the template's metrics
  };
  std::vector<Origin> origins;  // parallel to metrics
  std::optional<api::PrometheusProvider> prometheus;
  api::ErrorList errors;  // non-empty when the analysis cannot run as specified
};

// Merges an analysis' inline metrics with its AnalysisTemplates' (spec.templates, in
// order). The provider is the first of: spec.prometheus, the first template's prometheus,
// the rollout's background analysis' prometheus (so inline steps may leave it out), and
// `fallback` (the daemon's default). Errors, each under `path` (analysisPath()): every
// template missing (named, with its namespace), a metric name defined twice, no metrics,
// no provider.
ResolvedAnalysis resolveAnalysis(const api::AnalysisSpec& spec, const api::Rollout& rollout,
                                 const TemplateResolver* templates,
                                 const std::optional<api::PrometheusProvider>& fallback,
                                 const api::FieldPath& path);

struct RunnerOptions {
  // Used when neither the analysis, its templates nor the background analysis name one.
  std::optional<api::PrometheusProvider> defaultPrometheus;
  // Called once per measurement taken, with the metric's name and the measurement's phase
  // ("Successful", "Failed", "Inconclusive" or "Error"), from the worker that runs the
  // analysis: several workers may call it at once. May be empty.
  std::function<void(const std::string& metric, std::string_view phase)> onMeasurement;
};

class Runner final : public controller::AnalysisRunner {
 public:
  // `templates` may be null: a Rollout that references AnalysisTemplates then fails to
  // resolve them. Both must outlive the Runner.
  Runner(ProviderFactory& providers, const TemplateResolver* templates, RunnerOptions options = {});

  // For request.spec, given request.status.analysis (the analysis that ran last; it is
  // this analysis when its stepIndex equals request.stepIndex, otherwise a new one starts):
  // * Measures every metric that is due: never measured, or its last measurement started
  //   at least `interval` before request.now. Due queries run concurrently, so a call
  //   blocks for about one query's timeout at most. Metrics that already passed (inline
  //   steps) are not measured again.
  // * Keeps the last api::kMaxMeasurementsPerMetric measurements per metric, the counts,
  //   lastValue and the thresholds; sets each metric's phase and the analysis phase.
  //   Each measurement taken is in result.taken and reported to options.onMeasurement.
  // * Outcome: kInvalidSpec when the analysis cannot run as specified (result.specErrors:
  //   missing AnalysisTemplates, unknown or empty query variables, unknown built-in
  //   templates, duplicate metric names, no metrics, no Prometheus), before measuring
  //   anything; kFailed when a metric is Failed or Error (reason: the metric, value,
  //   threshold and query, or the error count and last error): never a promotion;
  //   kInconclusive when a metric is Inconclusive; kSuccessful (inline steps) when every metric has
  //   `count` successful measurements; kRunning otherwise, with nextRunAt the next
  //   measurement due (a measurement due is always kRunning, never kSuccessful).
  // A call on an analysis that already ended returns the same verdict without measuring,
  // except Inconclusive: being called again means the rollout was resumed, so the
  // inconclusive counts start over and measuring continues.
  controller::AnalysisResult run(const controller::AnalysisRequest& request) override;

 private:
  ProviderFactory& providers_;
  const TemplateResolver* templates_;
  RunnerOptions options_;
};

}  // namespace canaryd::analysis
