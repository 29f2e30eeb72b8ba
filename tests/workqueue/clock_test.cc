#include "workqueue/clock.h"

#include <gtest/gtest.h>

#include <thread>

namespace canaryd::workqueue {
namespace {

using namespace std::chrono_literals;

TEST(FakeClockTest, StepMovesBothClocks) {
  FakeClock clock;
  auto start = clock.now();
  auto wallStart = clock.wallNow();
  EXPECT_EQ(wallStart, Clock::WallTime(std::chrono::seconds(1704067200)));
  clock.step(1500ms);
  EXPECT_EQ(clock.now() - start, 1500ms);
  EXPECT_EQ(clock.wallNow() - wallStart, 1500ms);
}

TEST(FakeClockTest, SetTimeNeverGoesBackwards) {
  FakeClock clock;
  auto start = clock.now();
  clock.setTime(start + 10s);
  EXPECT_EQ(clock.now(), start + 10s);
  clock.setTime(start + 5s);
  EXPECT_EQ(clock.now(), start + 10s);
  clock.step(-3s);
  EXPECT_EQ(clock.now(), start + 10s);
}

TEST(FakeClockTest, SleepSteps) {
  FakeClock clock;
  auto start = clock.now();
  clock.sleep(250ms);
  EXPECT_EQ(clock.now() - start, 250ms);
}

TEST(FakeClockTest, OnStepRunsUntilUnsubscribed) {
  FakeClock clock;
  int calls = 0;
  {
    Subscription sub = clock.onStep([&] { ++calls; });
    clock.step(1s);
    clock.setTime(clock.now() + 1s);
    EXPECT_EQ(calls, 2);
    Subscription moved = std::move(sub);
    clock.step(1s);
    EXPECT_EQ(calls, 3);
  }
  clock.step(1s);
  EXPECT_EQ(calls, 3);
}

TEST(FakeClockTest, WaitUntilReturnsAtOnceWhenDeadlinePassed) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock lock(mu);
  clock.waitUntil(cv, lock, clock.now());
  clock.waitUntil(cv, lock, clock.now() - 1s);
  EXPECT_EQ(clock.waiters(), 0);
}

TEST(FakeClockTest, WaiterWokenByStep) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  auto deadline = clock.now() + 1s;
  Subscription sub = clock.onStep([&] {
    std::lock_guard lock(mu);
    cv.notify_all();
  });
  std::thread waiter([&] {
    std::unique_lock lock(mu);
    while (clock.now() < deadline) clock.waitUntil(cv, lock, deadline);
  });
  clock.step(1s);
  waiter.join();
  EXPECT_GE(clock.now(), deadline);
}

TEST(RealClockTest, WaitUntilTimesOut) {
  RealClock& clock = RealClock::instance();
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock lock(mu);
  auto deadline = clock.now() + 5ms;
  while (clock.now() < deadline) clock.waitUntil(cv, lock, deadline);
  EXPECT_GE(clock.now(), deadline);
}

}  // namespace
}  // namespace canaryd::workqueue
