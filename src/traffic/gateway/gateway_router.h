// The Gateway API router (trafficRouting.gatewayAPI): sets the weights of the stable and
// canary Service backendRefs in the rules of an HTTPRoute (gateway.networking.k8s.io/v1)
// that send to stableService, and adds header-matching rules for setHeaderRoute steps.
// Rules canaryd does not manage are written back exactly as read. One router serves one
// reconcile; not thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "traffic/gateway/http_route_client.h"
#include "traffic/memo_clients.h"
#include "traffic/router.h"

namespace canaryd::traffic {

// On an HTTPRoute: which rules canaryd added for header routes, as compact JSON mapping
// "<rollout>/<step name>" to the indexes of its rules in spec.rules, e.g.
// {"web/beta":[0,1]}. canaryd places header rules before all others, rewrites the
// indexes on every write and removes the annotation when no header rule is left. Several
// Rollouts may share one HTTPRoute; each changes only its own entries.
inline constexpr std::string_view kHeaderRoutesAnnotation = "canaryd.io/header-routes";

class GatewayRouter final : public TrafficRouter {
 public:
  // Acts for target.rollout, whose spec.strategy.canary.trafficRouting.gatewayAPI is set.
  // `client` must outlive the router. Reads nothing yet; the HTTPRoute is then read from
  // the API at most once (MemoHttpRouteClient), so checkReferences, the writes and
  // verifyWeight share one read.
  GatewayRouter(const RouterTarget& target, HttpRouteClient& client);

  // In every managed rule (the rules named in managedRoutes, or else every rule with a
  // backendRef to stableService), the stable backendRef gets weight max - weight and the
  // canary backendRef (added after it, same port, when missing) weight `weight`, where max
  // is maxTrafficWeight (default 100); Gateway API weights are relative, so the canary's
  // share is weight/max. One merge patch of spec.rules with the resourceVersion read (a
  // concurrent edit is a transient conflict, never lost).
  // Errors (nothing written): weight outside 0..max and the errors of checkReferences:
  // invalidSpec. API failures: transient.
  RouterResult<void> setWeight(int32_t weight) override;

  // Reads the HTTPRoute and writes nothing. Errors (invalidSpec, naming the route): a
  // missing HTTPRoute, no rule with a backendRef to stableService, a managedRoutes name with
  // no rule or whose rule has no backendRef to stableService. API failures: transient.
  RouterResult<void> checkReferences();

  // Adds (or replaces) the step's header rules: one per managed rule, a copy of it whose
  // matches also require the step's headers (HTTPHeaderMatch type Exact or
  // RegularExpression) and whose only backendRef is canaryService, placed first. An empty
  // match removes the step name's rules (every one of this Rollout's when the name is
  // empty). Errors: prefix matches and cookies (Gateway API has neither): invalidSpec.
  RouterResult<void> setHeaderRoute(const api::SetHeaderRouteStep& step) override;

  // Removes every header rule this Rollout added. A missing HTTPRoute is fine.
  RouterResult<void> removeManagedRoutes() override;

  // Reads the HTTPRoute back (as this router last read or wrote it in this reconcile): true
  // when every managed rule has the weights setWeight(weight) writes, false otherwise (or
  // when the route cannot be read).
  std::optional<bool> verifyWeight(int32_t weight) override;

  std::string_view type() const override { return kGatewayApiRouterType; }

  // GETs this router sent to the API.
  size_t apiReads() const { return client_.apiReads(); }

 private:
  struct Route;
  using HeaderRules = std::map<std::string, std::vector<const rapidjson::Value*>>;

  // The HTTPRoute and the header rules in it. NotFound is an invalidSpec error unless
  // allowMissing, which yields a Route with `missing` set.
  RouterResult<Route> read(bool allowMissing);
  // Indexes (in spec.rules) of the rules whose weights canaryd sets.
  RouterResult<std::vector<size_t>> managedRules(const Route& route) const;
  // Writes spec.rules = header rules (from `headers`) then the other rules as read, the
  // `managed` ones with the weights for `weight` when set. Skips the write when nothing
  // changes.
  RouterResult<void> write(const Route& route, const HeaderRules& headers,
                           const std::vector<size_t>& managed, std::optional<int32_t> weight);
  RouterResult<void> removeHeaderRules(std::string_view stepName);

  api::Rollout rollout_;
  api::GatewayApiTrafficRouting gateway_;
  std::string stableService_;
  std::string canaryService_;
  int32_t maxWeight_;
  MemoHttpRouteClient client_;
};

}  // namespace canaryd::traffic
