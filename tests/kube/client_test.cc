#include "kube/client.h"

#include <gtest/gtest.h>

#include "api/json.h"

namespace canaryd::kube {
namespace {

TEST(GroupVersionResourceTest, CorePaths) {
  const auto& pods = resources::kPods;
  EXPECT_EQ(pods.groupVersion(), "v1");
  EXPECT_EQ(pods.apiPath(), "/api/v1");
  EXPECT_EQ(pods.collectionPath("shop"), "/api/v1/namespaces/shop/pods");
  EXPECT_EQ(pods.collectionPath(""), "/api/v1/pods");
  EXPECT_EQ(pods.objectPath("shop", "web-1"), "/api/v1/namespaces/shop/pods/web-1");
  EXPECT_EQ(pods.groupResource(), "pods");
}

TEST(GroupVersionResourceTest, GroupPathsAndSubresources) {
  const auto& rs = resources::kReplicaSets;
  EXPECT_EQ(rs.groupVersion(), "apps/v1");
  EXPECT_EQ(rs.collectionPath("shop"), "/apis/apps/v1/namespaces/shop/replicasets");
  EXPECT_EQ(rs.objectPath("shop", "web", "status"),
            "/apis/apps/v1/namespaces/shop/replicasets/web/status");
  EXPECT_EQ(rs.objectPath("shop", "web", "scale"),
            "/apis/apps/v1/namespaces/shop/replicasets/web/scale");
  EXPECT_EQ(rs.groupResource(), "replicasets.apps");
  EXPECT_EQ(resources::kRollouts.objectPath("a", "b"),
            "/apis/canaryd.io/v1alpha1/namespaces/a/rollouts/b");
}

TEST(GroupVersionResourceTest, ClusterScopedIgnoresNamespace) {
  EXPECT_EQ(resources::kNamespaces.objectPath("ignored", "shop"), "/api/v1/namespaces/shop");
  EXPECT_EQ(resources::kNamespaces.collectionPath("ignored"), "/api/v1/namespaces");
}

TEST(GroupVersionResourceTest, EncodesSegments) {
  EXPECT_EQ(resources::kConfigMaps.objectPath("a", "b c/d"),
            "/api/v1/namespaces/a/configmaps/b%20c%2Fd");
}

TEST(ListQueryTest, ListAndWatch) {
  ListOptions o;
  o.labelSelector = "app=web,tier in (a,b)";
  o.limit = 500;
  o.continueToken = "abc=";
  o.resourceVersion = "0";
  EXPECT_EQ(listQuery(o, false),
            "labelSelector=app%3Dweb%2Ctier%20in%20%28a%2Cb%29&resourceVersion=0&limit=500&"
            "continue=abc%3D");
  ListOptions w;
  w.resourceVersion = "42";
  w.allowWatchBookmarks = true;
  w.timeoutSeconds = 317;
  w.limit = 10;  // not sent on watches
  EXPECT_EQ(listQuery(w, true),
            "watch=1&resourceVersion=42&allowWatchBookmarks=true&timeoutSeconds=317");
}

TEST(ClientErrorTest, Predicates) {
  auto t = clientError(kReasonTransport, "connection refused");
  EXPECT_TRUE(isClientError(t));
  EXPECT_TRUE(isTransportError(t));
  EXPECT_FALSE(isNotFound(t));
  EXPECT_TRUE(isTransportError(clientError(kReasonClientTimeout, "x")));
  EXPECT_TRUE(isDecodeError(clientError(kReasonDecode, "x")));
  EXPECT_TRUE(isCancelled(clientError(kReasonCancelled, "x")));
  ApiError server;
  server.code = 404;
  EXPECT_FALSE(isClientError(server));
}

TEST(StringAtTest, DottedPaths) {
  auto doc = api::parseJson(R"({"metadata":{"name":"a","labels":{"x":"y"},"generation":3}})");
  EXPECT_EQ(stringAt(*doc, "metadata.name"), "a");
  EXPECT_EQ(stringAt(*doc, "metadata.labels.x"), "y");
  EXPECT_EQ(stringAt(*doc, "metadata.generation"), "");
  EXPECT_EQ(stringAt(*doc, "metadata.missing.deeper"), "");
}

TEST(ListPageTest, ItemsOfMissingListIsEmpty) {
  ListPage page;
  EXPECT_EQ(page.items().Size(), 0u);
  page.list = std::make_shared<rapidjson::Document>();
  page.list->Parse(R"({"items":[{"a":1}]})");
  EXPECT_EQ(page.items().Size(), 1u);
}

TEST(PatchTypeTest, ContentTypes) {
  EXPECT_EQ(patchContentType(PatchType::kMerge), "application/merge-patch+json");
  EXPECT_EQ(patchContentType(PatchType::kJson), "application/json-patch+json");
  EXPECT_EQ(patchContentType(PatchType::kStrategicMerge), "application/strategic-merge-patch+json");
}

}  // namespace
}  // namespace canaryd::kube
