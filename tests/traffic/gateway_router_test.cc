// The Gateway API router against an in-memory API: the exact HTTPRoute for each step
// (golden files), header rules, promotion and abort, rules canaryd does not manage,
// concurrent edits and bad input.
#include "traffic/gateway/gateway_router.h"

#include <gtest/gtest.h>

#include "api/json.h"
#include "fake_clients.h"
#include "golden.h"
#include "test_rollouts.h"
#include "traffic/factory.h"

namespace canaryd::traffic::testing {
namespace {

class GatewayRouterTest : public ::testing::Test {
 protected:
  void SetUp() override { api.seed(readTestdata("gateway-httproute.yaml")); }

  // The router itself, not through the factory: the factory refuses the bad input some
  // tests give the router (factory_test.cc).
  std::unique_ptr<TrafficRouter> router() {
    return std::make_unique<GatewayRouter>(RouterTarget{rollout, "stablehash", "canaryhash"}, api);
  }

  rapidjson::Document route() {
    auto doc = api.object("HTTPRoute", "shop", "web");
    EXPECT_TRUE(doc);
    return doc ? std::move(*doc) : rapidjson::Document(rapidjson::kObjectType);
  }

  // The rule named `name` as compact JSON with sorted keys ("" when there is none).
  std::string rule(const rapidjson::Value& r, std::string_view name) {
    for (const auto& rule : r["spec"]["rules"].GetArray()) {
      if (rule.HasMember("name") && rule["name"].GetString() == name) {
        rapidjson::Document d = api::cloneDocument(rule);
        api::sortKeys(d);
        return api::toJson(d);
      }
    }
    return "";
  }

  FakeApi api;
  api::Rollout rollout = gatewayRollout();
};

TEST_F(GatewayRouterTest, EachStepProducesTheGoldenHttpRoute) {
  auto r = router();
  EXPECT_EQ(r->type(), "gatewayAPI");
  const std::string admin = rule(route(), "admin");
  ASSERT_TRUE(r->setWeight(5));
  expectGolden(route(), "gateway-weight-5.yaml");
  EXPECT_EQ(r->verifyWeight(5), true);
  EXPECT_EQ(r->verifyWeight(50), false);
  ASSERT_TRUE(r->setWeight(50));
  expectGolden(route(), "gateway-weight-50.yaml");
  ASSERT_TRUE(r->setHeaderRoute(headerRoute("beta", "X-Canary", "always")));
  expectGolden(route(), "gateway-weight-50-header.yaml");
  EXPECT_EQ(r->verifyWeight(50), true);
  api::SetHeaderRouteStep off;
  off.name = "beta";
  ASSERT_TRUE(r->setHeaderRoute(off));
  expectGolden(route(), "gateway-weight-50.yaml");

  // Promotion: weight 0, then header rules removed.
  ASSERT_TRUE(r->setHeaderRoute(headerRoute("beta", "X-Canary", "always")));
  ASSERT_TRUE(r->setWeight(0));
  ASSERT_TRUE(r->removeManagedRoutes());
  expectGolden(route(), "gateway-weight-0.yaml");
  EXPECT_EQ(r->verifyWeight(0), true);
  // The rule canaryd does not manage is byte-for-byte what the user wrote.
  EXPECT_EQ(rule(route(), "admin"), admin);
}

TEST_F(GatewayRouterTest, AbortSetsWeightZeroWithHeaderRulesStillFirstThenRemovesThem) {
  auto r = router();
  ASSERT_TRUE(r->setWeight(50));
  ASSERT_TRUE(r->setHeaderRoute(headerRoute("beta", "X-Canary", "always")));
  ASSERT_TRUE(r->setWeight(0));
  auto mid = route();
  EXPECT_STREQ(mid["metadata"]["annotations"]["canaryd.io/header-routes"].GetString(),
               R"({"web/beta":[0,1]})");
  EXPECT_EQ(r->verifyWeight(0), true);
  ASSERT_TRUE(r->removeManagedRoutes());
  expectGolden(route(), "gateway-weight-0.yaml");
}

TEST_F(GatewayRouterTest, RepeatedStepsWriteNothing) {
  auto r = router();
  ASSERT_TRUE(r->setWeight(5));
  ASSERT_TRUE(r->setHeaderRoute(headerRoute("beta", "X-Canary", "always")));
  size_t writes = api.writes.size();
  ASSERT_TRUE(r->setWeight(5));
  ASSERT_TRUE(router()->setHeaderRoute(headerRoute("beta", "X-Canary", "always")));
  EXPECT_EQ(api.writes.size(), writes);
  ASSERT_TRUE(r->removeManagedRoutes());
  writes = api.writes.size();
  ASSERT_TRUE(r->removeManagedRoutes());
  EXPECT_EQ(api.writes.size(), writes);
}

TEST_F(GatewayRouterTest, NamedHeaderRoutesAreRemovedByName) {
  auto r = router();
  ASSERT_TRUE(r->setWeight(10));
  ASSERT_TRUE(r->setHeaderRoute(headerRoute("beta", "X-Canary", "always")));
  ASSERT_TRUE(r->setHeaderRoute(
      headerRoute("staff", "X-User", "^staff-.*$", api::StringMatch::Kind::kRegex)));
  auto both = route();
  EXPECT_EQ(both["spec"]["rules"].Size(), 7u);
  EXPECT_STREQ(both["metadata"]["annotations"]["canaryd.io/header-routes"].GetString(),
               R"({"web/beta":[0,1],"web/staff":[2,3]})");
  EXPECT_STREQ(both["spec"]["rules"][2]["matches"][0]["headers"][0]["type"].GetString(),
               "RegularExpression");
  api::SetHeaderRouteStep off;
  off.name = "beta";
  ASSERT_TRUE(r->setHeaderRoute(off));
  auto one = route();
  EXPECT_EQ(one["spec"]["rules"].Size(), 5u);
  EXPECT_STREQ(one["metadata"]["annotations"]["canaryd.io/header-routes"].GetString(),
               R"({"web/staff":[0,1]})");
  EXPECT_EQ(r->verifyWeight(10), true);
  ASSERT_TRUE(r->removeManagedRoutes());
  EXPECT_EQ(route()["spec"]["rules"].Size(), 3u);
  EXPECT_FALSE(route()["metadata"]["annotations"].HasMember("canaryd.io/header-routes"));
  EXPECT_STREQ(route()["metadata"]["annotations"]["example.com/owner"].GetString(), "team-web");
}

TEST_F(GatewayRouterTest, AnotherRolloutsHeaderRulesOnTheSameRouteAreKept) {
  auto r = router();
  ASSERT_TRUE(r->setHeaderRoute(headerRoute("beta", "X-Canary", "always")));
  // A second Rollout (api) with its own Services on the same route.
  api::Rollout other = gatewayRollout();
  other.metadata.name = "api";
  other.metadata.uid = "api-uid";
  // The user adds a rule for the api Services.
  rapidjson::Document rules = api::cloneDocument(route()["spec"]["rules"]);
  auto added =
      api::parseJson(R"({"name":"apis","matches":[{"path":{"type":"PathPrefix",)"
                     R"("value":"/v2"}}],"backendRefs":[{"name":"api-stable","port":80}]})");
  ASSERT_TRUE(added);
  rules.PushBack(rapidjson::Value(*added, rules.GetAllocator()), rules.GetAllocator());
  api.externalPatch("HTTPRoute", "shop", "web", R"({"spec":{"rules":)" + api::toJson(rules) + "}}");
  other.spec.strategy.canary->stableService = "api-stable";
  other.spec.strategy.canary->canaryService = "api-canary";
  RouterFactory factory(api, api);
  // One router per reconcile: each reads the route once, so a later reconcile's router
  // sees the other Rollout's writes.
  auto otherRouter = [&] { return std::move(*factory.newRouter(RouterTarget{other, "", ""})); };
  ASSERT_TRUE(otherRouter()->setHeaderRoute(headerRoute("b", "X-Api", "1")));
  auto got = route();
  EXPECT_STREQ(got["metadata"]["annotations"]["canaryd.io/header-routes"].GetString(),
               R"({"api/b":[0],"web/beta":[1,2]})");
  // The first router still holds the route as it wrote it: its write is refused, never
  // lost, and the next reconcile's router succeeds.
  auto stale = r->removeManagedRoutes();
  ASSERT_FALSE(stale);
  EXPECT_FALSE(stale.error().invalidSpec);
  ASSERT_TRUE(router()->removeManagedRoutes());
  got = route();
  EXPECT_STREQ(got["metadata"]["annotations"]["canaryd.io/header-routes"].GetString(),
               R"({"api/b":[0]})");
  EXPECT_STREQ(got["spec"]["rules"][0]["backendRefs"][0]["name"].GetString(), "api-canary");
  EXPECT_EQ(got["spec"]["rules"].Size(), 5u);
  // Each Rollout weights only the rules with its own stable Service.
  ASSERT_TRUE(router()->setWeight(20));
  ASSERT_TRUE(otherRouter()->setWeight(70));
  got = route();
  EXPECT_EQ(rule(got, "main"),
            R"({"backendRefs":[{"name":"web-stable","port":80,"weight":80},)"
            R"({"name":"web-canary","port":80,"weight":20}],"matches":[{"path":{"type":)"
            R"("PathPrefix","value":"/"}}],"name":"main"})");
  EXPECT_EQ(rule(got, "apis"),
            R"({"backendRefs":[{"name":"api-stable","port":80,"weight":30},)"
            R"({"name":"api-canary","port":80,"weight":70}],"matches":[{"path":{"type":)"
            R"("PathPrefix","value":"/v2"}}],"name":"apis"})");
  EXPECT_EQ(router()->verifyWeight(20), true);
  EXPECT_EQ(otherRouter()->verifyWeight(70), true);
}

TEST_F(GatewayRouterTest, ManagedRoutesLimitTheRulesByName) {
  rollout.spec.strategy.canary->trafficRouting->gatewayAPI->managedRoutes = {"api"};
  auto r = router();
  const std::string main = rule(route(), "main");
  ASSERT_TRUE(r->setWeight(30));
  auto got = route();
  EXPECT_EQ(rule(got, "main"), main);
  EXPECT_EQ(rule(got, "api"),
            R"({"backendRefs":[{"name":"web-stable","port":80,"weight":70},)"
            R"({"name":"web-canary","port":80,"weight":30}],"filters":[{"requestHeaderModifier":)"
            R"({"add":[{"name":"X-From","value":"gateway"}]},"type":"RequestHeaderModifier"}],)"
            R"("matches":[{"headers":[{"name":"X-Canary","value":"ignored"},{"name":"X-Tenant",)"
            R"("value":"shop"}],"path":{"type":"PathPrefix","value":"/api"}}],"name":"api"})");
  EXPECT_EQ(r->verifyWeight(30), true);

  rollout.spec.strategy.canary->trafficRouting->gatewayAPI->managedRoutes = {"api", "missing"};
  auto missing = router()->setWeight(30);
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().invalidSpec);
  EXPECT_NE(missing.error().message.find("missing"), std::string::npos);
  rollout.spec.strategy.canary->trafficRouting->gatewayAPI->managedRoutes = {"admin"};
  auto admin = router()->setWeight(30);
  ASSERT_FALSE(admin);
  EXPECT_TRUE(admin.error().invalidSpec);
}

TEST_F(GatewayRouterTest, MaxTrafficWeightIsTheSum) {
  rollout.spec.strategy.canary->trafficRouting->maxTrafficWeight = 1000;
  auto r = router();
  ASSERT_TRUE(r->setWeight(25));
  auto got = route();
  const auto& refs = got["spec"]["rules"][0]["backendRefs"];
  EXPECT_EQ(refs[0]["weight"].GetInt(), 975);
  EXPECT_EQ(refs[1]["weight"].GetInt(), 25);
  EXPECT_EQ(r->verifyWeight(25), true);
  auto above = r->setWeight(1001);
  ASSERT_FALSE(above);
  EXPECT_TRUE(above.error().invalidSpec);
}

TEST_F(GatewayRouterTest, AConcurrentEditIsAConflictNotALostUpdate) {
  auto r = router();
  api.beforePatch = [&] {
    api.beforePatch = nullptr;
    api.externalPatch("HTTPRoute", "shop", "web", R"({"spec":{"hostnames":["web.example.org"]}})");
  };
  size_t writes = api.writes.size();
  auto result = r->setWeight(5);
  ASSERT_FALSE(result);
  EXPECT_FALSE(result.error().invalidSpec);
  EXPECT_NE(result.error().message.find("Conflict"), std::string::npos);
  EXPECT_EQ(api.writes.size(), writes + 1);
  auto precondition = api::parseJson(api.writes.back().body);
  ASSERT_TRUE(precondition);
  EXPECT_TRUE((*precondition)["metadata"].HasMember("resourceVersion"));
  // The retry (the next reconcile) keeps the other edit.
  ASSERT_TRUE(r->setWeight(5));
  EXPECT_STREQ(route()["spec"]["hostnames"][0].GetString(), "web.example.org");
  EXPECT_EQ(r->verifyWeight(5), true);
}

TEST_F(GatewayRouterTest, BadInputNamesTheRouteAndWritesNothing) {
  rollout.spec.strategy.canary->stableService = "nobody";
  auto none = router()->setWeight(5);
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().invalidSpec);
  EXPECT_NE(none.error().message.find("HTTPRoute shop/web"), std::string::npos);
  EXPECT_NE(none.error().message.find("nobody"), std::string::npos);
  EXPECT_EQ(router()->verifyWeight(5), false);

  rollout = gatewayRollout();
  rollout.spec.strategy.canary->trafficRouting->gatewayAPI->httpRoute = "gone";
  auto missing = router()->setWeight(5);
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().invalidSpec);
  EXPECT_NE(missing.error().message.find("HTTPRoute shop/gone"), std::string::npos);
  EXPECT_TRUE(router()->removeManagedRoutes());
  EXPECT_EQ(router()->verifyWeight(0), false);

  rollout = gatewayRollout();
  api::SetHeaderRouteStep cookie;
  cookie.name = "c";
  cookie.cookie = "canary";
  auto c = router()->setHeaderRoute(cookie);
  ASSERT_FALSE(c);
  EXPECT_TRUE(c.error().invalidSpec);
  auto prefix =
      router()->setHeaderRoute(headerRoute("p", "X-A", "a", api::StringMatch::Kind::kPrefix));
  ASSERT_FALSE(prefix);
  EXPECT_TRUE(prefix.error().invalidSpec);
  EXPECT_TRUE(api.writes.empty());
}

TEST_F(GatewayRouterTest, TheRouteIsReadOncePerRouter) {
  RouterFactory factory(api, api);
  auto r = std::move(*factory.newRouter(RouterTarget{rollout, "stablehash", "canaryhash"}));
  EXPECT_EQ(api.reads, std::vector<std::string>{"HTTPRoute web"});  // the reference check
  ASSERT_TRUE(r->setWeight(5));
  EXPECT_EQ(r->verifyWeight(5), true);
  ASSERT_TRUE(r->setHeaderRoute(headerRoute("beta", "X-Canary", "always")));
  ASSERT_TRUE(r->setWeight(0));
  ASSERT_TRUE(r->removeManagedRoutes());
  EXPECT_EQ(r->verifyWeight(0), true);
  EXPECT_EQ(api.reads, std::vector<std::string>{"HTTPRoute web"});
  EXPECT_EQ(api.writes.size(), 4u);
  expectGolden(route(), "gateway-weight-0.yaml");
}

}  // namespace
}  // namespace canaryd::traffic::testing
