#include "controller/pod_template_hash.h"

#include <gtest/gtest.h>

#include <vector>

#include "controller/selector.h"

namespace canaryd::controller {
namespace {

uint32_t fnv(std::string_view s) {
  Fnv32a h;
  h.write(s);
  return h.sum32();
}

// Go's hash/fnv golden values for New32a.
TEST(Fnv32aTest, KnownVectors) {
  EXPECT_EQ(fnv(""), 0x811c9dc5u);
  EXPECT_EQ(fnv("a"), 0xe40c292cu);
  EXPECT_EQ(fnv("ab"), 0x4d2505cau);
  EXPECT_EQ(fnv("abc"), 0x1a47e90bu);
}

TEST(Fnv32aTest, IncrementalWritesEqualOneWrite) {
  Fnv32a h;
  h.write("a");
  h.write("bc");
  EXPECT_EQ(h.sum32(), fnv("abc"));
}

TEST(SafeEncodeStringTest, MapsEachByteIntoTheAlphabet) {
  // Digits map to alphanums[b % 27]: '0' (48) -> index 21 ('4') ... '9' (57) -> 3 ('f').
  EXPECT_EQ(safeEncodeString("0123456789"), "456789bcdf");
  EXPECT_EQ(safeEncodeString(""), "");
  // A pod-template-hash seen on a real Deployment's ReplicaSet, and the Sum32 behind it.
  EXPECT_EQ(safeEncodeString("3314112556"), "775855699b");
  for (char c : safeEncodeString("abcXYZ~\x01"))
    EXPECT_NE(std::string_view("bcdfghjklmnpqrstvwxz2456789").find(c), std::string_view::npos);
}

TEST(PodTemplateHashTest, IsSafeEncodedDecimalSum) {
  const std::string tpl = R"({"metadata":{"labels":{"app":"web"}}})";
  EXPECT_EQ(computePodTemplateHash(tpl, std::nullopt), safeEncodeString(std::to_string(fnv(tpl))));
}

TEST(PodTemplateHashTest, CollisionCountIsFourLittleEndianBytesInEight) {
  const std::string tpl = "{}";
  std::string withCount = tpl + std::string("\x02\x01\x00\x00\x00\x00\x00\x00", 8);
  EXPECT_EQ(computePodTemplateHash(tpl, 258), safeEncodeString(std::to_string(fnv(withCount))));
  // As Kubernetes: a collisionCount of 0 still changes the hash (the bytes are written).
  EXPECT_NE(computePodTemplateHash(tpl, 0), computePodTemplateHash(tpl, std::nullopt));
  EXPECT_NE(computePodTemplateHash(tpl, 1), computePodTemplateHash(tpl, 0));
  EXPECT_LE(computePodTemplateHash(tpl, 1).size(), 10u);
}

// What the Rollout cache keeps (the FNV state after the text) finishes to the hash of the
// whole text, whatever the collisionCount.
TEST(PodTemplateHashTest, FinishedFromTheStateEqualsTheHashOfTheText) {
  const std::vector<std::string> templates = {
      "{}", R"({"metadata":{"labels":{"app":"web"}}})",
      R"({"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"image":"web:2",)"
      R"("name":"web","resources":{"limits":{"cpu":"500m"}}}]}})"};
  const std::optional<int32_t> counts[] = {std::nullopt, 0, 1, 2, 255, 256, 65537, 2147483647};
  for (const auto& text : templates) {
    for (const auto& count : counts) {
      const std::string expected = computePodTemplateHash(text, count);
      EXPECT_EQ(finishPodTemplateHash(fnv(text), count), expected) << text;
      api::PodTemplate tpl{text, {}, std::nullopt};
      EXPECT_EQ(podTemplateHash(tpl, count), expected) << text;
      trimPodTemplate(tpl);
      EXPECT_EQ(podTemplateHash(tpl, count), expected) << text;
    }
  }
}

TEST(PodTemplateHashTest, TrimDropsTheTextKeepsLabelsAndStateAndIsIdempotent) {
  const std::string text = R"({"metadata":{"labels":{"app":"web"}}})";
  api::PodTemplate tpl{text, {{"app", "web"}}, std::nullopt};
  trimPodTemplate(tpl);
  EXPECT_EQ(tpl.json, "");
  EXPECT_EQ(tpl.json.capacity(), std::string().capacity());  // freed, not only cleared
  EXPECT_EQ(tpl.labels, (api::StringMap{{"app", "web"}}));
  EXPECT_EQ(tpl.trimmedFnv32a, fnv(text));
  trimPodTemplate(tpl);
  EXPECT_EQ(tpl.trimmedFnv32a, fnv(text));
  EXPECT_EQ(podTemplateState(tpl), fnv(text));
}

TEST(SelectorTest, MatchesAndFormats) {
  api::LabelSelector sel;
  sel.matchLabels = {{"app", "web"}};
  sel.matchExpressions = {{"tier", "In", {"b", "a"}}, {"legacy", "DoesNotExist", {}}};
  EXPECT_TRUE(selectorMatches(sel, {{"app", "web"}, {"tier", "a"}}));
  EXPECT_FALSE(selectorMatches(sel, {{"app", "web"}, {"tier", "c"}}));
  EXPECT_FALSE(selectorMatches(sel, {{"app", "web"}, {"tier", "a"}, {"legacy", "1"}}));
  EXPECT_FALSE(selectorMatches(sel, {{"tier", "a"}}));
  EXPECT_EQ(formatLabelSelector(sel), "app=web,!legacy,tier in (a,b)");
  EXPECT_TRUE(selectorMatches(api::LabelSelector{}, {}));
  EXPECT_EQ(formatLabelSelector(api::LabelSelector{}), "");
}

}  // namespace
}  // namespace canaryd::controller
