// Traffic: the weight the data plane is told (status.canaryWeight) and header routes,
// through the TrafficRouter extension point. Without trafficRouting the weight is the
// replica ratio and only recorded. An abort's weight-0 write is marked urgent.
#include <spdlog/spdlog.h>

#include "controller/context.h"
#include "kube/rate_limiter.h"

namespace canaryd::controller {

namespace {

// Whether the router must read what trafficRouting names before the reconcile goes on:
// when the spec changed (the references may have), when the Rollout is InvalidSpec (a
// requeued invalid Rollout looks again), and while a canary runs or traffic goes to it
// (routes are written anyway, and the check shares the writes' reads). A steady Rollout
// reconciled again, as after a restart, then sends no request for its routes.
bool mustCheckReferences(const Context& ctx) {
  const api::Rollout& r = ctx.rollout;
  if (r.metadata.generation != r.status.observedGeneration) return true;
  if (const auto* invalid = findCondition(r.status, "InvalidSpec");
      invalid && invalid->status == "True")
    return true;
  return ctx.canaryActive() || r.status.canaryWeight != 0;
}

}  // namespace

void buildRouter(Context& ctx) {
  if (!ctx.canary.trafficRouting || !ctx.routers) return;
  std::string canaryHash = ctx.canaryActive() ? ctx.desiredHash : "";
  auto router = ctx.routers->newRouter(RouterTarget{
      ctx.rollout, ctx.newStatus.stableRS, std::move(canaryHash), mustCheckReferences(ctx)});
  if (!router) {
    ctx.fail(router.error().invalidSpec ? Result::terminal(router.error().message)
                                        : Result::transient(router.error().message));
    return;
  }
  ctx.router = std::move(*router);
}

void reconcileTraffic(Context& ctx, const DesiredScale& scale) {
  auto& s = ctx.newStatus;
  const int32_t before = s.canaryWeight;
  const bool live = ctx.canaryActive() && !ctx.aborted();
  int32_t target = live ? scale.weight : 0;
  if (!ctx.routed()) {
    s.canaryWeight = target;
  } else {
    // Traffic never goes to a canary with no available pods.
    if (!ctx.canaryRS || ctx.canaryRS->availableReplicas == 0) target = 0;
    if (target != before) {
      // An abort's weight 0 moves traffic off a canary that failed (analysis, progress
      // deadline, or a user's abort): it goes in the kube client's urgent lane, ahead of
      // other rollouts' routine writes (kube/rate_limiter.h), as the canary Service's
      // repoint before it (services.cc). Header routes, promotions and steps stay routine.
      kube::UrgentRequestScope urgent(ctx.aborted() && target == 0);
      if (auto r = ctx.router->setWeight(target); !r) {
        ctx.fail(r.error().invalidSpec ? Result::terminal(r.error().message)
                                       : Result::transient(r.error().message));
        return;
      }
      s.canaryWeight = target;
    }
    if (ctx.canaryEnded || (!live && before != 0)) {
      if (auto r = ctx.router->removeManagedRoutes(); !r) {
        ctx.fail(Result::transient(r.error().message));
        return;
      }
    }
  }
  if (s.canaryWeight != before) {
    std::string how = ctx.routed() ? std::string(ctx.router->type()) : "replica ratio";
    ctx.event(EventType::kNormal, "WeightChanged",
              "Canary weight " + std::to_string(before) + " -> " + std::to_string(s.canaryWeight) +
                  " (" + how + ")");
    spdlog::info("{}: canary weight {} -> {} ({})", ctx.key, before, s.canaryWeight, how);
  }
}

}  // namespace canaryd::controller
