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
//   promoteFull  status.promoteFull: true: skips the remaining steps
//
// Thread-safe: reconcile() keeps no state between calls, so N workers may call it at
// once for different keys (the workqueue never hands one key to two workers).
#pragma once

#include <string>

#include "controller/analysis_runner.h"
#include "controller/cluster.h"
#include "controller/result.h"
#include "controller/traffic_router.h"
#include "workqueue/clock.h"

namespace canaryd::controller {

class Reconciler {
 public:
  // `routers` and `analysis` may be null: a Rollout that needs them is then Degraded with a
  // message naming the missing capability, and does not progress. All references must
  // outlive the reconciler.
  Reconciler(const Lister& lister, Writer& writer, const workqueue::Clock& clock,
             TrafficRouterFactory* routers = nullptr, AnalysisRunner* analysis = nullptr);

  // Reconciles the Rollout at `key` ("namespace/name"). A Rollout missing from the cache
  // (deleted) ends quietly with an empty Result: garbage collection removes what it owned.
  Result reconcile(const std::string& key) const;

 private:
  const Lister& lister_;
  Writer& writer_;
  const workqueue::Clock& clock_;
  TrafficRouterFactory* routers_;
  AnalysisRunner* analysis_;
};

}  // namespace canaryd::controller
