// RateLimitingQueue: client-go's workqueue (Type + delayingType + rateLimitingType in
// k8s.io/client-go/util/workqueue) over string keys (namespace/name). An item is queued at
// most once; an item added while a worker processes it is queued again when the worker
// calls done(), so no two workers ever hold the same key. Delayed items are kept in a heap
// and become due on the queue's Clock, so tests drive them with a FakeClock.
// Thread-safe: any number of producers and workers.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "workqueue/clock.h"
#include "workqueue/metrics.h"
#include "workqueue/rate_limiter.h"

namespace canaryd::workqueue {

struct QueueConfig {
  // Names the queue's metrics.
  std::string name;
  // Defaults to RealClock::instance(). Must outlive the queue.
  Clock* clock = nullptr;
  // Optional; must outlive the queue.
  MetricsProvider* metrics = nullptr;
  // Defaults to defaultControllerRateLimiter(*clock).
  std::unique_ptr<RateLimiter> rateLimiter;
};

class RateLimitingQueue {
 public:
  using Duration = Clock::Duration;

  // The result of get(): `shutdown` is true (and `item` empty) once the queue is shut
  // down and holds nothing more to hand out.
  struct Item {
    std::string item;
    bool shutdown = false;
  };

  explicit RateLimitingQueue(QueueConfig config = {});
  ~RateLimitingQueue();
  RateLimitingQueue(const RateLimitingQueue&) = delete;
  RateLimitingQueue& operator=(const RateLimitingQueue&) = delete;

  // Queues `item` unless it is already queued. While a worker holds it, it is marked and
  // queued again by done(). Ignored after shutdown.
  void add(const std::string& item);

  // Blocks until an item is available and hands it to the caller, who must call done()
  // with it. Items still queued at shutdown are handed out; then returns {"", true}.
  // Delayed items not yet due at shutdown are dropped.
  Item get();

  // Marks `item` as processed; queues it again if it was added meanwhile.
  void done(const std::string& item);

  // Adds `item` once `delay` has passed on the clock (at once when delay <= 0). If it is
  // already waiting, the earlier of the two deadlines wins. Ignored after shutdown.
  void addAfter(const std::string& item, Duration delay);

  // addAfter(item, rateLimiter.when(item)): the retry path after a failure.
  void addRateLimited(const std::string& item);
  // Ends retry tracking for `item` (after success, or when giving up); it does not
  // remove the item from the queue.
  void forget(const std::string& item);
  // Failures counted for `item` since it was last forgotten.
  int numRequeues(const std::string& item);

  // Stops accepting items and wakes every get(); returns at once.
  void shutDown();
  // shutDown(), then waits until every item handed out by get() is done().
  void shutDownWithDrain();
  bool shuttingDown() const;

  // Items queued and due now (not counting delayed items or items being processed).
  size_t len();

 private:
  struct Waiting {
    Clock::TimePoint readyAt;
    uint64_t seq;
    std::string item;
    // Min-heap on (readyAt, seq): equal deadlines keep insertion order.
    bool operator>(const Waiting& o) const {
      return readyAt != o.readyAt ? readyAt > o.readyAt : seq > o.seq;
    }
  };
  struct WaitingEntry {
    Clock::TimePoint readyAt;
    uint64_t seq;
  };

  void addLocked(const std::string& item, Clock::TimePoint addedAt);
  // Moves every delayed item due at `now` into the queue.
  void promoteDueLocked(Clock::TimePoint now);

  Clock& clock_;
  std::unique_ptr<RateLimiter> rateLimiter_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::unordered_set<std::string> dirty_;
  std::unordered_set<std::string> processing_;
  bool shuttingDown_ = false;
  bool drain_ = false;

  // Delayed items: the heap may hold stale entries (a deadline that was lowered, or an
  // item already promoted); an entry is live only when its seq matches waiting_.
  std::priority_queue<Waiting, std::vector<Waiting>, std::greater<>> heap_;
  std::unordered_map<std::string, WaitingEntry> waiting_;
  uint64_t nextSeq_ = 0;

  // Metrics (null when no provider was given).
  std::unique_ptr<GaugeMetric> depth_;
  std::unique_ptr<CounterMetric> adds_;
  std::unique_ptr<HistogramMetric> latency_;
  std::unique_ptr<HistogramMetric> workDuration_;
  std::unique_ptr<CounterMetric> retries_;
  std::unordered_map<std::string, Clock::TimePoint> addTimes_;
  std::unordered_map<std::string, Clock::TimePoint> processingStartTimes_;

  // Last member: unsubscribed first on destruction, before the state above goes away.
  Subscription stepSubscription_;
};

}  // namespace canaryd::workqueue
