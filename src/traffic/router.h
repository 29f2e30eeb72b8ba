// The traffic router interface as the traffic module sees it: controller::TrafficRouter
// (setWeight, setHeaderRoute, removeManagedRoutes, verifyWeight, type) and its factory,
// which the reconciler calls. Aliases only; see controller/traffic_router.h for the
// contract and thread-safety (a router serves one reconcile; factories are thread-safe).
#pragma once

#include "controller/traffic_router.h"

namespace canaryd::traffic {

using controller::RouterError;
using controller::RouterResult;
using controller::RouterTarget;
using controller::TrafficRouter;
using controller::TrafficRouterFactory;

// The type() of each router.
inline constexpr std::string_view kNginxRouterType = "nginx";
inline constexpr std::string_view kGatewayApiRouterType = "gatewayAPI";

}  // namespace canaryd::traffic
