// The factory: one router per trafficRouting kind, invalid combinations refused.
#include "traffic/factory.h"

#include <gtest/gtest.h>

#include "fake_clients.h"
#include "test_rollouts.h"

namespace canaryd::traffic::testing {
namespace {

TEST(RouterFactoryTest, ChoosesTheRouterFromTheSpec) {
  FakeApi api;
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

}  // namespace
}  // namespace canaryd::traffic::testing
