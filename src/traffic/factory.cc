#include "traffic/factory.h"

#include "traffic/gateway/gateway_router.h"
#include "traffic/nginx/nginx_router.h"

namespace canaryd::traffic {

RouterResult<std::unique_ptr<TrafficRouter>> RouterFactory::newRouter(const RouterTarget& target) {
  const api::Rollout& rollout = target.rollout;
  const std::string who = "Rollout " + rollout.metadata.namespace_ + "/" + rollout.metadata.name;
  const auto& canary = rollout.spec.strategy.canary;
  if (!canary || !canary->trafficRouting)
    return RouterError{true, who + " has no spec.strategy.canary.trafficRouting"};
  if (canary->stableService.empty() || canary->canaryService.empty())
    return RouterError{true, who + ": trafficRouting needs stableService and canaryService"};
  const api::TrafficRouting& routing = *canary->trafficRouting;
  enum class Kind { kNone, kNginx, kGatewayApi, kBoth };
  Kind kind = routing.nginx ? (routing.gatewayAPI ? Kind::kBoth : Kind::kNginx)
                            : (routing.gatewayAPI ? Kind::kGatewayApi : Kind::kNone);
  switch (kind) {
    case Kind::kNginx: {
      auto router = std::make_unique<NginxRouter>(target, ingresses_);
      if (target.checkReferences) {
        if (auto r = router->checkReferences(); !r) return r.error();
      }
      return std::unique_ptr<TrafficRouter>(std::move(router));
    }
    case Kind::kGatewayApi: {
      auto router = std::make_unique<GatewayRouter>(target, httpRoutes_);
      if (target.checkReferences) {
        if (auto r = router->checkReferences(); !r) return r.error();
      }
      return std::unique_ptr<TrafficRouter>(std::move(router));
    }
    case Kind::kBoth:
      return RouterError{true, who + ": trafficRouting sets both nginx and gatewayAPI"};
    case Kind::kNone:
      break;
  }
  return RouterError{true, who + ": trafficRouting sets neither nginx nor gatewayAPI"};
}

}  // namespace canaryd::traffic
