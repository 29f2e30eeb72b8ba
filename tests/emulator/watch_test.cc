// Watch semantics of kube-emulator: initial events, resume by resourceVersion,
// selector transitions, bookmarks, 410 Gone after compaction, timeouts.
#include "emulator_test_fixture.h"

namespace canaryd::emulator::testing {
namespace {

const char* kConfigMaps = "/api/v1/namespaces/default/configmaps";

std::string cm(const std::string& name, const std::string& value,
               const std::string& labels = "{}") {
  return R"({"metadata":{"name":")" + name + R"(","labels":)" + labels + R"(},"data":{"k":")" +
         value + R"("}})";
}

std::string setValue(const std::string& value) { return R"({"data":{"k":")" + value + R"("}})"; }

TEST_F(EmulatorTest, WatchFromZeroSendsCurrentStateThenChanges) {
  create(kConfigMaps, cm("a", "1"));
  WatchStream w(port_, std::string(kConfigMaps) + "?watch=1&resourceVersion=0");
  EXPECT_EQ(w.status(), 200u);
  auto& ev = w.waitFor(1);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(str(ev[0], "type"), "ADDED");
  EXPECT_EQ(str(ev[0], "object.metadata.name"), "a");
  send(port_, "PATCH", std::string(kConfigMaps) + "/a", setValue("2"),
       "application/merge-patch+json");
  send(port_, "DELETE", std::string(kConfigMaps) + "/a", "");
  auto& all = w.waitFor(3);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(str(all[1], "type"), "MODIFIED");
  EXPECT_EQ(str(all[1], "object.data.k"), "2");
  EXPECT_EQ(str(all[2], "type"), "DELETED");
  // The DELETED object carries the deletion's resourceVersion.
  EXPECT_GT(std::stoull(str(all[2], "object.metadata.resourceVersion")),
            std::stoull(str(all[1], "object.metadata.resourceVersion")));
}

TEST_F(EmulatorTest, WatchResumesFromResourceVersion) {
  auto a = create(kConfigMaps, cm("a", "1")).json();
  std::string rv1 = str(a, "metadata.resourceVersion");
  send(port_, "PATCH", std::string(kConfigMaps) + "/a", setValue("2"),
       "application/merge-patch+json");
  create(kConfigMaps, cm("b", "1"));
  // Everything after rv1, in order, and nothing before.
  WatchStream w(port_, std::string(kConfigMaps) + "?watch=true&resourceVersion=" + rv1);
  auto& ev = w.waitFor(2);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(str(ev[0], "type"), "MODIFIED");
  EXPECT_EQ(str(ev[0], "object.data.k"), "2");
  EXPECT_EQ(str(ev[1], "type"), "ADDED");
  EXPECT_EQ(str(ev[1], "object.metadata.name"), "b");
  // Then live events.
  send(port_, "PATCH", std::string(kConfigMaps) + "/b", setValue("3"),
       "application/merge-patch+json");
  ASSERT_EQ(w.waitFor(3).size(), 3u);
  EXPECT_EQ(str(w.waitFor(3)[2], "object.data.k"), "3");
}

TEST_F(EmulatorTest, WatchTooOldResourceVersionAfterCompaction) {
  auto a = create(kConfigMaps, cm("a", "1")).json();
  std::string rv1 = str(a, "metadata.resourceVersion");
  send(port_, "PATCH", std::string(kConfigMaps) + "/a", setValue("2"),
       "application/merge-patch+json");
  auto compact = send(port_, "POST", "/_emulator/compact", "");
  ASSERT_EQ(compact.status, 200u);
  WatchStream w(port_, std::string(kConfigMaps) + "?watch=1&resourceVersion=" + rv1);
  EXPECT_EQ(w.status(), 200u);
  auto& ev = w.waitFor(1);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(str(ev[0], "type"), "ERROR");
  EXPECT_EQ(num(ev[0], "object.code"), 410);
  EXPECT_EQ(str(ev[0], "object.reason"), "Expired");
  EXPECT_EQ(str(ev[0], "object.message").rfind("too old resource version: " + rv1, 0), 0u);
  EXPECT_TRUE(w.waitForEnd());
  // A list gives a fresh resourceVersion to watch from.
  std::string rv = str(get(port_, kConfigMaps).json(), "metadata.resourceVersion");
  WatchStream w2(port_, std::string(kConfigMaps) + "?watch=1&resourceVersion=" + rv);
  send(port_, "PATCH", std::string(kConfigMaps) + "/a", setValue("3"),
       "application/merge-patch+json");
  ASSERT_EQ(w2.waitFor(1).size(), 1u);
  EXPECT_EQ(str(w2.waitFor(1)[0], "type"), "MODIFIED");
}

TEST_F(EmulatorTest, BoundedHistoryExpiresOldVersions) {
  emulator_.reset();
  EmulatorOptions o;
  o.api.historyLimit = 5;
  emulator_ = std::make_unique<Emulator>(o);
  emulator_->start();
  port_ = emulator_->port();
  auto a = create(kConfigMaps, cm("a", "0")).json();
  std::string rv1 = str(a, "metadata.resourceVersion");
  for (int i = 1; i <= 6; ++i)
    send(port_, "PATCH", std::string(kConfigMaps) + "/a", setValue(std::to_string(i)),
         "application/merge-patch+json");
  WatchStream w(port_, std::string(kConfigMaps) + "?watch=1&resourceVersion=" + rv1);
  ASSERT_EQ(w.waitFor(1).size(), 1u);
  EXPECT_EQ(num(w.waitFor(1)[0], "object.code"), 410);
}

TEST_F(EmulatorTest, WatchBookmarks) {
  create(kConfigMaps, cm("a", "1"));
  std::string rv = str(get(port_, kConfigMaps).json(), "metadata.resourceVersion");
  WatchStream w(
      port_, std::string(kConfigMaps) + "?watch=1&allowWatchBookmarks=true&resourceVersion=" + rv);
  auto& ev = w.waitFor(1, std::chrono::seconds(5));
  ASSERT_GE(ev.size(), 1u);
  EXPECT_EQ(str(ev[0], "type"), "BOOKMARK");
  EXPECT_EQ(str(ev[0], "object.kind"), "ConfigMap");
  EXPECT_EQ(str(ev[0], "object.metadata.resourceVersion"), rv);
}

TEST_F(EmulatorTest, WatchSelectorTransitionsAndTimeout) {
  create(kConfigMaps, cm("a", "1", R"({"app":"x"})"));
  std::string rv = str(get(port_, kConfigMaps).json(), "metadata.resourceVersion");
  WatchStream w(port_, std::string(kConfigMaps) +
                           "?watch=1&labelSelector=app%3Dx&timeoutSeconds=2&resourceVersion=" + rv);
  // Losing the label reads as DELETED, regaining it as ADDED.
  send(port_, "PATCH", std::string(kConfigMaps) + "/a", R"({"metadata":{"labels":{"app":"y"}}})",
       "application/merge-patch+json");
  send(port_, "PATCH", std::string(kConfigMaps) + "/a", R"({"metadata":{"labels":{"app":"x"}}})",
       "application/merge-patch+json");
  create(kConfigMaps, cm("other", "1", R"({"app":"z"})"));
  auto& ev = w.waitFor(2);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(str(ev[0], "type"), "DELETED");
  EXPECT_EQ(str(ev[1], "type"), "ADDED");
  // timeoutSeconds ends the stream cleanly.
  EXPECT_TRUE(w.waitForEnd(std::chrono::seconds(5)));
  EXPECT_FALSE(w.broken());
  EXPECT_EQ(w.waitFor(3, std::chrono::milliseconds(1)).size(), 2u);
}

TEST_F(EmulatorTest, WatchOneObjectByName) {
  create(kConfigMaps, cm("a", "1"));
  create(kConfigMaps, cm("b", "1"));
  WatchStream w(port_, std::string(kConfigMaps) + "?watch=1&fieldSelector=metadata.name%3Db");
  ASSERT_EQ(w.waitFor(1).size(), 1u);
  send(port_, "PATCH", std::string(kConfigMaps) + "/a", setValue("2"),
       "application/merge-patch+json");
  send(port_, "PATCH", std::string(kConfigMaps) + "/b", setValue("2"),
       "application/merge-patch+json");
  auto& ev = w.waitFor(2);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(str(ev[1], "object.metadata.name"), "b");
}

}  // namespace
}  // namespace canaryd::emulator::testing
