// The factory: one router per trafficRouting kind, invalid combinations refused, and the
// objects trafficRouting names checked before a router is handed out.
#include "traffic/factory.h"

#include <gtest/gtest.h>

#include "fake_clients.h"
#include "golden.h"
#include "test_rollouts.h"

namespace canaryd::traffic::testing {
namespace {

TEST(RouterFactoryTest, ChoosesTheRouterFromTheSpec) {
  FakeApi api;
  api.seed(readTestdata("nginx-stable-ingress.yaml"));
  api.seed(readTestdata("gateway-httproute.yaml"));
  RouterFactory factory(api, api);
  api::Rollout nginx = nginxRollout();
  auto n = factory.newRouter(RouterTarget{nginx, "", ""});
  ASSERT_TRUE(n);
  EXPECT_EQ((*n)->type(), "nginx");
  api::Rollout gateway = gatewayRollout();
  auto g = factory.newRouter(RouterTarget{gateway, "", ""});
  ASSERT_TRUE(g);
  EXPECT_EQ((*g)->type(), "gatewayAPI");
  EXPECT_TRUE(api.writes.empty());
}

TEST(RouterFactoryTest, RefusesSpecsWithNoOrTwoRouters) {
  FakeApi api;
  RouterFactory factory(api, api);
  api::Rollout both = nginxRollout();
  both.spec.strategy.canary->trafficRouting->gatewayAPI =
      gatewayRollout().spec.strategy.canary->trafficRouting->gatewayAPI;
  auto b = factory.newRouter(RouterTarget{both, "", ""});
  ASSERT_FALSE(b);
  EXPECT_TRUE(b.error().invalidSpec);

  api::Rollout none = nginxRollout();
  none.spec.strategy.canary->trafficRouting->nginx.reset();
  auto n = factory.newRouter(RouterTarget{none, "", ""});
  ASSERT_FALSE(n);
  EXPECT_TRUE(n.error().invalidSpec);
  EXPECT_NE(n.error().message.find("shop/web"), std::string::npos);

  api::Rollout noService = gatewayRollout();
  noService.spec.strategy.canary->canaryService.clear();
  ASSERT_FALSE(factory.newRouter(RouterTarget{noService, "", ""}));

  api::Rollout plain = nginxRollout();
  plain.spec.strategy.canary->trafficRouting.reset();
  ASSERT_FALSE(factory.newRouter(RouterTarget{plain, "", ""}));
}

// newRouter fails with invalidSpec, naming the object, and writes nothing.
void expectInvalid(RouterFactory& factory, const api::Rollout& rollout, const FakeApi& api,
                   const std::string& named) {
  auto r = factory.newRouter(RouterTarget{rollout, "stablehash", "canaryhash"});
  ASSERT_FALSE(r) << named;
  EXPECT_TRUE(r.error().invalidSpec) << r.error().message;
  EXPECT_NE(r.error().message.find(named), std::string::npos) << r.error().message;
  EXPECT_TRUE(api.writes.empty());
}

TEST(RouterFactoryTest, NginxReferencesAreCheckedBeforeAnyWrite) {
  FakeApi api;
  RouterFactory factory(api, api);
  api::Rollout rollout = nginxRollout();
  expectInvalid(factory, rollout, api, "Ingress shop/web");

  api.seed(readTestdata("nginx-stable-ingress.yaml"));
  api::Rollout noPath = nginxRollout();
  noPath.spec.strategy.canary->stableService = "nobody";
  expectInvalid(factory, noPath, api,
                "Ingress shop/web has no path whose backend is Service nobody");

  // A canary Ingress of the canary name that another owner controls is left alone.
  api.seed(R"({"apiVersion":"networking.k8s.io/v1","kind":"Ingress",
    "metadata":{"name":"web-web-canary","namespace":"shop","ownerReferences":[{
      "apiVersion":"v1","kind":"ConfigMap","name":"other","uid":"other-uid","controller":true}]},
    "spec":{"rules":[{"host":"web.example.com"}]}})");
  expectInvalid(factory, rollout, api, "Ingress shop/web-web-canary");

  api.failNext = ClientError{ClientError::Kind::kOther, "connection refused"};
  auto transient = factory.newRouter(RouterTarget{rollout, "", ""});
  ASSERT_FALSE(transient);
  EXPECT_FALSE(transient.error().invalidSpec);
}

TEST(RouterFactoryTest, GatewayReferencesAreCheckedBeforeAnyWrite) {
  FakeApi api;
  RouterFactory factory(api, api);
  api::Rollout rollout = gatewayRollout();
  expectInvalid(factory, rollout, api, "HTTPRoute shop/web");

  api.seed(readTestdata("gateway-httproute.yaml"));
  ASSERT_TRUE(factory.newRouter(RouterTarget{rollout, "", ""}));
  api::Rollout noBackend = gatewayRollout();
  noBackend.spec.strategy.canary->stableService = "nobody";
  expectInvalid(factory, noBackend, api,
                "HTTPRoute shop/web has no rule with a backendRef to Service nobody");
  api::Rollout noRule = gatewayRollout();
  noRule.spec.strategy.canary->trafficRouting->gatewayAPI->managedRoutes = {"absent"};
  expectInvalid(factory, noRule, api, "HTTPRoute shop/web has no rule named absent");
}

TEST(RouterFactoryTest, WithoutTheCheckNothingIsReadUntilARouteChanges) {
  FakeApi api;
  RouterFactory factory(api, api);
  for (api::Rollout rollout : {nginxRollout(), gatewayRollout()}) {
    RouterTarget target{rollout, "stablehash", "", /*checkReferences=*/false};
    auto lazy = factory.newRouter(target);
    ASSERT_TRUE(lazy);
    EXPECT_TRUE(api.reads.empty());
    // The objects are missing: the first write still finds out, names them, writes nothing.
    auto r = (*lazy)->setWeight(5);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().invalidSpec);
    EXPECT_NE(r.error().message.find(rollout.spec.strategy.canary->trafficRouting->nginx
                                         ? "Ingress shop/web"
                                         : "HTTPRoute shop/web"),
              std::string::npos)
        << r.error().message;
    EXPECT_TRUE(api.writes.empty());
    api.reads.clear();
  }

  // With the objects there, a lazy router reads each one once, when it first needs it.
  api.seed(readTestdata("nginx-stable-ingress.yaml"));
  api::Rollout rollout = nginxRollout();
  auto lazy = std::move(*factory.newRouter(RouterTarget{rollout, "", "", false}));
  EXPECT_TRUE(api.reads.empty());
  ASSERT_TRUE(lazy->setWeight(5));
  ASSERT_TRUE(lazy->setWeight(10));
  EXPECT_EQ(api.reads, (std::vector<std::string>{"Ingress web", "Ingress web-web-canary"}));
}

TEST(RouterFactoryTest, TheCheckSharesItsReadsWithTheWrites) {
  FakeApi api;
  api.seed(readTestdata("nginx-stable-ingress.yaml"));
  RouterFactory factory(api, api);
  api::Rollout rollout = nginxRollout();
  auto router = std::move(*factory.newRouter(RouterTarget{rollout, "stablehash", "canaryhash"}));
  EXPECT_EQ(api.reads, (std::vector<std::string>{"Ingress web", "Ingress web-web-canary"}));
  ASSERT_TRUE(router->setWeight(5));
  ASSERT_TRUE(router->setHeaderRoute(headerRoute("beta", "X-Canary", "always")));
  EXPECT_EQ(api.reads.size(), 2u);
  EXPECT_EQ(api.writes.size(), 2u);
}

}  // namespace
}  // namespace canaryd::traffic::testing
