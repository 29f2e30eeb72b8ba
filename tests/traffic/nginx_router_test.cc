// The nginx router against an in-memory API: the exact canary Ingress for each step
// (golden files), header routes, promotion and abort, annotations of other controllers,
// foreign Ingresses and bad input.
#include "traffic/nginx/nginx_router.h"

#include <gtest/gtest.h>

#include "api/json.h"
#include "fake_clients.h"
#include "golden.h"
#include "test_rollouts.h"

namespace canaryd::traffic::testing {
namespace {

class NginxRouterTest : public ::testing::Test {
 protected:
  void SetUp() override { api.seed(readTestdata("nginx-stable-ingress.yaml")); }

  // The router itself, not through the factory: the factory refuses the bad input some
  // tests give the router (factory_test.cc).
  std::unique_ptr<TrafficRouter> router() {
    return std::make_unique<NginxRouter>(RouterTarget{rollout, "stablehash", "canaryhash"}, api);
  }

  rapidjson::Document canary(const std::string& name = "web-web-canary") {
    auto doc = api.object("Ingress", "shop", name);
    EXPECT_TRUE(doc) << name;
    return doc ? std::move(*doc) : rapidjson::Document(rapidjson::kObjectType);
  }

  std::string annotation(const rapidjson::Value& ingress, const char* key) {
    const auto& a = ingress["metadata"]["annotations"];
    return a.HasMember(key) ? a[key].GetString() : "<absent>";
  }

  FakeApi api;
  api::Rollout rollout = nginxRollout();
};

TEST_F(NginxRouterTest, EachStepProducesTheGoldenCanaryIngress) {
  auto r = router();
  EXPECT_EQ(r->type(), "nginx");
  ASSERT_TRUE(r->setWeight(5));
  expectGolden(canary(), "nginx-weight-5.yaml");
  ASSERT_TRUE(r->setWeight(50));
  expectGolden(canary(), "nginx-weight-50.yaml");
  ASSERT_TRUE(r->setHeaderRoute(headerRoute("beta", "X-Canary", "always")));
  expectGolden(canary(), "nginx-weight-50-header.yaml");
  api::SetHeaderRouteStep off;
  off.name = "beta";
  ASSERT_TRUE(r->setHeaderRoute(off));
  expectGolden(canary(), "nginx-weight-50.yaml");

  // Promotion: the reconciler repoints the stable Service, then weight 0, then routes go.
  ASSERT_TRUE(r->setHeaderRoute(headerRoute("beta", "X-Canary", "always")));
  ASSERT_TRUE(r->setWeight(0));
  ASSERT_TRUE(r->removeManagedRoutes());
  expectGolden(canary(), "nginx-weight-0.yaml");
  // The stable Ingress is never written.
  for (const auto& w : api.writes) EXPECT_EQ(w.name, "web-web-canary") << w.body;
  EXPECT_EQ(r->verifyWeight(0), std::nullopt);
}

TEST_F(NginxRouterTest, AbortSetsWeightZeroThenRemovesRoutesLeavingTheSameObject) {
  auto r = router();
  ASSERT_TRUE(r->setWeight(50));
  ASSERT_TRUE(r->setHeaderRoute(headerRoute("beta", "X-Canary", "always")));
  size_t before = api.writes.size();
  ASSERT_TRUE(r->setWeight(0));
  ASSERT_EQ(api.writes.size(), before + 1);
  // Weight first, one patch; the header route is still there until removeManagedRoutes.
  auto patch = api::parseJson(api.writes.back().body);
  ASSERT_TRUE(patch);
  EXPECT_EQ(
      std::string((*patch)["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"]
                      .GetString()),
      "0");
  EXPECT_EQ(annotation(canary(), "nginx.ingress.kubernetes.io/canary-by-header"), "X-Canary");
  ASSERT_TRUE(r->removeManagedRoutes());
  expectGolden(canary(), "nginx-weight-0.yaml");
}

TEST_F(NginxRouterTest, RepeatedStepsWriteNothing) {
  auto r = router();
  ASSERT_TRUE(r->setWeight(5));
  ASSERT_TRUE(r->setHeaderRoute(headerRoute("beta", "X-Canary", "always")));
  size_t writes = api.writes.size();
  ASSERT_TRUE(r->setWeight(5));
  ASSERT_TRUE(r->setHeaderRoute(headerRoute("beta", "X-Canary", "always")));
  ASSERT_TRUE(router()->setWeight(5));
  EXPECT_EQ(api.writes.size(), writes);
  ASSERT_TRUE(r->removeManagedRoutes());
  writes = api.writes.size();
  ASSERT_TRUE(r->removeManagedRoutes());
  EXPECT_EQ(api.writes.size(), writes);
}

TEST_F(NginxRouterTest, AnotherControllersAnnotationsSurviveEveryUpdate) {
  ASSERT_TRUE(router()->setWeight(5));
  api.externalPatch("Ingress", "shop", "web-web-canary",
                    R"({"metadata":{"annotations":{"example.com/audited":"yes",)"
                    R"("nginx.ingress.kubernetes.io/proxy-buffering":"off"}}})");
  // The next reconcile (a router reads each Ingress once, so a new one sees the edit).
  auto r = router();
  ASSERT_TRUE(r->setWeight(50));
  ASSERT_TRUE(r->setHeaderRoute(headerRoute("beta", "X-Canary", "always")));
  ASSERT_TRUE(r->removeManagedRoutes());
  ASSERT_TRUE(r->setWeight(0));
  auto got = canary();
  EXPECT_EQ(annotation(got, "example.com/audited"), "yes");
  EXPECT_EQ(annotation(got, "nginx.ingress.kubernetes.io/proxy-buffering"), "off");
  EXPECT_EQ(annotation(got, "nginx.ingress.kubernetes.io/canary-weight"), "0");
  // Never a whole annotations map: each patch names only canaryd's keys.
  for (const auto& w : api.writes) EXPECT_EQ(w.body.find("audited"), std::string::npos) << w.body;
}

TEST_F(NginxRouterTest, AForeignIngressWithTheCanaryNameIsLeftAlone) {
  api.seed(R"({"apiVersion":"networking.k8s.io/v1","kind":"Ingress",
    "metadata":{"name":"web-web-canary","namespace":"shop",
      "ownerReferences":[{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","name":"web",
        "uid":"argo-uid","controller":true}]},
    "spec":{"rules":[{"host":"other.example.com"}]}})");
  auto before = canary();
  auto r = router();
  auto result = r->setWeight(5);
  ASSERT_FALSE(result);
  EXPECT_TRUE(result.error().invalidSpec);
  EXPECT_NE(result.error().message.find("Ingress shop/web-web-canary"), std::string::npos)
      << result.error().message;
  auto header = r->setHeaderRoute(headerRoute("beta", "X-Canary", "always"));
  ASSERT_FALSE(header);
  EXPECT_TRUE(header.error().invalidSpec);
  EXPECT_TRUE(r->removeManagedRoutes());
  EXPECT_TRUE(api.writes.empty());
  EXPECT_TRUE(canary() == before);
}

TEST_F(NginxRouterTest, HeaderRouteKinds) {
  auto r = router();
  ASSERT_TRUE(r->setWeight(10));
  ASSERT_TRUE(r->setHeaderRoute(
      headerRoute("re", "X-User", "^(alice|bob)$", api::StringMatch::Kind::kRegex)));
  auto got = canary();
  EXPECT_EQ(annotation(got, "nginx.ingress.kubernetes.io/canary-by-header"), "X-User");
  EXPECT_EQ(annotation(got, "nginx.ingress.kubernetes.io/canary-by-header-pattern"),
            "^(alice|bob)$");
  EXPECT_EQ(annotation(got, "nginx.ingress.kubernetes.io/canary-by-header-value"), "<absent>");
  EXPECT_EQ(annotation(got, "canaryd.io/header-route"), "re");

  // A new step replaces the route; the exact value replaces the pattern.
  api::SetHeaderRouteStep cookie = headerRoute("both", "X-User", "carol");
  cookie.cookie = "canary";
  ASSERT_TRUE(r->setHeaderRoute(cookie));
  got = canary();
  EXPECT_EQ(annotation(got, "nginx.ingress.kubernetes.io/canary-by-header-value"), "carol");
  EXPECT_EQ(annotation(got, "nginx.ingress.kubernetes.io/canary-by-header-pattern"), "<absent>");
  EXPECT_EQ(annotation(got, "nginx.ingress.kubernetes.io/canary-by-cookie"), "canary");
  EXPECT_EQ(annotation(got, "nginx.ingress.kubernetes.io/canary-weight"), "10");

  // Removing a route of another name changes nothing; of this name removes it all.
  api::SetHeaderRouteStep off;
  off.name = "re";
  size_t writes = api.writes.size();
  ASSERT_TRUE(r->setHeaderRoute(off));
  EXPECT_EQ(api.writes.size(), writes);
  off.name = "both";
  ASSERT_TRUE(r->setHeaderRoute(off));
  got = canary();
  for (const char* k : {"canary-by-header", "canary-by-header-value", "canary-by-header-pattern",
                        "canary-by-cookie"})
    EXPECT_EQ(annotation(got, ("nginx.ingress.kubernetes.io/" + std::string(k)).c_str()),
              "<absent>");
  EXPECT_EQ(annotation(got, "canaryd.io/header-route"), "<absent>");

  api::SetHeaderRouteStep two = headerRoute("two", "A", "1");
  two.match.push_back({"B", {api::StringMatch::Kind::kExact, "2"}});
  auto bad = r->setHeaderRoute(two);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().invalidSpec);
  auto prefix = r->setHeaderRoute(headerRoute("p", "A", "x", api::StringMatch::Kind::kPrefix));
  ASSERT_FALSE(prefix);
  EXPECT_TRUE(prefix.error().invalidSpec);
}

TEST_F(NginxRouterTest, AHeaderRouteBeforeAnyWeightCreatesTheCanaryIngressAtTheToldWeight) {
  rollout.status.canaryWeight = 0;
  auto r = router();
  ASSERT_TRUE(r->setHeaderRoute(headerRoute("beta", "X-Canary", "always")));
  auto got = canary();
  EXPECT_EQ(annotation(got, "nginx.ingress.kubernetes.io/canary-weight"), "0");
  EXPECT_EQ(annotation(got, "nginx.ingress.kubernetes.io/canary-by-header-value"), "always");
}

TEST_F(NginxRouterTest, MaxTrafficWeightAndLegacyClassAnnotation) {
  rollout.spec.strategy.canary->trafficRouting->maxTrafficWeight = 1000;
  api.externalPatch("Ingress", "shop", "web",
                    R"({"metadata":{"annotations":{"kubernetes.io/ingress.class":"nginx"}},)"
                    R"("spec":{"ingressClassName":null}})");
  auto r = router();
  ASSERT_TRUE(r->setWeight(25));
  auto got = canary();
  EXPECT_EQ(annotation(got, "nginx.ingress.kubernetes.io/canary-weight"), "25");
  EXPECT_EQ(annotation(got, "nginx.ingress.kubernetes.io/canary-weight-total"), "1000");
  EXPECT_EQ(annotation(got, "kubernetes.io/ingress.class"), "nginx");
  EXPECT_FALSE(got["spec"].HasMember("ingressClassName"));
  auto above = r->setWeight(1001);
  ASSERT_FALSE(above);
  EXPECT_TRUE(above.error().invalidSpec);
  EXPECT_NE(above.error().message.find("1001"), std::string::npos);

  // maxTrafficWeight removed: canary-weight-total goes with it.
  rollout.spec.strategy.canary->trafficRouting->maxTrafficWeight.reset();
  ASSERT_TRUE(router()->setWeight(25));
  EXPECT_EQ(annotation(canary(), "nginx.ingress.kubernetes.io/canary-weight-total"), "<absent>");
  ASSERT_FALSE(router()->setWeight(101));
  ASSERT_FALSE(router()->setWeight(-1));
}

TEST_F(NginxRouterTest, CustomAnnotationPrefix) {
  rollout.spec.strategy.canary->trafficRouting->nginx->annotationPrefix = "custom.nginx.org";
  ASSERT_TRUE(router()->setWeight(5));
  auto got = canary();
  EXPECT_EQ(annotation(got, "custom.nginx.org/canary"), "true");
  EXPECT_EQ(annotation(got, "custom.nginx.org/canary-weight"), "5");
  EXPECT_EQ(annotation(got, "custom.nginx.org/proxy-read-timeout"), "30");
  EXPECT_EQ(annotation(got, "nginx.ingress.kubernetes.io/canary"), "<absent>");
}

TEST_F(NginxRouterTest, AMissingStableIngressIsInvalidAndNamed) {
  rollout.spec.strategy.canary->trafficRouting->nginx->stableIngress = "gone";
  auto result = router()->setWeight(5);
  ASSERT_FALSE(result);
  EXPECT_TRUE(result.error().invalidSpec);
  EXPECT_NE(result.error().message.find("Ingress shop/gone"), std::string::npos)
      << result.error().message;
  EXPECT_TRUE(api.writes.empty());
}

TEST_F(NginxRouterTest, AnIngressWithNoPathToTheStableServiceIsInvalid) {
  rollout.spec.strategy.canary->stableService = "nobody";
  auto result = router()->setWeight(5);
  ASSERT_FALSE(result);
  EXPECT_TRUE(result.error().invalidSpec);
  EXPECT_NE(result.error().message.find("Ingress shop/web"), std::string::npos);
  EXPECT_NE(result.error().message.find("nobody"), std::string::npos);
  EXPECT_TRUE(api.writes.empty());
}

TEST_F(NginxRouterTest, SeveralStableIngressesAreAllOrNothing) {
  api.seed(R"({"apiVersion":"networking.k8s.io/v1","kind":"Ingress",
    "metadata":{"name":"web-internal","namespace":"shop"},
    "spec":{"rules":[{"host":"web.internal","http":{"paths":[{"path":"/","pathType":"Prefix",
      "backend":{"service":{"name":"web-stable","port":{"number":80}}}}]}}]}})");
  api.seed(R"({"apiVersion":"networking.k8s.io/v1","kind":"Ingress",
    "metadata":{"name":"legacy","namespace":"shop"},
    "spec":{"rules":[{"host":"old.example.com","http":{"paths":[{"path":"/","pathType":"Prefix",
      "backend":{"service":{"name":"old","port":{"number":80}}}}]}}]}})");
  auto& n = *rollout.spec.strategy.canary->trafficRouting->nginx;
  n.stableIngress.clear();
  n.stableIngresses = {"web", "web-internal", "legacy"};
  auto bad = router()->setWeight(5);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("Ingress shop/legacy"), std::string::npos);
  EXPECT_TRUE(api.writes.empty());

  n.stableIngresses = {"web", "web-internal"};
  ASSERT_TRUE(router()->setWeight(5));
  EXPECT_EQ(annotation(canary("web-web-canary"), "nginx.ingress.kubernetes.io/canary-weight"), "5");
  auto internal = canary("web-web-internal-canary");
  EXPECT_EQ(annotation(internal, "nginx.ingress.kubernetes.io/canary-weight"), "5");
  EXPECT_EQ(
      std::string(internal["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
                      .GetString()),
      "web-canary");
}

TEST_F(NginxRouterTest, StableIngressChangesAreFollowed) {
  auto r = router();
  ASSERT_TRUE(r->setWeight(5));
  api.externalPatch("Ingress", "shop", "web",
                    R"({"spec":{"tls":null,"rules":[{"host":"new.example.com","http":{"paths":[)"
                    R"({"path":"/","pathType":"Prefix","backend":{"service":{"name":"web-stable",)"
                    R"("port":{"number":80}}}}]}}]}})");
  // The same router keeps what it read; the next reconcile's router follows the change.
  ASSERT_TRUE(r->setWeight(5));
  EXPECT_TRUE(canary()["spec"].HasMember("tls"));
  ASSERT_TRUE(router()->setWeight(5));
  auto got = canary();
  EXPECT_FALSE(got["spec"].HasMember("tls"));
  ASSERT_EQ(got["spec"]["rules"].Size(), 1u);
  EXPECT_EQ(std::string(got["spec"]["rules"][0]["host"].GetString()), "new.example.com");
}

TEST_F(NginxRouterTest, ConflictsAndApiFailuresAreTransient) {
  auto r = router();
  ASSERT_TRUE(r->setWeight(5));
  api.beforePatch = [&] {
    api.beforePatch = nullptr;
    api.externalPatch("Ingress", "shop", "web-web-canary",
                      R"({"metadata":{"annotations":{"example.com/x":"1"}}})");
  };
  auto conflict = r->setWeight(50);
  ASSERT_FALSE(conflict);
  EXPECT_FALSE(conflict.error().invalidSpec);
  EXPECT_NE(conflict.error().message.find("Conflict"), std::string::npos);
  EXPECT_EQ(annotation(canary(), "nginx.ingress.kubernetes.io/canary-weight"), "5");
  ASSERT_TRUE(r->setWeight(50));

  api.failNext = ClientError{ClientError::Kind::kForbidden, "ingresses is forbidden"};
  auto forbidden = r->setWeight(60);
  ASSERT_FALSE(forbidden);
  EXPECT_FALSE(forbidden.error().invalidSpec);
  EXPECT_NE(forbidden.error().message.find("forbidden"), std::string::npos);
}

TEST_F(NginxRouterTest, EachIngressIsReadOncePerRouter) {
  auto& n = *rollout.spec.strategy.canary->trafficRouting->nginx;
  api.seed(R"({"apiVersion":"networking.k8s.io/v1","kind":"Ingress",
    "metadata":{"name":"web-internal","namespace":"shop"},
    "spec":{"rules":[{"host":"web.internal","http":{"paths":[{"path":"/","pathType":"Prefix",
      "backend":{"service":{"name":"web-stable","port":{"number":80}}}}]}}]}})");
  n.stableIngresses = {"web-internal"};
  NginxRouter r(RouterTarget{rollout, "stablehash", "canaryhash"}, api);
  EXPECT_TRUE(api.reads.empty());
  // A reconcile's worth: the check, a weight, a header route, promotion.
  ASSERT_TRUE(r.checkReferences());
  ASSERT_TRUE(r.setWeight(5));
  ASSERT_TRUE(r.setHeaderRoute(headerRoute("beta", "X-Canary", "always")));
  ASSERT_TRUE(r.setWeight(0));
  ASSERT_TRUE(r.removeManagedRoutes());
  EXPECT_EQ(api.reads,
            (std::vector<std::string>{"Ingress web", "Ingress web-web-canary",
                                      "Ingress web-internal", "Ingress web-web-internal-canary"}));
  EXPECT_EQ(r.apiReads(), 4u);
  EXPECT_EQ(api.writes.size(), 8u);  // two creates, then three patches of each
  expectGolden(canary(), "nginx-weight-0.yaml");

  // A failed write forgets what was read, so that the retry reads it again.
  NginxRouter next(RouterTarget{rollout, "stablehash", "canaryhash"}, api);
  api.reads.clear();
  api.beforePatch = [&] {
    api.beforePatch = nullptr;
    api.externalPatch("Ingress", "shop", "web-web-canary",
                      R"({"metadata":{"annotations":{"example.com/x":"1"}}})");
  };
  ASSERT_FALSE(next.setWeight(20));
  ASSERT_TRUE(next.setWeight(20));
  EXPECT_EQ(api.reads, (std::vector<std::string>{
                           "Ingress web", "Ingress web-web-canary", "Ingress web-internal",
                           "Ingress web-web-internal-canary", "Ingress web-web-canary"}));
  EXPECT_EQ(annotation(canary(), "example.com/x"), "1");
}

TEST_F(NginxRouterTest, AMissingCanaryIngressIsReadOnceToo) {
  NginxRouter r(RouterTarget{rollout, "stablehash", "canaryhash"}, api);
  ASSERT_TRUE(r.removeManagedRoutes());  // NotFound: nothing to remove
  ASSERT_TRUE(r.checkReferences());
  ASSERT_TRUE(r.setWeight(5));
  EXPECT_EQ(api.reads, (std::vector<std::string>{"Ingress web-web-canary", "Ingress web"}));
  ASSERT_EQ(api.writes.size(), 1u);
  EXPECT_EQ(api.writes[0].verb, "create");
}

}  // namespace
}  // namespace canaryd::traffic::testing
