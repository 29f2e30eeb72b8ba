// Reconciler tests: reconcile() on a pre-seeded cache, asserting the exact writes (verb,
// object, body) and the status written, for each transition of DESIGN.md's "Behaviour
// users rely on".
#include "controller/reconciler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/context.h"
#include "controller/names.h"
#include "world.h"

namespace canaryd::controller::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string H1 = World::hashOf("web:1");
const std::string H2 = World::hashOf("web:2");
const std::string H3 = World::hashOf("web:3");

std::string scalePatch(const std::string& rv, int replicas) {
  return canon(R"({"metadata":{"resourceVersion":")" + rv + R"("},"spec":{"replicas":)" +
               std::to_string(replicas) + "}}");
}

std::string servicePatch(const std::string& hash) {
  return canon(
      R"({"metadata":{"annotations":{"canaryd.io/managed-by":"web"}},"spec":{"selector":{"canaryd.io/pod-template-hash":")" +
      hash + R"("}}})");
}

std::string createBody(const std::string& image, const std::string& hash, int replicas,
                       int revision) {
  return canon(R"({"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{
    "annotations":{"canaryd.io/revision":")" +
               std::to_string(revision) + R"("},
    "labels":{"app":"web","canaryd.io/pod-template-hash":")" +
               hash + R"("},
    "name":"web-)" +
               hash +
               R"(","namespace":"shop",
    "ownerReferences":[{"apiVersion":"canaryd.io/v1alpha1","blockOwnerDeletion":true,
      "controller":true,"kind":"Rollout","name":"web","uid":"r-uid"}]},
    "spec":{"replicas":)" +
               std::to_string(replicas) + R"(,
      "selector":{"matchLabels":{"app":"web","canaryd.io/pod-template-hash":")" +
               hash + R"("}},
      "template":{"metadata":{"labels":{"app":"web","canaryd.io/pod-template-hash":")" +
               hash + R"("}},
        "spec":{"containers":[{"image":")" +
               image + R"(","name":"web"}]}}}})");
}

const api::Condition& condition(const api::RolloutStatus& s, std::string_view type) {
  for (const auto& c : s.conditions)
    if (c.type == type) return c;
  static api::Condition none;
  ADD_FAILURE() << "no condition " << type;
  return none;
}

api::Time wallSeconds(const workqueue::FakeClock& clock) {
  return std::chrono::floor<std::chrono::seconds>(clock.wallNow());
}

// ---- first apply ----

TEST(ReconcilerTest, FirstApplyCreatesTheStableReplicaSetAtFullScaleWithNoSteps) {
  World w;
  w.apply(Spec{});
  Result r = w.reconcile();
  EXPECT_EQ(r, Result{});
  // The Rollout is read for its pod template's text, which the cache does not keep.
  ASSERT_EQ(w.writer.actions.size(), 3u);
  EXPECT_EQ(w.writer.actions[0], (Action{"get", "rollouts", "web", ""}));
  EXPECT_EQ(w.writer.actions[1],
            (Action{"create", "replicasets", "web-" + H1, createBody("web:1", H1, 4, 1)}));
  EXPECT_EQ(w.writer.actions[2].verb, "update-status");
  auto s = *w.writer.lastStatus();
  EXPECT_EQ(s.stableRS, H1);
  EXPECT_EQ(s.currentPodHash, H1);
  EXPECT_EQ(s.currentStepIndex, 4);
  EXPECT_EQ(s.canaryWeight, 0);
  EXPECT_EQ(s.phase, api::RolloutPhase::kProgressing);
  EXPECT_EQ(s.observedGeneration, 1);
  EXPECT_EQ(s.selector, "app=web");
  EXPECT_EQ(condition(s, "Ready").status, "False");
  EXPECT_THAT(w.writer.eventReasons(), ElementsAre("CreatedReplicaSet"));

  // Pods become available: Services are pinned to the stable hash; Healthy and Ready.
  w.makeReady();
  w.writer.reset();
  EXPECT_EQ(w.reconcile(), Result{});
  ASSERT_EQ(w.writer.actions.size(), 3u);
  EXPECT_EQ(w.writer.actions[0], (Action{"patch", "services", "web-stable", servicePatch(H1)}));
  EXPECT_EQ(w.writer.actions[1], (Action{"patch", "services", "web-canary", servicePatch(H1)}));
  s = *w.writer.lastStatus();
  EXPECT_EQ(s.phase, api::RolloutPhase::kHealthy);
  EXPECT_EQ(s.availableReplicas, 4);
  EXPECT_EQ(s.replicas, 4);
  EXPECT_EQ(s.updatedReplicas, 4);
  EXPECT_EQ(condition(s, "Ready").status, "True");
  EXPECT_EQ(condition(s, "Ready").reason, "RolloutHealthy");
  EXPECT_EQ(condition(s, "Completed").status, "True");
  EXPECT_EQ(condition(s, "Available").status, "True");
  EXPECT_EQ(condition(s, "InvalidSpec").status, "False");

  // Steady state: nothing to write.
  w.writer.reset();
  EXPECT_EQ(w.reconcile(), Result{});
  EXPECT_TRUE(w.writer.actions.empty()) << ::testing::PrintToString(w.writer.actions);
}

TEST(ReconcilerTest, ReadyConditionTransitionTimeOnlyMovesOnFlips) {
  World w;
  w.healthyAt(Spec{});
  auto readySince = condition(w.status(), "Ready").lastTransitionTime;
  w.clock.step(100s);
  w.rs("web:1").specReplicas = 3;  // a hand edit: put back, still Ready
  w.reconcile();
  EXPECT_EQ(condition(w.status(), "Ready").lastTransitionTime, readySince);
}

// ---- template change and steps ----

TEST(ReconcilerTest, TemplateChangeCreatesTheCanaryAndStartsAtStepZero) {
  World w;
  w.healthyAt(Spec{});
  std::string stableRv = w.rs("web:1").metadata.resourceVersion;
  w.apply(Spec{.image = "web:2"});
  EXPECT_EQ(w.reconcile().requeueAfter, std::chrono::milliseconds(601s));
  auto writes = w.writer.objectWrites();
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_EQ(writes[0],
            (Action{"create", "replicasets", "web-" + H2, createBody("web:2", H2, 1, 2)}));
  EXPECT_EQ(writes[1], (Action{"patch", "replicasets", "web-" + H1, scalePatch(stableRv, 3)}));
  auto s = *w.writer.lastStatus();
  EXPECT_EQ(s.currentPodHash, H2);
  EXPECT_EQ(s.stableRS, H1);
  EXPECT_EQ(s.currentStepIndex, 0);
  EXPECT_EQ(s.canaryWeight, 25);
  EXPECT_EQ(s.phase, api::RolloutPhase::kProgressing);
  EXPECT_EQ(s.observedGeneration, 2);
  EXPECT_THAT(w.writer.eventReasons(), ElementsAre("RolloutUpdated", "WeightChanged",
                                                   "CreatedReplicaSet", "ScaledReplicaSet"));
}

TEST(ReconcilerTest, StepsNeverAdvanceWhileTheCanaryLacksAvailablePods) {
  World w;
  w.healthyAt(Spec{});
  w.apply(Spec{.image = "web:2"});
  w.reconcile();
  w.writer.reset();
  // The canary exists but has no available pod: nothing moves, nothing is written.
  w.reconcile();
  EXPECT_TRUE(w.writer.actions.empty()) << ::testing::PrintToString(w.writer.actions);
  EXPECT_EQ(w.status().currentStepIndex, 0);
  // The canary Service is not pointed at a canary with no available pods.
  EXPECT_EQ(w.lister.services.at("shop/web-canary").selector.at(std::string(kPodTemplateHashLabel)),
            H1);
}

TEST(ReconcilerTest, FullRolloutThroughEveryStepToPromotion) {
  World w;
  w.healthyAt(Spec{});
  w.apply(Spec{.image = "web:2"});
  Result r = w.settle();

  // Step 0 done (1 of 4 canary pods available), paused at step 1 for 1m.
  EXPECT_EQ(w.status().currentStepIndex, 1);
  EXPECT_EQ(w.status().phase, api::RolloutPhase::kPaused);
  ASSERT_EQ(w.status().pauseConditions.size(), 1u);
  EXPECT_EQ(w.status().pauseConditions[0].reason, "PauseStep");
  EXPECT_EQ(w.status().pauseConditions[0].startTime, wallSeconds(w.clock));
  EXPECT_EQ(r.requeueAfter, std::chrono::milliseconds(60s));
  EXPECT_EQ(w.rs("web:2").specReplicas, 1);
  EXPECT_EQ(w.rs("web:1").specReplicas, 3);
  EXPECT_EQ(w.lister.services.at("shop/web-canary").selector.at(std::string(kPodTemplateHashLabel)),
            H2);
  EXPECT_EQ(w.lister.services.at("shop/web-stable").selector.at(std::string(kPodTemplateHashLabel)),
            H1);

  // The pause ends; setWeight 50; then the indefinite pause at step 3.
  w.clock.step(60s);
  w.writer.reset();
  r = w.settle();
  EXPECT_EQ(w.status().currentStepIndex, 3);
  EXPECT_EQ(w.status().phase, api::RolloutPhase::kPaused);
  EXPECT_EQ(w.status().canaryWeight, 50);
  EXPECT_EQ(w.rs("web:2").specReplicas, 2);
  EXPECT_EQ(w.rs("web:1").specReplicas, 2);
  EXPECT_FALSE(r.requeueAfter);
  EXPECT_THAT(w.writer.eventReasons(),
              ::testing::IsSupersetOf({"Resumed", "StepStarted", "WeightChanged", "Paused"}));

  // Promote: the user removes the pause conditions.
  w.writer.reset();
  w.patchStatus([](api::RolloutStatus& s) { s.pauseConditions.clear(); });
  w.reconcile();  // leaves the pause: promoting, canary to full scale
  EXPECT_EQ(w.status().currentStepIndex, 4);
  EXPECT_EQ(w.rs("web:2").specReplicas, 4);
  EXPECT_EQ(w.rs("web:1").specReplicas, 2);
  w.makeReady();
  w.writer.reset();
  std::string oldStableRv = w.rs("web:1").metadata.resourceVersion;
  r = w.reconcile();  // promotion
  auto writes = w.writer.objectWrites();
  // The canary Service already selects the new hash; the stable Service moves over, and the
  // old stable gets its scale-down deadline.
  ASSERT_EQ(writes.size(), 2u) << ::testing::PrintToString(writes);
  EXPECT_EQ(writes[0], (Action{"patch", "services", "web-stable", servicePatch(H2)}));
  api::Time deadline = wallSeconds(w.clock) + 30s;
  EXPECT_EQ(writes[1],
            (Action{"patch", "replicasets", "web-" + H1,
                    canon(R"({"metadata":{"annotations":{"canaryd.io/scale-down-deadline":")" +
                          api::formatTime(deadline) + R"("},"resourceVersion":")" + oldStableRv +
                          R"("}})")}));
  EXPECT_EQ(r.requeueAfter, std::chrono::milliseconds(30s));
  auto s = *w.writer.lastStatus();
  EXPECT_EQ(s.stableRS, H2);
  EXPECT_EQ(s.currentPodHash, H2);
  EXPECT_EQ(s.canaryWeight, 0);
  EXPECT_EQ(s.phase, api::RolloutPhase::kHealthy);
  ASSERT_EQ(s.history.size(), 1u);
  EXPECT_EQ(s.history[0].outcome, "Promoted");
  EXPECT_EQ(s.history[0].podHash, H2);
  EXPECT_EQ(s.history[0].revision, 2);
  EXPECT_EQ(s.history[0].reason, "StepsCompleted");
  EXPECT_THAT(w.writer.eventReasons(), ::testing::Contains("Promoted"));

  // scaleDownDelaySeconds later the old stable goes to zero.
  w.clock.step(30s);
  w.writer.reset();
  std::string rv = w.rs("web:1").metadata.resourceVersion;
  w.reconcile();
  writes = w.writer.objectWrites();
  ASSERT_EQ(writes.size(), 1u) << ::testing::PrintToString(writes);
  EXPECT_EQ(
      writes[0],
      (Action{
          "patch", "replicasets", "web-" + H1,
          canon(
              R"({"metadata":{"annotations":{"canaryd.io/scale-down-deadline":null},"resourceVersion":")" +
              rv + R"("},"spec":{"replicas":0}})")}));
  EXPECT_EQ(w.status().phase, api::RolloutPhase::kHealthy);
  EXPECT_EQ(condition(w.status(), "Completed").status, "True");
}

// Drives web:1 Healthy, then web:2 to the 1m pause at step 1 (canary 1, stable 3).
void atFirstPause(World& w, const Spec& base = Spec{}) {
  w.healthyAt(base);
  Spec next = base;
  next.image = "web:2";
  w.apply(next);
  w.settle();
  ASSERT_EQ(w.status().currentStepIndex, 1);
  w.writer.reset();
}

TEST(ReconcilerTest, PauseRemainingTimeSurvivesARestart) {
  World w;
  atFirstPause(w);
  // Each reconcile uses a fresh Reconciler: all it knows is the cached status.
  w.clock.step(20s);
  Result r = w.reconcile();
  EXPECT_EQ(r.requeueAfter, std::chrono::milliseconds(40s));
  EXPECT_TRUE(w.writer.actions.empty()) << ::testing::PrintToString(w.writer.actions);
  EXPECT_EQ(w.status().currentStepIndex, 1);
  w.clock.step(39s);
  EXPECT_EQ(w.reconcile().requeueAfter, std::chrono::milliseconds(1s));
  EXPECT_EQ(w.status().currentStepIndex, 1);
  w.clock.step(1s);
  w.reconcile();
  EXPECT_EQ(w.status().currentStepIndex, 2);
}

TEST(ReconcilerTest, AbortSetsWeightZeroScalesStableUpAndTheCanaryDownAfterTheDelay) {
  World w;
  atFirstPause(w);
  std::string stableRv = w.rs("web:1").metadata.resourceVersion;
  w.patchStatus([](api::RolloutStatus& s) { s.abort = true; });
  Result r = w.reconcile();
  EXPECT_EQ(r.requeueAfter, std::chrono::milliseconds(30s));
  auto writes = w.writer.objectWrites();
  ASSERT_EQ(writes.size(), 2u) << ::testing::PrintToString(writes);
  // The canary Service falls back to the stable pods; the stable goes back to full scale;
  // the canary keeps its pod for abortScaleDownDelaySeconds.
  EXPECT_EQ(writes[0], (Action{"patch", "services", "web-canary", servicePatch(H1)}));
  EXPECT_EQ(writes[1], (Action{"patch", "replicasets", "web-" + H1, scalePatch(stableRv, 4)}));
  auto s = w.status();
  EXPECT_TRUE(s.abort);
  EXPECT_EQ(s.abortedAt, wallSeconds(w.clock));
  EXPECT_EQ(s.canaryWeight, 0);
  EXPECT_EQ(s.phase, api::RolloutPhase::kDegraded);
  EXPECT_TRUE(s.pauseConditions.empty());
  EXPECT_EQ(condition(s, "Aborted").status, "True");
  EXPECT_EQ(condition(s, "Aborted").reason, "AbortedByUser");
  EXPECT_EQ(condition(s, "Ready").status, "False");
  ASSERT_EQ(s.history.size(), 1u);
  EXPECT_EQ(s.history[0].outcome, "Aborted");
  EXPECT_EQ(s.history[0].podHash, H2);
  EXPECT_THAT(w.writer.eventReasons(), ::testing::Contains("Aborted"));

  w.makeReady();
  w.clock.step(30s);
  w.writer.reset();
  std::string canaryRv = w.rs("web:2").metadata.resourceVersion;
  w.reconcile();
  EXPECT_THAT(w.writer.objectWrites(),
              ElementsAre(Action{"patch", "replicasets", "web-" + H2, scalePatch(canaryRv, 0)}));
  EXPECT_EQ(w.status().phase, api::RolloutPhase::kDegraded);

  // Retry: clearing status.abort starts the canary over from step 0.
  w.makeReady();
  w.writer.reset();
  w.patchStatus([](api::RolloutStatus& s) { s.abort = false; });
  w.reconcile();
  s = w.status();
  EXPECT_FALSE(s.abort);
  EXPECT_FALSE(s.abortedAt);
  EXPECT_EQ(s.currentStepIndex, 0);
  EXPECT_EQ(condition(s, "Aborted").status, "False");
  EXPECT_EQ(condition(s, "Aborted").reason, "Retried");
  EXPECT_EQ(w.rs("web:2").specReplicas, 1);
  EXPECT_EQ(w.rs("web:1").specReplicas, 3);
  EXPECT_THAT(w.writer.eventReasons(), ::testing::Contains("Retried"));
}

TEST(ReconcilerTest, ProgressDeadlineAbortsANeverReadyCanary) {
  World w;
  Spec spec{.extraSpec = R"("progressDeadlineSeconds":60,)"};
  w.healthyAt(spec);
  spec.image = "web:2";
  w.apply(spec);
  EXPECT_EQ(w.reconcile().requeueAfter, std::chrono::milliseconds(61s));
  w.clock.step(60s);
  w.reconcile();
  EXPECT_FALSE(w.status().abort);  // not yet: the deadline must be strictly passed
  w.clock.step(1s);
  w.reconcile();
  auto s = w.status();
  EXPECT_TRUE(s.abort);
  EXPECT_EQ(s.phase, api::RolloutPhase::kDegraded);
  EXPECT_EQ(condition(s, "Aborted").reason, "ProgressDeadlineExceeded");
  EXPECT_EQ(condition(s, "Progressing").status, "False");
  EXPECT_EQ(condition(s, "Progressing").reason, "ProgressDeadlineExceeded");
  EXPECT_THAT(s.message, HasSubstr("progressDeadlineSeconds"));
  ASSERT_EQ(s.history.size(), 1u);
  EXPECT_EQ(s.history[0].reason, "ProgressDeadlineExceeded");
}

TEST(ReconcilerTest, PausedTimeDoesNotCountAgainstTheProgressDeadline) {
  World w;
  atFirstPause(w, Spec{.extraSpec = R"("progressDeadlineSeconds":30,)"});
  w.clock.step(59s);
  w.reconcile();
  EXPECT_FALSE(w.status().abort);
}

TEST(ReconcilerTest, RollbackToTheStableTemplateSkipsTheSteps) {
  World w;
  atFirstPause(w);
  std::string canaryRv = w.rs("web:2").metadata.resourceVersion;
  std::string stableRv = w.rs("web:1").metadata.resourceVersion;
  w.apply(Spec{.image = "web:1"});
  w.reconcile();
  auto writes = w.writer.objectWrites();
  ASSERT_EQ(writes.size(), 3u) << ::testing::PrintToString(writes);
  EXPECT_EQ(writes[0], (Action{"patch", "services", "web-canary", servicePatch(H1)}));
  EXPECT_EQ(writes[1], (Action{"patch", "replicasets", "web-" + H1, scalePatch(stableRv, 4)}));
  EXPECT_EQ(writes[2], (Action{"patch", "replicasets", "web-" + H2, scalePatch(canaryRv, 0)}));
  auto s = w.status();
  EXPECT_EQ(s.currentPodHash, H1);
  EXPECT_EQ(s.stableRS, H1);
  EXPECT_EQ(s.currentStepIndex, 4);
  EXPECT_EQ(s.canaryWeight, 0);
  EXPECT_TRUE(s.pauseConditions.empty());
  EXPECT_THAT(w.writer.eventReasons(), ::testing::Contains("RolledBack"));
  w.makeReady();
  w.reconcile();
  EXPECT_EQ(w.status().phase, api::RolloutPhase::kHealthy);
}

TEST(ReconcilerTest, ANewTemplateMidRolloutSupersedesTheCanary) {
  World w;
  atFirstPause(w);
  std::string canaryRv = w.rs("web:2").metadata.resourceVersion;
  w.apply(Spec{.image = "web:3"});
  w.reconcile();
  auto writes = w.writer.objectWrites();
  // The canary Service returns to the stable pods until the new canary has available pods.
  ASSERT_EQ(writes.size(), 3u) << ::testing::PrintToString(writes);
  EXPECT_EQ(writes[0], (Action{"patch", "services", "web-canary", servicePatch(H1)}));
  EXPECT_EQ(writes[1],
            (Action{"create", "replicasets", "web-" + H3, createBody("web:3", H3, 1, 3)}));
  EXPECT_EQ(writes[2], (Action{"patch", "replicasets", "web-" + H2, scalePatch(canaryRv, 0)}));
  auto s = w.status();
  EXPECT_EQ(s.currentPodHash, H3);
  EXPECT_EQ(s.currentStepIndex, 0);
  EXPECT_TRUE(s.pauseConditions.empty());
  EXPECT_EQ(w.rs("web:1").specReplicas, 3);
}

TEST(ReconcilerTest, ReplicasChangeAtAStepKeepsItsProportions) {
  World w;
  atFirstPause(w);
  std::string stableRv = w.rs("web:1").metadata.resourceVersion;
  std::string canaryRv = w.rs("web:2").metadata.resourceVersion;
  w.apply(Spec{.replicas = 8, .image = "web:2"});
  w.reconcile();
  EXPECT_THAT(w.writer.objectWrites(),
              ElementsAre(Action{"patch", "replicasets", "web-" + H1, scalePatch(stableRv, 6)},
                          Action{"patch", "replicasets", "web-" + H2, scalePatch(canaryRv, 2)}));
  EXPECT_EQ(w.status().currentStepIndex, 1);
  EXPECT_EQ(w.status().observedGeneration, 3);
}

TEST(ReconcilerTest, SpecPausedHoldsTheCurrentStep) {
  World w;
  w.healthyAt(Spec{});
  w.apply(Spec{.image = "web:2", .paused = true});
  w.settle();
  auto s = w.status();
  EXPECT_EQ(s.currentStepIndex, 0);
  EXPECT_EQ(s.phase, api::RolloutPhase::kPaused);
  EXPECT_EQ(condition(s, "Paused").status, "True");
  EXPECT_EQ(condition(s, "Paused").reason, "PausedBySpec");
  w.apply(Spec{.image = "web:2", .paused = false});
  w.settle();
  EXPECT_EQ(w.status().currentStepIndex, 1);
}

TEST(ReconcilerTest, PromoteFullSkipsTheRemainingSteps) {
  World w;
  atFirstPause(w);
  w.patchStatus([](api::RolloutStatus& s) { s.promoteFull = true; });
  w.settle();
  auto s = w.status();
  EXPECT_EQ(s.stableRS, H2);
  EXPECT_FALSE(s.promoteFull);
  ASSERT_EQ(s.history.size(), 1u);
  EXPECT_EQ(s.history[0].reason, "PromotedFull");
}

ReplicaSetView ownedRS(const std::string& name, const std::string& hash, int64_t revision,
                       int replicas) {
  ReplicaSetView rs;
  rs.metadata.name = name;
  rs.metadata.namespace_ = "shop";
  rs.metadata.uid = "uid-" + name;
  rs.metadata.resourceVersion = "5";
  rs.metadata.labels = {{"app", "web"}, {std::string(kPodTemplateHashLabel), hash}};
  rs.metadata.annotations = {{std::string(kRevisionAnnotation), std::to_string(revision)}};
  rs.metadata.ownerReferences = {{"canaryd.io/v1alpha1", "Rollout", "web", "r-uid", true, true}};
  rs.podTemplateHash = hash;
  rs.specReplicas = replicas;
  rs.replicas = replicas;
  rs.availableReplicas = replicas;
  rs.readyReplicas = replicas;
  return rs;
}

TEST(ReconcilerTest, RevisionHistoryLimitDeletesTheOldestIdleReplicaSets) {
  World w;
  w.healthyAt(Spec{.extraSpec = R"("revisionHistoryLimit":1,)"});
  w.lister.replicaSets["shop/web-old1"] = ownedRS("web-old1", "old1", 1, 0);
  w.lister.replicaSets["shop/web-old2"] = ownedRS("web-old2", "old2", 2, 0);
  w.lister.replicaSets["shop/web-old3"] = ownedRS("web-old3", "old3", 3, 0);
  w.reconcile();
  EXPECT_THAT(w.writer.objectWrites(),
              ElementsAre(Action{"delete", "replicasets", "web-old2", "uid=uid-web-old2"},
                          Action{"delete", "replicasets", "web-old1", "uid=uid-web-old1"}));
  EXPECT_TRUE(w.lister.replicaSets.count("shop/web-old3"));
}

TEST(ReconcilerTest, AStatusConflictIsRequeuedAndNeverForced) {
  World w;
  atFirstPause(w);
  w.clock.step(60s);
  w.writer.failNext("update-status", "rollouts",
                    WriteError{WriteError::Kind::kConflict, "the object has been modified"});
  Result r = w.reconcile();
  EXPECT_EQ(r.error, Result::Error::kTransient);
  EXPECT_THAT(r.message, HasSubstr("Conflict"));
  // One attempt, last, with the cached resourceVersion; no transition events.
  ASSERT_FALSE(w.writer.actions.empty());
  EXPECT_EQ(w.writer.actions.back().verb, "update-status");
  EXPECT_EQ(std::count_if(w.writer.actions.begin(), w.writer.actions.end(),
                          [](const Action& a) { return a.verb == "update-status"; }),
            1);
  EXPECT_EQ(w.status().currentStepIndex, 1);
  EXPECT_THAT(w.writer.eventReasons(), ::testing::Not(::testing::Contains("StepStarted")));
  // The requeued reconcile makes the same transition.
  w.writer.reset();
  EXPECT_EQ(w.reconcile().error, Result::Error::kNone);
  EXPECT_EQ(w.status().currentStepIndex, 2);
}

TEST(ReconcilerTest, AHandEditedReplicaSetIsPutBack) {
  World w;
  w.healthyAt(Spec{});
  w.rs("web:1").specReplicas = 7;
  w.rs("web:1").metadata.resourceVersion = "77";
  w.reconcile();
  EXPECT_THAT(w.writer.objectWrites(),
              ElementsAre(Action{"patch", "replicasets", "web-" + H1, scalePatch("77", 4)}));
}

TEST(ReconcilerTest, ADeletedRolloutEndsQuietly) {
  World w;
  atFirstPause(w);
  w.lister.rollouts.clear();
  EXPECT_EQ(w.reconcile(), Result{});
  EXPECT_TRUE(w.writer.actions.empty());
  EXPECT_TRUE(w.writer.events.empty());
}

TEST(ReconcilerTest, ARolloutDeletedDuringTheReconcileEndsItQuietly) {
  World w;
  atFirstPause(w);
  w.clock.step(60s);
  // The cache still had it; the API server no longer does.
  w.writer.failNext(
      "update-status", "rollouts",
      WriteError{WriteError::Kind::kNotFound, "rollouts.canaryd.io \"web\" not found"});
  EXPECT_EQ(w.reconcile(), Result{});
  EXPECT_THAT(w.writer.eventReasons(), ::testing::Not(::testing::Contains("StepStarted")));
}

TEST(ReconcilerTest, AnOrphanReplicaSetWithTheTemplateHashIsAdopted) {
  World w;
  ReplicaSetView orphan = ownedRS("web-" + H1, H1, 1, 4);
  orphan.metadata.ownerReferences.clear();
  orphan.metadata.resourceVersion = "42";
  w.lister.replicaSets["shop/web-" + H1] = orphan;
  w.apply(Spec{});
  w.reconcile();
  EXPECT_THAT(
      w.writer.objectWrites(),
      ElementsAre(
          Action{"patch", "services", "web-stable", servicePatch(H1)},
          Action{"patch", "services", "web-canary", servicePatch(H1)},
          Action{"patch", "replicasets", "web-" + H1,
                 canon(R"({"metadata":{"ownerReferences":[{"apiVersion":"canaryd.io/v1alpha1",
                   "blockOwnerDeletion":true,"controller":true,"kind":"Rollout","name":"web",
                   "uid":"r-uid"}],"resourceVersion":"42"}})")}));
  EXPECT_EQ(w.status().stableRS, H1);
  EXPECT_EQ(w.status().phase, api::RolloutPhase::kHealthy);
}

TEST(ReconcilerTest, ANameTakenByAnotherOwnerBumpsTheCollisionCount) {
  World w;
  ReplicaSetView foreign = ownedRS("web-" + H1, "x", 1, 1);
  foreign.metadata.labels = {{"app", "other"}};
  foreign.metadata.ownerReferences[0].uid = "someone-else";
  w.lister.replicaSets["shop/web-" + H1] = foreign;
  w.apply(Spec{});
  Result r = w.reconcile();
  EXPECT_EQ(r.error, Result::Error::kTransient);
  EXPECT_EQ(w.status().collisionCount, 1);
  EXPECT_THAT(w.writer.eventReasons(), ::testing::Contains("HashCollision"));
  w.writer.reset();
  w.reconcile();
  ASSERT_FALSE(w.writer.objectWrites().empty());
  std::string hash = w.status().stableRS;
  EXPECT_NE(hash, H1);
  EXPECT_EQ(w.writer.objectWrites()[0].name, "web-" + hash);
}

// ---- the pod template's text (read from the API server, not kept in the cache) ----

size_t rolloutReads(const World& w) {
  return std::count(w.writer.actions.begin(), w.writer.actions.end(),
                    Action{"get", "rollouts", "web", ""});
}

TEST(ReconcilerTest, ARolloutIsReadOncePerNewRevisionNeverPerStepNorAtSteadyState) {
  World w;
  const std::string steps = R"([{"setWeight":25},{"setWeight":50},{"setWeight":75}])";
  w.apply(Spec{.steps = steps});
  w.settle();
  EXPECT_EQ(rolloutReads(w), 1u);  // the stable ReplicaSet's creation
  w.writer.reset();

  w.apply(Spec{.image = "web:2", .steps = steps});
  w.settle();
  EXPECT_EQ(w.status().stableRS, H2);  // three steps, then promoted
  EXPECT_EQ(rolloutReads(w), 1u);      // the canary's creation only
  EXPECT_EQ(w.writer.actions[0], (Action{"get", "rollouts", "web", ""}));
  EXPECT_EQ(w.writer.actions[1],
            (Action{"create", "replicasets", "web-" + H2, createBody("web:2", H2, 1, 2)}));

  w.writer.reset();
  w.reconcile();
  EXPECT_TRUE(w.writer.actions.empty()) << ::testing::PrintToString(w.writer.actions);
}

// The cache holds web:2 (a canary to create), the API server web:3 already: the text read
// is not the cached template's, so nothing is written until the cache catches up.
TEST(ReconcilerTest, ATemplateNewerThanTheCacheIsRequeuedWithoutAnyWrite) {
  World w;
  w.healthyAt(Spec{});
  w.apply(Spec{.image = "web:2"});
  w.apply(Spec{.image = "web:3"}, /*cacheLags=*/true);
  Result r = w.reconcile();
  EXPECT_EQ(r.error, Result::Error::kTransient);
  EXPECT_THAT(r.message, HasSubstr("changed since the cache was read"));
  EXPECT_THAT(w.writer.actions, ElementsAre(Action{"get", "rollouts", "web", ""}));
  EXPECT_TRUE(w.writer.events.empty());

  w.apply(Spec{.image = "web:3"});  // the watch event arrives
  w.writer.reset();
  EXPECT_EQ(w.reconcile().error, Result::Error::kNone);
  auto writes = w.writer.objectWrites();
  ASSERT_FALSE(writes.empty());
  EXPECT_EQ(writes[0],
            (Action{"create", "replicasets", "web-" + H3, createBody("web:3", H3, 1, 2)}));
  EXPECT_EQ(w.status().currentPodHash, H3);
}

TEST(ReconcilerTest, ARecreatedRolloutOfTheSameNameIsTheCacheBeingBehind) {
  World w;
  w.apply(Spec{});
  w.writer.apiRollouts.at("shop/web").metadata.uid = "another-uid";
  EXPECT_EQ(w.reconcile().error, Result::Error::kTransient);
  EXPECT_THAT(w.writer.actions, ElementsAre(Action{"get", "rollouts", "web", ""}));
}

TEST(ReconcilerTest, AFailedReadOfTheRolloutIsTransientAndWritesNothing) {
  World w;
  w.apply(Spec{});
  w.writer.failNext("get", "rollouts", WriteError{WriteError::Kind::kOther, "timeout"});
  Result r = w.reconcile();
  EXPECT_EQ(r.error, Result::Error::kTransient);
  EXPECT_THAT(r.message, HasSubstr("timeout"));
  EXPECT_THAT(w.writer.actions, ElementsAre(Action{"get", "rollouts", "web", ""}));

  w.writer.reset();
  EXPECT_EQ(w.reconcile().error, Result::Error::kNone);
  EXPECT_EQ(w.writer.objectWrites().at(0).name, "web-" + H1);
}

TEST(ReconcilerTest, ARolloutDeletedBeforeItsTemplateIsReadEndsQuietly) {
  World w;
  w.apply(Spec{});
  w.writer.apiRollouts.clear();
  EXPECT_EQ(w.reconcile().error, Result::Error::kNone);
  EXPECT_THAT(w.writer.actions, ElementsAre(Action{"get", "rollouts", "web", ""}));
}

// ---- bad input ----

TEST(ReconcilerTest, AnInvalidSpecGetsInvalidSpecWithEveryErrorAndNoOtherWrite) {
  World w;
  w.apply(Spec{.replicas = -1, .steps = R"([{"setWeight":140}])"});
  Result r = w.reconcile();
  EXPECT_EQ(r.error, Result::Error::kTerminal);
  ASSERT_EQ(w.writer.actions.size(), 1u);
  EXPECT_EQ(w.writer.actions[0].verb, "update-status");
  auto s = w.status();
  EXPECT_EQ(s.phase, api::RolloutPhase::kDegraded);
  EXPECT_EQ(s.observedGeneration, 1);
  const auto& invalid = condition(s, "InvalidSpec");
  EXPECT_EQ(invalid.status, "True");
  EXPECT_EQ(invalid.message,
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0\n"
            "spec.strategy.canary.steps[0].setWeight: Invalid value: 140: must be between 0 "
            "and 100");
  EXPECT_EQ(condition(s, "Ready").reason, "InvalidSpec");
  EXPECT_THAT(w.writer.eventReasons(), ElementsAre("InvalidSpec"));
  // Nothing changed: no write, no repeated event.
  w.writer.reset();
  w.reconcile();
  EXPECT_TRUE(w.writer.actions.empty());
  EXPECT_TRUE(w.writer.events.empty());
  // Fixed: the InvalidSpec condition goes False and the rollout proceeds.
  w.apply(Spec{});
  w.reconcile();
  EXPECT_EQ(condition(w.status(), "InvalidSpec").status, "False");
  EXPECT_TRUE(w.hasRS("web:1"));
}

TEST(ReconcilerTest, AMissingServiceIsAnInvalidSpecNamingIt) {
  World w;
  w.lister.services.erase("shop/web-canary");
  w.apply(Spec{});
  w.reconcile();
  ASSERT_EQ(w.writer.actions.size(), 1u);
  EXPECT_EQ(condition(w.status(), "InvalidSpec").message,
            "spec.strategy.canary.canaryService: Invalid value: \"web-canary\": Service not "
            "found in namespace \"shop\"");
}

TEST(ReconcilerTest, AServiceManagedByAnotherRolloutIsRefused) {
  World w;
  w.lister.services["shop/web-stable"].metadata.annotations[std::string(kManagedByAnnotation)] =
      "other";
  w.apply(Spec{});
  w.reconcile();
  ASSERT_EQ(w.writer.actions.size(), 1u);
  EXPECT_EQ(condition(w.status(), "InvalidSpec").message,
            "spec.strategy.canary.stableService: Invalid value: \"web-stable\": Service is "
            "managed by Rollout \"other\"");
  EXPECT_EQ(w.status().phase, api::RolloutPhase::kDegraded);
}

TEST(ReconcilerTest, SetCanaryScaleOverridesTheCanaryCount) {
  World w;
  w.healthyAt(Spec{});
  w.apply(Spec{.image = "web:2",
               .steps = R"([{"setCanaryScale":{"replicas":2}},{"setWeight":25},{"pause":{}}])"});
  w.settle();
  EXPECT_EQ(w.status().currentStepIndex, 2);
  EXPECT_EQ(w.rs("web:2").specReplicas, 2);  // the override holds at later steps
  EXPECT_EQ(w.rs("web:1").specReplicas, 3);
}

TEST(ReconcilerTest, DesiredScaleFollowsArgoRollouts) {
  auto doc = api::parseJson(rolloutJson(Spec{
      .replicas = 10,
      .steps =
          R"([{"setWeight":5},{"setCanaryScale":{"weight":50}},{"setWeight":30},{"pause":{}}])"}));
  RolloutView r = rolloutViewFromJson(*doc);
  auto at = [&](int i, bool routed) {
    DesiredScale s = desiredScaleAt(r, i, routed);
    return std::vector<int>{s.stable, s.canary, s.weight};
  };
  EXPECT_EQ(at(0, false), (std::vector<int>{9, 1, 5}));    // ceil(10 * 5 / 100) = 1
  EXPECT_EQ(at(1, false), (std::vector<int>{9, 5, 5}));    // setCanaryScale weight 50
  EXPECT_EQ(at(2, false), (std::vector<int>{7, 5, 30}));   // the override holds
  EXPECT_EQ(at(4, false), (std::vector<int>{7, 10, 30}));  // promoting
  EXPECT_EQ(at(0, true), (std::vector<int>{10, 1, 5}));    // with a router the stable stays full
}

}  // namespace
}  // namespace canaryd::controller::testing
