// The traffic router factory the reconciler is given: one switch on
// spec.strategy.canary.trafficRouting choosing the nginx or the Gateway API router, each
// over its own narrow API client. Thread-safe (it holds only the clients, which are).
#pragma once

#include <memory>

#include "traffic/gateway/http_route_client.h"
#include "traffic/nginx/ingress_client.h"
#include "traffic/router.h"

namespace canaryd::traffic {

class RouterFactory final : public TrafficRouterFactory {
 public:
  // The clients must outlive the factory and every router it makes.
  RouterFactory(IngressClient& ingresses, HttpRouteClient& httpRoutes)
      : ingresses_(ingresses), httpRoutes_(httpRoutes) {}

  // An nginx router for trafficRouting.nginx, a Gateway API router for
  // trafficRouting.gatewayAPI. With target.checkReferences, once it has read the objects
  // the spec names (its checkReferences), so that the reconciler reports a missing or
  // unusable stable Ingress or HTTPRoute as InvalidSpec before anything is written (as
  // Argo Rollouts validates the referenced Ingress and Services); the router keeps those
  // reads for its writes. Without, nothing is read here. Errors (invalidSpec): no canary
  // strategy or trafficRouting, neither or both routers set, stableService or
  // canaryService empty, and the router's checkReferences errors; API failures are
  // transient.
  RouterResult<std::unique_ptr<TrafficRouter>> newRouter(const RouterTarget& target) override;

 private:
  IngressClient& ingresses_;
  HttpRouteClient& httpRoutes_;
};

}  // namespace canaryd::traffic
