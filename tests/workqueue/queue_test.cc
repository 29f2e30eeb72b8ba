#include "workqueue/queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <set>
#include <thread>

namespace canaryd::workqueue {
namespace {

using namespace std::chrono_literals;

// Polls `condition` until it holds or a generous real-time deadline passes; the deadline
// only bounds a failing test, it never decides a passing one.
template <class F>
bool eventually(F condition) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::yield();
  }
  return condition();
}

QueueConfig fakeConfig(FakeClock& clock, std::unique_ptr<RateLimiter> limiter = nullptr) {
  QueueConfig config;
  config.name = "test";
  config.clock = &clock;
  config.rateLimiter = std::move(limiter);
  return config;
}

// Takes the next item, which must be available without waiting.
std::string take(RateLimitingQueue& q) {
  EXPECT_GT(q.len(), 0u);
  auto [item, shutdown] = q.get();
  EXPECT_FALSE(shutdown);
  return item;
}

// ---- de-duplication, table-driven ----

struct Op {
  enum Kind { kAdd, kGet, kDone } kind;
  std::string item;
};

struct DedupCase {
  std::string name;
  std::vector<Op> ops;
  // Items handed out by the kGet ops, in order.
  std::vector<std::string> gets;
  size_t finalLen;
};

class DedupTest : public ::testing::TestWithParam<DedupCase> {};

TEST_P(DedupTest, HandsOutEachKeyOnce) {
  FakeClock clock;
  RateLimitingQueue q(fakeConfig(clock));
  std::vector<std::string> got;
  for (const auto& op : GetParam().ops) {
    switch (op.kind) {
      case Op::kAdd:
        q.add(op.item);
        break;
      case Op::kGet:
        got.push_back(take(q));
        break;
      case Op::kDone:
        q.done(op.item);
        break;
    }
  }
  EXPECT_EQ(got, GetParam().gets);
  EXPECT_EQ(q.len(), GetParam().finalLen);
}

INSTANTIATE_TEST_SUITE_P(
    Queue, DedupTest,
    ::testing::Values(
        DedupCase{
            "fifo", {{Op::kAdd, "a"}, {Op::kAdd, "b"}, {Op::kGet}, {Op::kGet}}, {"a", "b"}, 0},
        DedupCase{"duplicate_while_queued",
                  {{Op::kAdd, "a"}, {Op::kAdd, "b"}, {Op::kAdd, "a"}, {Op::kGet}, {Op::kGet}},
                  {"a", "b"},
                  0},
        DedupCase{"added_while_processing_waits_for_done",
                  {{Op::kAdd, "a"}, {Op::kGet}, {Op::kAdd, "a"}, {Op::kAdd, "a"}},
                  {"a"},
                  0},
        DedupCase{"requeued_once_after_done",
                  {{Op::kAdd, "a"},
                   {Op::kGet},
                   {Op::kAdd, "a"},
                   {Op::kAdd, "b"},
                   {Op::kAdd, "a"},
                   {Op::kDone, "a"},
                   {Op::kGet},
                   {Op::kGet}},
                  {"a", "b", "a"},
                  0},
        DedupCase{"done_without_readd_does_not_requeue",
                  {{Op::kAdd, "a"}, {Op::kGet}, {Op::kDone, "a"}},
                  {"a"},
                  0},
        DedupCase{"readd_after_done_queues_again",
                  {{Op::kAdd, "a"}, {Op::kGet}, {Op::kDone, "a"}, {Op::kAdd, "a"}},
                  {"a"},
                  1}),
    [](const auto& info) { return info.param.name; });

TEST(QueueTest, WorkerHoldingAKeyIsNeverJoinedBySecondWorker) {
  FakeClock clock;
  RateLimitingQueue q(fakeConfig(clock));
  q.add("a");
  EXPECT_EQ(take(q), "a");
  q.add("a");
  EXPECT_EQ(q.len(), 0u);  // not handed to another worker while held
  q.done("a");
  EXPECT_EQ(q.len(), 1u);
  EXPECT_EQ(take(q), "a");
}

// ---- delayed items ----

TEST(QueueTest, AddAfterOrdersByDeadline) {
  FakeClock clock;
  RateLimitingQueue q(fakeConfig(clock));
  q.addAfter("a", 30ms);
  q.addAfter("b", 10ms);
  q.addAfter("c", 20ms);
  q.addAfter("d", 20ms);
  EXPECT_EQ(q.len(), 0u);
  clock.step(9ms);
  EXPECT_EQ(q.len(), 0u);
  clock.step(1ms);
  EXPECT_EQ(q.len(), 1u);
  EXPECT_EQ(take(q), "b");
  clock.step(10ms);
  EXPECT_EQ(q.len(), 2u);
  EXPECT_EQ(take(q), "c");  // equal deadlines keep insertion order
  EXPECT_EQ(take(q), "d");
  clock.step(10ms);
  EXPECT_EQ(take(q), "a");
  EXPECT_EQ(q.len(), 0u);
}

TEST(QueueTest, AddAfterEarliestDeadlineWins) {
  FakeClock clock;
  RateLimitingQueue q(fakeConfig(clock));
  q.addAfter("a", 50ms);
  q.addAfter("a", 10ms);  // earlier: replaces
  q.addAfter("a", 40ms);  // later: ignored
  clock.step(10ms);
  EXPECT_EQ(q.len(), 1u);
  EXPECT_EQ(take(q), "a");
  q.done("a");
  // Neither the 40 ms nor the 50 ms deadline survives.
  clock.step(100ms);
  EXPECT_EQ(q.len(), 0u);
}

TEST(QueueTest, AddAfterNonPositiveAddsAtOnce) {
  FakeClock clock;
  RateLimitingQueue q(fakeConfig(clock));
  q.addAfter("a", 0ms);
  q.addAfter("b", -5ms);
  EXPECT_EQ(q.len(), 2u);
}

TEST(QueueTest, DelayedItemAlreadyQueuedIsNotDuplicated) {
  FakeClock clock;
  RateLimitingQueue q(fakeConfig(clock));
  q.add("a");
  q.addAfter("a", 10ms);
  clock.step(10ms);
  EXPECT_EQ(q.len(), 1u);
}

TEST(QueueTest, GetBlocksUntilDelayedItemIsDue) {
  FakeClock clock;
  RateLimitingQueue q(fakeConfig(clock));
  q.addAfter("a", 1s);
  auto got = std::async(std::launch::async, [&] { return q.get(); });
  ASSERT_TRUE(eventually([&] { return clock.waiters() == 1; }));
  EXPECT_EQ(got.wait_for(0s), std::future_status::timeout);
  clock.step(999ms);
  // Still parked (the step woke it; it found nothing due and waits again).
  ASSERT_TRUE(eventually([&] { return clock.waiters() == 1; }));
  EXPECT_EQ(got.wait_for(0s), std::future_status::timeout);
  clock.step(1ms);
  auto [item, shutdown] = got.get();
  EXPECT_EQ(item, "a");
  EXPECT_FALSE(shutdown);
}

TEST(QueueTest, EarlierDelayedItemWakesAWaitingGet) {
  FakeClock clock;
  RateLimitingQueue q(fakeConfig(clock));
  q.addAfter("late", 1h);
  auto got = std::async(std::launch::async, [&] { return q.get(); });
  ASSERT_TRUE(eventually([&] { return clock.waiters() == 1; }));
  q.addAfter("soon", 1s);
  clock.step(1s);
  EXPECT_EQ(got.get().item, "soon");
}

TEST(QueueTest, GetWakesForPlainAdd) {
  FakeClock clock;
  RateLimitingQueue q(fakeConfig(clock));
  auto got = std::async(std::launch::async, [&] { return q.get(); });
  q.add("a");
  EXPECT_EQ(got.get().item, "a");
}

TEST(QueueTest, RealClockDelaysToo) {
  RateLimitingQueue q;
  q.addAfter("a", 1ms);
  auto [item, shutdown] = q.get();
  EXPECT_EQ(item, "a");
  EXPECT_FALSE(shutdown);
}

// ---- rate limiting ----

TEST(QueueTest, AddRateLimitedBacksOffExponentially) {
  FakeClock clock;
  RateLimitingQueue q(fakeConfig(clock));
  const std::chrono::milliseconds delays[] = {5ms, 10ms, 20ms, 40ms, 80ms};
  for (auto delay : delays) {
    q.addRateLimited("ns/a");
    clock.step(delay - 1ms);
    EXPECT_EQ(q.len(), 0u) << delay.count();
    clock.step(1ms);
    ASSERT_EQ(q.len(), 1u) << delay.count();
    EXPECT_EQ(take(q), "ns/a");
    q.done("ns/a");
  }
  EXPECT_EQ(q.numRequeues("ns/a"), 5);
  q.forget("ns/a");
  EXPECT_EQ(q.numRequeues("ns/a"), 0);
  q.addRateLimited("ns/a");
  clock.step(5ms);
  EXPECT_EQ(q.len(), 1u);
}

TEST(QueueTest, CustomRateLimiter) {
  FakeClock clock;
  RateLimitingQueue q(fakeConfig(clock, std::make_unique<ItemFastSlowRateLimiter>(1s, 1min, 1)));
  q.addRateLimited("a");
  clock.step(1s);
  EXPECT_EQ(q.len(), 1u);
  EXPECT_EQ(take(q), "a");
  q.done("a");
  q.addRateLimited("a");
  clock.step(59s);
  EXPECT_EQ(q.len(), 0u);
  clock.step(1s);
  EXPECT_EQ(q.len(), 1u);
}

// ---- shutdown ----

TEST(QueueTest, ShutDownHandsOutQueuedItemsThenReportsShutdown) {
  FakeClock clock;
  RateLimitingQueue q(fakeConfig(clock));
  q.add("a");
  q.add("b");
  q.addAfter("later", 1s);
  q.shutDown();
  EXPECT_TRUE(q.shuttingDown());
  q.add("c");             // ignored
  q.addAfter("d", 0ms);   // ignored
  q.addRateLimited("e");  // ignored
  EXPECT_EQ(take(q), "a");
  EXPECT_EQ(take(q), "b");
  clock.step(1s);  // delayed items are dropped at shutdown
  auto [item, shutdown] = q.get();
  EXPECT_TRUE(shutdown);
  EXPECT_EQ(item, "");
}

TEST(QueueTest, ShutDownWakesBlockedGetters) {
  FakeClock clock;
  RateLimitingQueue q(fakeConfig(clock));
  auto a = std::async(std::launch::async, [&] { return q.get(); });
  auto b = std::async(std::launch::async, [&] { return q.get(); });
  q.shutDown();
  EXPECT_TRUE(a.get().shutdown);
  EXPECT_TRUE(b.get().shutdown);
}

TEST(QueueTest, ItemReaddedDuringProcessingIsStillHandedOutAfterShutdown) {
  FakeClock clock;
  RateLimitingQueue q(fakeConfig(clock));
  q.add("a");
  EXPECT_EQ(take(q), "a");
  q.add("a");
  q.shutDown();
  q.done("a");
  EXPECT_EQ(take(q), "a");
  q.done("a");
  EXPECT_TRUE(q.get().shutdown);
}

TEST(QueueTest, ShutDownWithDrainWaitsForInFlightItems) {
  FakeClock clock;
  RateLimitingQueue q(fakeConfig(clock));
  constexpr int kWorkers = 4;
  for (int i = 0; i < kWorkers; ++i) q.add("item-" + std::to_string(i));

  std::promise<void> gate;
  std::shared_future<void> open = gate.get_future().share();
  std::atomic<int> holding{0};
  std::atomic<int> finished{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < kWorkers; ++i) {
    workers.emplace_back([&] {
      for (;;) {
        auto [item, shutdown] = q.get();
        if (shutdown) return;
        ++holding;
        open.wait();
        ++finished;
        q.done(item);
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return holding.load() == kWorkers; }));

  std::atomic<bool> drained{false};
  std::thread drainer([&] {
    q.shutDownWithDrain();
    drained = true;
  });
  ASSERT_TRUE(eventually([&] { return q.shuttingDown(); }));
  // Every item is held by a worker that cannot finish: the drain cannot have returned.
  EXPECT_FALSE(drained.load());
  EXPECT_EQ(finished.load(), 0);

  gate.set_value();
  drainer.join();
  EXPECT_TRUE(drained.load());
  EXPECT_EQ(finished.load(), kWorkers);
  for (auto& w : workers) w.join();
}

TEST(QueueTest, ShutDownReleasesADrainingWaiter) {
  FakeClock clock;
  RateLimitingQueue q(fakeConfig(clock));
  q.add("a");
  EXPECT_EQ(take(q), "a");
  std::thread drainer([&] { q.shutDownWithDrain(); });
  ASSERT_TRUE(eventually([&] { return q.shuttingDown(); }));
  q.shutDown();  // gives up waiting, as client-go's ShutDown does
  drainer.join();
  q.done("a");
}

TEST(QueueTest, ConcurrentProducersAndWorkersNeverShareAKey) {
  RateLimitingQueue q;
  constexpr int kKeys = 20;
  constexpr int kAddsPerProducer = 2000;
  std::mutex mu;
  std::set<std::string> inFlight;
  std::map<std::string, int> processed;
  std::atomic<bool> overlap{false};

  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      for (;;) {
        auto [item, shutdown] = q.get();
        if (shutdown) return;
        {
          std::lock_guard lock(mu);
          if (!inFlight.insert(item).second) overlap = true;
        }
        std::this_thread::yield();
        {
          std::lock_guard lock(mu);
          inFlight.erase(item);
          ++processed[item];
        }
        q.done(item);
      }
    });
  }
  std::vector<std::thread> producers;
  for (int p = 0; p < 3; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kAddsPerProducer; ++i) q.add("ns/key-" + std::to_string((i + p) % kKeys));
    });
  }
  for (auto& p : producers) p.join();
  ASSERT_TRUE(eventually([&] { return q.len() == 0; }));
  q.shutDownWithDrain();
  for (auto& w : workers) w.join();
  EXPECT_FALSE(overlap.load());
  EXPECT_EQ(processed.size(), static_cast<size_t>(kKeys));
}

// ---- metrics ----

struct Recorded {
  std::mutex mu;
  std::map<std::string, double> values;
  std::map<std::string, std::vector<double>> observations;
};

class RecordingMetrics final : public MetricsProvider {
 public:
  explicit RecordingMetrics(Recorded& r) : r_(r) {}

  struct Gauge final : GaugeMetric {
    Recorded& r;
    std::string key;
    Gauge(Recorded& r, std::string k) : r(r), key(std::move(k)) {}
    void inc() override {
      std::lock_guard l(r.mu);
      r.values[key] += 1;
    }
    void dec() override {
      std::lock_guard l(r.mu);
      r.values[key] -= 1;
    }
  };
  struct Counter final : CounterMetric {
    Recorded& r;
    std::string key;
    Counter(Recorded& r, std::string k) : r(r), key(std::move(k)) {}
    void inc() override {
      std::lock_guard l(r.mu);
      r.values[key] += 1;
    }
  };
  struct Histogram final : HistogramMetric {
    Recorded& r;
    std::string key;
    Histogram(Recorded& r, std::string k) : r(r), key(std::move(k)) {}
    void observe(double s) override {
      std::lock_guard l(r.mu);
      r.observations[key].push_back(s);
    }
  };

  std::unique_ptr<GaugeMetric> newDepthMetric(const std::string& q) override {
    return std::make_unique<Gauge>(r_, q + "/depth");
  }
  std::unique_ptr<CounterMetric> newAddsMetric(const std::string& q) override {
    return std::make_unique<Counter>(r_, q + "/adds");
  }
  std::unique_ptr<HistogramMetric> newLatencyMetric(const std::string& q) override {
    return std::make_unique<Histogram>(r_, q + "/latency");
  }
  std::unique_ptr<HistogramMetric> newWorkDurationMetric(const std::string& q) override {
    return std::make_unique<Histogram>(r_, q + "/work");
  }
  std::unique_ptr<CounterMetric> newRetriesMetric(const std::string& q) override {
    return std::make_unique<Counter>(r_, q + "/retries");
  }

 private:
  Recorded& r_;
};

TEST(QueueTest, MetricsHooks) {
  FakeClock clock;
  Recorded r;
  RecordingMetrics metrics(r);
  QueueConfig config = fakeConfig(clock);
  config.name = "rollouts";
  config.metrics = &metrics;
  RateLimitingQueue q(std::move(config));

  q.add("a");
  q.add("a");  // duplicate: not an add
  q.add("b");
  EXPECT_EQ(r.values["rollouts/adds"], 2);
  EXPECT_EQ(r.values["rollouts/depth"], 2);

  clock.step(2s);
  EXPECT_EQ(take(q), "a");
  EXPECT_EQ(r.values["rollouts/depth"], 1);
  clock.step(3s);
  q.done("a");
  EXPECT_EQ(r.observations["rollouts/latency"], std::vector<double>{2.0});
  EXPECT_EQ(r.observations["rollouts/work"], std::vector<double>{3.0});

  q.addAfter("c", 1s);
  q.addRateLimited("d");
  EXPECT_EQ(r.values["rollouts/retries"], 2);
  clock.step(1s);
  EXPECT_EQ(take(q), "b");
  EXPECT_EQ(take(q), "d");
  EXPECT_EQ(take(q), "c");
  // Latency of delayed items counts from when they became due: d was due 995 ms ago.
  ASSERT_EQ(r.observations["rollouts/latency"].size(), 4u);
  EXPECT_DOUBLE_EQ(r.observations["rollouts/latency"][1], 6.0);
  EXPECT_NEAR(r.observations["rollouts/latency"][2], 0.995, 1e-9);
  EXPECT_DOUBLE_EQ(r.observations["rollouts/latency"][3], 0.0);
  EXPECT_EQ(r.values["rollouts/depth"], 0);
  EXPECT_EQ(r.values["rollouts/adds"], 4);
}

}  // namespace
}  // namespace canaryd::workqueue
