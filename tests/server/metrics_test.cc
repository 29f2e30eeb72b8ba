#include "server/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "workqueue/queue.h"

namespace canaryd::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsTest, BuildInfoAndLeader) {
  Metrics m("1.2.3");
  auto text = m.render();
  EXPECT_THAT(text, HasSubstr("# TYPE canaryd_build_info gauge\n"));
  EXPECT_THAT(text, HasSubstr("canaryd_build_info{version=\"1.2.3\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("canaryd_leader 0\n"));
  m.setLeader(true);
  EXPECT_THAT(m.render(), HasSubstr("canaryd_leader 1\n"));
  m.setLeader(false);
  EXPECT_THAT(m.render(), HasSubstr("canaryd_leader 0\n"));
}

TEST(MetricsTest, ReconcileHistogramAndErrors) {
  Metrics m;
  m.observeReconcile(std::chrono::milliseconds(3), false);
  m.observeReconcile(std::chrono::milliseconds(200), false);
  m.observeReconcile(std::chrono::seconds(2), true);
  auto text = m.render();
  EXPECT_THAT(text, HasSubstr("# TYPE canaryd_reconcile_duration_seconds histogram\n"));
  EXPECT_THAT(text, HasSubstr("canaryd_reconcile_duration_seconds_count 3\n"));
  EXPECT_THAT(text, HasSubstr("canaryd_reconcile_duration_seconds_sum 2.203\n"));
  EXPECT_THAT(text, HasSubstr("canaryd_reconcile_duration_seconds_bucket{le=\"0.005\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("canaryd_reconcile_duration_seconds_bucket{le=\"0.25\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("canaryd_reconcile_duration_seconds_bucket{le=\"2.5\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("canaryd_reconcile_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE canaryd_reconcile_errors_total counter\n"));
  EXPECT_THAT(text, HasSubstr("canaryd_reconcile_errors_total 1\n"));
}

TEST(MetricsTest, KubeRequestsByVerbAndCode) {
  Metrics m;
  m.kubeRequest("list", 200);
  m.kubeRequest("list", 200);
  m.kubeRequest("patch", 409);
  m.kubeRequest("get", 0);
  auto text = m.render();
  EXPECT_THAT(text, HasSubstr("# TYPE canaryd_kube_requests_total counter\n"));
  EXPECT_THAT(text, HasSubstr("canaryd_kube_requests_total{code=\"200\",verb=\"list\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("canaryd_kube_requests_total{code=\"409\",verb=\"patch\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("canaryd_kube_requests_total{code=\"<error>\",verb=\"get\"} 1\n"));
}

TEST(MetricsTest, AnalysisMeasurementsByMetricAndPhase) {
  Metrics m;
  m.analysisMeasurement("error-rate", "Successful");
  m.analysisMeasurement("error-rate", "Successful");
  m.analysisMeasurement("latency-p95", "Failed");
  auto text = m.render();
  EXPECT_THAT(text, HasSubstr("canaryd_analysis_measurements_total{metric=\"error-rate\","
                              "phase=\"Successful\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("canaryd_analysis_measurements_total{metric=\"latency-p95\","
                              "phase=\"Failed\"} 1\n"));
}

TEST(MetricsTest, RolloutGaugesComeFromTheSourceAtScrapeTime) {
  Metrics m;
  std::vector<RolloutSample> rollouts = {
      {"shop", "web", "Paused", 25, 1},
      {"shop", "api", "Healthy", 0, 4},
      {"ops", "new", "", 0, std::nullopt},
  };
  m.setRolloutSource([&] { return rollouts; });
  auto text = m.render();
  EXPECT_THAT(text, HasSubstr("# TYPE canaryd_rollout_info gauge\n"));
  EXPECT_THAT(
      text,
      HasSubstr("canaryd_rollout_info{namespace=\"shop\",rollout=\"web\",phase=\"Paused\"} 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr("canaryd_rollout_info{namespace=\"shop\",rollout=\"api\",phase=\"Healthy\"} 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr("canaryd_rollout_info{namespace=\"ops\",rollout=\"new\",phase=\"Unknown\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("canaryd_rollout_weight{namespace=\"shop\",rollout=\"web\"} 25\n"));
  EXPECT_THAT(text, HasSubstr("canaryd_rollout_weight{namespace=\"shop\",rollout=\"api\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("canaryd_rollout_step{namespace=\"shop\",rollout=\"web\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("canaryd_rollout_step{namespace=\"shop\",rollout=\"api\"} 4\n"));
  EXPECT_THAT(text, Not(HasSubstr("canaryd_rollout_step{namespace=\"ops\"")));

  // A deleted Rollout is gone from the next scrape; a changed one shows its new state.
  rollouts = {{"shop", "web", "Healthy", 0, 4}};
  text = m.render();
  EXPECT_THAT(text, Not(HasSubstr("rollout=\"api\"")));
  EXPECT_THAT(
      text,
      HasSubstr("canaryd_rollout_info{namespace=\"shop\",rollout=\"web\",phase=\"Healthy\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("phase=\"Paused\"")));

  m.setRolloutSource({});
  EXPECT_THAT(m.render(), Not(HasSubstr("rollout=\"web\"")));
}

TEST(MetricsTest, WorkqueueMetrics) {
  Metrics m;
  workqueue::RateLimitingQueue queue(workqueue::QueueConfig{.name = "rollouts", .metrics = &m});
  queue.add("shop/web");
  queue.add("shop/api");
  queue.add("shop/web");  // de-duplicated: not counted
  auto text = m.render();
  EXPECT_THAT(text, HasSubstr("canaryd_workqueue_depth{name=\"rollouts\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("canaryd_workqueue_adds_total{name=\"rollouts\"} 2\n"));
  auto item = queue.get();
  queue.done(item.item);
  text = m.render();
  EXPECT_THAT(text, HasSubstr("canaryd_workqueue_depth{name=\"rollouts\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("canaryd_workqueue_work_duration_seconds_count{name=\"rollouts\"} 1\n"));
  queue.shutDown();
}

}  // namespace
}  // namespace canaryd::server
