#include "workqueue/rate_limiter.h"

#include <cmath>
#include <limits>

namespace canaryd::workqueue {

using Duration = RateLimiter::Duration;

Duration ItemExponentialFailureRateLimiter::when(const std::string& item) {
  std::lock_guard lock(mu_);
  int exp = failures_[item]++;
  // Computed in floating point so that a long failure streak caps instead of overflowing.
  double backoff = static_cast<double>(baseDelay_.count()) * std::pow(2.0, exp);
  if (backoff >= static_cast<double>(std::numeric_limits<Duration::rep>::max())) {
    return maxDelay_;
  }
  Duration calculated(static_cast<Duration::rep>(backoff));
  return std::min(calculated, maxDelay_);
}

void ItemExponentialFailureRateLimiter::forget(const std::string& item) {
  std::lock_guard lock(mu_);
  failures_.erase(item);
}

int ItemExponentialFailureRateLimiter::numRequeues(const std::string& item) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(item);
  return it == failures_.end() ? 0 : it->second;
}

Duration ItemFastSlowRateLimiter::when(const std::string& item) {
  std::lock_guard lock(mu_);
  int failures = ++failures_[item];
  return failures <= maxFastAttempts_ ? fastDelay_ : slowDelay_;
}

void ItemFastSlowRateLimiter::forget(const std::string& item) {
  std::lock_guard lock(mu_);
  failures_.erase(item);
}

int ItemFastSlowRateLimiter::numRequeues(const std::string& item) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(item);
  return it == failures_.end() ? 0 : it->second;
}

Duration MaxOfRateLimiter::when(const std::string& item) {
  Duration longest = Duration::zero();
  for (auto& limiter : limiters_) longest = std::max(longest, limiter->when(item));
  return longest;
}

void MaxOfRateLimiter::forget(const std::string& item) {
  for (auto& limiter : limiters_) limiter->forget(item);
}

int MaxOfRateLimiter::numRequeues(const std::string& item) {
  int most = 0;
  for (auto& limiter : limiters_) most = std::max(most, limiter->numRequeues(item));
  return most;
}

std::unique_ptr<RateLimiter> defaultControllerRateLimiter(Clock& clock) {
  std::vector<std::unique_ptr<RateLimiter>> limiters;
  limiters.push_back(
      std::make_unique<ItemExponentialFailureRateLimiter>(kDefaultBaseDelay, kDefaultMaxDelay));
  limiters.push_back(
      std::make_unique<BucketRateLimiter>(kDefaultBucketQps, kDefaultBucketBurst, clock));
  return std::make_unique<MaxOfRateLimiter>(std::move(limiters));
}

}  // namespace canaryd::workqueue
