#include "kube/rate_limiter.h"

#include <gtest/gtest.h>

#include <limits>

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

TEST(TokenBucketRateLimiterTest, ReportsSettings) {
  TokenBucketRateLimiter limiter(20, 30);
  EXPECT_DOUBLE_EQ(limiter.qps(), 20);
  EXPECT_EQ(limiter.burst(), 30);
}

}  // namespace
}  // namespace canaryd::kube
