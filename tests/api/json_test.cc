#include "api/json.h"

#include <gtest/gtest.h>

namespace canaryd::api {
namespace {

std::string yamlToJson(std::string_view text) {
  auto docs = parseYamlDocuments(text);
  if (!docs) return "error: " + docs.error().toString();
  if (docs->size() != 1) return "documents: " + std::to_string(docs->size());
  return toJson(docs->front());
}

TEST(Yaml, ResolvesScalarsAsKubectlDoes) {
  // go-yaml v2 (YAML 1.1) resolution, which sigs.k8s.io/yaml and so kubectl use.
  EXPECT_EQ(yamlToJson("a: yes\nb: off\nc: True\nd: y\n"),
            R"({"a":true,"b":false,"c":true,"d":true})");
  EXPECT_EQ(yamlToJson("a: 10\nb: -3\nc: 0x1F\nd: 010\ne: 1_000\n"),
            R"({"a":10,"b":-3,"c":31,"d":8,"e":1000})");
  EXPECT_EQ(yamlToJson("a: 1.5\nb: 1e3\nc: .5\n"), R"({"a":1.5,"b":1000.0,"c":0.5})");
  EXPECT_EQ(yamlToJson("a: ~\nb: null\nc:\n"), R"({"a":null,"b":null,"c":null})");
  EXPECT_EQ(yamlToJson("a: 'yes'\nb: \"10\"\nc: !!str 5\nd: 30s\ne: 1.2.3\n"),
            R"({"a":"yes","b":"10","c":"5","d":"30s","e":"1.2.3"})");
  EXPECT_EQ(yamlToJson("a: [1, two]\nb: {c: d}\n"), R"({"a":[1,"two"],"b":{"c":"d"}})");
}

TEST(Yaml, ResolvesAnchorsAndAliases) {
  EXPECT_EQ(yamlToJson("a: &x {b: 1}\nc: *x\n"), R"({"a":{"b":1},"c":{"b":1}})");
}

TEST(Yaml, ReportsErrorsWithPosition) {
  auto r = parseYamlDocuments("a: 1\nb: [1, 2\n");
  ASSERT_FALSE(r);
  EXPECT_GT(r.error().line, 1u);
  auto dup = parseYamlDocuments("a: 1\na: 2\n");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().toString(), "line 2, column 1: mapping key \"a\" already defined");
  auto inf = parseYamlDocuments("a: .inf\n");
  ASSERT_FALSE(inf);
  EXPECT_EQ(inf.error().toString(), "line 1, column 4: non-finite number .inf has no JSON form");
}

TEST(Yaml, RefusesDeepNestingBeforeParsing) {
  std::string flow(100000, '[');
  auto r = parseYamlDocuments(flow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().toString(), "nested more than 256 levels deep");
  std::string block;
  for (int i = 0; i < 50000; ++i) block += "- ";
  block += "x\n";
  EXPECT_FALSE(parseYamlDocuments(block));
  // Brackets inside quotes and comments do not count.
  std::string quoted = "a: '" + std::string(1000, '[') + "' # " + std::string(1000, '{') + "\n";
  EXPECT_TRUE(parseYamlDocuments(quoted));
}

TEST(Yaml, QuotedScalarFollowedByCommaDoesNotHang) {
  // yaml-cpp 0.7's LoadAll never returns on these inputs (found by the fuzz target).
  // Parsing must return, and what it returns is not an object, so lint reports the
  // document as not being a Kubernetes object.
  for (const char* text : {"''''''''''''''''''''', 2\n", "'a',\n"}) {
    auto r = parseYamlDocuments(text);
    if (!r) continue;
    for (const auto& doc : *r) EXPECT_FALSE(doc.IsObject()) << text;
  }
}

TEST(Yaml, ErrorLinesCountFromTheStartOfTheFile) {
  auto r = parseYamlDocuments("a: 1\n---   \nb: 2\n---\nc: [1\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().line, 6u) << r.error().toString();
}

TEST(Yaml, SplitsDocumentsAndSkipsEmptyOnes) {
  auto r = parseYamlDocuments("---\n# only a comment\n---\na: 1\n---\n---\nb: 2\n");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ(toJson((*r)[0]), R"({"a":1})");
  EXPECT_EQ(toJson((*r)[1]), R"({"b":2})");
}

TEST(Json, ReportsErrorsWithPosition) {
  auto r = parseJson("{\n  \"a\": 1,\n  \"b\": }\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().line, 3u);
  EXPECT_EQ(r.error().column, 8u);
  auto trailing = parseJson("{} x");
  ASSERT_FALSE(trailing);
  EXPECT_EQ(trailing.error().column, 4u);
}

TEST(Manifests, ExpandsListsAndArrays) {
  auto list = parseManifests(R"({"kind":"List","apiVersion":"v1","items":[{"a":1},{"b":2}]})");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 2u);
  auto arr = parseManifests(" [1, 2, 3]");
  ASSERT_TRUE(arr);
  EXPECT_EQ(arr->size(), 3u);
  auto yamlList = parseManifests("kind: ServiceList\nitems:\n- a: 1\n");
  ASSERT_TRUE(yamlList);
  ASSERT_EQ(yamlList->size(), 1u);
  EXPECT_EQ(toJson(yamlList->front()), R"({"a":1})");
}

TEST(Json, SortKeysIsRecursive) {
  auto doc = parseJson(R"({"b":{"d":1,"c":2},"a":[{"z":1,"y":2}]})");
  ASSERT_TRUE(doc);
  sortKeys(*doc);
  EXPECT_EQ(toJson(*doc), R"({"a":[{"y":2,"z":1}],"b":{"c":2,"d":1}})");
}

TEST(Json, RenderValueAsKubeDoes) {
  auto doc = parseJson(R"(["x\"y", 3, 1.5, true, null, {"a":1}])");
  ASSERT_TRUE(doc);
  const auto& a = doc->GetArray();
  EXPECT_EQ(renderValue(a[0]), R"("x\"y")");
  EXPECT_EQ(renderValue(a[1]), "3");
  EXPECT_EQ(renderValue(a[2]), "1.5");
  EXPECT_EQ(renderValue(a[3]), "true");
  EXPECT_EQ(renderValue(a[4]), "null");
  EXPECT_EQ(renderValue(a[5]), R"({"a":1})");
  EXPECT_EQ(jsonTypeName(a[1]), "integer");
  EXPECT_EQ(jsonTypeName(a[2]), "number");
}

}  // namespace
}  // namespace canaryd::api
