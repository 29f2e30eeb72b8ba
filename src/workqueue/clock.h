// Clock: the source of time for queues, rate limiters and credential caches, so that
// tests step time instead of sleeping (k8s.io/utils/clock and its FakeClock).
// RealClock and FakeClock are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <utility>

namespace canaryd::workqueue {

// Unsubscribes a Clock::onStep callback when destroyed. Move-only.
class Subscription {
 public:
  Subscription() = default;
  explicit Subscription(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  Subscription(Subscription&& other) noexcept : cancel_(std::exchange(other.cancel_, {})) {}
  Subscription& operator=(Subscription&& other) noexcept {
    if (this != &other) {
      reset();
      cancel_ = std::exchange(other.cancel_, {});
    }
    return *this;
  }
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription() { reset(); }

  void reset() {
    if (cancel_) std::exchange(cancel_, {})();
  }

 private:
  std::function<void()> cancel_;
};

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;
  using WallTime = std::chrono::system_clock::time_point;

  virtual ~Clock() = default;

  // Monotonic time, for deadlines and delays.
  virtual TimePoint now() const = 0;
  // Wall-clock time, for absolute timestamps from servers (for example an exec
  // credential's expirationTimestamp).
  virtual WallTime wallNow() const = 0;

  // Blocks the caller, which holds `lock` (the mutex `cv` is used with), until `cv` is
  // notified or now() reaches `deadline`. May return early or spuriously: callers re-check
  // their condition. A FakeClock never times out on its own: the waiter must hold an
  // onStep() subscription that notifies `cv` under `lock`'s mutex.
  virtual void waitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         TimePoint deadline) const = 0;

  // Blocks the calling thread for `d` (FakeClock: steps itself by `d`, as k8s' FakeClock).
  virtual void sleep(Duration d) = 0;

  // Registers `callback` to run after time jumps without passing (FakeClock::step and
  // set); a RealClock never calls it. The callback runs on the stepping thread with no
  // clock lock held; it may call now() but must not step the clock. Destroying the
  // returned Subscription unregisters it, waiting for a running call to end.
  virtual Subscription onStep(std::function<void()> callback) = 0;
};

// The process's clocks: std::chrono::steady_clock and system_clock.
class RealClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  WallTime wallNow() const override { return std::chrono::system_clock::now(); }
  void waitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline) const override {
    cv.wait_until(lock, deadline);
  }
  void sleep(Duration d) override;
  Subscription onStep(std::function<void()>) override { return Subscription(); }

  // A process-wide instance, for callers that take a Clock& and have no test clock.
  static RealClock& instance();
};

// A clock that only moves when told to. Starts at an arbitrary fixed point (steady time
// 1000 h after the steady epoch, wall time 2024-01-01T00:00:00Z) unless given one.
class FakeClock final : public Clock {
 public:
  FakeClock();
  explicit FakeClock(WallTime wallStart);

  TimePoint now() const override;
  WallTime wallNow() const override;
  void waitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline) const override;
  void sleep(Duration d) override { step(d); }
  Subscription onStep(std::function<void()> callback) override;

  // Moves both clocks forward by `d` (>= 0) and runs every onStep callback.
  void step(Duration d);
  // Moves the monotonic clock to `t` (never backwards) with the wall clock alongside.
  void setTime(TimePoint t);

  // Threads currently blocked in waitUntil (k8s FakeClock.HasWaiters), so that tests can
  // wait, with a deadline, for a worker to be parked before stepping.
  int waiters() const { return waiters_.load(); }

 private:
  void runCallbacks();

  mutable std::mutex timeMu_;
  TimePoint now_;
  WallTime wall_;

  // Held while callbacks run, so that unsubscribing waits for a running callback.
  std::mutex callbacksMu_;
  std::map<uint64_t, std::function<void()>> callbacks_;
  uint64_t nextId_ = 0;

  mutable std::atomic<int> waiters_{0};
};

}  // namespace canaryd::workqueue
