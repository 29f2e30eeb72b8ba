// The routers over the real API client (kube::HttpClient through KubeTrafficClients)
// against the in-process kube-emulator: the merge patches are accepted as sent, the
// resourceVersion in them is a precondition (409 Conflict), another client's annotations
// survive, and errors arrive as the ClientError kinds the routers tell apart.
#include "traffic/kube_clients.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "api/json.h"
#include "golden.h"
#include "kube/config.h"
#include "kube/http_client.h"
#include "server.h"
#include "test_rollouts.h"
#include "traffic/factory.h"

namespace canaryd::traffic::testing {
namespace {

std::string readSource(const std::string& path) {
  std::ifstream in(std::string(CANARYD_SOURCE_DIR) + "/" + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class KubeTrafficClientsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    emu_ = std::make_unique<emulator::Emulator>();
    emu_->start();
    auto kc = kube::parseKubeconfig(emu_->kubeconfig(), "kubeconfig");
    ASSERT_TRUE(kc);
    auto rc = kube::buildRestConfig(*kc);
    ASSERT_TRUE(rc);
    kube::HttpClientOptions options;
    options.qps = 0;
    options.requestTimeout = std::chrono::seconds(10);
    auto c = kube::HttpClient::create(*rc, options);
    ASSERT_TRUE(c) << c.error().message;
    client_ = std::move(*c);
    clients_ = std::make_unique<KubeTrafficClients>(*client_);
    create(kube::resources::kNamespaces, "",
           R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}})");
    auto rollout = api::parseJson(
        R"({"apiVersion":"canaryd.io/v1alpha1","kind":"Rollout","metadata":{"name":"web",)"
        R"("namespace":"shop"},"spec":{"selector":{"matchLabels":{"app":"web"}},)"
        R"("template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web",)"
        R"("image":"web:1"}]}},"strategy":{"canary":{"stableService":"web-stable",)"
        R"("canaryService":"web-canary","trafficRouting":{"nginx":{"stableIngress":"web"}}}}}})");
    ASSERT_TRUE(rollout);
    // A stored Rollout, so that the emulator's garbage collector sees the canary Ingress's
    // owner and leaves it alone.
    const kube::GroupVersionResource crds{"apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                          false};
    create(crds, "", readSource("crds/rollouts.canaryd.io.yaml"));
    auto stored = client_->create(kube::resources::kRollouts, "shop", *rollout);
    ASSERT_TRUE(stored) << stored.error().message;
    rolloutUid_ = std::string(kube::stringAt(**stored, "metadata.uid"));
    ASSERT_FALSE(rolloutUid_.empty());
  }

  void create(const kube::GroupVersionResource& gvr, std::string_view ns, std::string_view json) {
    auto doc = api::parseManifests(json);
    ASSERT_TRUE(doc && doc->size() == 1);
    auto r = client_->create(gvr, ns, (*doc)[0]);
    ASSERT_TRUE(r) << r.error().message;
  }

  rapidjson::Document get(const kube::GroupVersionResource& gvr, std::string_view name) {
    auto r = client_->get(gvr, "shop", name);
    EXPECT_TRUE(r) << name;
    return r ? std::move(**r) : rapidjson::Document(rapidjson::kObjectType);
  }

  std::unique_ptr<emulator::Emulator> emu_;
  std::unique_ptr<kube::HttpClient> client_;
  std::unique_ptr<KubeTrafficClients> clients_;
  std::string rolloutUid_;
};

TEST_F(KubeTrafficClientsTest, NginxRouterThroughTheApi) {
  create(kube::resources::kIngresses, "shop", readTestdata("nginx-stable-ingress.yaml"));
  api::Rollout rollout = nginxRollout();
  rollout.metadata.uid = rolloutUid_;
  RouterFactory factory(*clients_, *clients_);
  auto router = std::move(*factory.newRouter(RouterTarget{rollout, "", ""}));
  ASSERT_TRUE(router->setWeight(5));
  auto created = get(kube::resources::kIngresses, "web-web-canary");
  EXPECT_STREQ(
      created["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"].GetString(),
      "5");

  // Another client's annotation survives the router's merge patches.
  auto other =
      client_->patch(kube::resources::kIngresses, "shop", "web-web-canary", kube::PatchType::kMerge,
                     R"({"metadata":{"annotations":{"example.com/audited":"yes"}}})");
  ASSERT_TRUE(other) << other.error().message;
  // The next reconcile's router (a router reads each Ingress once).
  router = std::move(*factory.newRouter(RouterTarget{rollout, "", ""}));
  ASSERT_TRUE(router->setWeight(50));
  ASSERT_TRUE(router->setHeaderRoute(headerRoute("beta", "X-Canary", "always")));
  auto withHeader = get(kube::resources::kIngresses, "web-web-canary");
  EXPECT_STREQ(withHeader["metadata"]["annotations"]["example.com/audited"].GetString(), "yes");
  withHeader["metadata"]["annotations"].RemoveMember("example.com/audited");
  // What the API stores is the golden object (server fields aside).
  rapidjson::Document expected = api::cloneDocument(withHeader);
  expected["metadata"]["ownerReferences"][0]["uid"].SetString("r-uid");
  for (const char* f : {"managedFields", "generation", "creationTimestamp"})
    expected["metadata"].RemoveMember(f);
  expected.RemoveMember("status");
  expectGolden(expected, "nginx-weight-50-header.yaml");

  ASSERT_TRUE(router->setWeight(0));
  ASSERT_TRUE(router->removeManagedRoutes());
  auto done = get(kube::resources::kIngresses, "web-web-canary");
  EXPECT_STREQ(
      done["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"].GetString(),
      "0");
  EXPECT_FALSE(
      done["metadata"]["annotations"].HasMember("nginx.ingress.kubernetes.io/canary-by-header"));
  EXPECT_STREQ(done["metadata"]["annotations"]["example.com/audited"].GetString(), "yes");
}

TEST_F(KubeTrafficClientsTest, GatewayRouterThroughTheApi) {
  create(kube::resources::kHttpRoutes, "shop", readTestdata("gateway-httproute.yaml"));
  api::Rollout rollout = gatewayRollout();
  RouterFactory factory(*clients_, *clients_);
  auto router = std::move(*factory.newRouter(RouterTarget{rollout, "", ""}));
  ASSERT_TRUE(router->setWeight(50));
  ASSERT_TRUE(router->setHeaderRoute(headerRoute("beta", "X-Canary", "always")));
  EXPECT_EQ(router->verifyWeight(50), true);
  rapidjson::Document route = get(kube::resources::kHttpRoutes, "web");
  for (const char* f : {"managedFields", "generation", "creationTimestamp"})
    route["metadata"].RemoveMember(f);
  route.RemoveMember("status");
  expectGolden(route, "gateway-weight-50-header.yaml");
  ASSERT_TRUE(router->setWeight(0));
  ASSERT_TRUE(router->removeManagedRoutes());
  route = get(kube::resources::kHttpRoutes, "web");
  for (const char* f : {"managedFields", "generation", "creationTimestamp"})
    route["metadata"].RemoveMember(f);
  route.RemoveMember("status");
  expectGolden(route, "gateway-weight-0.yaml");
}

TEST_F(KubeTrafficClientsTest, AStaleResourceVersionIsAConflict) {
  create(kube::resources::kHttpRoutes, "shop", readTestdata("gateway-httproute.yaml"));
  auto route = clients_->getHttpRoute("shop", "web");
  ASSERT_TRUE(route);
  std::string rv = kube::stringAt(*route, "metadata.resourceVersion").data();
  auto first = clients_->patchHttpRoute(
      "shop", "web", R"({"metadata":{"resourceVersion":")" + rv + R"(","labels":{"a":"1"}}})");
  ASSERT_TRUE(first) << first.error().message;
  auto second = clients_->patchHttpRoute(
      "shop", "web", R"({"metadata":{"resourceVersion":")" + rv + R"(","labels":{"a":"2"}}})");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().kind, ClientError::Kind::kConflict) << second.error().message;

  auto missing = clients_->getIngress("shop", "nothing");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ClientError::Kind::kNotFound);
  create(kube::resources::kIngresses, "shop", readTestdata("nginx-stable-ingress.yaml"));
  auto ingress = api::parseManifests(readTestdata("nginx-stable-ingress.yaml"));
  auto taken = clients_->createIngress("shop", (*ingress)[0]);
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().kind, ClientError::Kind::kConflict);
}

}  // namespace
}  // namespace canaryd::traffic::testing
