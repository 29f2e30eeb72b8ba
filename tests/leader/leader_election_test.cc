// Leader election against the in-process kube-emulator with short durations (lease 2 s,
// renew 1.5 s, retry 0.25 s): exactly one leader at any time, takeover after the
// leader dies within lease duration + retry period, fast handover on release, and the
// isLeader() fence dropping by the clock when renewals fail.
#include "leader/leader_election.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "emulator_env.h"

namespace canaryd::leader {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

class LeaderElectionTest : public kube::testing::EmulatorFixture {
 protected:
  void SetUp() override {
    EmulatorFixture::SetUp();
    // A second client per candidate, as two processes would have.
    other_ = kube::testing::clientFor(*emu_);
  }
  void TearDown() override {
    stopMonitor();
    other_.reset();
    EmulatorFixture::TearDown();
  }

  LeaderElectionConfig config(const std::string& identity) {
    LeaderElectionConfig c;
    c.leaseNamespace = "default";
    c.leaseName = "canaryd";
    c.identity = identity;
    c.leaseDuration = 2s;
    c.renewDeadline = 1500ms;
    c.retryPeriod = 250ms;
    return c;
  }

  // Samples both candidates every millisecond; counts samples where both lead.
  void startMonitor(LeaderElector& a, LeaderElector& b) {
    monitor_ = std::thread([&] {
      while (!monitorStop_) {
        if (a.isLeader() && b.isLeader()) ++overlaps_;
        std::this_thread::sleep_for(1ms);
      }
    });
  }
  void stopMonitor() {
    monitorStop_ = true;
    if (monitor_.joinable()) monitor_.join();
  }

  std::unique_ptr<kube::HttpClient> other_;
  std::thread monitor_;
  std::atomic<bool> monitorStop_{false};
  std::atomic<int> overlaps_{0};
};

TEST_P(LeaderElectionTest, OneLeaderAndTakeoverAfterTheLeaderDies) {
  std::atomic<int> aStarted{0}, aStopped{0}, bStarted{0};
  std::string bSawLeader;
  std::mutex mu;
  auto ca = config("candidate-a");
  ca.releaseOnCancel = false;  // "killed": it never gets to release
  ca.onStartedLeading = [&] { ++aStarted; };
  ca.onStoppedLeading = [&] { ++aStopped; };
  auto cb = config("candidate-b");
  cb.onStartedLeading = [&] { ++bStarted; };
  cb.onNewLeader = [&](const std::string& id) {
    std::lock_guard lock(mu);
    bSawLeader = id;
  };
  ASSERT_FALSE(validate(ca).has_value());
  LeaderElector a(*client_, ca);
  LeaderElector b(*other_, cb);
  startMonitor(a, b);
  a.start();
  ASSERT_TRUE(kube::testing::eventually([&] { return a.isLeader(); }));
  b.start();
  ASSERT_TRUE(kube::testing::eventually([&] {
    std::lock_guard lock(mu);
    return bSawLeader == "candidate-a";
  }));
  // b stays a follower while a renews (several lease durations).
  auto until = Steady::now() + 3s;
  while (Steady::now() < until) {
    ASSERT_TRUE(a.isLeader());
    ASSERT_FALSE(b.isLeader());
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(bStarted.load(), 0);

  auto killed = Steady::now();
  a.stop();
  EXPECT_FALSE(a.isLeader());
  EXPECT_EQ(aStopped.load(), 1);
  ASSERT_TRUE(kube::testing::eventually([&] { return b.isLeader(); }, 10s));
  auto takeover = Steady::now() - killed;
  // leaseDuration + retryPeriod, plus the retry's jitter (20%), with a second of slack
  // for a loaded machine: the bound checked is "within a lease, not several".
  EXPECT_LE(takeover, 2s + 250ms + 50ms + 1s) << std::chrono::duration<double>(takeover).count();
  EXPECT_GE(takeover, 1500ms);  // not before a's lease could have expired
  // isLeader() turns true before the onStartedLeading callback has run.
  EXPECT_TRUE(kube::testing::eventually([&] { return bStarted.load() == 1; }));
  EXPECT_EQ(aStarted.load(), 1);
  stopMonitor();
  EXPECT_EQ(overlaps_.load(), 0);

  auto lease = client_->get(kube::resources::kLeases, "default", "canaryd");
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(kube::stringAt(**lease, "spec.holderIdentity"), "candidate-b");
  EXPECT_EQ((**lease)["spec"]["leaseTransitions"].GetInt64(), 1);
}

TEST_P(LeaderElectionTest, ReleaseOnStopHandsOverAtTheNextRetry) {
  std::atomic<int> bStopped{0};
  auto cb = config("candidate-b");
  cb.onStoppedLeading = [&] { ++bStopped; };
  LeaderElector a(*client_, config("candidate-a"));
  LeaderElector b(*other_, cb);
  startMonitor(a, b);
  a.start();
  ASSERT_TRUE(kube::testing::eventually([&] { return a.isLeader(); }));
  b.start();
  ASSERT_TRUE(kube::testing::eventually([&] { return b.leader() == "candidate-a"; }));
  auto released = Steady::now();
  a.stop();
  auto lease = client_->get(kube::resources::kLeases, "default", "canaryd");
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(kube::stringAt(**lease, "spec.holderIdentity"), "");
  ASSERT_TRUE(kube::testing::eventually([&] { return b.isLeader(); }, 10s));
  // Well before the 2 s lease would have run out.
  EXPECT_LT(Steady::now() - released, 1500ms);
  b.stop();
  EXPECT_EQ(bStopped.load(), 1);
  stopMonitor();
  EXPECT_EQ(overlaps_.load(), 0);
}

TEST_P(LeaderElectionTest, FailingRenewalsStopLeadingByTheRenewDeadline) {
  std::atomic<int> stoppedLeading{0};
  std::atomic<Steady::rep> stoppedAt{0};
  auto ca = config("candidate-a");
  ca.onStoppedLeading = [&] {
    ++stoppedLeading;
    stoppedAt = Steady::now().time_since_epoch().count();
  };
  LeaderElector a(*client_, ca);
  a.start();
  ASSERT_TRUE(kube::testing::eventually([&] { return a.isLeader(); }));
  setFaults(R"({"errorFraction":1.0})");
  auto failing = Steady::now();
  // The fence drops by the clock, at most renewDeadline after the last renewal.
  ASSERT_TRUE(kube::testing::eventually([&] { return !a.isLeader(); }, 5s));
  EXPECT_LE(Steady::now() - failing, 1500ms + 500ms);
  ASSERT_TRUE(kube::testing::eventually([&] { return stoppedLeading.load() == 1; }, 20s));
  setFaults(R"({"errorFraction":0})");
  // run() has returned: no campaigning again.
  a.stop();
  EXPECT_FALSE(a.isLeader());
}

INSTANTIATE_TEST_SUITE_P(Emulator, LeaderElectionTest, ::testing::Bool(), kube::testing::tlsName);

TEST(LeaderElectionConfigTest, Validate) {
  LeaderElectionConfig c;
  c.leaseName = "l";
  c.leaseNamespace = "n";
  c.identity = "me";
  EXPECT_FALSE(validate(c).has_value());
  c.renewDeadline = c.leaseDuration;
  EXPECT_TRUE(validate(c).has_value());
  c.renewDeadline = 10s;
  c.retryPeriod = 10s;
  EXPECT_TRUE(validate(c).has_value());
  c.retryPeriod = 2s;
  c.identity.clear();
  EXPECT_TRUE(validate(c).has_value());
}

TEST(LeaderElectionConfigTest, DefaultIdentity) {
  ::setenv("POD_NAME", "canaryd-7d9f-abcde", 1);
  EXPECT_EQ(defaultIdentity(), "canaryd-7d9f-abcde");
  ::unsetenv("POD_NAME");
  auto id = defaultIdentity();
  EXPECT_NE(id.find('_' + std::to_string(::getpid())), std::string::npos);
}

}  // namespace
}  // namespace canaryd::leader
