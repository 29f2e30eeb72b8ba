// The nginx router (trafficRouting.nginx): for each stable Ingress, a canary Ingress
// `<rollout>-<ingress>-canary` owned by the Rollout, which ingress-nginx merges into the
// stable Ingress's servers and weights by its canary annotations (kubernetes/ingress-nginx
// docs/user-guide/nginx-configuration/annotations.md#canary; Argo Rollouts' nginx
// reconciler). One router serves one reconcile; not thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "traffic/memo_clients.h"
#include "traffic/nginx/ingress_client.h"
#include "traffic/router.h"

namespace canaryd::traffic {

// On a canary Ingress: the name of the setHeaderRoute step whose header route its
// canary-by-header / canary-by-cookie annotations hold (nginx holds one at a time).
inline constexpr std::string_view kNginxHeaderRouteAnnotation = "canaryd.io/header-route";
// The ingress class annotation that predates spec.ingressClassName; copied when the stable
// Ingress uses it.
inline constexpr std::string_view kLegacyIngressClassAnnotation = "kubernetes.io/ingress.class";

class NginxRouter final : public TrafficRouter {
 public:
  // Acts for target.rollout, whose spec.strategy.canary.trafficRouting.nginx is set.
  // `client` must outlive the router. Reads nothing yet; each Ingress is then read from the
  // API at most once (MemoIngressClient), so checkReferences and the writes after it
  // share their reads.
  NginxRouter(const RouterTarget& target, IngressClient& client);

  // Creates or updates every canary Ingress from its stable Ingress: the stable Ingress's
  // hosts, TLS and class, only the paths whose backend is stableService (rewritten to
  // canaryService, same port), and the annotations <prefix>/canary "true",
  // <prefix>/canary-weight "<weight>", <prefix>/canary-weight-total (when maxTrafficWeight
  // is set) and the prefixed additionalIngressAnnotations. Weight 0 keeps the canary
  // Ingress with canary-weight "0" (what ingress-nginx's admission webhook accepts).
  // Updates are JSON merge patches carrying the resourceVersion read: annotations other
  // controllers added stay, and a concurrent edit is a transient conflict.
  // Errors (nothing is written unless every Ingress can be): weight outside
  // 0..maxTrafficWeight and the errors of checkReferences: invalidSpec. API failures:
  // transient.
  RouterResult<void> setWeight(int32_t weight) override;

  // Reads every stable and canary Ingress and writes nothing. Errors (invalidSpec, naming
  // the object): a missing stable Ingress, a stable Ingress with no path to stableService,
  // a canary Ingress of that name not controlled by this Rollout (another controller's, or
  // a user's: canaryd leaves it alone). API failures: transient.
  RouterResult<void> checkReferences();

  // One header route at a time (ingress-nginx reads one canary-by-header): match[0] as
  // canary-by-header plus canary-by-header-value (exact) or canary-by-header-pattern
  // (regex), cookie as canary-by-cookie (requests with the cookie set to "always" go to the
  // canary). An empty match and cookie removes the route when it has the step's name (or
  // the name is empty). Errors: more than one match or a prefix match: invalidSpec.
  RouterResult<void> setHeaderRoute(const api::SetHeaderRouteStep& step) override;

  // Removes the header route annotations (merge patch with null) from every canary
  // Ingress this Rollout controls; missing canary Ingresses are fine.
  RouterResult<void> removeManagedRoutes() override;

  // ingress-nginx does not report the weights it applies: nullopt.
  std::optional<bool> verifyWeight(int32_t weight) override;

  std::string_view type() const override { return kNginxRouterType; }

  // GETs this router sent to the API.
  size_t apiReads() const { return client_.apiReads(); }

  // `<rollout>-<stableIngress>-canary`.
  static std::string canaryIngressName(std::string_view rollout, std::string_view stableIngress);

 private:
  struct Plan;
  // Reads every stable and canary Ingress and computes the desired canary Ingresses.
  // `weight` nullopt keeps the weight each canary Ingress has.
  RouterResult<std::vector<Plan>> plan(std::optional<int32_t> weight);
  RouterResult<void> write(Plan& plan);
  RouterResult<void> removeHeaderRoutes(std::string_view name);

  api::Rollout rollout_;
  api::NginxTrafficRouting nginx_;
  std::string stableService_;
  std::string canaryService_;
  std::optional<int32_t> maxTrafficWeight_;
  MemoIngressClient client_;
};

}  // namespace canaryd::traffic
