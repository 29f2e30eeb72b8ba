// Client-side request rate limiting: a token bucket refilled at `qps` tokens per second
// holding at most `burst` tokens, with client-go's flowcontrol.NewTokenBucketRateLimiter
// API over golang.org/x/time/rate's arithmetic (reservations may run the bucket into
// debt; later callers wait longer), plus canaryd's urgent lane (reserveUrgent and
// UrgentRequestScope below). Thread-safe; an UrgentRequestScope marks one thread.
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

  // A reservation in the urgent lane: the token is taken now, into debt if the bucket is
  // empty, and the request goes at once instead of after the reservations already waiting.
  // Those keep their turns; the debt grows by the one token, so the next routine
  // reservation waits 1/qps longer, and over time the rate stays at qps (an urgent request
  // only goes ahead of its turn, never adds one). Returns Duration::zero(), or, as
  // reserve(), Duration::max() when no token can ever be had (burst 0, or qps 0 with the
  // burst spent). Neither client-go nor x/time/rate has this: see UrgentRequestScope.
  Clock::Duration reserveUrgent();

  double qps() const { return limit_; }
  int burst() const { return burst_; }

  // Tokens in the bucket now (negative while in debt); for metrics and tests.
  double tokens() const;

 private:
  // x/time/rate's advance: the token count at `now`, without storing it.
  double tokensAt(Clock::TimePoint now) const;
  Clock::Duration reserveLocked(Clock::TimePoint now, Clock::Duration maxWait, bool* ok);
  Clock::Duration reserveAs(bool urgent);

  Clock& clock_;
  mutable std::mutex mu_;
  const double limit_;
  int burst_;
  double tokens_;
  Clock::TimePoint last_;
};

// Marks the requests the calling thread sends while the scope lives as urgent: a kube
// client with a rate limiter (HttpClient) takes their tokens with reserveUrgent(), so they
// go ahead of routine requests queued in the limiter, retries included. Scopes nest;
// `UrgentRequestScope urgent(condition)` marks nothing when the condition is false.
//
// This is canaryd's own rule; client-go has one queue per client (API Priority and
// Fairness orders requests on the server, not in the client's limiter). It exists for the
// writes that move traffic to safety when a canary is aborted (controller/services.cc: the
// canary Service back to the stable pods; controller/traffic.cc: the router's weight 0): a
// failing canary keeps receiving its share of traffic for as long as they wait behind other
// rollouts' routine writes (at the default 50 qps, about 8 reservations, 160 ms). The lane
// stays honest because it is narrow: at most those two writes per abort, whose tokens are
// still paid for by the requests after them.
//
// The marker is per thread: it reaches a client only when the client is called
// synchronously on the marking thread (as kube::Client's blocking calls are), and only
// clients that consult it (HttpClient) honour it.
class UrgentRequestScope {
 public:
  explicit UrgentRequestScope(bool enabled = true) : enabled_(enabled) {
    if (enabled_) ++depth_;
  }
  ~UrgentRequestScope() {
    if (enabled_) --depth_;
  }
  UrgentRequestScope(const UrgentRequestScope&) = delete;
  UrgentRequestScope& operator=(const UrgentRequestScope&) = delete;

  // Whether the calling thread is inside an enabled scope.
  static bool active() { return depth_ > 0; }

 private:
  bool enabled_;
  static inline thread_local int depth_ = 0;
};

}  // namespace canaryd::kube
