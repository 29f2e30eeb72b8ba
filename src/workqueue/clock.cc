#include "workqueue/clock.h"

#include <thread>

namespace canaryd::workqueue {

void RealClock::sleep(Duration d) { std::this_thread::sleep_for(d); }

RealClock& RealClock::instance() {
  static RealClock clock;
  return clock;
}

namespace {
// 2024-01-01T00:00:00Z: a fixed, readable wall-clock start for tests.
constexpr std::chrono::seconds kDefaultWallStart{1704067200};
}  // namespace

FakeClock::FakeClock() : FakeClock(WallTime(kDefaultWallStart)) {}

FakeClock::FakeClock(WallTime wallStart)
    : now_(TimePoint(std::chrono::hours(1000))), wall_(wallStart) {}

Clock::TimePoint FakeClock::now() const {
  std::lock_guard lock(timeMu_);
  return now_;
}

Clock::WallTime FakeClock::wallNow() const {
  std::lock_guard lock(timeMu_);
  return wall_;
}

void FakeClock::waitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                          TimePoint deadline) const {
  if (now() >= deadline) return;
  // Only a step can make the deadline pass; the waiter's onStep subscription notifies cv
  // while holding the waiter's mutex, so the wake-up cannot fall between this check and
  // the wait.
  ++waiters_;
  cv.wait(lock);
  --waiters_;
}

Subscription FakeClock::onStep(std::function<void()> callback) {
  std::lock_guard lock(callbacksMu_);
  uint64_t id = nextId_++;
  callbacks_.emplace(id, std::move(callback));
  return Subscription([this, id] {
    std::lock_guard lock(callbacksMu_);
    callbacks_.erase(id);
  });
}

void FakeClock::step(Duration d) {
  {
    std::lock_guard lock(timeMu_);
    if (d > Duration::zero()) {
      now_ += d;
      wall_ += std::chrono::duration_cast<WallTime::duration>(d);
    }
  }
  runCallbacks();
}

void FakeClock::setTime(TimePoint t) {
  {
    std::lock_guard lock(timeMu_);
    if (t > now_) {
      wall_ += std::chrono::duration_cast<WallTime::duration>(t - now_);
      now_ = t;
    }
  }
  runCallbacks();
}

void FakeClock::runCallbacks() {
  std::lock_guard lock(callbacksMu_);
  for (auto& [id, callback] : callbacks_) callback();
}

}  // namespace canaryd::workqueue
