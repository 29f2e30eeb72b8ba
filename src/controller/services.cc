// Services: stableService and canaryService selectors pinned to a pod-template-hash, only
// once that ReplicaSet has available pods (Argo Rollouts' rollout/service.go), and
// annotated as managed so that two Rollouts never fight over one Service.
#include <spdlog/spdlog.h>

#include "api/json.h"
#include "controller/context.h"
#include "controller/names.h"
#include "kube/rate_limiter.h"

namespace canaryd::controller {
namespace {

std::string managerOf(const ServiceView& svc) {
  auto it = svc.metadata.annotations.find(std::string(kManagedByAnnotation));
  return it == svc.metadata.annotations.end() ? "" : it->second;
}

void pin(Context& ctx, const std::string& name, const std::string& hash) {
  if (name.empty() || hash.empty()) return;
  auto svc = ctx.lister.getService(ctx.rollout.metadata.namespace_, name);
  if (!svc) return;  // checkServices reported it
  auto current = svc->selector.find(std::string(kPodTemplateHashLabel));
  if (current != svc->selector.end() && current->second == hash &&
      managerOf(*svc) == ctx.rollout.metadata.name)
    return;
  rapidjson::Document patch(rapidjson::kObjectType);
  auto& a = patch.GetAllocator();
  rapidjson::Value annotations(rapidjson::kObjectType);
  annotations.AddMember(rapidjson::Value(std::string(kManagedByAnnotation).c_str(), a),
                        rapidjson::Value(ctx.rollout.metadata.name.c_str(), a), a);
  rapidjson::Value metadata(rapidjson::kObjectType);
  metadata.AddMember("annotations", annotations, a);
  rapidjson::Value selector(rapidjson::kObjectType);
  selector.AddMember(rapidjson::Value(std::string(kPodTemplateHashLabel).c_str(), a),
                     rapidjson::Value(hash.c_str(), a), a);
  rapidjson::Value spec(rapidjson::kObjectType);
  spec.AddMember("selector", selector, a);
  patch.AddMember("metadata", metadata, a);
  patch.AddMember("spec", spec, a);
  // An abort points the canary Service back at the stable pods: with the router's weight
  // 0 (traffic.cc), the writes that move traffic off a failed canary, in the kube client's
  // urgent lane (kube/rate_limiter.h).
  kube::UrgentRequestScope urgent(ctx.aborted() && name == ctx.canary.canaryService);
  if (auto r = ctx.writer.patchService(ctx.rollout.metadata.namespace_, name, api::toJson(patch));
      !r) {
    ctx.fail(Result::transient("patch Service " + name + ": " +
                               std::string(toString(r.error().kind)) + ": " + r.error().message));
    return;
  }
  ctx.event(EventType::kNormal, "UpdatedService",
            "Service " + name + " now selects pod-template-hash " + hash, false);
  spdlog::info("{}: Service {} -> {}", ctx.key, name, hash);
}

}  // namespace

api::ErrorList checkServices(const Context& ctx) {
  api::ErrorList errors;
  api::FieldPath path = api::FieldPath("spec").child("strategy").child("canary");
  const auto& ns = ctx.rollout.metadata.namespace_;
  for (auto [field, name] : {std::pair{"stableService", &ctx.canary.stableService},
                             std::pair{"canaryService", &ctx.canary.canaryService}}) {
    if (name->empty()) continue;
    auto svc = ctx.lister.getService(ns, *name);
    if (!svc) {
      errors.push_back(api::invalidStringError(path.child(field), *name,
                                               "Service not found in namespace \"" + ns + "\""));
      continue;
    }
    std::string manager = managerOf(*svc);
    if (!manager.empty() && manager != ctx.rollout.metadata.name)
      errors.push_back(api::invalidStringError(
          path.child(field), *name, "Service is managed by Rollout \"" + manager + "\""));
  }
  return errors;
}

void reconcileServices(Context& ctx) {
  std::string stableTarget =
      ctx.stableRS && ctx.stableRS->availableReplicas > 0 ? ctx.newStatus.stableRS : "";
  std::string canaryTarget = stableTarget;
  if (ctx.canaryActive() && !ctx.aborted() && ctx.canaryRS && ctx.canaryRS->availableReplicas > 0)
    canaryTarget = ctx.desiredHash;
  pin(ctx, ctx.canary.stableService, stableTarget);
  if (ctx.failure) return;
  pin(ctx, ctx.canary.canaryService, canaryTarget);
}

}  // namespace canaryd::controller
