// The Rollout reconciler: given a namespace/name key, reads the Rollout and what it owns
// from the Lister, computes the desired state of its ReplicaSets, Services and traffic
// from spec + status + observed objects, writes only the differences through the Writer,
// and writes .status last, once, only when it changed (sample-controller's syncHandler,
// Argo Rollouts' rolloutContext). Behaviour: Argo Rollouts' canary semantics, see
// DESIGN.md "Behaviour users rely on".
//
// User controls, each a plain patch (kubectl canary sends them; a user can also do it by
// hand or from Git):
//   pause        spec.paused: true (false resumes)
//   abort        status.abort: true (status subresource)
//   retry        status.abort: false after an abort: the canary starts over from step 0
//   promote      remove status.pauseConditions: leaves the current pause step (or an
//                Inconclusive analysis pause), as `kubectl argo rollouts promote` does; to
//                skip a step that is not a pause, set status.currentStepIndex to the next
//   promoteFull  status.promoteFull: true: skips the current pause (its conditions may stay),
//                the remaining steps and the analysis, as `kubectl argo rollouts promote
//                --full`; spec.paused still holds it
//
// Thread-safe: reconcile() keeps no state between calls, so N workers may call it at
// once for different keys (the workqueue never hands one key to two workers).
#pragma once

#include <chrono>
#include <string>

#include "controller/analysis_runner.h"
#include "controller/cluster.h"
#include "controller/result.h"
#include "controller/traffic_router.h"
#include "workqueue/clock.h"

namespace canaryd::controller {

struct ReconcilerOptions {
  // An InvalidSpec caused by an object outside the Rollout that canaryd does not watch (a
  // missing stable Ingress or HTTPRoute, one without the stableService backend, a foreign
  // canary Ingress) is looked at again after this delay, so that creating or fixing the
  // object settles the Rollout without touching it. Errors in the Rollout's own spec, and
  // objects an informer watches (Services, AnalysisTemplates), wait for an event instead.
  std::chrono::milliseconds invalidReferenceRequeue{std::chrono::seconds(30)};
};

class Reconciler {
 public:
  // `routers` and `analysis` may be null: a Rollout that needs them is then Degraded with a
  // message naming the missing capability, and does not progress. All references must
  // outlive the reconciler.
  Reconciler(const Lister& lister, Writer& writer, const workqueue::Clock& clock,
             TrafficRouterFactory* routers = nullptr, AnalysisRunner* analysis = nullptr,
             ReconcilerOptions options = {});

  // Reconciles the Rollout at `key` ("namespace/name"). A Rollout missing from the cache
  // (deleted) ends quietly with an empty Result: garbage collection removes what it owned.
  // An InvalidSpec is a terminal error, with requeueAfter set (options.invalidReferenceRequeue)
  // when an unwatched object outside the Rollout caused it.
  Result reconcile(const std::string& key) const;

 private:
  const Lister& lister_;
  Writer& writer_;
  const workqueue::Clock& clock_;
  TrafficRouterFactory* routers_;
  AnalysisRunner* analysis_;
  ReconcilerOptions options_;
};

}  // namespace canaryd::controller
