#include "server/metrics.h"

#include <prometheus/text_serializer.h>

#include <sstream>

namespace canaryd::server {

namespace {

// client-go's workqueue duration buckets: 10^-8 s to 10 s, one per power of ten.
const std::vector<double> kWorkqueueBuckets = {1e-8, 1e-7, 1e-6, 1e-5, 1e-4,
                                               1e-3, 1e-2, 1e-1, 1,    10};

class Gauge final : public workqueue::GaugeMetric {
 public:
  explicit Gauge(prometheus::Gauge& g) : g_(g) {}
  void inc() override { g_.Increment(); }
  void dec() override { g_.Decrement(); }

 private:
  prometheus::Gauge& g_;
};

class Counter final : public workqueue::CounterMetric {
 public:
  explicit Counter(prometheus::Counter& c) : c_(c) {}
  void inc() override { c_.Increment(); }

 private:
  prometheus::Counter& c_;
};

class Histogram final : public workqueue::HistogramMetric {
 public:
  explicit Histogram(prometheus::Histogram& h) : h_(h) {}
  void observe(double seconds) override { h_.Observe(seconds); }

 private:
  prometheus::Histogram& h_;
};

prometheus::ClientMetric gaugeSample(const RolloutSample& r, double value) {
  prometheus::ClientMetric m;
  m.label = {{"namespace", r.namespace_}, {"rollout", r.name}};
  m.gauge.value = value;
  return m;
}

}  // namespace

Metrics::Metrics(std::string version)
    : registry_(std::make_shared<prometheus::Registry>()),
      reconcileDuration_(prometheus::BuildHistogram()
                             .Name("canaryd_reconcile_duration_seconds")
                             .Help("Time one reconcile of a Rollout took, in seconds.")
                             .Register(*registry_)),
      reconcileDurationAll_(reconcileDuration_.Add({}, kReconcileBuckets)),
      reconcileErrors_(prometheus::BuildCounter()
                           .Name("canaryd_reconcile_errors_total")
                           .Help("Reconciles that ended in an error (retried or terminal).")
                           .Register(*registry_)
                           .Add({})),
      kubeRequests_(prometheus::BuildCounter()
                        .Name("canaryd_kube_requests_total")
                        .Help("Kubernetes API requests by verb and HTTP status code "
                              "(\"<error>\": no response), retries included.")
                        .Register(*registry_)),
      analysisMeasurements_(prometheus::BuildCounter()
                                .Name("canaryd_analysis_measurements_total")
                                .Help("Analysis measurements taken, by metric name and phase.")
                                .Register(*registry_)),
      leader_(prometheus::BuildGauge()
                  .Name("canaryd_leader")
                  .Help("1 while this process is the leader (or runs without leader "
                        "election), else 0.")
                  .Register(*registry_)
                  .Add({})),
      workqueueDepth_(prometheus::BuildGauge()
                          .Name("canaryd_workqueue_depth")
                          .Help("Keys waiting in the workqueue.")
                          .Register(*registry_)),
      workqueueAdds_(prometheus::BuildCounter()
                         .Name("canaryd_workqueue_adds_total")
                         .Help("Keys added to the workqueue.")
                         .Register(*registry_)),
      workqueueRetries_(prometheus::BuildCounter()
                            .Name("canaryd_workqueue_retries_total")
                            .Help("Delayed and rate-limited re-adds to the workqueue.")
                            .Register(*registry_)),
      workqueueQueueDuration_(prometheus::BuildHistogram()
                                  .Name("canaryd_workqueue_queue_duration_seconds")
                                  .Help("Seconds a key waited in the workqueue.")
                                  .Register(*registry_)),
      workqueueWorkDuration_(prometheus::BuildHistogram()
                                 .Name("canaryd_workqueue_work_duration_seconds")
                                 .Help("Seconds a worker held a key.")
                                 .Register(*registry_)) {
  prometheus::BuildGauge()
      .Name("canaryd_build_info")
      .Help("Always 1; the labels name the canaryd build.")
      .Register(*registry_)
      .Add({{"version", std::move(version)}})
      .Set(1);
}

Metrics::~Metrics() = default;

void Metrics::observeReconcile(std::chrono::steady_clock::duration duration, bool error) {
  reconcileDurationAll_.Observe(std::chrono::duration<double>(duration).count());
  if (error) reconcileErrors_.Increment();
}

void Metrics::kubeRequest(std::string_view verb, int code) {
  kubeRequests_
      .Add({{"verb", std::string(verb)}, {"code", code > 0 ? std::to_string(code) : "<error>"}})
      .Increment();
}

void Metrics::analysisMeasurement(std::string_view metric, std::string_view phase) {
  analysisMeasurements_.Add({{"metric", std::string(metric)}, {"phase", std::string(phase)}})
      .Increment();
}

void Metrics::setLeader(bool leading) { leader_.Set(leading ? 1 : 0); }

void Metrics::setRolloutSource(RolloutSource source) {
  std::lock_guard lock(sourceMu_);
  rollouts_ = std::move(source);
}

std::string Metrics::render() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  prometheus::MetricFamily info{"canaryd_rollout_info",
                                "Always 1; the labels name each Rollout and its status.phase.",
                                prometheus::MetricType::Gauge,
                                {}};
  prometheus::MetricFamily weight{
      "canaryd_rollout_weight",
      "Percent of traffic (0-100) sent to the Rollout's canary (status.canaryWeight).",
      prometheus::MetricType::Gauge,
      {}};
  prometheus::MetricFamily step{"canaryd_rollout_step",
                                "The Rollout's current step index (status.currentStepIndex).",
                                prometheus::MetricType::Gauge,
                                {}};
  {
    std::lock_guard lock(sourceMu_);
    if (rollouts_) {
      for (const auto& r : rollouts_()) {
        auto m = gaugeSample(r, 1);
        m.label.push_back({"phase", r.phase.empty() ? "Unknown" : r.phase});
        info.metric.push_back(std::move(m));
        weight.metric.push_back(gaugeSample(r, r.canaryWeight));
        if (r.currentStepIndex) step.metric.push_back(gaugeSample(r, *r.currentStepIndex));
      }
    }
  }
  families.push_back(std::move(info));
  families.push_back(std::move(weight));
  families.push_back(std::move(step));
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

std::unique_ptr<workqueue::GaugeMetric> Metrics::newDepthMetric(const std::string& queue) {
  return std::make_unique<Gauge>(workqueueDepth_.Add({{"name", queue}}));
}

std::unique_ptr<workqueue::CounterMetric> Metrics::newAddsMetric(const std::string& queue) {
  return std::make_unique<Counter>(workqueueAdds_.Add({{"name", queue}}));
}

std::unique_ptr<workqueue::HistogramMetric> Metrics::newLatencyMetric(const std::string& queue) {
  return std::make_unique<Histogram>(
      workqueueQueueDuration_.Add({{"name", queue}}, kWorkqueueBuckets));
}

std::unique_ptr<workqueue::HistogramMetric> Metrics::newWorkDurationMetric(
    const std::string& queue) {
  return std::make_unique<Histogram>(
      workqueueWorkDuration_.Add({{"name", queue}}, kWorkqueueBuckets));
}

std::unique_ptr<workqueue::CounterMetric> Metrics::newRetriesMetric(const std::string& queue) {
  return std::make_unique<Counter>(workqueueRetries_.Add({{"name", queue}}));
}

}  // namespace canaryd::server
