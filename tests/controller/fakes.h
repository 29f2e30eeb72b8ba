// Test doubles for the reconciler (sample-controller's fixture): a map-backed Lister, a
// Writer that records every action and, like an API server with an informer that is
// always in sync, applies it to the Lister; fake traffic routers and analysis runners that
// record their calls in the same action log. Single-threaded use only.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "controller/analysis_runner.h"
#include "controller/cluster.h"
#include "controller/traffic_router.h"

namespace canaryd::controller::testing {

// One recorded write: verb (create, patch, delete, update-status, set-weight ...),
// resource (replicasets, services, rollouts, router), name and body (canonical JSON or text).
struct Action {
  std::string verb;
  std::string resource;
  std::string name;
  std::string body;
  bool operator==(const Action&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Action& a);

// Canonical JSON text (keys sorted, compact) of JSON text, for comparing bodies.
std::string canon(const std::string& json);

struct RecordedEvent {
  EventType type;
  std::string reason;
  std::string message;
};

class FakeLister : public Lister {
 public:
  Ptr<RolloutView> getRollout(std::string_view ns, std::string_view name) const override;
  std::vector<Ptr<ReplicaSetView>> replicaSetsOwnedBy(std::string_view ns,
                                                      std::string_view ownerUid) const override;
  std::vector<Ptr<ReplicaSetView>> replicaSetsMatching(
      std::string_view ns, const api::LabelSelector& selector) const override;
  Ptr<ReplicaSetView> getReplicaSet(std::string_view ns, std::string_view name) const override;
  Ptr<ServiceView> getService(std::string_view ns, std::string_view name) const override;

  std::map<std::string, RolloutView> rollouts;        // by namespace/name
  std::map<std::string, ReplicaSetView> replicaSets;  // by namespace/name
  std::map<std::string, ServiceView> services;        // by namespace/name
};

class RecordingWriter : public Writer {
 public:
  explicit RecordingWriter(FakeLister& lister) : lister_(lister) {}

  WriteResult<ReplicaSetView> createReplicaSet(std::string_view ns,
                                               const std::string& body) override;
  // Records a "get" action; answers from `unseen`, then from the Lister (with the template
  // the ReplicaSet was created with, "" when it was seeded).
  WriteResult<LiveReplicaSet> readReplicaSet(std::string_view ns, std::string_view name) override;
  // Records a "get" action on "rollouts"; answers from `apiRollouts`.
  WriteResult<api::Rollout> readRollout(std::string_view ns, std::string_view name) override;
  WriteResult<ReplicaSetView> patchReplicaSet(std::string_view ns, std::string_view name,
                                              const std::string& mergePatch) override;
  WriteResult<void> deleteReplicaSet(std::string_view ns, std::string_view name,
                                     std::string_view uid) override;
  WriteResult<void> patchService(std::string_view ns, std::string_view name,
                                 const std::string& mergePatch) override;
  WriteResult<void> updateRolloutStatus(std::string_view ns, std::string_view name,
                                        std::string_view resourceVersion,
                                        const std::string& statusJson) override;
  void recordEvent(const api::Rollout& rollout, EventType type, std::string_view reason,
                   std::string_view message) override;

  // The next call of `verb` on `resource` fails with `error` (once).
  void failNext(std::string verb, std::string resource, WriteError error);

  // ReplicaSets the API server holds that the cache (the Lister) has not seen yet, by
  // namespace/name. A create of one of their names answers AlreadyExists.
  std::map<std::string, LiveReplicaSet> unseen;
  // Rollouts as the API server holds them, with their pod templates' text (which the
  // Lister's RolloutViews do not keep), by namespace/name. Only read by readRollout.
  std::map<std::string, api::Rollout> apiRollouts;
  // When set, created ReplicaSets go to `unseen` instead of the Lister (a lagging watch).
  bool cacheLags = false;
  // The informer catches up: `unseen` moves into the Lister.
  void catchUp();

  std::vector<Action> actions;
  std::vector<RecordedEvent> events;
  std::vector<std::string> eventReasons() const;
  // Clears actions and events.
  void reset();
  // The status body of the last update-status action, decoded.
  std::optional<api::RolloutStatus> lastStatus() const;
  // Actions other than update-status and reads (get).
  std::vector<Action> objectWrites() const;

 private:
  std::optional<WriteError> takeFailure(const std::string& verb, const std::string& resource);
  FakeLister& lister_;
  std::map<std::pair<std::string, std::string>, WriteError> failures_;
  std::map<std::string, std::string> templates_;  // pod templates created, by namespace/name
  int64_t nextResourceVersion_ = 1000;
  int64_t nextUid_ = 1;
};

class FakeRouter : public TrafficRouter {
 public:
  explicit FakeRouter(std::vector<Action>& log) : log_(log) {}
  RouterResult<void> setWeight(int32_t weight) override;
  RouterResult<void> setHeaderRoute(const api::SetHeaderRouteStep& step) override;
  RouterResult<void> removeManagedRoutes() override;
  std::optional<bool> verifyWeight(int32_t weight) override;
  std::string_view type() const override { return "fake"; }

  std::optional<bool> verified;                 // what verifyWeight answers
  std::optional<RouterError> setWeightFailure;  // setWeight fails with it (not logged)

 private:
  std::vector<Action>& log_;
};

class FakeRouterFactory : public TrafficRouterFactory {
 public:
  explicit FakeRouterFactory(std::vector<Action>& log) : log_(log) {}
  RouterResult<std::unique_ptr<TrafficRouter>> newRouter(const RouterTarget& target) override;
  std::optional<bool> verified;
  std::optional<RouterError> failure;           // newRouter fails with it
  std::optional<RouterError> setWeightFailure;  // the routers' setWeight fails with it

 private:
  std::vector<Action>& log_;
};

// Answers each run() with the next scripted result (the last one repeats), recording the
// request's step index in the log.
class FakeAnalysisRunner : public AnalysisRunner {
 public:
  explicit FakeAnalysisRunner(std::vector<Action>& log) : log_(log) {}
  AnalysisResult run(const AnalysisRequest& request) override;
  std::deque<AnalysisResult> script;

 private:
  std::vector<Action>& log_;
};

}  // namespace canaryd::controller::testing
