// Bad input never crashes the server or half-stores an object: malformed bodies, wrong
// shapes where objects are expected, bad selectors, bad patches, deep nesting.
#include "emulator_test_fixture.h"

namespace canaryd::emulator::testing {
namespace {

TEST_F(EmulatorTest, MalformedBodiesAreRejectedWholesale) {
  const std::string deployments = "/apis/apps/v1/namespaces/default/deployments";
  for (const char* body : {
           "",
           "[]",
           "42",
           "\"x\"",
           "{\"metadata\":[]}",
           "{\"metadata\":{\"name\":5}}",
           "{\"metadata\":{\"name\":\"a\"},\"spec\":5}",
           "{\"metadata\":{\"name\":\"b\",\"labels\":{\"k\":5}},\"spec\":{}}",
           "{\"metadata\":{\"name\":\"c\"},\"spec\":{\"selector\":{\"matchExpressions\":[{\"key\":"
           "5,\"operator\":\"In\"}]}}}",
           "{\"metadata\":{\"name\":\"d\",\"ownerReferences\":\"x\"},\"spec\":{\"selector\":5}}",
       }) {
    auto r = create(deployments, body);
    EXPECT_TRUE(r.status == 400u || r.status == 422u)
        << body << " -> " << r.status << " " << r.body;
    EXPECT_EQ(str(r.json(), "kind"), "Status") << body;
  }
  EXPECT_EQ(get(port_, deployments).json()["items"].Size(), 0u);
  // A deeply nested body is refused before any decoder sees it.
  std::string deep = "{\"metadata\":{\"name\":\"deep\"},\"data\":" + std::string(5000, '[') +
                     std::string(5000, ']') + "}";
  auto r = create("/api/v1/namespaces/default/configmaps", deep);
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(get(port_, "/api/v1/namespaces/default/configmaps/deep").status, 404u);
}

TEST_F(EmulatorTest, OddShapesOnUpdateAndStatus) {
  const std::string rs = "/apis/apps/v1/namespaces/default/replicasets";
  ASSERT_EQ(
      create(rs,
             R"({"metadata":{"name":"r"},"spec":{"replicas":1,"selector":{"matchLabels":{"a":"b"}},
      "template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}})")
          .status,
      201u);
  // A status of the wrong shape through /status, then the controller reads it.
  auto s =
      send(port_, "PATCH", rs + "/r/status", R"({"status":5})", "application/merge-patch+json");
  EXPECT_EQ(s.status, 200u);
  auto p = send(port_, "PATCH", rs + "/r", R"({"spec":5})", "application/merge-patch+json");
  EXPECT_EQ(p.status, 422u);
  p = send(port_, "PATCH", rs + "/r", R"({"metadata":{"ownerReferences":[5,{"uid":7}]}})",
           "application/merge-patch+json");
  EXPECT_EQ(p.status, 200u);
  EXPECT_EQ(send(port_, "DELETE", rs + "/r?propagationPolicy=Orphan", "").status, 200u);
  EXPECT_EQ(send(port_, "DELETE", rs + "/missing?propagationPolicy=Sideways", "").status, 404u);
  ASSERT_EQ(create("/api/v1/namespaces/default/configmaps", R"({"metadata":{"name":"x"}})").status,
            201u);
  EXPECT_EQ(send(port_, "DELETE",
                 "/api/v1/namespaces/default/configmaps/x?propagationPolicy=Sideways", "")
                .status,
            422u);
  EXPECT_EQ(send(port_, "DELETE", "/api/v1/namespaces/default/configmaps/x", "[1]").status, 400u);
  EXPECT_EQ(send(port_, "PATCH", "/api/v1/namespaces/default/configmaps/x",
                 R"([{"op":"bogus","path":"/a"}])", "application/json-patch+json")
                .status,
            422u);
  EXPECT_EQ(send(port_, "PATCH", "/api/v1/namespaces/default/configmaps/x", R"({"op":"add"})",
                 "application/json-patch+json")
                .status,
            400u);
  EXPECT_EQ(send(port_, "PATCH", "/api/v1/namespaces/default/configmaps/x",
                 R"({"metadata":{"name":"y"}})", "application/merge-patch+json")
                .status,
            400u);
  EXPECT_EQ(send(port_, "PATCH", "/api/v1/namespaces/default/configmaps/x",
                 R"({"a":{"$patch":"sideways"}})", "application/strategic-merge-patch+json")
                .status,
            400u);
  EXPECT_EQ(
      send(port_, "PATCH", "/api/v1/namespaces/default/configmaps/x", "{}", "text/plain").status,
      415u);
  EXPECT_EQ(send(port_, "POST", "/api/v1/namespaces/default/configmaps", "{}", "text/plain").status,
            415u);
  // The server is still answering.
  EXPECT_EQ(get(port_, "/api/v1/namespaces/default/configmaps/x").status, 200u);
}

TEST_F(EmulatorTest, OddPathsAndQueries) {
  EXPECT_EQ(get(port_, "/").status, 404u);
  EXPECT_EQ(get(port_, "/api/v1/namespaces/default/configmaps/a/b/c/d").status, 404u);
  EXPECT_EQ(get(port_, "/api/v1/namespaces/default/configmaps/a/status").status, 404u);
  EXPECT_EQ(get(port_, "/api/v1/namespaces/x/namespaces").status, 404u);
  EXPECT_EQ(get(port_, "/api/v1/configmaps?resourceVersion=abc").status, 400u);
  EXPECT_EQ(get(port_, "/api/v1/configmaps?continue=%%%").status, 400u);
  EXPECT_EQ(get(port_, "/api/v1/configmaps?continue=bm90IGpzb24").status, 400u);
  EXPECT_EQ(get(port_, "/api/v1/configmaps?labelSelector=a%20in%20(").status, 400u);
  EXPECT_EQ(get(port_, "/api/v1/configmaps?limit=-5").status, 200u);
  EXPECT_EQ(send(port_, "PUT", "/api/v1/namespaces/default/configmaps", "{}").status, 405u);
  EXPECT_EQ(get(port_, "/openapi/v3/apis/nope/v1").status, 404u);
  EXPECT_EQ(send(port_, "POST", "/apis", "{}").status, 405u);
}

}  // namespace
}  // namespace canaryd::emulator::testing
