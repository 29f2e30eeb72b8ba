// Which writes the reconciler puts in the kube client's urgent lane
// (kube::UrgentRequestScope, kube/rate_limiter.h): the writes of an abort that move traffic
// off the canary (the canary Service back to the stable pods, the router's weight 0),
// whatever aborted the canary, and nothing else.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kube/rate_limiter.h"
#include "world.h"

namespace canaryd::controller::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

constexpr const char* kNginx = R"("trafficRouting":{"nginx":{"stableIngress":"web"}},)";

// A router call, with whether the calling thread was inside an urgent scope.
struct Call {
  std::string what;  // "set-weight 25", "remove-managed-routes" ...
  bool urgent = false;
  bool operator==(const Call&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Call& c) {
  return os << c.what << (c.urgent ? " (urgent)" : "");
}

// Forwards to the World's fake router, noting the urgency of each call.
class UrgencyRecordingRouter final : public TrafficRouter {
 public:
  UrgencyRecordingRouter(std::unique_ptr<TrafficRouter> inner, std::vector<Call>& calls)
      : inner_(std::move(inner)), calls_(calls) {}
  RouterResult<void> setWeight(int32_t weight) override {
    note("set-weight " + std::to_string(weight));
    return inner_->setWeight(weight);
  }
  RouterResult<void> setHeaderRoute(const api::SetHeaderRouteStep& step) override {
    note("set-header-route " + step.name);
    return inner_->setHeaderRoute(step);
  }
  RouterResult<void> removeManagedRoutes() override {
    note("remove-managed-routes");
    return inner_->removeManagedRoutes();
  }
  std::optional<bool> verifyWeight(int32_t weight) override { return inner_->verifyWeight(weight); }
  std::string_view type() const override { return inner_->type(); }

 private:
  void note(std::string what) {
    calls_.push_back({std::move(what), kube::UrgentRequestScope::active()});
  }
  std::unique_ptr<TrafficRouter> inner_;
  std::vector<Call>& calls_;
};

class UrgencyRecordingFactory final : public TrafficRouterFactory {
 public:
  explicit UrgencyRecordingFactory(TrafficRouterFactory& inner) : inner_(inner) {}
  RouterResult<std::unique_ptr<TrafficRouter>> newRouter(const RouterTarget& target) override {
    auto router = inner_.newRouter(target);
    if (!router) return router.error();
    return std::unique_ptr<TrafficRouter>(
        std::make_unique<UrgencyRecordingRouter>(std::move(*router), calls));
  }
  std::vector<Call> calls;

 private:
  TrafficRouterFactory& inner_;
};

// Forwards to the World's writer, noting the urgency of each Service patch.
class UrgencyRecordingWriter final : public Writer {
 public:
  UrgencyRecordingWriter(Writer& inner, std::vector<Call>& calls) : inner_(inner), calls_(calls) {}
  WriteResult<ReplicaSetView> createReplicaSet(std::string_view ns,
                                               const std::string& body) override {
    return inner_.createReplicaSet(ns, body);
  }
  WriteResult<LiveReplicaSet> readReplicaSet(std::string_view ns, std::string_view name) override {
    return inner_.readReplicaSet(ns, name);
  }
  WriteResult<api::Rollout> readRollout(std::string_view ns, std::string_view name) override {
    return inner_.readRollout(ns, name);
  }
  WriteResult<ReplicaSetView> patchReplicaSet(std::string_view ns, std::string_view name,
                                              const std::string& mergePatch) override {
    return inner_.patchReplicaSet(ns, name, mergePatch);
  }
  WriteResult<void> deleteReplicaSet(std::string_view ns, std::string_view name,
                                     std::string_view uid) override {
    return inner_.deleteReplicaSet(ns, name, uid);
  }
  WriteResult<void> patchService(std::string_view ns, std::string_view name,
                                 const std::string& mergePatch) override {
    calls_.push_back({"patch-service " + std::string(name), kube::UrgentRequestScope::active()});
    return inner_.patchService(ns, name, mergePatch);
  }
  WriteResult<void> updateRolloutStatus(std::string_view ns, std::string_view name,
                                        std::string_view resourceVersion,
                                        const std::string& statusJson) override {
    return inner_.updateRolloutStatus(ns, name, resourceVersion, statusJson);
  }
  void recordEvent(const api::Rollout& rollout, EventType type, std::string_view reason,
                   std::string_view message) override {
    inner_.recordEvent(rollout, type, reason, message);
  }

 private:
  Writer& inner_;
  std::vector<Call>& calls_;
};

// A World whose reconciles go through the recording factory and writer.
class UrgentWorld : public World {
 public:
  UrgentWorld() { useRouter = true; }
  UrgencyRecordingFactory recording{routers};
  UrgencyRecordingWriter recordingWriter{writer, recording.calls};

  Result reconcileRecorded() {
    Reconciler r(lister, recordingWriter, clock, &recording, useAnalysis ? &analysis : nullptr,
                 options);
    Result result = r.reconcile("shop/web");
    // The scope ends with the write: nothing after the reconcile is urgent.
    EXPECT_FALSE(kube::UrgentRequestScope::active());
    return result;
  }
  // World::settle through the recording factory.
  void settleRecorded() {
    for (int i = 0; i < 20; ++i) {
      size_t before = writer.actions.size();
      makeReady();
      reconcileRecorded();
      if (writer.actions.size() == before) return;
    }
    ADD_FAILURE() << "did not settle";
  }
};

TEST(UrgentWritesTest, RoutineWeightChangesAndPromotionAreNotUrgent) {
  UrgentWorld w;
  Spec spec{.steps = R"([{"setWeight":25},{"setWeight":50}])", .extraCanary = kNginx};
  w.healthyAt(spec);
  spec.image = "web:2";
  w.apply(spec);
  w.settleRecorded();
  ASSERT_EQ(w.status().stableRS, World::hashOf("web:2"));
  EXPECT_EQ(w.status().canaryWeight, 0);
  EXPECT_THAT(w.recording.calls,
              ElementsAre(Call{"patch-service web-canary", false}, Call{"set-weight 25", false},
                          Call{"set-weight 50", false}, Call{"patch-service web-stable", false},
                          Call{"set-weight 0", false}, Call{"remove-managed-routes", false}));
}

TEST(UrgentWritesTest, AUserAbortMovesTrafficUrgently) {
  UrgentWorld w;
  Spec spec{.extraCanary = kNginx};
  w.healthyAt(spec);
  spec.image = "web:2";
  w.apply(spec);
  w.settleRecorded();
  ASSERT_EQ(w.status().canaryWeight, 25);
  w.recording.calls.clear();
  w.patchStatus([](api::RolloutStatus& s) { s.abort = true; });
  w.reconcileRecorded();
  EXPECT_THAT(w.recording.calls,
              ElementsAre(Call{"patch-service web-canary", true}, Call{"set-weight 0", true},
                          Call{"remove-managed-routes", false}));
  EXPECT_EQ(w.status().canaryWeight, 0);
  // Once the weight is 0, later reconciles of the aborted Rollout write no weight.
  w.recording.calls.clear();
  w.settleRecorded();
  EXPECT_TRUE(w.recording.calls.empty()) << ::testing::PrintToString(w.recording.calls);
}

TEST(UrgentWritesTest, AFailedAnalysisMovesTrafficUrgently) {
  UrgentWorld w;
  w.useAnalysis = true;
  Spec spec{.steps = R"([{"setWeight":25},{"analysis":{"prometheus":{"address":"http://p:9090"},)"
                     R"("metrics":[{"name":"errors","template":"error-rate","max":0.01}]}},)"
                     R"({"setWeight":50}])",
            .extraCanary = kNginx};
  w.healthyAt(spec);
  AnalysisResult failed;
  failed.outcome = AnalysisOutcome::kFailed;
  failed.reason = "errors: 0.2 > max 0.01";
  failed.status.phase = api::AnalysisPhase::kFailed;
  w.analysis.script = {failed};
  spec.image = "web:2";
  w.apply(spec);
  w.settleRecorded();
  ASSERT_TRUE(w.status().abort);
  EXPECT_THAT(w.recording.calls,
              ElementsAre(Call{"patch-service web-canary", false}, Call{"set-weight 25", false},
                          Call{"patch-service web-canary", true}, Call{"set-weight 0", true},
                          Call{"remove-managed-routes", false}));
}

TEST(UrgentWritesTest, AProgressDeadlineAbortMovesTrafficUrgently) {
  UrgentWorld w;
  // The data plane never confirms the weight, so the first step never completes.
  w.routers.verified = false;
  Spec spec{.extraCanary = kNginx, .extraSpec = R"("progressDeadlineSeconds":60,)"};
  w.healthyAt(spec);
  spec.image = "web:2";
  w.apply(spec);
  w.settleRecorded();
  ASSERT_EQ(w.status().canaryWeight, 25);
  w.clock.step(61s);
  w.reconcileRecorded();
  ASSERT_TRUE(w.status().abort);
  ASSERT_EQ(w.status().history.back().reason, "ProgressDeadlineExceeded");
  EXPECT_THAT(w.recording.calls,
              ElementsAre(Call{"patch-service web-canary", false}, Call{"set-weight 25", false},
                          Call{"patch-service web-canary", true}, Call{"set-weight 0", true},
                          Call{"remove-managed-routes", false}));
}

}  // namespace
}  // namespace canaryd::controller::testing
