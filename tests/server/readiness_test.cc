// A ControllerManager against the in-process kube-emulator, served as canaryd serves it:
// /readyz while the CRDs are missing and after they are installed, and the Rollout and
// controller metrics once a Rollout is reconciled.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "api/json.h"
#include "controller/runtime/controller_manager.h"
#include "emulator_env.h"
#include "http_get.h"
#include "server/probes.h"

namespace canaryd::server {
namespace {

using testing::Got;
using ::testing::HasSubstr;
using testing::httpGet;

const kube::GroupVersionResource kCrds{"apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                       false};

std::string readSource(const std::string& path) {
  std::ifstream in(std::string(CANARYD_SOURCE_DIR) + "/" + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ReadinessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    emu_ = std::make_unique<emulator::Emulator>(kube::testing::emulatorOptions(false));
    emu_->start();
    auto options = kube::testing::fastOptions();
    options.metrics = api_.hook();
    client_ = kube::testing::clientFor(*emu_, options);
    ASSERT_NE(client_, nullptr);
  }
  void TearDown() override {
    client_.reset();
    emu_.reset();
  }

  // Creates every object of a manifest file of the source tree.
  void apply(const std::string& path) {
    auto docs = api::parseManifests(readSource(path));
    ASSERT_TRUE(docs.has_value()) << path;
    for (auto& doc : *docs) {
      std::string kind(kube::stringAt(doc, "kind"));
      std::string ns(kube::stringAt(doc, "metadata.namespace"));
      const kube::GroupVersionResource* gvr = kind == "CustomResourceDefinition" ? &kCrds
                                              : kind == "Namespace" ? &kube::resources::kNamespaces
                                              : kind == "Service"   ? &kube::resources::kServices
                                              : kind == "Rollout"   ? &kube::resources::kRollouts
                                                                    : nullptr;
      ASSERT_NE(gvr, nullptr) << kind;
      auto r = client_->create(*gvr, ns, doc);
      ASSERT_TRUE(r.has_value()) << kind << ": " << r.error().message;
    }
  }

  // Polls GET port/target until `ok` accepts the answer; returns the last answer.
  Got poll(uint16_t port, const std::string& target, const std::function<bool(const Got&)>& ok,
           std::chrono::seconds deadline = std::chrono::seconds(60)) {
    Got got;
    kube::testing::eventually(
        [&] {
          got = httpGet(port, target);
          return ok(got);
        },
        deadline);
    return got;
  }

  Metrics metrics_;
  KubeApiObserver api_{&metrics_};
  std::unique_ptr<emulator::Emulator> emu_;
  std::unique_ptr<kube::HttpClient> client_;
};

TEST_F(ReadinessTest, NotReadyUntilTheCrdsAreInstalledThenMetricsFollowTheRollout) {
  controller::runtime::ManagerOptions options;
  options.workers = 1;
  options.identity = "readiness-test";
  options.metrics = &metrics_;
  options.api = &api_;
  controller::runtime::ControllerManager manager(*client_, std::move(options));
  HttpServer http;
  auto probes =
      http.listen({"127.0.0.1", 0}, healthProbeHandler([&] { return manager.notReadyReason(); }));
  ASSERT_TRUE(probes.has_value()) << probes.error();
  auto scrape = http.listen({"127.0.0.1", 0}, metricsHandler(metrics_));
  ASSERT_TRUE(scrape.has_value()) << scrape.error();
  http.start();

  auto before = httpGet(probes->port, "/readyz");
  EXPECT_EQ(before.status, 503);
  EXPECT_THAT(before.body, HasSubstr("waiting for caches to sync"));
  EXPECT_EQ(httpGet(probes->port, "/healthz").status, 200);

  std::atomic<bool> started{false};
  std::thread starter([&] { started = manager.start(); });

  // Both informers' lists answered 404.
  auto missing = poll(probes->port, "/readyz", [](const Got& g) {
    return g.body.find("analysistemplates.canaryd.io, rollouts.canaryd.io") != std::string::npos;
  });
  EXPECT_EQ(missing.status, 503);
  EXPECT_EQ(missing.body,
            "not ready: the canaryd CRDs are not installed (the API server does not serve "
            "analysistemplates.canaryd.io, rollouts.canaryd.io): install them with `kubectl "
            "apply -f crds/`; retrying\n");
  EXPECT_THAT(httpGet(scrape->port, "/metrics").body,
              HasSubstr("canaryd_kube_requests_total{code=\"404\",verb=\"list\"}"));

  apply("crds/rollouts.canaryd.io.yaml");
  apply("crds/analysistemplates.canaryd.io.yaml");
  auto ready = poll(probes->port, "/readyz", [](const Got& g) { return g.status == 200; });
  EXPECT_EQ(ready.status, 200) << ready.body;
  starter.join();
  ASSERT_TRUE(started.load());

  apply("tests/e2e/testdata/rollout.yaml");
  const std::string healthy =
      "canaryd_rollout_info{namespace=\"e2e\",rollout=\"web\",phase=\"Healthy\"} 1\n";
  auto text = poll(scrape->port, "/metrics", [&](const Got& g) {
                return g.body.find(healthy) != std::string::npos;
              }).body;
  EXPECT_THAT(text, HasSubstr(healthy));
  EXPECT_THAT(text, HasSubstr("canaryd_rollout_weight{namespace=\"e2e\",rollout=\"web\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("canaryd_rollout_step{namespace=\"e2e\",rollout=\"web\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("canaryd_leader 1\n"));
  EXPECT_THAT(text, HasSubstr("canaryd_reconcile_duration_seconds_count"));
  EXPECT_THAT(text, HasSubstr("canaryd_workqueue_adds_total{name=\"rollouts\"}"));
  EXPECT_THAT(text, HasSubstr("canaryd_kube_requests_total{code=\"201\",verb=\"create\"}"));
  EXPECT_THAT(text, HasSubstr("canaryd_kube_requests_total{code=\"200\",verb=\"watch\"}"));

  // A deleted Rollout leaves the metrics with the cache.
  auto removed = client_->remove(kube::resources::kRollouts, "e2e", "web");
  ASSERT_TRUE(removed.has_value()) << removed.error().message;
  text = poll(scrape->port, "/metrics", [](const Got& g) {
           return g.status == 200 && g.body.find("rollout=\"web\"") == std::string::npos;
         }).body;
  EXPECT_THAT(text, ::testing::Not(HasSubstr("rollout=\"web\"")));

  manager.stop();
  EXPECT_THAT(httpGet(scrape->port, "/metrics").body, HasSubstr("canaryd_leader 0\n"));
  http.stop();
}

}  // namespace
}  // namespace canaryd::server
