// Client-side request rate limiting: a token bucket refilled at `qps` tokens per second
// holding at most `burst` tokens, with client-go's flowcontrol.NewTokenBucketRateLimiter
// API over golang.org/x/time/rate's arithmetic (reservations may run the bucket into
// debt; later callers wait longer). Thread-safe.
#pragma once

#include <mutex>

#include "workqueue/clock.h"

namespace canaryd::kube {

class TokenBucketRateLimiter {
 public:
  using Clock = workqueue::Clock;

  // qps: refill rate in tokens per second; +infinity admits everything, 0 admits only the
  // first `burst` requests ever (as x/time/rate with Limit 0). burst: bucket size; the
  // bucket starts full. The clock must outlive the limiter.
  TokenBucketRateLimiter(double qps, int burst, Clock& clock = workqueue::RealClock::instance());

  // Takes a token if one is available now; never waits (flowcontrol TryAccept,
  // rate.Limiter.Allow).
  bool tryAccept();

  // Takes a token now, running the bucket into debt if it is empty, and returns how long
  // the caller must wait before sending (flowcontrol's Accept without the sleep;
  // rate.Limiter.Reserve().Delay()). Duration::max() when no token can ever be had
  // (burst 0, or qps 0 with the burst spent); nothing is taken then.
  Clock::Duration reserve();

  // reserve(), then waits on the clock for the returned duration (flowcontrol Accept).
  void accept();

  double qps() const { return limit_; }
  int burst() const { return burst_; }

  // Tokens in the bucket now (negative while in debt); for metrics and tests.
  double tokens() const;

 private:
  // x/time/rate's advance: the token count at `now`, without storing it.
  double tokensAt(Clock::TimePoint now) const;
  Clock::Duration reserveLocked(Clock::TimePoint now, Clock::Duration maxWait, bool* ok);

  Clock& clock_;
  mutable std::mutex mu_;
  const double limit_;
  int burst_;
  double tokens_;
  Clock::TimePoint last_;
};

}  // namespace canaryd::kube
