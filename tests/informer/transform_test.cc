#include "informer/transform.h"

#include <gtest/gtest.h>

#include "api/json.h"

namespace canaryd::informer {
namespace {

const char kReplicaSet[] = R"({
  "apiVersion": "apps/v1", "kind": "ReplicaSet",
  "metadata": {"name": "web-abc", "namespace": "shop", "uid": "u1", "resourceVersion": "42",
    "generation": 3, "labels": {"app": "web", "canaryd.io/pod-template-hash": "abc"},
    "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"big\":1}",
                    "keep": "me"},
    "ownerReferences": [{"apiVersion": "canaryd.io/v1alpha1", "kind": "Rollout", "name": "web",
                         "uid": "r1", "controller": true}],
    "managedFields": [{"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:spec": {}}}]},
  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
    "template": {"metadata": {"labels": {"app": "web", "canaryd.io/pod-template-hash": "abc",
                                         "pod-template-hash": "xyz"},
                              "annotations": {"a": "b"}},
                 "spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
  "status": {"replicas": 2, "readyReplicas": 1}})";

TEST(TrimTest, TrimObjectDropsManagedFieldsAndLastApplied) {
  auto doc = api::parseJson(kReplicaSet);
  trimObject(*doc);
  EXPECT_FALSE((*doc)["metadata"].HasMember("managedFields"));
  EXPECT_FALSE((*doc)["metadata"]["annotations"].HasMember(
      "kubectl.kubernetes.io/last-applied-configuration"));
  EXPECT_TRUE((*doc)["metadata"]["annotations"].HasMember("keep"));
  EXPECT_TRUE((*doc)["spec"]["template"].HasMember("spec"));  // only for ReplicaSets

  auto bare = api::parseJson(
      R"({"metadata":{"name":"x","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}"}}})");
  trimObject(*bare);
  EXPECT_FALSE((*bare)["metadata"].HasMember("annotations"));
  auto notObject = api::parseJson("[1]");
  trimObject(*notObject);  // no crash
}

TEST(TrimTest, TrimReplicaSetKeepsOnlyTheHashLabelsOfTheTemplate) {
  auto doc = api::parseJson(kReplicaSet);
  trimReplicaSet(*doc);
  EXPECT_EQ(
      api::toJson((*doc)["spec"]["template"]),
      R"({"metadata":{"labels":{"canaryd.io/pod-template-hash":"abc","pod-template-hash":"xyz"}}})");
  EXPECT_EQ((*doc)["spec"]["replicas"].GetInt(), 2);
  EXPECT_TRUE((*doc)["spec"].HasMember("selector"));
  EXPECT_FALSE((*doc)["metadata"].HasMember("managedFields"));
}

TEST(CachedObjectTest, DecodesMetadataAndKeepsTheRestAsJson) {
  auto doc = api::parseJson(kReplicaSet);
  auto obj = cachedObjectTransform(&trimReplicaSet)(*doc);
  ASSERT_NE(obj, nullptr);
  EXPECT_EQ(obj->metadata.name, "web-abc");
  EXPECT_EQ(obj->metadata.namespace_, "shop");
  EXPECT_EQ(obj->metadata.uid, "u1");
  EXPECT_EQ(obj->metadata.resourceVersion, "42");
  EXPECT_EQ(obj->metadata.generation, 3);
  ASSERT_EQ(obj->metadata.ownerReferences.size(), 1u);
  EXPECT_EQ(obj->metadata.ownerReferences[0].uid, "r1");
  EXPECT_EQ(obj->metadata.annotations.size(), 1u);
  auto body = obj->body();
  EXPECT_FALSE(body.HasMember("metadata"));
  EXPECT_EQ(body["status"]["readyReplicas"].GetInt(), 1);
  EXPECT_LT(obj->bytes(), 2000u);
  EXPECT_EQ(metaNamespaceKeyFunc(*obj), "shop/web-abc");
  EXPECT_EQ(ownerUidIndexFunc(*obj), std::vector<std::string>{"r1"});
}

TEST(CachedObjectTest, RejectsObjectsWithoutName) {
  for (const char* text : {"[]", "{}", R"({"metadata":{}})", R"({"metadata":3})"}) {
    auto doc = api::parseJson(text);
    EXPECT_EQ(toCachedObject(*doc), nullptr) << text;
  }
}

}  // namespace
}  // namespace canaryd::informer
