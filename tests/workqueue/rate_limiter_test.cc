#include "workqueue/rate_limiter.h"

#include <gtest/gtest.h>

namespace canaryd::workqueue {
namespace {

using namespace std::chrono_literals;
using Duration = RateLimiter::Duration;

TEST(ItemExponentialFailureRateLimiterTest, DoublesFromBaseUpToMax) {
  ItemExponentialFailureRateLimiter limiter(5ms, 1000s);
  const Duration expected[] = {5ms,     10ms,     20ms,     40ms,     80ms,    160ms,   320ms,
                               640ms,   1280ms,   2560ms,   5120ms,   10240ms, 20480ms, 40960ms,
                               81920ms, 163840ms, 327680ms, 655360ms, 1000s,   1000s};
  for (size_t i = 0; i < std::size(expected); ++i) {
    EXPECT_EQ(limiter.when("ns/a"), expected[i]) << "failure " << i;
    EXPECT_EQ(limiter.numRequeues("ns/a"), static_cast<int>(i + 1));
  }
}

TEST(ItemExponentialFailureRateLimiterTest, ItemsAreIndependentAndForgettable) {
  ItemExponentialFailureRateLimiter limiter(1ms, 1s);
  EXPECT_EQ(limiter.when("a"), 1ms);
  EXPECT_EQ(limiter.when("a"), 2ms);
  EXPECT_EQ(limiter.when("b"), 1ms);
  EXPECT_EQ(limiter.numRequeues("a"), 2);
  EXPECT_EQ(limiter.numRequeues("b"), 1);
  limiter.forget("a");
  EXPECT_EQ(limiter.numRequeues("a"), 0);
  EXPECT_EQ(limiter.when("a"), 1ms);
  EXPECT_EQ(limiter.numRequeues("c"), 0);
}

TEST(ItemExponentialFailureRateLimiterTest, LongStreakCapsWithoutOverflow) {
  ItemExponentialFailureRateLimiter limiter(5ms, 1000s);
  Duration last{};
  for (int i = 0; i < 2000; ++i) last = limiter.when("a");
  EXPECT_EQ(last, 1000s);
}

TEST(ItemFastSlowRateLimiterTest, FastThenSlow) {
  ItemFastSlowRateLimiter limiter(5ms, 10s, 3);
  const Duration expected[] = {5ms, 5ms, 5ms, 10s, 10s};
  for (Duration d : expected) EXPECT_EQ(limiter.when("a"), d);
  EXPECT_EQ(limiter.numRequeues("a"), 5);
  limiter.forget("a");
  EXPECT_EQ(limiter.when("a"), 5ms);
}

TEST(BucketRateLimiterTest, SpreadsABurstOut) {
  FakeClock clock;
  BucketRateLimiter limiter(10, 3, clock);
  EXPECT_EQ(limiter.when("a"), 0ms);
  EXPECT_EQ(limiter.when("b"), 0ms);
  EXPECT_EQ(limiter.when("c"), 0ms);
  EXPECT_EQ(limiter.when("d"), 100ms);
  EXPECT_EQ(limiter.when("e"), 200ms);
  clock.step(200ms);
  EXPECT_EQ(limiter.when("f"), 100ms);
  EXPECT_EQ(limiter.numRequeues("a"), 0);
}

TEST(MaxOfRateLimiterTest, TakesTheLongestAndForgetsEverywhere) {
  std::vector<std::unique_ptr<RateLimiter>> limiters;
  limiters.push_back(std::make_unique<ItemFastSlowRateLimiter>(1ms, 1s, 2));
  limiters.push_back(std::make_unique<ItemExponentialFailureRateLimiter>(1ms, 1s));
  MaxOfRateLimiter limiter(std::move(limiters));
  EXPECT_EQ(limiter.when("a"), 1ms);  // fast 1ms, exp 1ms
  EXPECT_EQ(limiter.when("a"), 2ms);  // fast 1ms, exp 2ms
  EXPECT_EQ(limiter.when("a"), 1s);   // slow 1s, exp 4ms
  EXPECT_EQ(limiter.numRequeues("a"), 3);
  limiter.forget("a");
  EXPECT_EQ(limiter.numRequeues("a"), 0);
  EXPECT_EQ(limiter.when("a"), 1ms);
}

TEST(DefaultControllerRateLimiterTest, PerItemBackoff) {
  FakeClock clock;
  auto limiter = defaultControllerRateLimiter(clock);
  EXPECT_EQ(limiter->when("ns/a"), 5ms);
  EXPECT_EQ(limiter->when("ns/a"), 10ms);
  EXPECT_EQ(limiter->when("ns/a"), 20ms);
  EXPECT_EQ(limiter->when("ns/b"), 5ms);
  EXPECT_EQ(limiter->numRequeues("ns/a"), 3);
  limiter->forget("ns/a");
  EXPECT_EQ(limiter->when("ns/a"), 5ms);
}

TEST(DefaultControllerRateLimiterTest, OverallBucketAfterBurstOf100) {
  FakeClock clock;
  auto limiter = defaultControllerRateLimiter(clock);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(limiter->when("item-" + std::to_string(i)), 5ms) << i;
  }
  // The bucket (10 qps) is empty: each further failure waits another 100 ms.
  EXPECT_EQ(limiter->when("item-100"), 100ms);
  EXPECT_EQ(limiter->when("item-101"), 200ms);
  clock.step(1s);
  EXPECT_EQ(limiter->when("item-102"), 5ms);
}

}  // namespace
}  // namespace canaryd::workqueue
