// The per-reconcile context (Argo Rollouts' rolloutContext): a copy of the Rollout, the
// ReplicaSets it owns sorted into stable, canary and others, the status being built, the
// time, and the writes and events queued so far. Created and used by one reconcile on one
// thread; the functions declared here are the reconciler's concerns, one file each
// (replicasets.cc, services.cc, traffic.cc, analysis.cc, canary.cc, pause.cc, status.cc).
// Internal to controller/.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "controller/analysis_runner.h"
#include "controller/cluster.h"
#include "controller/result.h"
#include "controller/traffic_router.h"

namespace canaryd::controller {

// Changes to one ReplicaSet, sent as a single merge patch with its resourceVersion.
struct ReplicaSetPatch {
  std::optional<int32_t> replicas;
  std::map<std::string, std::optional<std::string>> annotations;  // nullopt: remove
  std::optional<std::vector<api::OwnerReference>> ownerReferences;
  bool empty() const { return !replicas && annotations.empty() && !ownerReferences; }
};

// The replica counts a step asks for.
struct DesiredScale {
  int32_t stable = 0;
  int32_t canary = 0;
  int32_t weight = 0;  // traffic percent (of maxTrafficWeight) for the canary
};

struct QueuedEvent {
  EventType type = EventType::kNormal;
  std::string reason;
  std::string message;
  // Describes a status transition: dropped when the status write fails, since the next
  // reconcile makes the same transition again.
  bool statusBound = true;
};

struct Context {
  Context(const Lister& lister, Writer& writer, const RolloutView& cached, api::Time now,
          TrafficRouterFactory* routers, AnalysisRunner* analysis);

  const Lister& lister;
  Writer& writer;
  TrafficRouterFactory* routers;
  AnalysisRunner* analysis;

  std::string key;                    // namespace/name, for logs
  api::Rollout rollout;               // a copy; the cached object is never touched
  const api::CanaryStrategy& canary;  // rollout.spec.strategy.canary (valid spec)
  api::Time now;
  api::RolloutStatus newStatus;  // starts as a copy of rollout.status

  std::string desiredHash;       // pod-template-hash of spec.template (+ collisionCount)
  Ptr<ReplicaSetView> stableRS;  // the ReplicaSet with status.stableRS's hash, if any
  Ptr<ReplicaSetView> canaryRS;  // the ReplicaSet with desiredHash when it is not stable
  std::vector<Ptr<ReplicaSetView>> otherRSs;
  std::vector<Ptr<ReplicaSetView>> allRSs;  // every owned (or adopted) ReplicaSet
  // The previous stable, demoted by a promotion in this reconcile: it gets a scale-down
  // deadline instead of being scaled down at once.
  Ptr<ReplicaSetView> demotedStableRS;

  std::unique_ptr<TrafficRouter> router;           // set when trafficRouting is configured
  std::map<std::string, ReplicaSetPatch> patches;  // by ReplicaSet name
  std::vector<QueuedEvent> events;
  std::optional<api::Time> requeueAt;  // earliest time-based work
  bool progressed = false;             // refreshes the Progressing condition's lastUpdateTime
  std::optional<Result> failure;       // set when the reconcile must stop
  bool writeStatusOnFailure = false;   // the failure changed status (a hash collision)
  bool canaryEnded = false;            // promoted, aborted, rolled back or superseded now
  std::string pauseMessage;            // why an analysis paused the rollout
  std::string waitMessage;             // why the promotion waits (analysis.cc)
  bool backgroundAnalysisRan = false;  // the runner was called for background analysis
  // An analysis that cannot run as specified (analysis.cc): reported as InvalidSpec.
  api::ErrorList specErrors;

  // The canary is being rolled out (a template differs from the stable one).
  bool canaryActive() const { return !desiredHash.empty() && desiredHash != newStatus.stableRS; }
  bool aborted() const { return newStatus.abort; }
  bool routed() const { return router != nullptr; }
  int32_t stepCount() const { return static_cast<int32_t>(canary.steps.size()); }
  int32_t stepIndex() const { return newStatus.currentStepIndex.value_or(stepCount()); }

  void event(EventType type, std::string reason, std::string message, bool statusBound = true);
  void requeueNoLaterThan(api::Time t);
  void fail(Result result);
  ReplicaSetPatch& patchFor(const ReplicaSetView& rs) { return patches[rs.metadata.name]; }
};

// ---- replicasets.cc ----
// Computes the desired hash, lists owned ReplicaSets, queues adoption of matching orphans,
// and sorts them (sortReplicaSets).
void classifyReplicaSets(Context& ctx);
// Sorts ctx.allRSs into stable (status.stableRS), canary (desiredHash, when it is not
// stable) and others. Called again whenever status.stableRS changes.
void sortReplicaSets(Context& ctx);
// Creates a missing stable or canary ReplicaSet, and queues scaling of every ReplicaSet
// to what the state asks for, restoring hand edits; then sends the patches.
void reconcileReplicaSets(Context& ctx, const DesiredScale& scale);
// Deletes old ReplicaSets at zero replicas beyond revisionHistoryLimit.
void cleanupOldReplicaSets(Context& ctx);
// The canaryd.io/revision annotation of a ReplicaSet (0 when absent or malformed).
int64_t revisionOf(const ReplicaSetView& rs);
// Whether a ReplicaSet's pod template as the API server holds it (JSON text) is the desired
// one, apart from the pod-template-hash label and the defaults the server adds: everything
// `desiredTemplate` sets is in `liveTemplate` with an equal value (the deployment
// controller's EqualIgnoreHash, with Argo Rollouts' defaulting of the desired side turned
// round). False when either is not a JSON object.
bool podTemplateMatches(std::string_view liveTemplate, const std::string& desiredTemplate);

// ---- services.cc ----
// Field errors for missing Services and Services managed by another Rollout.
api::ErrorList checkServices(const Context& ctx);
// Points stableService / canaryService at the stable / canary hash once it has available
// pods, annotating them as managed.
void reconcileServices(Context& ctx);

// ---- traffic.cc ----
// Builds ctx.router when trafficRouting is set (fails the reconcile on router errors).
void buildRouter(Context& ctx);
// Tells the router the weight the state asks for (never more than 0 while the canary has no
// available pods); removes header routes when the canary ends. Sets status.canaryWeight.
void reconcileTraffic(Context& ctx, const DesiredScale& scale);

// ---- analysis.cc ----
// The capability missing in this build for the Rollout's spec, or "" when none is.
std::string missingCapability(const Context& ctx);
// Runs background analysis when it applies; may abort or pause the rollout.
void runBackgroundAnalysis(Context& ctx);
// At the end of the steps, before promotion: true while background analysis must hold it,
// that is while a measurement is due or the latest measurement of a metric is Failed, Error
// or Inconclusive (under its limit: over it, the analysis aborts or pauses instead). Sets
// ctx.waitMessage and requeues for when the next measurement is due.
bool analysisHoldsPromotion(Context& ctx);
// Runs an inline analysis step: true when it passed.
bool runAnalysisStep(Context& ctx, const api::AnalysisStep& step, int32_t index);

// ---- canary.cc ----
int32_t maxTrafficWeight(const api::CanaryStrategy& canary);
// The replica counts and weight for step `index` (steps.size(): promoting), as Argo's
// GetCurrentSetWeight / GetCurrentSetCanaryScale: the last setWeight and setCanaryScale
// at or before the index apply.
DesiredScale desiredScaleAt(const api::Rollout& rollout, int32_t index, bool routed);
// Lifecycle transitions (first apply, new template, rollback, retry, abort, progress
// deadline) and the step engine, advancing and promoting as the observed state allows.
void reconcileCanary(Context& ctx);
// What the state asks of the ReplicaSets and traffic now.
DesiredScale desiredScale(const Context& ctx);
// Aborts the canary: weight 0, canary scaled down after abortScaleDownDelaySeconds.
void abortRollout(Context& ctx, const std::string& reason, const std::string& message,
                  const std::string& metric = {},
                  const std::optional<api::Measurement>& measurement = {});

// ---- pause.cc ----
// Step `index` is a pause step: true once it is over (duration elapsed or promoted).
bool reconcilePauseStep(Context& ctx, const api::PauseStep& step, int32_t index);
// Pauses for an Inconclusive analysis until promoted.
void pauseInconclusive(Context& ctx, const std::string& message);
// True when a user removed the pause conditions of a pause canaryd entered (promote).
bool promotedByUser(const api::RolloutStatus& status);
void clearPause(Context& ctx);

// ---- status.cc ----
// Sets `type` on `status`, changing lastTransitionTime only when the status flips.
void setCondition(api::RolloutStatus& status, const std::string& type, bool value,
                  const std::string& reason, const std::string& message, api::Time now);
const api::Condition* findCondition(const api::RolloutStatus& status, std::string_view type);
void appendHistory(api::RolloutStatus& status, api::HistoryEntry entry);
// Replica counts, selector, observedGeneration, phase, message and conditions.
void computeStatus(Context& ctx, const std::string& degradedReason,
                   const std::string& degradedMessage);

}  // namespace canaryd::controller
