// Rollouts for the router tests (shop/web, uid r-uid, Services web-stable / web-canary).
#pragma once

#include <string>
#include <utility>

#include "api/types.h"

namespace canaryd::traffic::testing {

inline api::Rollout rolloutWith(api::TrafficRouting routing) {
  api::Rollout r;
  r.metadata.name = "web";
  r.metadata.namespace_ = "shop";
  r.metadata.uid = "r-uid";
  api::CanaryStrategy c;
  c.stableService = "web-stable";
  c.canaryService = "web-canary";
  c.trafficRouting = std::move(routing);
  r.spec.strategy.canary = std::move(c);
  return r;
}

inline api::Rollout nginxRollout() {
  api::NginxTrafficRouting n;
  n.stableIngress = "web";
  n.additionalIngressAnnotations["proxy-read-timeout"] = "30";
  api::TrafficRouting t;
  t.nginx = std::move(n);
  return rolloutWith(std::move(t));
}

inline api::Rollout gatewayRollout() {
  api::GatewayApiTrafficRouting g;
  g.httpRoute = "web";
  api::TrafficRouting t;
  t.gatewayAPI = std::move(g);
  return rolloutWith(std::move(t));
}

inline api::SetHeaderRouteStep headerRoute(
    std::string name, std::string header, std::string value,
    api::StringMatch::Kind kind = api::StringMatch::Kind::kExact) {
  api::SetHeaderRouteStep s;
  s.name = std::move(name);
  s.match.push_back({std::move(header), {kind, std::move(value)}});
  return s;
}

}  // namespace canaryd::traffic::testing
