// EventRecorder: Kubernetes Events (events.k8s.io/v1) about objects, as client-go's
// tools/events recorder: callers never block (events go to a bounded queue that a
// background thread sends); an event repeated within the series window is aggregated
// into one Event whose series.count and series.lastObservedTime are patched, not a new
// object each time; writes per regarding object are bounded by a token bucket (the
// spam filter: burst 25, then one every 5 minutes), repeats still being counted; and a
// write that fails for a reason that may pass (a broken connection, 5xx, 429) is retried
// with a jittered, growing backoff up to 12 attempts (client-go's maxTriesPerEvent).
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "kube/client.h"
#include "kube/rate_limiter.h"
#include "workqueue/clock.h"

namespace canaryd::kube {

// The object an event is about (core/v1 ObjectReference).
struct ObjectReference {
  std::string apiVersion;
  std::string kind;
  std::string namespace_;
  std::string name;
  std::string uid;
  std::string resourceVersion;
};

inline constexpr std::string_view kEventTypeNormal = "Normal";
inline constexpr std::string_view kEventTypeWarning = "Warning";

struct EventRecorderOptions {
  std::string reportingController = "canaryd.io/rollout-controller";
  std::string reportingInstance;  // the pod name (leader identity)
  // Repeats of the same event (same object, type, reason, action and note) within this
  // window extend its series (client-go: 6 minutes).
  std::chrono::seconds seriesWindow{std::chrono::minutes(6)};
  // Writes per regarding object: burst, then qps (client-go's spam filter: 25, 1/300).
  int burstPerObject = 25;
  double qpsPerObject = 1.0 / 300.0;
  // Events waiting to be sent or retried; more are dropped (and counted).
  size_t queueLimit = 1000;
  // Attempts per write before it is given up (client-go: 12). Only failures that may
  // pass are retried: transport errors and timeouts, 5xx and 429; other refusals (403,
  // 422, ...) are final at once.
  int maxAttempts = 12;
  // The wait before the n-th retry: retryInitial * 2^(n-1), at most retryMax, times a
  // random factor in [0.5, 1) so that many recorders do not retry in step; at least the
  // Retry-After a 429 asks for.
  std::chrono::milliseconds retryInitial{std::chrono::seconds(1)};
  std::chrono::milliseconds retryMax{std::chrono::seconds(10)};
  workqueue::Clock* clock = nullptr;  // RealClock when null
};

struct EventRecorderStats {
  uint64_t recorded = 0;    // event() calls accepted
  uint64_t created = 0;     // Events created
  uint64_t patched = 0;     // series updates sent
  uint64_t aggregated = 0;  // repeats folded into a series
  uint64_t dropped = 0;     // refused by the rate bound or a full queue
  uint64_t failed = 0;      // writes given up (refused, or every attempt failed)
  uint64_t retried = 0;     // retries scheduled after a failure that may pass
};

class EventRecorder {
 public:
  // Starts the sender thread. The client must outlive the recorder.
  EventRecorder(Client& client, EventRecorderOptions options);
  // Stops the sender after the write in flight; unsent events (and pending retries) are
  // dropped: flush() first to send them.
  ~EventRecorder();
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // Records an event; never blocks on the network. type: kEventTypeNormal or
  // kEventTypeWarning; reason: UpperCamelCase (e.g. "RolloutPaused"); action: what was
  // done (e.g. "Pause"); note: a human-readable message (truncated to 1 kB as the API
  // limits it).
  void event(const ObjectReference& regarding, std::string_view type, std::string_view reason,
             std::string_view action, std::string_view note);

  // Waits until everything queued has been sent (or given up), or the timeout passes;
  // returns whether the queue drained. Meanwhile, pending retries are attempted at once
  // instead of after their backoff (still within maxAttempts). Real time, whatever the clock.
  bool flush(std::chrono::steady_clock::duration timeout);

  EventRecorderStats stats() const;

 private:
  struct Series {
    std::string eventName;  // the Event object holding this series ("" until created)
    std::string ns;
    ObjectReference regarding;
    std::string type, reason, action, note;
    int64_t count = 0;  // occurrences
    int64_t sentCount = 0;
    workqueue::Clock::TimePoint first{};
    workqueue::Clock::WallTime firstWall{}, lastWall{};
    // In queue_ or retries_ (or about to be), so that it is sent once and not evicted.
    bool queued = false;
    int attempts = 0;        // failed attempts of the current write
    std::string createName;  // the name of an Event being created, kept across retries
  };
  // What a write came to.
  struct Outcome {
    bool retry = false;                    // failed in a way that may pass
    std::optional<int> retryAfterSeconds;  // asked for by the server
  };

  void run();
  Outcome send(const std::string& key);
  void settle(const std::string& key, const Outcome& outcome);
  workqueue::Clock::Duration retryDelay(int attempts, std::optional<int> retryAfterSeconds);

  Client& client_;
  const EventRecorderOptions options_;
  workqueue::Clock& clock_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;  // keys of series with unsent occurrences
  // Keys of series whose write failed, by when to retry (each key at most once).
  std::multimap<workqueue::Clock::TimePoint, std::string> retries_;
  int flushing_ = 0;  // flush() calls waiting: retries are due at once
  std::map<std::string, Series> series_;
  std::map<std::string, std::unique_ptr<TokenBucketRateLimiter>> limiters_;  // by object
  bool inFlight_ = false;
  bool stopping_ = false;
  EventRecorderStats stats_;
  uint64_t nameCounter_ = 0;
  std::mt19937_64 rng_{std::random_device{}()};
  workqueue::Subscription wake_;  // a FakeClock's steps wake the sender
  std::thread thread_;
};

}  // namespace canaryd::kube
