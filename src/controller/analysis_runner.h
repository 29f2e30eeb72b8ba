// Extension point for analysis: background analysis (spec.strategy.canary.analysis, from
// startingStep on) and inline `analysis` steps. The controller calls the runner on every
// reconcile that needs a verdict; the runner takes the measurements that are due, judges
// them, and says when it next needs to be called (a delayed requeue, never a wait).
// Everything it must remember lives in the status.analysis it returns. Without a runner,
// a Rollout that configures analysis is Degraded and does not progress.
// Implementations must be thread-safe (several workers call one runner).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/field_error.h"
#include "api/types.h"

namespace canaryd::controller {

enum class AnalysisOutcome {
  kRunning,       // no verdict yet: call again at nextRunAt
  kSuccessful,    // inline step: passed (its count of successful measurements reached)
  kFailed,        // a metric failed or errored past its limits: the rollout aborts
  kInconclusive,  // past inconclusiveLimit: the rollout pauses until promoted
  // The analysis cannot run as specified (specErrors: a missing AnalysisTemplate, an
  // unknown query variable, no metrics, no Prometheus): nothing was measured; the Rollout
  // gets condition InvalidSpec and phase Degraded, and does not progress until it is fixed.
  kInvalidSpec,
};

struct AnalysisRequest {
  const api::Rollout& rollout;
  const api::RolloutStatus& status;  // the status being built this reconcile
  const api::AnalysisSpec& spec;     // background analysis or the step's analysis
  std::optional<int32_t> stepIndex;  // the inline analysis step; nullopt: background
  std::string stableHash;
  std::string canaryHash;
  api::Time now;
};

// One measurement a run took, for the Events of failed and inconclusive measurements.
struct TakenMeasurement {
  std::string metric;
  api::Measurement measurement;
};

struct AnalysisResult {
  AnalysisOutcome outcome = AnalysisOutcome::kRunning;
  // kFailed / kInconclusive: why, naming the metric, value, threshold and query.
  // kInvalidSpec: "InvalidSpec: " and the field errors.
  std::string reason;
  // kInvalidSpec: every problem, with the field path of the analysis that has it, as
  // spec validation reports them.
  api::ErrorList specErrors;
  // The measurements this run took, in the order of the metrics (empty when none was due).
  std::vector<TakenMeasurement> taken;
  std::optional<api::Time> nextRunAt;  // when the runner next needs to be called
  api::AnalysisStatus status;          // written to status.analysis
  // The deciding metric and measurement, copied into the history entry of an abort.
  std::string metric;
  std::optional<api::Measurement> measurement;
};

class AnalysisRunner {
 public:
  virtual ~AnalysisRunner() = default;
  virtual AnalysisResult run(const AnalysisRequest& request) = 0;
};

}  // namespace canaryd::controller
