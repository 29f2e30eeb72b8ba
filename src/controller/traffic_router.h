// Extension point for traffic routing (spec.strategy.canary.trafficRouting): something
// that tells a data plane (an nginx canary Ingress, a Gateway API HTTPRoute) which share of
// requests goes to the canary Service, as Argo Rollouts' TrafficRoutingReconciler. The
// controller builds one router per reconcile through a TrafficRouterFactory; without a
// factory, a Rollout with trafficRouting is Degraded and does not progress. A router reads
// each object it needs from the API at most once.
// A router is used by one reconcile at a time; factories must be thread-safe.
#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/types.h"

namespace canaryd::controller {

struct RouterError {
  // True when the error is the user's to fix (a missing stable Ingress, no path to the
  // stable Service ...): the Rollout gets an InvalidSpec condition naming the object and the
  // reconcile is not retried until the Rollout changes. False: transient, retried.
  bool invalidSpec = false;
  std::string message;
};

template <class T>
using RouterResult = boost::system::result<T, RouterError>;

class TrafficRouter {
 public:
  virtual ~TrafficRouter() = default;

  // Sends `weight` (0 to maxTrafficWeight, default 100) of traffic to the canary Service,
  // the rest to the stable Service. When the Rollout is aborted, the reconciler calls
  // setWeight(0) inside a kube::UrgentRequestScope (kube/rate_limiter.h), so that the write
  // goes ahead of routine API requests in the client's rate limiter: routers must make
  // their API calls synchronously on the calling thread, as kube::Client's blocking calls
  // are, for the marker to reach them.
  virtual RouterResult<void> setWeight(int32_t weight) = 0;

  // Routes requests matching the step to the canary Service whatever the weight (an empty
  // match removes the route of the step's name).
  virtual RouterResult<void> setHeaderRoute(const api::SetHeaderRouteStep& step) = 0;

  // Removes every header route canaryd added (at promotion and abort).
  virtual RouterResult<void> removeManagedRoutes() = 0;

  // Whether the data plane applies `weight` yet: true, false (not yet; the step waits), or
  // nullopt when this data plane cannot tell.
  virtual std::optional<bool> verifyWeight(int32_t weight) = 0;

  // "nginx", "gatewayAPI" ...
  virtual std::string_view type() const = 0;
};

// What a router needs to know about the Rollout it acts for.
struct RouterTarget {
  const api::Rollout& rollout;
  std::string stableHash;  // status.stableRS
  std::string canaryHash;  // the canary's pod-template-hash; "" when there is none
  // Whether the factory reads the objects trafficRouting names before handing the router
  // out, so that a bad reference is reported before anything is written. False: the router
  // reads nothing until one of its methods is called (each checks what it needs first), so
  // a reconcile that changes no route sends no request.
  bool checkReferences = true;
};

class TrafficRouterFactory {
 public:
  virtual ~TrafficRouterFactory() = default;
  // A router for the Rollout's spec.strategy.canary.trafficRouting (which is set).
  virtual RouterResult<std::unique_ptr<TrafficRouter>> newRouter(const RouterTarget& target) = 0;
};

}  // namespace canaryd::controller
