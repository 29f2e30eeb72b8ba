// Per-item retry delays for the work queue, as client-go's workqueue rate limiters
// (k8s.io/client-go/util/workqueue/default_rate_limiters.go): exponential per-item
// backoff, fast-then-slow, an overall token bucket, and the maximum of several.
// Every limiter is thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "kube/rate_limiter.h"
#include "workqueue/clock.h"

namespace canaryd::workqueue {

class RateLimiter {
 public:
  using Duration = Clock::Duration;
  virtual ~RateLimiter() = default;
  // How long `item` must wait before its next attempt; counts this call as a failure.
  virtual Duration when(const std::string& item) = 0;
  // Clears `item`'s failure history (call after it succeeds or is given up).
  virtual void forget(const std::string& item) = 0;
  // Failures recorded for `item` since it was last forgotten.
  virtual int numRequeues(const std::string& item) = 0;
};

// baseDelay * 2^failures, capped at maxDelay (ItemExponentialFailureRateLimiter).
class ItemExponentialFailureRateLimiter final : public RateLimiter {
 public:
  ItemExponentialFailureRateLimiter(Duration baseDelay, Duration maxDelay)
      : baseDelay_(baseDelay), maxDelay_(maxDelay) {}
  Duration when(const std::string& item) override;
  void forget(const std::string& item) override;
  int numRequeues(const std::string& item) override;

 private:
  const Duration baseDelay_;
  const Duration maxDelay_;
  std::mutex mu_;
  std::unordered_map<std::string, int> failures_;
};

// fastDelay for the first maxFastAttempts failures of an item, slowDelay afterwards
// (ItemFastSlowRateLimiter).
class ItemFastSlowRateLimiter final : public RateLimiter {
 public:
  ItemFastSlowRateLimiter(Duration fastDelay, Duration slowDelay, int maxFastAttempts)
      : fastDelay_(fastDelay), slowDelay_(slowDelay), maxFastAttempts_(maxFastAttempts) {}
  Duration when(const std::string& item) override;
  void forget(const std::string& item) override;
  int numRequeues(const std::string& item) override;

 private:
  const Duration fastDelay_;
  const Duration slowDelay_;
  const int maxFastAttempts_;
  std::mutex mu_;
  std::unordered_map<std::string, int> failures_;
};

// One token bucket over all items (BucketRateLimiter over rate.NewLimiter(qps, burst)):
// each when() takes a token, going into debt, so a burst of failures spreads out.
// Tracks no per-item state: forget is a no-op and numRequeues is 0.
class BucketRateLimiter final : public RateLimiter {
 public:
  BucketRateLimiter(double qps, int burst, Clock& clock) : bucket_(qps, burst, clock) {}
  Duration when(const std::string&) override { return bucket_.reserve(); }
  void forget(const std::string&) override {}
  int numRequeues(const std::string&) override { return 0; }

 private:
  kube::TokenBucketRateLimiter bucket_;
};

// The longest delay of several limiters; every limiter sees every call
// (MaxOfRateLimiter). numRequeues is the largest count among them.
class MaxOfRateLimiter final : public RateLimiter {
 public:
  explicit MaxOfRateLimiter(std::vector<std::unique_ptr<RateLimiter>> limiters)
      : limiters_(std::move(limiters)) {}
  Duration when(const std::string& item) override;
  void forget(const std::string& item) override;
  int numRequeues(const std::string& item) override;

 private:
  std::vector<std::unique_ptr<RateLimiter>> limiters_;
};

// client-go's DefaultControllerRateLimiter: per-item exponential backoff from 5 ms to
// 1000 s, combined with an overall bucket of 10 qps and burst 100.
inline constexpr std::chrono::milliseconds kDefaultBaseDelay{5};
inline constexpr std::chrono::seconds kDefaultMaxDelay{1000};
inline constexpr double kDefaultBucketQps = 10;
inline constexpr int kDefaultBucketBurst = 100;
std::unique_ptr<RateLimiter> defaultControllerRateLimiter(Clock& clock);

}  // namespace canaryd::workqueue
