#include "kube/watch.h"

#include <gtest/gtest.h>

namespace canaryd::kube {
namespace {

TEST(JsonObjectSplitterTest, SplitsObjectsFedByteByByte) {
  std::string stream = R"({"type":"ADDED","object":{"a":"}{\"]","b":[1,{"c":2}]}})"
                       "\n"
                       R"({"type":"DELETED","object":{}})"
                       "\r\n";
  JsonObjectSplitter s;
  std::vector<std::string> out;
  for (char c : stream) {
    ASSERT_TRUE(s.feed(std::string_view(&c, 1)));
    while (auto v = s.pop()) out.push_back(*v);
  }
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], R"({"type":"ADDED","object":{"a":"}{\"]","b":[1,{"c":2}]}})");
  EXPECT_EQ(out[1], R"({"type":"DELETED","object":{}})");
  EXPECT_FALSE(s.partial());
}

TEST(JsonObjectSplitterTest, SeveralObjectsInOneFeedAndPartialTail) {
  JsonObjectSplitter s;
  ASSERT_TRUE(s.feed("{\"a\":1}{\"b\":2}\n{\"c\":"));
  EXPECT_EQ(*s.pop(), "{\"a\":1}");
  EXPECT_EQ(*s.pop(), "{\"b\":2}");
  EXPECT_FALSE(s.pop().has_value());
  EXPECT_TRUE(s.partial());
  ASSERT_TRUE(s.feed("\"x\\\\\"}"));
  EXPECT_EQ(*s.pop(), "{\"c\":\"x\\\\\"}");
  EXPECT_FALSE(s.partial());
}

TEST(JsonObjectSplitterTest, GarbageBetweenObjectsFails) {
  JsonObjectSplitter s;
  EXPECT_FALSE(s.feed("{\"a\":1} x"));
  EXPECT_TRUE(s.failed());
  EXPECT_NE(s.error().find("unexpected character 'x'"), std::string::npos);
  EXPECT_FALSE(s.feed("{}"));
}

TEST(JsonObjectSplitterTest, BoundsTheSizeOfOneObject) {
  JsonObjectSplitter s(16);
  EXPECT_FALSE(s.feed("{\"a\":\"0123456789abcdef\"}"));
  EXPECT_TRUE(s.failed());
}

TEST(DecodeWatchEventTest, Types) {
  auto added = decodeWatchEvent(
      R"({"type":"ADDED","object":{"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"7"}}})");
  ASSERT_TRUE(added.has_value());
  EXPECT_EQ(added->type, WatchEventType::kAdded);
  EXPECT_EQ(added->resourceVersion, "7");
  EXPECT_EQ(stringAt(*added->object, "metadata.name"), "a");
  EXPECT_EQ(stringAt(*added->object, "kind"), "ConfigMap");
  EXPECT_FALSE(added->object->HasMember("type"));

  auto bookmark = decodeWatchEvent(
      R"({"type":"BOOKMARK","object":{"kind":"ConfigMap","metadata":{"resourceVersion":"9"}}})");
  ASSERT_TRUE(bookmark.has_value());
  EXPECT_EQ(bookmark->type, WatchEventType::kBookmark);
  EXPECT_EQ(bookmark->resourceVersion, "9");
  EXPECT_EQ(decodeWatchEvent(R"({"type":"MODIFIED","object":{}})")->type,
            WatchEventType::kModified);
  EXPECT_EQ(decodeWatchEvent(R"({"type":"DELETED","object":{}})")->type, WatchEventType::kDeleted);
}

TEST(DecodeWatchEventTest, ErrorEventWithGoneStatus) {
  auto gone = decodeWatchEvent(
      R"x({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure",)x"
      R"x("message":"too old resource version: 5 (10)","reason":"Expired","code":410}})x");
  ASSERT_FALSE(gone.has_value());
  EXPECT_TRUE(isResourceExpired(gone.error()));
  EXPECT_TRUE(isTooOldResourceVersion(gone.error()));
  EXPECT_EQ(gone.error().code, 410);
}

TEST(DecodeWatchEventTest, MalformedAndUnknownAreDecodeErrors) {
  for (const char* text :
       {"{\"type\":\"ADDED\",\"object\":{", "{\"object\":{}}", "{\"type\":\"ADDED\"}",
        "{\"type\":\"ADDED\",\"object\":3}", "{\"type\":\"RESYNC\",\"object\":{}}", "[1]"}) {
    auto ev = decodeWatchEvent(text, "configmaps");
    ASSERT_FALSE(ev.has_value()) << text;
    EXPECT_TRUE(isDecodeError(ev.error())) << text;
    EXPECT_NE(ev.error().message.find("watch of configmaps"), std::string::npos);
  }
  auto unknown = decodeWatchEvent("{\"type\":\"RESYNC\",\"object\":{}}");
  EXPECT_NE(unknown.error().message.find("unknown event type \"RESYNC\""), std::string::npos);
}

TEST(RandomWatchTimeoutTest, BetweenOnceAndTwiceTheMinimum) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 1000; ++i) {
    auto t = randomWatchTimeoutSeconds(rng);
    EXPECT_GE(t, 300);
    EXPECT_LT(t, 600);
  }
}

}  // namespace
}  // namespace canaryd::kube
