// -o yaml / -o json output: kubectl's layout, and YAML that reads back as the same JSON.
#include "cli/yaml_output.h"

#include <gtest/gtest.h>

#include "api/json.h"

namespace canaryd::cli {
namespace {

rapidjson::Document json(std::string_view text) {
  auto doc = api::parseJson(text);
  EXPECT_TRUE(doc) << text;
  return doc ? std::move(*doc) : rapidjson::Document();
}

TEST(ToYaml, KubectlLayout) {
  auto doc = json(R"({"metadata":{"name":"web","labels":{"app":"web"}},
    "spec":{"replicas":4,"paused":false,"empty":{},"none":[],
    "steps":[{"setWeight":25},{"pause":{}},{"pause":{"duration":"2s"}}],
    "images":["example.com/web:2","b"]}})");
  EXPECT_EQ(toYaml(doc),
            "metadata:\n"
            "  name: web\n"
            "  labels:\n"
            "    app: web\n"
            "spec:\n"
            "  replicas: 4\n"
            "  paused: false\n"
            "  empty: {}\n"
            "  none: []\n"
            "  steps:\n"
            "  - setWeight: 25\n"
            "  - pause: {}\n"
            "  - pause:\n"
            "      duration: 2s\n"
            "  images:\n"
            "  - example.com/web:2\n"
            "  - b\n");
}

TEST(ToYaml, QuotesWhatWouldReadBackAsSomethingElse) {
  auto doc = json(R"({"a":"true","b":"123","c":"2026-03-02T12:00:00Z","d":"","e":"a: b",
    "f":"x #y","g":"null","h":"0.5","i":"-x","j":"say \"hi\"\n","k":"yes","l":"plain text",
    "m":"ends:","n":"5m30s","o":"0x1F","p":"1:20","q":"10.0.0.1","r":"1e3"})");
  std::string yaml = toYaml(doc);
  EXPECT_EQ(yaml,
            "a: \"true\"\n"
            "b: \"123\"\n"
            "c: \"2026-03-02T12:00:00Z\"\n"
            "d: \"\"\n"
            "e: \"a: b\"\n"
            "f: \"x #y\"\n"
            "g: \"null\"\n"
            "h: \"0.5\"\n"
            "i: \"-x\"\n"
            "j: \"say \\\"hi\\\"\\n\"\n"
            "k: \"yes\"\n"
            "l: plain text\n"
            "m: \"ends:\"\n"
            "\"n\": 5m30s\n"
            "o: \"0x1F\"\n"
            "p: \"1:20\"\n"
            "q: \"10.0.0.1\"\n"
            "r: \"1e3\"\n");
  auto back = api::parseYamlDocuments(yaml);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 1u);
  EXPECT_TRUE((*back)[0] == doc);
}

TEST(ToYaml, RoundTripsNestedSequences) {
  auto doc = json(R"({"items":[[1,2],[{"a":[{"b":null}]}],{"c":1.5}]})");
  auto back = api::parseYamlDocuments(toYaml(doc));
  ASSERT_TRUE(back) << toYaml(doc);
  EXPECT_TRUE((*back)[0] == doc) << toYaml(doc);
}

TEST(Output, KeysSortedAsKubectl) {
  auto doc = json(R"({"b":1,"a":{"d":2,"c":3}})");
  EXPECT_EQ(toYamlOutput(doc), "a:\n  c: 3\n  d: 2\nb: 1\n");
  EXPECT_EQ(toJsonOutput(doc), "{\n  \"a\": {\n    \"c\": 3,\n    \"d\": 2\n  },\n  \"b\": 1\n}\n");
}

}  // namespace
}  // namespace canaryd::cli
