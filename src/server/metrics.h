// Metrics: the Prometheus metrics canaryd exports (prometheus-cpp registry, text format
// 0.0.4), named as Prometheus' naming guide asks (canaryd_ prefix, base units, _total
// counters) and with bounded label sets only: verbs, status codes, phases, metric and
// Rollout names, never per-request values. Rollout gauges are computed at scrape time
// from a RolloutSource (the informer cache), so a deleted Rollout disappears at once.
// Also the workqueue's MetricsProvider. Thread-safe; every update is lock-free or takes a
// short lock, so it may be called from the kube client's I/O thread and the workqueue.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "workqueue/metrics.h"

namespace canaryd::server {

// One Rollout as the rollout gauges show it.
struct RolloutSample {
  std::string namespace_;
  std::string name;
  std::string phase;         // status.phase; "" before the first reconcile (shown as "Unknown")
  int32_t canaryWeight = 0;  // status.canaryWeight, percent 0-100
  std::optional<int32_t> currentStepIndex;  // status.currentStepIndex
};

// Lists the Rollouts to show; called on the scrape's thread.
using RolloutSource = std::function<std::vector<RolloutSample>()>;

// The Content-Type of render()'s output (Prometheus text exposition format 0.0.4).
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// Reconcile duration buckets in seconds: controller-runtime's
// controller_runtime_reconcile_time_seconds, from 5 ms to 60 s.
inline const std::vector<double> kReconcileBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                      1,     2.5,  5,     10,   30,  60};

class Metrics final : public workqueue::MetricsProvider {
 public:
  // `version` becomes canaryd_build_info{version}.
  explicit Metrics(std::string version = CANARYD_VERSION);
  ~Metrics() override;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One reconcile: canaryd_reconcile_duration_seconds, and canaryd_reconcile_errors_total
  // when it ended in an error (transient or terminal).
  void observeReconcile(std::chrono::steady_clock::duration duration, bool error);

  // One API request (HttpClientOptions::metrics): canaryd_kube_requests_total{verb,code},
  // as client-go's rest_client_requests_total; code "<error>" when no response came.
  void kubeRequest(std::string_view verb, int code);

  // One analysis measurement: canaryd_analysis_measurements_total{metric,phase}, phase
  // as status.analysis spells it (Successful, Failed, Inconclusive, Error).
  void analysisMeasurement(std::string_view metric, std::string_view phase);

  // canaryd_leader: 1 while this process leads (or runs without leader election).
  void setLeader(bool leading);

  // The Rollouts behind canaryd_rollout_info, canaryd_rollout_weight and
  // canaryd_rollout_step; an empty function removes them. Waits for a scrape in
  // progress, so that the source's owner may go away once this returns.
  void setRolloutSource(RolloutSource source);

  // Every metric in the text format (kMetricsContentType).
  std::string render() const;

  // workqueue::MetricsProvider: canaryd_workqueue_{depth, adds_total, retries_total,
  // queue_duration_seconds, work_duration_seconds}{name}, as client-go's workqueue_*.
  std::unique_ptr<workqueue::GaugeMetric> newDepthMetric(const std::string& queue) override;
  std::unique_ptr<workqueue::CounterMetric> newAddsMetric(const std::string& queue) override;
  std::unique_ptr<workqueue::HistogramMetric> newLatencyMetric(const std::string& queue) override;
  std::unique_ptr<workqueue::HistogramMetric> newWorkDurationMetric(
      const std::string& queue) override;
  std::unique_ptr<workqueue::CounterMetric> newRetriesMetric(const std::string& queue) override;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Histogram>& reconcileDuration_;
  prometheus::Histogram& reconcileDurationAll_;
  prometheus::Counter& reconcileErrors_;
  prometheus::Family<prometheus::Counter>& kubeRequests_;
  prometheus::Family<prometheus::Counter>& analysisMeasurements_;
  prometheus::Gauge& leader_;
  prometheus::Family<prometheus::Gauge>& workqueueDepth_;
  prometheus::Family<prometheus::Counter>& workqueueAdds_;
  prometheus::Family<prometheus::Counter>& workqueueRetries_;
  prometheus::Family<prometheus::Histogram>& workqueueQueueDuration_;
  prometheus::Family<prometheus::Histogram>& workqueueWorkDuration_;

  mutable std::mutex sourceMu_;  // held while the source runs
  RolloutSource rollouts_;
};

}  // namespace canaryd::server
