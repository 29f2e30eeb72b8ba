#include "kube/rate_limiter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <thread>
#include <vector>

namespace canaryd::kube {
namespace {

using namespace std::chrono_literals;
using workqueue::FakeClock;

TEST(TokenBucketRateLimiterTest, BurstThenRefillAtQps) {
  FakeClock clock;
  TokenBucketRateLimiter limiter(10, 3, clock);
  EXPECT_TRUE(limiter.tryAccept());
  EXPECT_TRUE(limiter.tryAccept());
  EXPECT_TRUE(limiter.tryAccept());
  EXPECT_FALSE(limiter.tryAccept());
  clock.step(99ms);
  EXPECT_FALSE(limiter.tryAccept());
  clock.step(1ms);
  EXPECT_TRUE(limiter.tryAccept());
  EXPECT_FALSE(limiter.tryAccept());
}

TEST(TokenBucketRateLimiterTest, RefillIsCappedAtBurst) {
  FakeClock clock;
  TokenBucketRateLimiter limiter(10, 2, clock);
  clock.step(1h);
  EXPECT_DOUBLE_EQ(limiter.tokens(), 2);
  EXPECT_TRUE(limiter.tryAccept());
  EXPECT_TRUE(limiter.tryAccept());
  EXPECT_FALSE(limiter.tryAccept());
}

TEST(TokenBucketRateLimiterTest, ReserveRunsIntoDebt) {
  FakeClock clock;
  TokenBucketRateLimiter limiter(5, 2, clock);
  const std::chrono::milliseconds waits[] = {0ms, 0ms, 200ms, 400ms, 600ms};
  for (auto w : waits) EXPECT_EQ(limiter.reserve(), w);
  EXPECT_DOUBLE_EQ(limiter.tokens(), -3);
  // A failed tryAccept takes nothing.
  EXPECT_FALSE(limiter.tryAccept());
  EXPECT_DOUBLE_EQ(limiter.tokens(), -3);
  clock.step(600ms);
  EXPECT_EQ(limiter.reserve(), 200ms);
}

TEST(TokenBucketRateLimiterTest, AcceptWaitsOnTheClock) {
  FakeClock clock;
  TokenBucketRateLimiter limiter(2, 1, clock);
  auto start = clock.now();
  limiter.accept();
  EXPECT_EQ(clock.now(), start);
  limiter.accept();  // the FakeClock's sleep steps it
  EXPECT_EQ(clock.now() - start, 500ms);
  limiter.accept();
  EXPECT_EQ(clock.now() - start, 1000ms);
}

TEST(TokenBucketRateLimiterTest, InfiniteQpsAdmitsEverything) {
  FakeClock clock;
  TokenBucketRateLimiter limiter(std::numeric_limits<double>::infinity(), 0, clock);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.tryAccept());
  EXPECT_EQ(limiter.reserve(), 0ms);
}

TEST(TokenBucketRateLimiterTest, ZeroQpsAllowsOnlyTheBurst) {
  FakeClock clock;
  TokenBucketRateLimiter limiter(0, 2, clock);
  EXPECT_TRUE(limiter.tryAccept());
  EXPECT_EQ(limiter.reserve(), 0ms);
  EXPECT_FALSE(limiter.tryAccept());
  EXPECT_EQ(limiter.reserve(), workqueue::Clock::Duration::max());
  clock.step(1h);
  EXPECT_FALSE(limiter.tryAccept());
}

TEST(TokenBucketRateLimiterTest, ZeroBurstNeverAdmits) {
  FakeClock clock;
  TokenBucketRateLimiter limiter(10, 0, clock);
  EXPECT_FALSE(limiter.tryAccept());
  EXPECT_EQ(limiter.reserve(), workqueue::Clock::Duration::max());
}

// ---- the urgent lane ----

TEST(TokenBucketRateLimiterTest, UrgentGoesAheadOfQueuedRoutineRequests) {
  FakeClock clock;
  TokenBucketRateLimiter limiter(5, 2, clock);
  const std::chrono::milliseconds waits[] = {0ms, 0ms, 200ms, 400ms, 600ms};
  for (auto w : waits) EXPECT_EQ(limiter.reserve(), w);
  // Three routine requests are queued (debt of three tokens); an urgent one goes now.
  EXPECT_EQ(limiter.reserveUrgent(), 0ms);
  // It still took its token: the next routine request waits one token (200 ms) longer
  // than it would have, 1000 ms instead of 800 ms.
  EXPECT_DOUBLE_EQ(limiter.tokens(), -4);
  EXPECT_EQ(limiter.reserve(), 1000ms);
}

TEST(TokenBucketRateLimiterTest, UrgentTakesAnAvailableTokenLikeAnyRequest) {
  FakeClock clock;
  TokenBucketRateLimiter limiter(10, 2, clock);
  EXPECT_EQ(limiter.reserveUrgent(), 0ms);
  EXPECT_DOUBLE_EQ(limiter.tokens(), 1);
  EXPECT_TRUE(limiter.tryAccept());
  EXPECT_FALSE(limiter.tryAccept());
  // With the bucket empty the urgent request goes at once, into debt; tryAccept still
  // refuses until the debt is refilled.
  EXPECT_EQ(limiter.reserveUrgent(), 0ms);
  EXPECT_DOUBLE_EQ(limiter.tokens(), -1);
  clock.step(100ms);
  EXPECT_FALSE(limiter.tryAccept());
  clock.step(100ms);
  EXPECT_TRUE(limiter.tryAccept());
}

// Four workers sending routine requests back to back (each reserves again as soon as its
// previous request is sent, as reconcile workers do) for 10 s against qps 20, burst 5,
// optionally with an urgent request at 0.5 s, 1.5 s ... Returns every send time.
std::vector<workqueue::Clock::Duration> simulate(bool withUrgent) {
  using Duration = workqueue::Clock::Duration;
  FakeClock clock;
  TokenBucketRateLimiter limiter(20, 5, clock);
  const auto start = clock.now();
  std::vector<Duration> nextReserve(4, Duration::zero());  // per worker, since start
  Duration nextUrgent = withUrgent ? Duration(500ms) : Duration::max();
  std::vector<Duration> sends;
  for (;;) {
    auto worker = std::min_element(nextReserve.begin(), nextReserve.end());
    Duration at = std::min(*worker, nextUrgent);
    if (at > 10s) break;
    clock.step(at - (clock.now() - start));
    if (at == nextUrgent) {
      EXPECT_EQ(limiter.reserveUrgent(), Duration::zero());
      sends.push_back(at);
      nextUrgent += 1s;
    } else {
      Duration send = at + limiter.reserve();
      sends.push_back(send);
      *worker = send;
    }
  }
  return sends;
}

int sentBy(const std::vector<workqueue::Clock::Duration>& sends, workqueue::Clock::Duration t) {
  return static_cast<int>(
      std::count_if(sends.begin(), sends.end(), [&](auto s) { return s <= t; }));
}

TEST(TokenBucketRateLimiterTest, UrgentRequestsKeepTheRateOverTimeAtQps) {
  auto routine = simulate(false);
  auto mixed = simulate(true);
  for (auto t = workqueue::Clock::Duration(50ms); t <= 10s; t += 50ms) {
    // burst + qps * t: what the bucket gives by t.
    const int given = 5 + static_cast<int>(std::chrono::duration<double>(t).count() * 20 + 1e-9);
    SCOPED_TRACE(::testing::Message() << "by " << std::chrono::duration<double>(t).count() << " s");
    // The bucket is saturated: routine requests go at exactly the rate.
    EXPECT_LE(std::abs(sentBy(routine, t) - given), 1);
    // An urgent request goes before its turn (at most one is ahead at a time here) and
    // the routine ones after it wait one token longer, so the total stays at the rate.
    EXPECT_LE(sentBy(mixed, t), given + 1);
    EXPECT_GE(sentBy(mixed, t), given - 1);
  }
  EXPECT_EQ(mixed.size(), routine.size());
}

TEST(TokenBucketRateLimiterTest, UrgentCannotSpendWhatTheLimitNeverGives) {
  FakeClock clock;
  TokenBucketRateLimiter noBurst(10, 0, clock);
  EXPECT_EQ(noBurst.reserveUrgent(), workqueue::Clock::Duration::max());
  TokenBucketRateLimiter zeroQps(0, 1, clock);
  EXPECT_EQ(zeroQps.reserveUrgent(), 0ms);
  EXPECT_EQ(zeroQps.reserveUrgent(), workqueue::Clock::Duration::max());
  TokenBucketRateLimiter unlimited(std::numeric_limits<double>::infinity(), 0, clock);
  EXPECT_EQ(unlimited.reserveUrgent(), 0ms);
}

TEST(UrgentRequestScopeTest, MarksTheCallingThreadWhileItLives) {
  EXPECT_FALSE(UrgentRequestScope::active());
  {
    UrgentRequestScope urgent;
    EXPECT_TRUE(UrgentRequestScope::active());
    {
      UrgentRequestScope nested;
      EXPECT_TRUE(UrgentRequestScope::active());
    }
    EXPECT_TRUE(UrgentRequestScope::active());
    bool otherThread = true;
    std::thread([&] { otherThread = UrgentRequestScope::active(); }).join();
    EXPECT_FALSE(otherThread);
  }
  EXPECT_FALSE(UrgentRequestScope::active());
  {
    UrgentRequestScope notUrgent(false);
    EXPECT_FALSE(UrgentRequestScope::active());
  }
  EXPECT_FALSE(UrgentRequestScope::active());
}

TEST(TokenBucketRateLimiterTest, ReportsSettings) {
  TokenBucketRateLimiter limiter(20, 30);
  EXPECT_DOUBLE_EQ(limiter.qps(), 20);
  EXPECT_EQ(limiter.burst(), 30);
}

}  // namespace
}  // namespace canaryd::kube
