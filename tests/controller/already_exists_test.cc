// A ReplicaSet create answered AlreadyExists (the deployment controller's getNewReplicaSet,
// Argo Rollouts' createDesiredReplicaSet): the ReplicaSet there is read from the API server;
// with the desired pod template and controlled by this Rollout it is this Rollout's (the
// cache is behind), with no controller it is adopted, and only a different template or
// another controller is a hash collision. A failed read is a transient error, never a
// collision.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/context.h"
#include "controller/names.h"
#include "world.h"

namespace canaryd::controller::testing {
namespace {

using ::testing::ElementsAreArray;

const std::string H1 = World::hashOf("web:1");
const std::string H2 = World::hashOf("web:2");

std::string templateOf(const std::string& image, const std::string& hash,
                       const std::string& extraContainer = "", const std::string& extraSpec = "") {
  return R"({"metadata":{"labels":{"app":"web","canaryd.io/pod-template-hash":")" + hash +
         R"("}},"spec":{)" + extraSpec + R"("containers":[{)" + extraContainer + R"("image":")" +
         image + R"(","name":"web"}]}})";
}

// What kube-apiserver stores for canaryd's template: the same, plus defaults.
std::string defaultedTemplateOf(const std::string& image, const std::string& hash) {
  return R"({"metadata":{"creationTimestamp":null,"labels":{"app":"web",
    "canaryd.io/pod-template-hash":")" +
         hash + R"("}},"spec":{"containers":[{"image":")" + image +
         R"(","imagePullPolicy":"IfNotPresent","name":"web","resources":{},
    "terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"}],
    "dnsPolicy":"ClusterFirst","restartPolicy":"Always","schedulerName":"default-scheduler",
    "securityContext":{},"terminationGracePeriodSeconds":30}})";
}

LiveReplicaSet liveRS(const std::string& hash, const std::string& controllerUid,
                      const std::string& podTemplate, int replicas) {
  LiveReplicaSet live;
  ReplicaSetView& rs = live.view;
  rs.metadata.name = "web-" + hash;
  rs.metadata.namespace_ = "shop";
  rs.metadata.uid = "uid-existing";
  rs.metadata.resourceVersion = "900";
  rs.metadata.labels = {{"app", "web"}, {std::string(kPodTemplateHashLabel), hash}};
  if (!controllerUid.empty())
    rs.metadata.ownerReferences = {
        {"canaryd.io/v1alpha1", "Rollout", "owner", controllerUid, true, true}};
  rs.podTemplateHash = hash;
  rs.specReplicas = replicas;
  live.podTemplate = podTemplate;
  return live;
}

std::vector<std::string> verbs(const std::vector<Action>& actions) {
  std::vector<std::string> out;
  for (const auto& a : actions) out.push_back(a.verb + " " + a.resource);
  return out;
}

struct Case {
  std::string name;
  std::string controllerUid;  // of the ReplicaSet already there; "" none
  std::string podTemplate;    // its template
  bool deleting = false;
  std::optional<WriteError::Kind> readFails;  // the read after AlreadyExists fails
  // Expected:
  Result::Error error;
  std::optional<int32_t> collisionCount;
  std::vector<std::string> verbs;
};

class AlreadyExistsTest : public ::testing::TestWithParam<Case> {};

// The first apply: the stable ReplicaSet web-<H1> is created at 4, and the name is taken.
TEST_P(AlreadyExistsTest, OnFirstApply) {
  const Case& c = GetParam();
  World w;
  LiveReplicaSet live = liveRS(H1, c.controllerUid, c.podTemplate, 1);
  if (c.deleting) live.view.metadata.deletionTimestamp = api::Time{};
  w.writer.unseen["shop/web-" + H1] = live;
  if (c.readFails) w.writer.failNext("get", "replicasets", WriteError{*c.readFails, "failed"});
  w.apply(Spec{});
  Result r = w.reconcile();

  EXPECT_EQ(r.error, c.error) << r.message;
  EXPECT_THAT(verbs(w.writer.actions), ElementsAreArray(c.verbs));
  const bool collided = c.collisionCount.has_value();
  EXPECT_EQ(w.status().collisionCount, c.collisionCount);
  const auto reasons = w.writer.eventReasons();
  EXPECT_EQ(std::count(reasons.begin(), reasons.end(), "HashCollision"), collided ? 1 : 0);
  if (c.error == Result::Error::kNone) {
    // Taken as this Rollout's: scaled to 4 with the live resourceVersion as precondition,
    // adopted when it had no controller, and the rollout goes on with hash H1.
    std::string owner =
        c.controllerUid.empty()
            ? R"("ownerReferences":[{"apiVersion":"canaryd.io/v1alpha1","blockOwnerDeletion":true,
                 "controller":true,"kind":"Rollout","name":"web","uid":"r-uid"}],)"
            : "";
    EXPECT_EQ(w.writer.actions[3],
              (Action{"patch", "replicasets", "web-" + H1,
                      canon(R"({"metadata":{)" + owner +
                            R"("resourceVersion":"900"},"spec":{"replicas":4}})")}));
    EXPECT_EQ(w.status().stableRS, H1);
    EXPECT_EQ(w.status().currentPodHash, H1);
  }
  if (c.error == Result::Error::kTransient && !collided) {
    // Nothing decided: no status write, and the next reconcile (read succeeding) tries again.
    EXPECT_FALSE(w.writer.lastStatus());
  }
}

// Each create is preceded by the read of the Rollout for its pod template's text.
const std::vector<std::string> kTaken = {"get rollouts", "create replicasets", "get replicasets",
                                         "patch replicasets", "update-status rollouts"};
const std::vector<std::string> kCollision = {"get rollouts", "create replicasets",
                                             "get replicasets", "update-status rollouts"};
const std::vector<std::string> kRetried = {"get rollouts", "create replicasets", "get replicasets"};

INSTANTIATE_TEST_SUITE_P(
    Reconciler, AlreadyExistsTest,
    ::testing::Values(Case{"OursTheCacheIsBehind", "r-uid", templateOf("web:1", H1), false,
                           std::nullopt, Result::Error::kNone, std::nullopt, kTaken},
                      Case{"OursWithServerDefaults", "r-uid", defaultedTemplateOf("web:1", H1),
                           false, std::nullopt, Result::Error::kNone, std::nullopt, kTaken},
                      Case{"AnOrphanWithTheTemplateIsAdopted", "", templateOf("web:1", H1), false,
                           std::nullopt, Result::Error::kNone, std::nullopt, kTaken},
                      Case{"OursButAnotherTemplate", "r-uid", templateOf("web:9", H1), false,
                           std::nullopt, Result::Error::kTransient, 1, kCollision},
                      Case{"OursButATemplateFieldIsMissing", "r-uid",
                           R"({"metadata":{"labels":{"canaryd.io/pod-template-hash":")" + H1 +
                               R"("}},"spec":{"containers":[{"image":"web:1","name":"web"}]}})",
                           false, std::nullopt, Result::Error::kTransient, 1, kCollision},
                      Case{"AnotherControllerWithTheTemplate", "other-uid", templateOf("web:1", H1),
                           false, std::nullopt, Result::Error::kTransient, 1, kCollision},
                      Case{"NoControllerAnotherTemplate", "", templateOf("web:2", H1), false,
                           std::nullopt, Result::Error::kTransient, 1, kCollision},
                      Case{"BeingDeleted", "r-uid", templateOf("web:1", H1), true, std::nullopt,
                           Result::Error::kTransient, std::nullopt, kRetried},
                      Case{"TheReadFails", "other-uid", templateOf("web:9", H1), false,
                           WriteError::Kind::kOther, Result::Error::kTransient, std::nullopt,
                           kRetried},
                      Case{"GoneByTheRead", "r-uid", templateOf("web:1", H1), false,
                           WriteError::Kind::kNotFound, Result::Error::kTransient, std::nullopt,
                           kRetried}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(PodTemplateMatchesTest, IgnoresTheHashLabelAndServerDefaults) {
  const std::string desired = templateOf("web:1", "aaaa");
  EXPECT_TRUE(podTemplateMatches(templateOf("web:1", "bbbb"), desired));
  EXPECT_TRUE(podTemplateMatches(defaultedTemplateOf("web:1", "aaaa"), desired));
  EXPECT_FALSE(podTemplateMatches(templateOf("web:2", "aaaa"), desired));
  // A field the desired template sets must be there; an empty one may be left out.
  EXPECT_FALSE(podTemplateMatches(templateOf("web:1", "aaaa"),
                                  templateOf("web:1", "aaaa", R"("args":["x"],)")));
  EXPECT_TRUE(
      podTemplateMatches(templateOf("web:1", "aaaa"),
                         templateOf("web:1", "aaaa", R"("env":[],)", R"("tolerations":null,)")));
  // Containers are matched in order.
  EXPECT_FALSE(podTemplateMatches(R"({"spec":{"containers":[{"name":"b"},{"name":"a"}]}})",
                                  R"({"spec":{"containers":[{"name":"a"},{"name":"b"}]}})"));
  EXPECT_FALSE(podTemplateMatches("", desired));
  EXPECT_FALSE(podTemplateMatches("[]", desired));
}

// A watch that lags behind canaryd's own writes: the canary created in one reconcile is not
// in the cache at the next, whose create answers AlreadyExists. The Rollout goes on with the
// same hash, and no collision is ever recorded.
TEST(AlreadyExistsTest, ALaggingCacheIsNoHashCollision) {
  World w;
  w.healthyAt(Spec{});
  w.writer.cacheLags = true;
  w.apply(Spec{.image = "web:2"});
  EXPECT_EQ(w.reconcile().error, Result::Error::kNone);
  ASSERT_TRUE(w.writer.unseen.count("shop/web-" + H2));
  EXPECT_EQ(w.status().currentPodHash, H2);
  w.writer.reset();
  for (int i = 0; i < 3; ++i) {
    Result r = w.reconcile();
    EXPECT_EQ(r.error, Result::Error::kNone) << r.message;
  }
  EXPECT_FALSE(w.status().collisionCount.has_value());
  EXPECT_EQ(w.status().currentPodHash, H2);
  EXPECT_THAT(w.writer.eventReasons(), ::testing::Not(::testing::Contains("HashCollision")));
  // The cache catches up: no more creates.
  w.writer.catchUp();
  w.writer.reset();
  w.writer.cacheLags = false;
  w.settle();
  for (const auto& a : w.writer.actions) EXPECT_NE(a.verb, "create") << a;
  EXPECT_EQ(w.status().currentStepIndex, 1);  // at the 1m pause, with the canary at 1 of 4
  EXPECT_EQ(w.rs("web:2").specReplicas, 1);
  EXPECT_FALSE(w.status().collisionCount.has_value());
}

}  // namespace
}  // namespace canaryd::controller::testing
