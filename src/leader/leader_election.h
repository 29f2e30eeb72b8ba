// LeaderElector: client-go's leaderelection over a coordination.k8s.io/v1 Lease. Candidates
// race to hold the Lease with optimistic (resourceVersion-guarded) updates; the holder
// renews it every retryPeriod and stops leading the moment it has not renewed for
// renewDeadline, while others take over only after leaseDuration without a renewal they
// observed, so two leaders never overlap. isLeader() is the fence: the controller checks
// it before every write, and it turns false by the clock even while a renewal is stuck in
// the network. On stop() the holder releases the Lease (empty holderIdentity) so that a
// standby takes over at its next retry. Thread-safe; run() blocks one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "kube/client.h"
#include "workqueue/clock.h"

namespace canaryd::leader {

using workqueue::Clock;

struct LeaderElectionConfig {
  std::string leaseNamespace;
  std::string leaseName;
  // This candidate's name in holderIdentity; unique per process (defaultIdentity()).
  std::string identity;
  // client-go's defaults (and canaryd's flags): others take over after leaseDuration
  // without a renewal; the holder gives up after renewDeadline without one; every
  // candidate retries every retryPeriod (jittered by up to 20%).
  // Required: leaseDuration > renewDeadline > retryPeriod > 0.
  Clock::Duration leaseDuration = std::chrono::seconds(15);
  Clock::Duration renewDeadline = std::chrono::seconds(10);
  Clock::Duration retryPeriod = std::chrono::seconds(2);
  // Release the Lease when stop() ends leadership (ReleaseOnCancel).
  bool releaseOnCancel = true;
  // Defaults to RealClock::instance(); must outlive the elector.
  Clock* clock = nullptr;

  // Callbacks run on the elector's thread and must return promptly (start or stop work
  // elsewhere). onStoppedLeading runs once after onStartedLeading, when leadership ends
  // for any reason; isLeader() is already false by then. onNewLeader runs whenever the
  // observed holder changes (including to this candidate).
  std::function<void()> onStartedLeading;
  std::function<void()> onStoppedLeading;
  std::function<void(const std::string& identity)> onNewLeader;
};

// POD_NAME from the environment (the downward API), else "<hostname>_<pid>".
std::string defaultIdentity();

// Checks the durations and names; an error message, or nullopt when usable.
std::optional<std::string> validate(const LeaderElectionConfig& config);

class LeaderElector {
 public:
  // The client must outlive the elector. The config must pass validate().
  LeaderElector(kube::Client& client, LeaderElectionConfig config);
  // stop(), then waits for run() on the elector's own thread (start()).
  ~LeaderElector();
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // Campaigns until it holds the Lease, leads while it keeps renewing, and returns when
  // leadership ends (renewal failed past renewDeadline, or stop()) or when stop() is
  // called before it won. As client-go's Run, it does not campaign again: a process that
  // lost leadership should exit and restart clean.
  void run();
  // run() on a thread owned by the elector.
  void start();
  // Ends run(): stops campaigning or leading (releasing the Lease if configured) and
  // waits for the thread started by start(). Idempotent.
  void stop();

  // True while this candidate holds the Lease and its last successful renewal is less
  // than renewDeadline old. Cheap; call it before every write.
  bool isLeader() const;
  // The holderIdentity last observed ("" when none).
  std::string leader() const;

 private:
  struct Record {
    std::string holderIdentity;
    int64_t leaseDurationSeconds = 0;
    std::string acquireTime;
    std::string renewTime;
    int64_t leaseTransitions = 0;
  };

  // One attempt to take or keep the Lease (tryAcquireOrRenew). True when held now.
  bool tryAcquireOrRenew();
  void release();
  void observe(const Record& record);
  bool sleepFor(Clock::Duration d);  // false when stopped
  Clock::Duration jittered(Clock::Duration d);
  bool stopped() const;

  kube::Client& client_;
  const LeaderElectionConfig config_;
  Clock& clock_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  bool leading_ = false;
  Clock::TimePoint lastRenew_{};
  std::string observedHolder_;
  std::string observedRaw_;          // the last record seen, to detect changes
  Clock::TimePoint observedTime_{};  // when it was seen, on our clock (not the server's)
  std::mt19937_64 rng_{std::random_device{}()};

  std::mutex threadMu_;
  std::thread thread_;
};

}  // namespace canaryd::leader
