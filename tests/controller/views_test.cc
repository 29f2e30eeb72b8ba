#include "controller/views.h"

#include <gtest/gtest.h>

#include "api/decode.h"
#include "api/json.h"
#include "controller/pod_template_hash.h"

namespace canaryd::controller {
namespace {

rapidjson::Document json(std::string_view text) {
  auto doc = api::parseJson(text);
  EXPECT_TRUE(doc) << text;
  return std::move(*doc);
}

TEST(ReplicaSetViewTest, KeepsWhatTheControllerReadsAndNotTheTemplate) {
  auto doc = json(R"({
    "apiVersion": "apps/v1", "kind": "ReplicaSet",
    "metadata": {"name": "web-abc", "namespace": "shop", "uid": "u1", "resourceVersion": "7",
      "generation": 3, "creationTimestamp": "2024-01-01T00:00:00Z",
      "labels": {"app": "web", "canaryd.io/pod-template-hash": "abc"},
      "annotations": {"canaryd.io/revision": "2"},
      "managedFields": [{"manager": "kubectl"}], "finalizers": ["x"],
      "ownerReferences": [{"apiVersion": "canaryd.io/v1alpha1", "kind": "Rollout",
        "name": "web", "uid": "r1", "controller": true, "blockOwnerDeletion": true}]},
    "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
    "status": {"replicas": 3, "readyReplicas": 2, "availableReplicas": 1,
      "observedGeneration": 3}})");
  ReplicaSetView v = replicaSetViewFromJson(doc);
  EXPECT_EQ(v.metadata.name, "web-abc");
  EXPECT_EQ(v.metadata.namespace_, "shop");
  EXPECT_EQ(v.metadata.uid, "u1");
  EXPECT_EQ(v.metadata.resourceVersion, "7");
  EXPECT_EQ(v.metadata.generation, 3);
  EXPECT_TRUE(v.metadata.creationTimestamp);
  EXPECT_TRUE(v.metadata.finalizers.empty());
  EXPECT_EQ(v.podTemplateHash, "abc");
  EXPECT_EQ(v.specReplicas, 3);
  EXPECT_EQ(v.replicas, 3);
  EXPECT_EQ(v.readyReplicas, 2);
  EXPECT_EQ(v.availableReplicas, 1);
  EXPECT_EQ(v.observedGeneration, 3);
  ASSERT_NE(controllerOf(v.metadata), nullptr);
  EXPECT_EQ(controllerOf(v.metadata)->uid, "r1");
}

TEST(ReplicaSetViewTest, DefaultsAndWrongTypes) {
  auto doc = json(R"({"metadata": {"name": "x"}, "spec": {}, "status": {"replicas": "3"}})");
  ReplicaSetView v = replicaSetViewFromJson(doc);
  EXPECT_EQ(v.specReplicas, 1);  // defaulted by the API server when absent
  EXPECT_EQ(v.replicas, 0);
  EXPECT_EQ(v.podTemplateHash, "");
  EXPECT_EQ(controllerOf(v.metadata), nullptr);
}

TEST(ServiceViewTest, MetaAndSelector) {
  auto doc = json(R"({"metadata": {"name": "web-stable", "namespace": "shop",
    "annotations": {"canaryd.io/managed-by": "web"}},
    "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})");
  ServiceView v = serviceViewFromJson(doc);
  EXPECT_EQ(v.metadata.name, "web-stable");
  EXPECT_EQ(v.metadata.annotations.at("canaryd.io/managed-by"), "web");
  EXPECT_EQ(v.selector, (api::StringMap{{"app", "web"}}));
}

TEST(RolloutViewTest, CarriesEveryErrorOfTheSpecButNotOfTheStatus) {
  auto doc = json(R"({"apiVersion": "canaryd.io/v1alpha1", "kind": "Rollout",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"replicas": -1, "selector": {"matchLabels": {"app": "web"}},
      "template": {"metadata": {"labels": {"app": "web"}},
                   "spec": {"containers": [{"name": "web", "image": "web:1"}]}},
      "strategy": {"canary": {"steps": [{"setWeight": 140}]}}},
    "status": {"phase": "Bogus"}})");
  RolloutView v = rolloutViewFromJson(doc);
  ASSERT_EQ(v.specErrors.size(), 2u) << api::joinErrors(v.specErrors);
  EXPECT_EQ(v.specErrors[0].field, "spec.replicas");
  EXPECT_EQ(v.specErrors[1].field, "spec.strategy.canary.steps[0].setWeight");
  EXPECT_EQ(v.metadata.name, "web");
  EXPECT_EQ(v.spec.replicas, -1);
}

// The cache keeps the template's labels and hash, not its text (the bulk of a Rollout).
TEST(RolloutViewTest, KeepsThePodTemplatesHashAndLabelsNotItsText) {
  auto doc = json(R"({"apiVersion": "canaryd.io/v1alpha1", "kind": "Rollout",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
      "template": {"metadata": {"labels": {"app": "web"}},
                   "spec": {"containers": [{"name": "web", "image": "web:1"}]}},
      "strategy": {"canary": {"steps": [{"setWeight": 10}]}}}})");
  const auto decoded = api::decodeRollout(doc, api::DecodeOptions{.strict = false});
  const api::PodTemplate& full = *decoded.object.spec.podTemplate;
  RolloutView v = rolloutViewFromJson(doc);
  ASSERT_TRUE(v.specErrors.empty()) << api::joinErrors(v.specErrors);
  ASSERT_TRUE(v.spec.podTemplate);
  EXPECT_EQ(v.spec.podTemplate->json, "");
  EXPECT_EQ(v.spec.podTemplate->labels, full.labels);
  for (std::optional<int32_t> count : {std::optional<int32_t>(), std::optional<int32_t>(3)})
    EXPECT_EQ(podTemplateHash(*v.spec.podTemplate, count),
              computePodTemplateHash(full.json, count));
}

}  // namespace
}  // namespace canaryd::controller
