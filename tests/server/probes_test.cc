#include "server/probes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "http_get.h"

namespace canaryd::server {
namespace {

using ::testing::HasSubstr;
using testing::httpGet;

kube::RequestMetric request(std::string verb, std::string resource, int code) {
  return kube::RequestMetric{std::move(verb), std::move(resource), code, {}};
}

TEST(ProbesTest, HealthzAlwaysReadyzWhenTheCheckSaysSo) {
  std::mutex mu;
  std::optional<std::string> reason = "waiting for caches to sync: services (all namespaces)";
  HttpServer server;
  auto a = server.listen({"127.0.0.1", 0}, healthProbeHandler([&] {
                           std::lock_guard lock(mu);
                           return reason;
                         }));
  ASSERT_TRUE(a.has_value()) << a.error();
  server.start();

  EXPECT_EQ(httpGet(a->port, "/healthz").status, 200);
  auto before = httpGet(a->port, "/readyz");
  EXPECT_EQ(before.status, 503);
  EXPECT_EQ(before.body, "not ready: waiting for caches to sync: services (all namespaces)\n");
  {
    std::lock_guard lock(mu);
    reason.reset();
  }
  auto after = httpGet(a->port, "/readyz");
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.body, "ok\n");
  EXPECT_EQ(httpGet(a->port, "/healthz").body, "ok\n");
  EXPECT_EQ(httpGet(a->port, "/metrics").status, 404);
}

TEST(ProbesTest, MetricsEndpoint) {
  Metrics metrics("9.9.9");
  HttpServer server;
  auto a = server.listen({"127.0.0.1", 0}, metricsHandler(metrics));
  ASSERT_TRUE(a.has_value()) << a.error();
  server.start();
  metrics.kubeRequest("watch", 200);
  auto got = httpGet(a->port, "/metrics");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.contentType, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(got.body, HasSubstr("canaryd_build_info{version=\"9.9.9\"} 1\n"));
  EXPECT_THAT(got.body, HasSubstr("canaryd_kube_requests_total{code=\"200\",verb=\"watch\"} 1\n"));
  EXPECT_EQ(httpGet(a->port, "/healthz").status, 404);
}

TEST(KubeApiObserverTest, CountsRequestsAndTracksUnservedResources) {
  Metrics metrics;
  KubeApiObserver api(&metrics);
  auto hook = api.hook();
  hook(request("list", "rollouts.canaryd.io", 404));
  hook(request("watch", "analysistemplates.canaryd.io", 404));
  // A missing object, not a missing type.
  hook(request("get", "replicasets.apps", 404));
  hook(request("list", "replicasets.apps/status", 404));
  EXPECT_EQ(api.missingResources(),
            (std::vector<std::string>{"analysistemplates.canaryd.io", "rollouts.canaryd.io"}));
  hook(request("list", "rollouts.canaryd.io", 200));
  EXPECT_EQ(api.missingResources(), (std::vector<std::string>{"analysistemplates.canaryd.io"}));
  EXPECT_THAT(metrics.render(),
              HasSubstr("canaryd_kube_requests_total{code=\"404\",verb=\"list\"} 2\n"));

  hook(request("list", "services", 403));
  hook(request("list", "services", 403));
  EXPECT_EQ(api.forbidden(),
            (std::vector<std::pair<std::string, std::string>>{{"list", "services"}}));
  hook(request("list", "services", 200));
  EXPECT_TRUE(api.forbidden().empty());
}

TEST(CacheSyncReasonTest, MissingCrdsSayWhatToInstall) {
  KubeApiObserver api(nullptr);
  api.observe(request("list", "rollouts.canaryd.io", 404));
  api.observe(request("list", "analysistemplates.canaryd.io", 404));
  auto reason = cacheSyncReason(
      {"rollouts.canaryd.io (all namespaces)", "analysistemplates.canaryd.io (all namespaces)",
       "services (all namespaces)"},
      &api);
  EXPECT_EQ(reason,
            "the canaryd CRDs are not installed (the API server does not serve "
            "analysistemplates.canaryd.io, rollouts.canaryd.io): install them with "
            "`kubectl apply -f crds/`; retrying");
  // Once synced, a resource is not a reason any more, whatever was seen before.
  EXPECT_EQ(cacheSyncReason({"services in shop"}, &api),
            "waiting for caches to sync: services in shop");
}

TEST(CacheSyncReasonTest, RbacRefusals) {
  KubeApiObserver api(nullptr);
  api.observe(request("list", "replicasets.apps", 403));
  api.observe(request("patch", "services", 403));
  EXPECT_EQ(cacheSyncReason({"replicasets.apps in shop"}, &api),
            "forbidden: RBAC does not allow canaryd to list replicasets.apps; grant it to "
            "canaryd's ServiceAccount; retrying");
}

TEST(CacheSyncReasonTest, WithoutAnObserver) {
  EXPECT_EQ(cacheSyncReason({"a", "b"}, nullptr), "waiting for caches to sync: a, b");
}

}  // namespace
}  // namespace canaryd::server
