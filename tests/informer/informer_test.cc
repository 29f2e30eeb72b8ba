// SharedInformer against the in-process kube-emulator (plain and TLS): list + watch with
// bookmarks, resume after dropped watches without missing or duplicating an event, relist
// on 410 Gone with tombstones, and handlers.
#include "informer/informer.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>

#include "emulator_env.h"
#include "informer/transform.h"

namespace canaryd::informer {
namespace {

using namespace std::chrono_literals;
using kube::resources::kConfigMaps;
using kube::testing::configMap;

// Records every change a handler hears.
struct Recorded {
  std::string type;  // add, update, delete, tombstone
  std::string key;
  std::string resourceVersion;
};

class Recorder final : public EventHandler<CachedObject> {
 public:
  void onAdd(const ObjectPtr<CachedObject>& obj, bool) override { record("add", *obj); }
  void onUpdate(const ObjectPtr<CachedObject>& oldObj,
                const ObjectPtr<CachedObject>& newObj) override {
    // A relist reports unchanged objects as updates; they are not new events.
    if (oldObj->metadata.resourceVersion == newObj->metadata.resourceVersion) return;
    record("update", *newObj);
  }
  void onDelete(const DeletedObject<CachedObject>& obj) override {
    bool tombstone = std::holds_alternative<DeletedFinalStateUnknown<CachedObject>>(obj);
    record(tombstone ? "tombstone" : "delete", *deletedObjectOf(obj));
  }
  std::vector<Recorded> events() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  void record(const std::string& type, const CachedObject& obj) {
    std::lock_guard lock(mu_);
    events_.push_back({type, metaNamespaceKeyFunc(obj), obj.metadata.resourceVersion});
  }
  std::mutex mu_;
  std::vector<Recorded> events_;
};

class InformerTest : public kube::testing::EmulatorFixture {
 protected:
  void SetUp() override {
    EmulatorFixture::SetUp();
    ensureNamespace("inf");
  }

  std::unique_ptr<SharedInformer<CachedObject>> makeInformer(int64_t pageSize = 500) {
    ReflectorOptions o;
    o.resource = kConfigMaps;
    o.namespace_ = "inf";
    o.pageSize = pageSize;
    // Quick retries, so that tests do not wait for client-go's 800 ms.
    o.backoff.initial = 10ms;
    o.backoff.max = 200ms;
    return std::make_unique<SharedInformer<CachedObject>>(*client_, o, cachedObjectTransform(),
                                                          defaultIndexers<CachedObject>());
  }

  // name -> resourceVersion, from the server.
  std::map<std::string, std::string> serverState() {
    auto page = client_->list(kConfigMaps, "inf");
    EXPECT_TRUE(page.has_value());
    std::map<std::string, std::string> out;
    if (!page) return out;
    for (const auto& item : page->items().GetArray()) {
      out[std::string(kube::stringAt(item, "metadata.name"))] =
          std::string(kube::stringAt(item, "metadata.resourceVersion"));
    }
    return out;
  }
  static std::map<std::string, std::string> cacheState(const SharedInformer<CachedObject>& inf) {
    std::map<std::string, std::string> out;
    for (const auto& obj : inf.store().list())
      out[obj->metadata.name] = obj->metadata.resourceVersion;
    return out;
  }
  bool converged(const SharedInformer<CachedObject>& inf) {
    return kube::testing::eventually([&] { return cacheState(inf) == serverState(); }, 20s);
  }

  std::string write(const std::string& name, const std::string& value) {
    auto r = client_->create(kConfigMaps, "inf", configMap("inf", name, value));
    if (!r && kube::isAlreadyExists(r.error())) {
      r = client_->patch(kConfigMaps, "inf", name, kube::PatchType::kMerge,
                         R"({"data":{"k":")" + value + "\"}}");
    }
    EXPECT_TRUE(r.has_value()) << r.error().message;
    return r ? std::string(kube::stringAt(**r, "metadata.resourceVersion")) : "";
  }
};

TEST_P(InformerTest, ListsPagedThenWatchesWithBookmarks) {
  for (int i = 0; i < 12; ++i) write("pre-" + std::to_string(i), "v");
  auto inf = makeInformer(5);
  auto recorder = std::make_shared<Recorder>();
  inf->addEventHandler(recorder);
  EXPECT_FALSE(inf->hasSynced());
  inf->start();
  ASSERT_TRUE(inf->waitForCacheSync(10s));
  EXPECT_EQ(inf->store().size(), 12u);
  auto initial = recorder->events();
  EXPECT_EQ(initial.size(), 12u);

  write("live", "1");
  write("live", "2");
  ASSERT_TRUE(client_->remove(kConfigMaps, "inf", "pre-0"));
  ASSERT_TRUE(converged(*inf));
  EXPECT_EQ(inf->store().getByKey("inf/pre-0"), nullptr);
  ASSERT_NE(inf->store().getByKey("inf/live"), nullptr);
  EXPECT_EQ(inf->store().getByKey("inf/live")->body()["data"]["k"], "2");
  auto byNs = inf->store().byIndex(kNamespaceIndex, "inf");
  ASSERT_TRUE(byNs.has_value());
  EXPECT_EQ(byNs->size(), 12u);

  // Bookmarks arrive every 200 ms and move the resourceVersion to the cluster's latest.
  ASSERT_TRUE(kube::testing::eventually([&] { return inf->stats().bookmarks >= 2; }));
  ensureNamespace("elsewhere");
  auto other = client_->create(kConfigMaps, "elsewhere", configMap("elsewhere", "x"));
  ASSERT_TRUE(other.has_value());
  std::string otherRv(kube::stringAt(**other, "metadata.resourceVersion"));
  EXPECT_TRUE(kube::testing::eventually(
      [&] { return std::stoull(inf->lastSyncResourceVersion()) >= std::stoull(otherRv); }));
  auto events = recorder->events();
  std::vector<std::string> tail;
  for (size_t i = initial.size(); i < events.size(); ++i) tail.push_back(events[i].type);
  EXPECT_EQ(tail, (std::vector<std::string>{"add", "update", "delete"}));
  EXPECT_EQ(inf->stats().lists, 1u);
}

TEST_P(InformerTest, ResumesAfterDroppedWatchesWithoutMissingOrDuplicating) {
  auto inf = makeInformer();
  auto recorder = std::make_shared<Recorder>();
  inf->addEventHandler(recorder);
  inf->start();
  ASSERT_TRUE(inf->waitForCacheSync(10s));
  std::set<std::string> written;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 5; ++i) {
      written.insert(write("obj-" + std::to_string(i), std::to_string(round)));
    }
    // Drop while the informer may be in the middle of these events.
    post("/_emulator/drop-watches");
  }
  ASSERT_TRUE(converged(*inf));
  auto stats = inf->stats();
  EXPECT_EQ(stats.lists, 1u) << "resumed from the last resourceVersion, no relist";
  EXPECT_GE(stats.watches, 2u);
  std::multiset<std::string> seen;
  for (const auto& e : recorder->events()) seen.insert(e.resourceVersion);
  for (const auto& rv : written) EXPECT_EQ(seen.count(rv), 1u) << "resourceVersion " << rv;
  EXPECT_EQ(seen.size(), written.size());
}

TEST_P(InformerTest, RelistsOn410GoneAndReportsVanishedObjectsAsTombstones) {
  write("stays", "1");
  write("goes", "1");
  auto inf = makeInformer();
  auto recorder = std::make_shared<Recorder>();
  inf->addEventHandler(recorder);
  inf->start();
  ASSERT_TRUE(inf->waitForCacheSync(10s));
  ASSERT_TRUE(converged(*inf));

  // Keep the informer from watching (every request fails) while objects change and the
  // history is compacted, so that its resourceVersion is too old when it comes back.
  setFaults(R"({"errorFraction":1.0})");
  post("/_emulator/drop-watches");
  auto direct = [&](const std::string& method, const std::string& path, const std::string& body) {
    emu_->invoke([&](emulator::ApiServer& api) {
      emulator::Request r;
      r.method = method;
      r.path = path;
      r.contentType = "application/json";
      r.body = body;
      auto out = api.handle(r);
      auto* res = std::get_if<emulator::Response>(&out);
      ASSERT_NE(res, nullptr);
      ASSERT_LT(res->status, 300u) << res->body;
    });
  };
  direct("DELETE", "/api/v1/namespaces/inf/configmaps/goes", "");
  direct("POST", "/api/v1/namespaces/inf/configmaps", api::toJson(configMap("inf", "new")));
  post("/_emulator/compact");
  setFaults(R"({"errorFraction":0})");

  ASSERT_TRUE(converged(*inf));
  auto stats = inf->stats();
  EXPECT_GE(stats.relistsAfterGone, 1u);
  EXPECT_GE(stats.lists, 2u);
  bool tombstone = false, added = false;
  for (const auto& e : recorder->events()) {
    if (e.type == "tombstone" && e.key == "inf/goes") tombstone = true;
    if (e.type == "add" && e.key == "inf/new") added = true;
  }
  EXPECT_TRUE(tombstone);
  EXPECT_TRUE(added);
}

TEST_P(InformerTest, HandlerAddedLaterHearsTheCacheAndStopIsPrompt) {
  write("a", "1");
  auto inf = makeInformer();
  inf->start();
  ASSERT_TRUE(inf->waitForCacheSync(10s));
  EXPECT_TRUE(waitForCacheSync({inf.get()}, 1s));
  auto late = std::make_shared<Recorder>();
  inf->addEventHandler(late);
  ASSERT_EQ(late->events().size(), 1u);
  EXPECT_EQ(late->events()[0].type, "add");
  auto start = std::chrono::steady_clock::now();
  inf->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  // The cache stays readable after stop.
  EXPECT_NE(inf->store().getByKey("inf/a"), nullptr);
}

TEST_P(InformerTest, WaitForCacheSyncTimesOutWhenListsFail) {
  setFaults(R"({"errorFraction":1.0})");
  auto inf = makeInformer();
  inf->start();
  EXPECT_FALSE(inf->waitForCacheSync(300ms));
  setFaults(R"({"errorFraction":0})");
  EXPECT_TRUE(inf->waitForCacheSync(10s));
}

INSTANTIATE_TEST_SUITE_P(Emulator, InformerTest, ::testing::Bool(), kube::testing::tlsName);

}  // namespace
}  // namespace canaryd::informer
