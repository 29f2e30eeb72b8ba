#include "controller/reconciler.h"

#include <spdlog/spdlog.h>

#include "api/encode.h"
#include "api/json.h"
#include "controller/context.h"
#include "controller/selector.h"

namespace canaryd::controller {

Context::Context(const Lister& lister, Writer& writer, const RolloutView& cached, api::Time now,
                 TrafficRouterFactory* routers, AnalysisRunner* analysis)
    : lister(lister),
      writer(writer),
      routers(routers),
      analysis(analysis),
      key(cached.metadata.namespace_ + "/" + cached.metadata.name),
      rollout(static_cast<const api::Rollout&>(cached)),
      canary(*rollout.spec.strategy.canary),
      now(now),
      newStatus(rollout.status) {}

void Context::event(EventType type, std::string reason, std::string message, bool statusBound) {
  events.push_back({type, std::move(reason), std::move(message), statusBound});
}

void Context::requeueNoLaterThan(api::Time t) {
  if (!requeueAt || t < *requeueAt) requeueAt = t;
}

void Context::fail(Result result) {
  if (!failure) failure = std::move(result);
}

namespace {

std::string encodeStatus(const api::RolloutStatus& status) {
  rapidjson::Document doc;
  api::encodeRolloutStatus(status, doc, doc.GetAllocator());
  return api::toJson(doc);
}

// Writes .status when it changed (resourceVersion precondition; a 409 is a transient
// error, never forced), then records the events: those describing a status transition only
// when the status was written.
Result persist(Writer& writer, const std::string& key, const api::Rollout& rollout,
               const api::RolloutStatus& newStatus, const std::vector<QueuedEvent>& events,
               Result result) {
  bool statusWritten = true;
  if (!(newStatus == rollout.status)) {
    auto r = writer.updateRolloutStatus(rollout.metadata.namespace_, rollout.metadata.name,
                                        rollout.metadata.resourceVersion, encodeStatus(newStatus));
    if (!r && r.error().kind == WriteError::Kind::kNotFound) {
      // Deleted since the cache was read: garbage collection removes what it owned, and
      // there is nothing left to retry (as a NotFound Rollout at the start).
      spdlog::debug("{}: Rollout deleted during the reconcile", key);
      return {};
    }
    if (!r) {
      statusWritten = false;
      spdlog::info("{}: status update failed ({}): {}; requeued", key, toString(r.error().kind),
                   r.error().message);
      if (result.error != Result::Error::kTransient)
        result = Result::transient("update status: " + std::string(toString(r.error().kind)) +
                                   ": " + r.error().message);
    }
  }
  for (const auto& e : events)
    if (statusWritten || !e.statusBound) writer.recordEvent(rollout, e.type, e.reason, e.message);
  return result;
}

// Invalid spec or references: InvalidSpec with every field error, phase Degraded, and no
// write but the status (Argo Rollouts' InvalidSpec condition). A terminal error, looked at
// again after `requeueAfter` when set.
Result reportInvalidSpec(Writer& writer, const std::string& key, const api::Rollout& rollout,
                         const api::ErrorList& errors, api::Time now,
                         std::optional<std::chrono::milliseconds> requeueAfter = std::nullopt) {
  api::RolloutStatus status = rollout.status;
  std::string message = api::joinErrors(errors);
  const auto* before = findCondition(status, "InvalidSpec");
  bool changed = !before || before->status != "True" || before->message != message;
  status.observedGeneration = rollout.metadata.generation;
  status.phase = api::RolloutPhase::kDegraded;
  status.message = "InvalidSpec: " + message;
  setCondition(status, "Ready", false, "InvalidSpec", status.message, now);
  setCondition(status, "InvalidSpec", true, "InvalidSpec", message, now);
  std::vector<QueuedEvent> events;
  if (changed) {
    events.push_back({EventType::kWarning, "InvalidSpec", message, true});
    spdlog::warn("{}: invalid spec: {}", key, message);
  }
  Result result = Result::terminal(status.message);
  result.requeueAfter = requeueAfter;
  return persist(writer, key, rollout, status, events, std::move(result));
}

// A capability the Rollout needs is not in this build: Degraded, no progress.
Result reportUnsupported(Writer& writer, const std::string& key, const api::Rollout& rollout,
                         const std::string& message, api::Time now) {
  api::RolloutStatus status = rollout.status;
  bool changed = status.message != message || status.phase != api::RolloutPhase::kDegraded;
  status.observedGeneration = rollout.metadata.generation;
  status.phase = api::RolloutPhase::kDegraded;
  status.message = message;
  setCondition(status, "Ready", false, "UnsupportedFeature", message, now);
  setCondition(status, "Progressing", false, "UnsupportedFeature", message, now);
  if (findCondition(status, "InvalidSpec"))
    setCondition(status, "InvalidSpec", false, "SpecValid", "", now);
  std::vector<QueuedEvent> events;
  if (changed) {
    events.push_back({EventType::kWarning, "UnsupportedFeature", message, true});
    spdlog::warn("{}: {}", key, message);
  }
  return persist(writer, key, rollout, status, events, Result::terminal(message));
}

}  // namespace

Reconciler::Reconciler(const Lister& lister, Writer& writer, const workqueue::Clock& clock,
                       TrafficRouterFactory* routers, AnalysisRunner* analysis,
                       ReconcilerOptions options)
    : lister_(lister),
      writer_(writer),
      clock_(clock),
      routers_(routers),
      analysis_(analysis),
      options_(options) {}

Result Reconciler::reconcile(const std::string& key) const {
  std::string ns, name;
  if (auto slash = key.find('/'); slash == std::string::npos) {
    name = key;
  } else {
    ns = key.substr(0, slash);
    name = key.substr(slash + 1);
  }
  auto cached = lister_.getRollout(ns, name);
  if (!cached) {
    spdlog::debug("{}: Rollout not found; nothing to do", key);
    return {};
  }
  // Being deleted: garbage collection removes what it owns.
  if (cached->metadata.deletionTimestamp) return {};

  const auto wallNow = clock_.wallNow();
  const api::Time now = std::chrono::floor<std::chrono::seconds>(wallNow);
  if (!cached->specErrors.empty())
    return reportInvalidSpec(writer_, key, *cached, cached->specErrors, now);

  Context ctx(lister_, writer_, *cached, now, routers_, analysis_);
  if (auto errors = checkServices(ctx); !errors.empty())
    return reportInvalidSpec(writer_, key, ctx.rollout, errors, now);
  if (auto missing = missingCapability(ctx); !missing.empty())
    return reportUnsupported(writer_, key, ctx.rollout, missing, now);

  // The router could not find what trafficRouting names, or found it wrong: the user's to
  // fix, mostly in an Ingress or HTTPRoute no informer watches, so looked at again after a
  // delay.
  auto reportRouterError = [&] {
    api::ErrorList errors{api::invalidStringError(
        api::FieldPath("spec").child("strategy").child("canary").child("trafficRouting"),
        ctx.canary.trafficRouting && ctx.canary.trafficRouting->nginx ? "nginx" : "gatewayAPI",
        ctx.failure->message)};
    return reportInvalidSpec(writer_, key, ctx.rollout, errors, now,
                             options_.invalidReferenceRequeue);
  };
  classifyReplicaSets(ctx);
  buildRouter(ctx);
  if (ctx.failure && ctx.failure->error == Result::Error::kTerminal) return reportRouterError();

  DesiredScale scale;
  if (!ctx.failure) reconcileCanary(ctx);
  // An analysis that cannot run as specified (a missing AnalysisTemplate, an unknown query
  // variable): InvalidSpec, and nothing else written, as for the spec's own errors.
  if (!ctx.specErrors.empty())
    return reportInvalidSpec(writer_, key, ctx.rollout, ctx.specErrors, now);
  if (!ctx.failure) {
    scale = desiredScale(ctx);
    reconcileServices(ctx);
  }
  if (!ctx.failure) reconcileTraffic(ctx, scale);
  if (!ctx.failure) reconcileReplicaSets(ctx, scale);
  if (!ctx.failure) cleanupOldReplicaSets(ctx);

  if (ctx.failure && !ctx.writeStatusOnFailure) {
    spdlog::info("{}: {}", key, ctx.failure->message);
    for (const auto& e : ctx.events)
      if (!e.statusBound) writer_.recordEvent(ctx.rollout, e.type, e.reason, e.message);
    // The only other terminal failures: a router refusing a weight or header route, or
    // finding its objects gone since it was built.
    if (ctx.failure->error == Result::Error::kTerminal) return reportRouterError();
    return *ctx.failure;
  }
  Result result;
  if (ctx.failure) {
    // A hash collision: only the new collisionCount is kept, so that the next reconcile
    // decides everything again with the new hash.
    api::RolloutStatus status = ctx.rollout.status;
    status.collisionCount = ctx.newStatus.collisionCount;
    return persist(writer_, key, ctx.rollout, status, ctx.events, *ctx.failure);
  }
  computeStatus(ctx, "", "");
  if (ctx.requeueAt) {
    // At least a second, so that a clock at the boundary never spins a worker.
    auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(*ctx.requeueAt - wallNow);
    result.requeueAfter = std::max<std::chrono::milliseconds>(delay, std::chrono::seconds(1));
  }
  return persist(writer_, key, ctx.rollout, ctx.newStatus, ctx.events, result);
}

}  // namespace canaryd::controller
