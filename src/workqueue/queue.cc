#include "workqueue/queue.h"

namespace canaryd::workqueue {

namespace {

double secondsBetween(Clock::TimePoint from, Clock::TimePoint to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

RateLimitingQueue::RateLimitingQueue(QueueConfig config)
    : clock_(config.clock ? *config.clock : RealClock::instance()),
      rateLimiter_(config.rateLimiter ? std::move(config.rateLimiter)
                                      : defaultControllerRateLimiter(clock_)) {
  if (config.metrics) {
    depth_ = config.metrics->newDepthMetric(config.name);
    adds_ = config.metrics->newAddsMetric(config.name);
    latency_ = config.metrics->newLatencyMetric(config.name);
    workDuration_ = config.metrics->newWorkDurationMetric(config.name);
    retries_ = config.metrics->newRetriesMetric(config.name);
  }
  // A stepped (fake) clock cannot time out a waiting get(); promote due items and wake
  // the waiters here instead.
  stepSubscription_ = clock_.onStep([this] {
    std::lock_guard lock(mu_);
    promoteDueLocked(clock_.now());
    cv_.notify_all();
  });
}

RateLimitingQueue::~RateLimitingQueue() = default;

void RateLimitingQueue::add(const std::string& item) {
  std::lock_guard lock(mu_);
  addLocked(item, clock_.now());
}

void RateLimitingQueue::addLocked(const std::string& item, Clock::TimePoint addedAt) {
  if (shuttingDown_) return;
  if (dirty_.contains(item)) return;
  if (depth_) {
    adds_->inc();
    depth_->inc();
    addTimes_.try_emplace(item, addedAt);
  }
  dirty_.insert(item);
  // done() queues it once the worker holding it finishes.
  if (processing_.contains(item)) return;
  queue_.push_back(item);
  cv_.notify_all();
}

void RateLimitingQueue::promoteDueLocked(Clock::TimePoint now) {
  while (!heap_.empty() && heap_.top().readyAt <= now) {
    Waiting entry = heap_.top();
    heap_.pop();
    auto it = waiting_.find(entry.item);
    if (it == waiting_.end() || it->second.seq != entry.seq) continue;  // stale
    waiting_.erase(it);
    // Latency counts from when the item became due, not from when it was scheduled.
    addLocked(entry.item, entry.readyAt);
  }
}

RateLimitingQueue::Item RateLimitingQueue::get() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (!shuttingDown_) promoteDueLocked(clock_.now());
    if (!queue_.empty()) break;
    if (shuttingDown_) return Item{{}, true};
    if (heap_.empty()) {
      cv_.wait(lock);
    } else {
      clock_.waitUntil(cv_, lock, heap_.top().readyAt);
    }
  }
  std::string item = std::move(queue_.front());
  queue_.pop_front();
  if (depth_) {
    Clock::TimePoint now = clock_.now();
    depth_->dec();
    processingStartTimes_[item] = now;
    if (auto it = addTimes_.find(item); it != addTimes_.end()) {
      latency_->observe(secondsBetween(it->second, now));
      addTimes_.erase(it);
    }
  }
  processing_.insert(item);
  dirty_.erase(item);
  return Item{std::move(item), false};
}

void RateLimitingQueue::done(const std::string& item) {
  std::lock_guard lock(mu_);
  if (depth_) {
    if (auto it = processingStartTimes_.find(item); it != processingStartTimes_.end()) {
      workDuration_->observe(secondsBetween(it->second, clock_.now()));
      processingStartTimes_.erase(it);
    }
  }
  processing_.erase(item);
  if (dirty_.contains(item)) {
    queue_.push_back(item);
    cv_.notify_all();
  } else if (processing_.empty()) {
    // Wakes shutDownWithDrain.
    cv_.notify_all();
  }
}

void RateLimitingQueue::addAfter(const std::string& item, Duration delay) {
  std::lock_guard lock(mu_);
  if (shuttingDown_) return;
  if (retries_) retries_->inc();
  Clock::TimePoint now = clock_.now();
  if (delay <= Duration::zero()) {
    addLocked(item, now);
    return;
  }
  // Saturate instead of overflowing for "never" delays.
  Clock::TimePoint readyAt =
      delay >= Clock::TimePoint::max() - now ? Clock::TimePoint::max() : now + delay;
  auto it = waiting_.find(item);
  if (it != waiting_.end()) {
    if (readyAt >= it->second.readyAt) return;
    it->second = WaitingEntry{readyAt, nextSeq_};
  } else {
    waiting_.emplace(item, WaitingEntry{readyAt, nextSeq_});
  }
  heap_.push(Waiting{readyAt, nextSeq_++, item});
  // A get() waiting for a later deadline must recompute it.
  cv_.notify_all();
}

void RateLimitingQueue::addRateLimited(const std::string& item) {
  addAfter(item, rateLimiter_->when(item));
}

void RateLimitingQueue::forget(const std::string& item) { rateLimiter_->forget(item); }

int RateLimitingQueue::numRequeues(const std::string& item) {
  return rateLimiter_->numRequeues(item);
}

void RateLimitingQueue::shutDown() {
  std::lock_guard lock(mu_);
  // A plain shutdown also releases anyone blocked in shutDownWithDrain (as client-go).
  drain_ = false;
  shuttingDown_ = true;
  cv_.notify_all();
}

void RateLimitingQueue::shutDownWithDrain() {
  std::unique_lock lock(mu_);
  drain_ = true;
  shuttingDown_ = true;
  cv_.notify_all();
  cv_.wait(lock, [this] { return processing_.empty() || !drain_; });
}

bool RateLimitingQueue::shuttingDown() const {
  std::lock_guard lock(mu_);
  return shuttingDown_;
}

size_t RateLimitingQueue::len() {
  std::lock_guard lock(mu_);
  if (!shuttingDown_) promoteDueLocked(clock_.now());
  return queue_.size();
}

}  // namespace canaryd::workqueue
