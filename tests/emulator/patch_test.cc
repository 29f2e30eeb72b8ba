// The patch formats: unit tests of the pure functions (RFC 7386, RFC 6902 and strategic
// merge patch with its directives) and their use over HTTP.
#include "patch.h"

#include <gtest/gtest.h>

#include "api/json.h"
#include "emulator_test_fixture.h"

namespace canaryd::emulator::testing {
namespace {

std::string apply(const char* kind, const std::string& target, const std::string& patch) {
  auto doc = api::parseJson(target);
  auto p = api::parseJson(patch);
  EXPECT_TRUE(doc && p);
  PatchResult r;
  if (std::string_view(kind) == "merge")
    r = applyMergePatch(*doc, *p);
  else if (std::string_view(kind) == "json")
    r = applyJsonPatch(*doc, *p);
  else
    r = applyStrategicMergePatch(*doc, *p);
  if (!r) return "error: " + r.error().message;
  api::sortKeys(*doc);
  return api::toJson(*doc);
}

TEST(MergePatch, Rfc7386) {
  EXPECT_EQ(apply("merge", R"({"a":"b","c":{"d":"e","f":"g"}})", R"({"a":"z","c":{"f":null}})"),
            R"({"a":"z","c":{"d":"e"}})");
  EXPECT_EQ(apply("merge", R"({"a":[1,2]})", R"({"a":[3]})"), R"({"a":[3]})");
  EXPECT_EQ(apply("merge", R"({"a":"b"})", R"({"b":{"c":null,"d":1}})"),
            R"({"a":"b","b":{"d":1}})");
}

TEST(JsonPatch, Rfc6902Operations) {
  EXPECT_EQ(apply("json", R"({"a":[1,2],"b":{"c":1}})",
                  R"([{"op":"add","path":"/a/1","value":9},{"op":"add","path":"/a/-","value":3},
                      {"op":"replace","path":"/b/c","value":2},{"op":"copy","from":"/b/c","path":"/d"},
                      {"op":"move","from":"/d","path":"/e"},{"op":"remove","path":"/a/0"},
                      {"op":"test","path":"/e","value":2},{"op":"add","path":"/x~1y","value":true}])"),
            R"({"a":[9,2,3],"b":{"c":2},"e":2,"x/y":true})");
  EXPECT_EQ(apply("json", R"({"a":1})", R"([{"op":"replace","path":"/b","value":1}])")
                .rfind("error: replace operation does not apply", 0),
            0u);
  EXPECT_EQ(apply("json", R"({"a":1})", R"([{"op":"test","path":"/a","value":2}])")
                .rfind("error: testing value /a failed", 0),
            0u);
  EXPECT_EQ(apply("json", R"({"a":1})", R"([{"op":"remove","path":"/nope"}])")
                .rfind("error: remove operation does not apply", 0),
            0u);
}

TEST(StrategicMergePatch, MergesListsByKey) {
  std::string pod = R"({"spec":{"containers":[
      {"name":"app","image":"a:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"name":"http"}]},
      {"name":"side","image":"s:1"}]}})";
  EXPECT_EQ(
      apply(
          "smp", pod,
          R"({"spec":{"containers":[{"name":"app","image":"a:2","env":[{"name":"B","value":"3"}]}]}})"),
      R"({"spec":{"containers":[{"env":[{"name":"A","value":"1"},{"name":"B","value":"3"}],"image":"a:2","name":"app","ports":[{"containerPort":80,"name":"http"}]},{"image":"s:1","name":"side"}]}})");
  // $patch: delete removes an element; $patch: replace replaces the list.
  EXPECT_EQ(
      apply("smp", pod, R"({"spec":{"containers":[{"name":"side","$patch":"delete"}]}})"),
      R"({"spec":{"containers":[{"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"a:1","name":"app","ports":[{"containerPort":80,"name":"http"}]}]}})");
  EXPECT_EQ(apply("smp", pod,
                  R"({"spec":{"containers":[{"name":"only","image":"o"},{"$patch":"replace"}]}})"),
            R"({"spec":{"containers":[{"image":"o","name":"only"}]}})");
  // $setElementOrder and new elements.
  EXPECT_EQ(
      apply(
          "smp", pod,
          R"({"spec":{"$setElementOrder/containers":[{"name":"side"},{"name":"new"},{"name":"app"}],
                                   "containers":[{"name":"new","image":"n"}]}})"),
      R"({"spec":{"containers":[{"image":"s:1","name":"side"},{"image":"n","name":"new"},{"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"a:1","name":"app","ports":[{"containerPort":80,"name":"http"}]}]}})");
  // Service ports merge by port; finalizers merge as a set; $deleteFromPrimitiveList.
  EXPECT_EQ(apply("smp", R"({"spec":{"ports":[{"port":80,"name":"a"},{"port":81}]}})",
                  R"({"spec":{"ports":[{"port":81,"name":"b"}]}})"),
            R"({"spec":{"ports":[{"name":"a","port":80},{"name":"b","port":81}]}})");
  EXPECT_EQ(apply("smp", R"({"metadata":{"finalizers":["a","b"]}})",
                  R"({"metadata":{"finalizers":["c","a"]}})"),
            R"({"metadata":{"finalizers":["a","b","c"]}})");
  EXPECT_EQ(apply("smp", R"({"metadata":{"finalizers":["a","b"]}})",
                  R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["a"]}})"),
            R"({"metadata":{"finalizers":["b"]}})");
  // Lists without a merge key are replaced; maps merge; null deletes; $retainKeys.
  EXPECT_EQ(apply("smp", R"({"spec":{"args":["a","b"],"m":{"x":1,"y":2}}})",
                  R"({"spec":{"args":["c"],"m":{"x":null,"z":3}}})"),
            R"({"spec":{"args":["c"],"m":{"y":2,"z":3}}})");
  EXPECT_EQ(apply("smp", R"({"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}})",
                  R"({"strategy":{"$retainKeys":["type"],"type":"Recreate"}})"),
            R"({"strategy":{"type":"Recreate"}})");
  EXPECT_EQ(apply("smp", R"({"a":{"b":1}})", R"({"a":{"$patch":"replace","c":2}})"),
            R"({"a":{"c":2}})");
  EXPECT_EQ(apply("smp", R"({"a":{"b":1},"k":1})", R"({"a":{"$patch":"delete"}})"), R"({"k":1})");
}

TEST_F(EmulatorTest, PatchTypesOverHttp) {
  const std::string base = "/apis/apps/v1/namespaces/default/deployments";
  ASSERT_EQ(
      create(
          base,
          R"({"metadata":{"name":"web"},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},
      "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"app","image":"a:1"},{"name":"side","image":"s:1"}]}}}})")
          .status,
      201u);
  auto r = send(port_, "PATCH", base + "/web",
                R"({"spec":{"template":{"spec":{"containers":[{"name":"app","image":"a:2"}]}}}})",
                "application/strategic-merge-patch+json");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(str(r.json(), "spec.template.spec.containers.0.image"), "a:2");
  EXPECT_EQ(str(r.json(), "spec.template.spec.containers.1.image"), "s:1");
  r = send(port_, "PATCH", base + "/web", R"([{"op":"replace","path":"/spec/replicas","value":4}])",
           "application/json-patch+json");
  EXPECT_EQ(num(r.json(), "spec.replicas"), 4);
  r = send(port_, "PATCH", base + "/web",
           R"([{"op":"replace","path":"/spec/nothing/here","value":4}])",
           "application/json-patch+json");
  EXPECT_EQ(r.status, 422u);
  r = send(port_, "PATCH", base + "/web",
           R"({"spec":{"template":{"spec":{"containers":[{"name":"only","image":"o"}]}}}})",
           "application/merge-patch+json");
  EXPECT_EQ(str(r.json(), "spec.template.spec.containers.0.name"), "only");
  EXPECT_EQ(r.json()["spec"]["template"]["spec"]["containers"].Size(), 1u);
  r = send(port_, "PATCH", base + "/web", "not json", "application/merge-patch+json");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(send(port_, "PATCH", base + "/missing", "{}", "application/merge-patch+json").status,
            404u);
}

}  // namespace
}  // namespace canaryd::emulator::testing
