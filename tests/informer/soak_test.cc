// A bounded soak: informers over ConfigMaps in several namespaces while writers create,
// update and delete objects and the emulator drops every watch each second and fails 5%
// of requests. Once the faults stop, every cache must equal the server's objects
// (name and resourceVersion). Runs CANARYD_SOAK_SECONDS (default 10; 60-120 for the
// long run).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <random>
#include <thread>

#include "emulator_env.h"
#include "informer/informer.h"

namespace canaryd::informer {
namespace {

using namespace std::chrono_literals;
using kube::resources::kConfigMaps;

int soakSeconds() {
  const char* v = std::getenv("CANARYD_SOAK_SECONDS");
  int s = v ? std::atoi(v) : 0;
  return s > 0 ? s : 10;
}

class SoakTest : public kube::testing::EmulatorFixture {
 protected:
  kube::HttpClientOptions clientOptions() override {
    auto o = kube::testing::fastOptions();
    o.maxRetries = 3;
    return o;
  }
};

TEST_P(SoakTest, CachesEqualTheServerAfterDroppedWatchesAndFailures) {
  const std::vector<std::string> namespaces = {"soak-a", "soak-b", "soak-c"};
  for (const auto& ns : namespaces) ensureNamespace(ns);

  std::vector<std::unique_ptr<SharedInformer<CachedObject>>> informers;
  for (const auto& ns : namespaces) {
    ReflectorOptions o;
    o.resource = kConfigMaps;
    o.namespace_ = ns;
    o.pageSize = 50;
    o.backoff.initial = 20ms;
    o.backoff.max = 500ms;
    informers.push_back(std::make_unique<SharedInformer<CachedObject>>(
        *client_, o, cachedObjectTransform(), defaultIndexers<CachedObject>()));
  }
  // One more over every namespace, sharing nothing with the others.
  ReflectorOptions all;
  all.resource = kConfigMaps;
  all.pageSize = 100;
  all.backoff.initial = 20ms;
  all.backoff.max = 500ms;
  SharedInformer<CachedObject> everything(*client_, all, cachedObjectTransform());
  for (auto& inf : informers) inf->start();
  everything.start();

  setFaults(R"({"errorFraction":0.05,"dropWatchesEverySeconds":1})");
  std::atomic<bool> stop{false};
  std::atomic<long> writes{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w) {
    writers.emplace_back([&, w] {
      auto client = kube::testing::clientFor(*emu_, clientOptions());
      std::mt19937 rng(w);
      while (!stop) {
        const auto& ns = namespaces[rng() % namespaces.size()];
        std::string name = "obj-" + std::to_string(rng() % 40);
        switch (rng() % 4) {
          case 0:
          case 1:
            (void)client->create(kConfigMaps, ns,
                                 kube::testing::configMap(ns, name, std::to_string(rng())));
            break;
          case 2:
            (void)client->patch(kConfigMaps, ns, name, kube::PatchType::kMerge,
                                R"({"data":{"k":")" + std::to_string(rng()) + "\"}}");
            break;
          case 3:
            (void)client->remove(kConfigMaps, ns, name);
            break;
        }
        ++writes;
        std::this_thread::sleep_for(5ms);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(soakSeconds()));
  stop = true;
  for (auto& t : writers) t.join();
  setFaults(R"({"errorFraction":0,"dropWatchesEverySeconds":0})");

  auto serverState = [&](const std::string& ns) {
    std::map<std::string, std::string> out;
    auto page = client_->list(kConfigMaps, ns);
    EXPECT_TRUE(page.has_value());
    if (!page) return out;
    for (const auto& item : page->items().GetArray()) {
      out[std::string(kube::stringAt(item, "metadata.namespace")) + "/" +
          std::string(kube::stringAt(item, "metadata.name"))] =
          std::string(kube::stringAt(item, "metadata.resourceVersion"));
    }
    return out;
  };
  auto cacheState = [](const SharedInformer<CachedObject>& inf) {
    std::map<std::string, std::string> out;
    for (const auto& obj : inf.store().list()) {
      out[obj->metadata.namespace_ + "/" + obj->metadata.name] = obj->metadata.resourceVersion;
    }
    return out;
  };
  for (size_t i = 0; i < namespaces.size(); ++i) {
    EXPECT_TRUE(kube::testing::eventually(
        [&] { return cacheState(*informers[i]) == serverState(namespaces[i]); }, 30s))
        << namespaces[i];
  }
  std::map<std::string, std::string> union_;
  for (const auto& ns : namespaces) union_.merge(serverState(ns));
  EXPECT_TRUE(kube::testing::eventually(
      [&] {
        auto cache = cacheState(everything);
        std::map<std::string, std::string> soakOnly;
        for (auto& [k, v] : cache) {
          if (k.rfind("soak-", 0) == 0) soakOnly[k] = v;
        }
        return soakOnly == union_;
      },
      30s));
  EXPECT_GT(writes.load(), 100);
  auto stats = everything.stats();
  EXPECT_GE(stats.watches, static_cast<uint64_t>(soakSeconds() / 2));
  std::printf(
      "soak: %ds, %ld writes, all-namespaces informer: %llu lists (%llu after 410), "
      "%llu watches, %llu events, %llu bookmarks, %llu failures\n",
      soakSeconds(), writes.load(), (unsigned long long)stats.lists,
      (unsigned long long)stats.relistsAfterGone, (unsigned long long)stats.watches,
      (unsigned long long)stats.events, (unsigned long long)stats.bookmarks,
      (unsigned long long)stats.failures);
  for (auto& inf : informers) inf->stop();
  everything.stop();
}

INSTANTIATE_TEST_SUITE_P(Emulator, SoakTest, ::testing::Values(true), kube::testing::tlsName);

}  // namespace
}  // namespace canaryd::informer
