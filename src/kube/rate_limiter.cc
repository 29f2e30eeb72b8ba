#include "kube/rate_limiter.h"

#include <cmath>
#include <limits>

namespace canaryd::kube {

namespace {

using Duration = workqueue::Clock::Duration;

// rate.Limit.durationFromTokens: capped instead of overflowing.
Duration durationFromTokens(double limit, double tokens) {
  if (limit <= 0) return Duration::max();
  double nanos = tokens / limit * 1e9;
  if (nanos >= static_cast<double>(std::numeric_limits<Duration::rep>::max())) {
    return Duration::max();
  }
  return Duration(static_cast<Duration::rep>(nanos));
}

// rate.Limit.tokensFromDuration.
double tokensFromDuration(double limit, Duration d) {
  if (limit <= 0) return 0;
  return std::chrono::duration<double>(d).count() * limit;
}

}  // namespace

TokenBucketRateLimiter::TokenBucketRateLimiter(double qps, int burst, Clock& clock)
    : clock_(clock), limit_(qps), burst_(burst), tokens_(burst), last_(clock.now()) {}

double TokenBucketRateLimiter::tokensAt(Clock::TimePoint now) const {
  // A clock that went backwards refills nothing (x/time/rate clamps `last` to `now`).
  Clock::TimePoint last = std::min(last_, now);
  double tokens = tokens_ + tokensFromDuration(limit_, now - last);
  return std::min(tokens, static_cast<double>(burst_));
}

Duration TokenBucketRateLimiter::reserveLocked(Clock::TimePoint now, Duration maxWait, bool* ok) {
  if (std::isinf(limit_) && limit_ > 0) {
    *ok = true;
    return Duration::zero();
  }
  if (limit_ <= 0) {
    // x/time/rate with Limit 0: the burst is a one-off allowance that is used up.
    *ok = burst_ >= 1;
    if (*ok) --burst_;
    return *ok ? Duration::zero() : Duration::max();
  }
  double tokens = tokensAt(now) - 1;
  Duration wait = tokens < 0 ? durationFromTokens(limit_, -tokens) : Duration::zero();
  *ok = burst_ >= 1 && wait <= maxWait;
  if (!*ok) return Duration::max();
  last_ = now;
  tokens_ = tokens;
  return wait;
}

bool TokenBucketRateLimiter::tryAccept() {
  std::lock_guard lock(mu_);
  bool ok = false;
  reserveLocked(clock_.now(), Duration::zero(), &ok);
  return ok;
}

Duration TokenBucketRateLimiter::reserveAs(bool urgent) {
  std::lock_guard lock(mu_);
  bool ok = false;
  Duration wait = reserveLocked(clock_.now(), Duration::max(), &ok);
  // The token is taken (the debt counts it) but the request does not wait for its turn.
  return ok && urgent ? Duration::zero() : wait;
}

Duration TokenBucketRateLimiter::reserve() { return reserveAs(false); }

Duration TokenBucketRateLimiter::reserveUrgent() { return reserveAs(true); }

void TokenBucketRateLimiter::accept() {
  Duration wait = reserve();
  if (wait > Duration::zero()) clock_.sleep(wait);
}

double TokenBucketRateLimiter::tokens() const {
  std::lock_guard lock(mu_);
  if (limit_ <= 0 || std::isinf(limit_)) return burst_;
  return tokensAt(clock_.now());
}

}  // namespace canaryd::kube
