// EventRecorder against the in-process kube-emulator: events.k8s.io Events created,
// repeats aggregated into a series, the per-object rate bound, callers never block, and
// writes failing with 5xx retried with a bounded backoff (given up after maxAttempts,
// hurried by flush, bounded in memory).
#include "kube/event_recorder.h"

#include <gtest/gtest.h>

#include "emulator_env.h"

namespace canaryd::kube {
namespace {

using namespace std::chrono_literals;

class EventRecorderTest : public testing::EmulatorFixture {
 protected:
  ObjectReference rollout(const std::string& name) {
    return {"canaryd.io/v1alpha1", "Rollout", "default", name, "uid-" + name, "1"};
  }
  std::vector<Object> events() {
    auto page = client_->list(resources::kEvents, "default");
    EXPECT_TRUE(page.has_value());
    std::vector<Object> out;
    if (!page) return out;
    for (const auto& item : page->items().GetArray()) {
      out.push_back(std::make_shared<rapidjson::Document>(api::cloneDocument(item)));
    }
    return out;
  }
};

TEST_P(EventRecorderTest, CreatesAndAggregatesRepeatsIntoASeries) {
  EventRecorderOptions o;
  o.reportingInstance = "canaryd-0";
  EventRecorder recorder(*client_, o);
  recorder.event(rollout("web"), kEventTypeNormal, "RolloutPaused", "Pause", "paused at step 1");
  ASSERT_TRUE(recorder.flush(10s));
  for (int i = 0; i < 4; ++i) {
    recorder.event(rollout("web"), kEventTypeNormal, "RolloutPaused", "Pause", "paused at step 1");
  }
  recorder.event(rollout("web"), kEventTypeWarning, "AnalysisFailed", "Abort", "error-rate 0.2");
  ASSERT_TRUE(recorder.flush(10s));
  // A repeat after the flush still lands on the same Event.
  recorder.event(rollout("web"), kEventTypeNormal, "RolloutPaused", "Pause", "paused at step 1");
  ASSERT_TRUE(recorder.flush(10s));

  auto all = events();
  ASSERT_EQ(all.size(), 2u);
  const rapidjson::Value* paused = nullptr;
  for (const auto& e : all) {
    if (stringAt(*e, "reason") == "RolloutPaused") paused = e.get();
  }
  ASSERT_NE(paused, nullptr);
  EXPECT_EQ(stringAt(*paused, "regarding.name"), "web");
  EXPECT_EQ(stringAt(*paused, "regarding.kind"), "Rollout");
  EXPECT_EQ(stringAt(*paused, "type"), "Normal");
  EXPECT_EQ(stringAt(*paused, "note"), "paused at step 1");
  EXPECT_EQ(stringAt(*paused, "reportingInstance"), "canaryd-0");
  ASSERT_TRUE(paused->HasMember("series"));
  EXPECT_EQ((*paused)["series"]["count"].GetInt64(), 6);
  EXPECT_FALSE(stringAt(*paused, "series.lastObservedTime").empty());
  auto stats = recorder.stats();
  EXPECT_EQ(stats.created, 2u);
  EXPECT_EQ(stats.aggregated, 5u);
  EXPECT_EQ(stats.failed, 0u);
}

TEST_P(EventRecorderTest, RateBoundPerObject) {
  EventRecorderOptions o;
  o.burstPerObject = 3;
  o.qpsPerObject = 1e-9;  // no refill during the test
  EventRecorder recorder(*client_, o);
  for (int i = 0; i < 10; ++i) {
    recorder.event(rollout("noisy"), kEventTypeNormal, "Step", "Step", "step " + std::to_string(i));
  }
  recorder.event(rollout("quiet"), kEventTypeNormal, "Step", "Step", "step 0");
  ASSERT_TRUE(recorder.flush(10s));
  auto stats = recorder.stats();
  EXPECT_EQ(stats.created, 4u);
  EXPECT_EQ(stats.dropped, 7u);
  EXPECT_EQ(events().size(), 4u);
}

TEST_P(EventRecorderTest, CallersDoNotWaitForTheServer) {
  setFaults(R"({"latencyMs":300})");
  EventRecorder recorder(*client_, {});
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    recorder.event(rollout("r" + std::to_string(i)), kEventTypeNormal, "Created", "Create", "x");
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 300ms);
  setFaults(R"({"latencyMs":0})");
  // Destroying the recorder with events queued returns promptly too (they are dropped).
}

// Every request fails with an injected 500 until the faults are lifted.
TEST_P(EventRecorderTest, RetriesAServerErrorUntilTheEventLands) {
  EventRecorderOptions o;
  o.retryInitial = 5ms;
  o.retryMax = 20ms;
  EventRecorder recorder(*client_, o);
  setFaults(R"({"errorFraction":1})");
  recorder.event(rollout("web"), kEventTypeNormal, "Promoted", "Promote", "promoted");
  ASSERT_TRUE(testing::eventually([&] { return recorder.stats().retried >= 3; }));
  setFaults(R"({"errorFraction":0})");
  ASSERT_TRUE(recorder.flush(10s));
  auto stats = recorder.stats();
  EXPECT_EQ(stats.created, 1u);
  EXPECT_EQ(stats.failed, 0u);
  ASSERT_EQ(events().size(), 1u);
  EXPECT_EQ(stringAt(*events()[0], "reason"), "Promoted");
}

TEST_P(EventRecorderTest, ARetriedSeriesUpdateCarriesTheLatestCount) {
  EventRecorderOptions o;
  o.retryInitial = 5ms;
  o.retryMax = 20ms;
  EventRecorder recorder(*client_, o);
  recorder.event(rollout("web"), kEventTypeNormal, "Paused", "Pause", "paused");
  ASSERT_TRUE(recorder.flush(10s));
  setFaults(R"({"errorFraction":1})");
  recorder.event(rollout("web"), kEventTypeNormal, "Paused", "Pause", "paused");
  ASSERT_TRUE(testing::eventually([&] { return recorder.stats().retried >= 1; }));
  recorder.event(rollout("web"), kEventTypeNormal, "Paused", "Pause", "paused");
  setFaults(R"({"errorFraction":0})");
  ASSERT_TRUE(recorder.flush(10s));
  auto all = events();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ((*all[0])["series"]["count"].GetInt64(), 3);
  EXPECT_EQ(recorder.stats().failed, 0u);
}

TEST_P(EventRecorderTest, GivesUpAfterMaxAttempts) {
  EventRecorderOptions o;
  o.maxAttempts = 3;
  o.retryInitial = 5ms;
  o.retryMax = 20ms;
  EventRecorder recorder(*client_, o);
  setFaults(R"({"errorFraction":1})");
  recorder.event(rollout("web"), kEventTypeWarning, "Aborted", "Abort", "aborted");
  ASSERT_TRUE(testing::eventually([&] { return recorder.stats().failed == 1; }));
  // Given up: nothing left to send.
  EXPECT_TRUE(recorder.flush(10s));
  auto stats = recorder.stats();
  EXPECT_EQ(stats.retried, 2u);
  EXPECT_EQ(stats.created, 0u);
  setFaults(R"({"errorFraction":0})");
  EXPECT_TRUE(events().empty());
}

TEST_P(EventRecorderTest, FlushSendsPendingRetriesWithoutWaitingOutTheBackoff) {
  EventRecorderOptions o;
  o.retryInitial = std::chrono::hours(1);
  o.retryMax = std::chrono::hours(1);
  EventRecorder recorder(*client_, o);
  setFaults(R"({"errorFraction":1})");
  recorder.event(rollout("web"), kEventTypeNormal, "Promoted", "Promote", "promoted");
  ASSERT_TRUE(testing::eventually([&] { return recorder.stats().retried == 1; }));
  setFaults(R"({"errorFraction":0})");
  // As on shutdown: the retry an hour away is sent now.
  ASSERT_TRUE(recorder.flush(10s));
  EXPECT_EQ(recorder.stats().created, 1u);
  EXPECT_EQ(events().size(), 1u);
}

TEST_P(EventRecorderTest, PendingRetriesCountAgainstTheQueueBound) {
  EventRecorderOptions o;
  o.queueLimit = 3;
  o.retryInitial = std::chrono::hours(1);
  o.retryMax = std::chrono::hours(1);
  EventRecorder recorder(*client_, o);
  setFaults(R"({"errorFraction":1})");
  for (int i = 0; i < 3; ++i)
    recorder.event(rollout("r" + std::to_string(i)), kEventTypeNormal, "Created", "Create", "x");
  ASSERT_TRUE(testing::eventually([&] { return recorder.stats().retried == 3; }));
  for (int i = 3; i < 10; ++i)
    recorder.event(rollout("r" + std::to_string(i)), kEventTypeNormal, "Created", "Create", "x");
  auto stats = recorder.stats();
  EXPECT_EQ(stats.recorded, 3u);
  EXPECT_EQ(stats.dropped, 7u);
  setFaults(R"({"errorFraction":0})");
}

INSTANTIATE_TEST_SUITE_P(Emulator, EventRecorderTest, ::testing::Bool(), testing::tlsName);

}  // namespace
}  // namespace canaryd::kube
