// Measurement hooks for a work queue, as client-go's workqueue.MetricsProvider: one
// metric object per queue name, so that the server module can back them with
// prometheus-cpp (workqueue_depth, workqueue_adds_total, workqueue_queue_duration_seconds,
// workqueue_work_duration_seconds, workqueue_retries_total). Implementations must be
// thread-safe; the queue calls them while holding its own lock, so they must not block.
#pragma once

#include <memory>
#include <string>

namespace canaryd::workqueue {

class GaugeMetric {
 public:
  virtual ~GaugeMetric() = default;
  virtual void inc() = 0;
  virtual void dec() = 0;
};

class CounterMetric {
 public:
  virtual ~CounterMetric() = default;
  virtual void inc() = 0;
};

class HistogramMetric {
 public:
  virtual ~HistogramMetric() = default;
  // One observation in seconds.
  virtual void observe(double seconds) = 0;
};

class MetricsProvider {
 public:
  virtual ~MetricsProvider() = default;
  // Items waiting in the queue (added, not yet handed out by get).
  virtual std::unique_ptr<GaugeMetric> newDepthMetric(const std::string& queue) = 0;
  // Items added (a duplicate of a waiting item is not counted).
  virtual std::unique_ptr<CounterMetric> newAddsMetric(const std::string& queue) = 0;
  // Seconds an item waited between being added (or becoming due) and get().
  virtual std::unique_ptr<HistogramMetric> newLatencyMetric(const std::string& queue) = 0;
  // Seconds between get() and done().
  virtual std::unique_ptr<HistogramMetric> newWorkDurationMetric(const std::string& queue) = 0;
  // Delayed and rate-limited re-adds (every addAfter / addRateLimited call).
  virtual std::unique_ptr<CounterMetric> newRetriesMetric(const std::string& queue) = 0;
};

}  // namespace canaryd::workqueue
