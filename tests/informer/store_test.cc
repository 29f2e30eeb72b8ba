#include "informer/store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "api/types.h"

namespace canaryd::informer {
namespace {

// A trimmed projection as the controller caches it: metadata plus a field or two.
struct CachedReplicaSet {
  api::ObjectMeta metadata;
  int replicas = 0;
};

using Ptr = ObjectPtr<CachedReplicaSet>;

Ptr rs(std::string ns, std::string name, std::vector<std::string> ownerUids = {},
       std::string rv = "1", int replicas = 0) {
  auto obj = std::make_shared<CachedReplicaSet>();
  obj->metadata.namespace_ = std::move(ns);
  obj->metadata.name = std::move(name);
  obj->metadata.resourceVersion = std::move(rv);
  for (auto& uid : ownerUids) {
    api::OwnerReference ref;
    ref.uid = uid;
    ref.kind = "Rollout";
    obj->metadata.ownerReferences.push_back(ref);
  }
  obj->replicas = replicas;
  return obj;
}

std::vector<std::string> names(const std::vector<Ptr>& objs) {
  std::vector<std::string> out;
  for (const auto& o : objs)
    out.push_back(informer::metaNamespaceKey(o->metadata.namespace_, o->metadata.name));
  return out;
}

// Records handler calls as readable strings.
class Recorder final : public EventHandler<CachedReplicaSet> {
 public:
  std::vector<std::string> events;

  void onAdd(const Ptr& obj, bool initial) override {
    events.push_back(std::string(initial ? "add(initial) " : "add ") + key(*obj) + "@" +
                     obj->metadata.resourceVersion);
  }
  void onUpdate(const Ptr& oldObj, const Ptr& newObj) override {
    events.push_back("update " + key(*newObj) + "@" + oldObj->metadata.resourceVersion + "->" +
                     newObj->metadata.resourceVersion);
  }
  void onDelete(const DeletedObject<CachedReplicaSet>& deleted) override {
    if (const auto* t = std::get_if<DeletedFinalStateUnknown<CachedReplicaSet>>(&deleted)) {
      events.push_back("tombstone " + t->key + "@" + t->obj->metadata.resourceVersion);
    } else {
      const auto& obj = deletedObjectOf(deleted);
      events.push_back("delete " + key(*obj) + "@" + obj->metadata.resourceVersion);
    }
  }

 private:
  static std::string key(const CachedReplicaSet& o) { return metaNamespaceKeyFunc(o); }
};

TEST(MetaNamespaceKeyTest, Keys) {
  EXPECT_EQ(metaNamespaceKey("shop", "podinfo"), "shop/podinfo");
  EXPECT_EQ(metaNamespaceKey("", "node-1"), "node-1");
}

TEST(MetaNamespaceKeyTest, Split) {
  struct Case {
    std::string key;
    bool ok;
    std::string ns, name;
  };
  const Case cases[] = {
      {"shop/podinfo", true, "shop", "podinfo"},
      {"node-1", true, "", "node-1"},
      {"/name", true, "", "name"},
      {"a/b/c", false, "", ""},
  };
  for (const auto& c : cases) {
    auto parts = splitMetaNamespaceKey(c.key);
    ASSERT_EQ(parts.has_value(), c.ok) << c.key;
    if (c.ok) {
      EXPECT_EQ(parts->first, c.ns) << c.key;
      EXPECT_EQ(parts->second, c.name) << c.key;
    } else {
      EXPECT_EQ(parts.error().message, "unexpected key format: \"a/b/c\"");
    }
  }
}

TEST(StoreTest, AddGetListSortedByKey) {
  Store<CachedReplicaSet> store(defaultIndexers<CachedReplicaSet>());
  store.add(rs("shop", "b"));
  store.add(rs("shop", "a"));
  store.add(rs("infra", "z"));
  EXPECT_EQ(store.size(), 3u);
  EXPECT_EQ(store.listKeys(), (std::vector<std::string>{"infra/z", "shop/a", "shop/b"}));
  EXPECT_EQ(names(store.list()), (std::vector<std::string>{"infra/z", "shop/a", "shop/b"}));
  ASSERT_NE(store.getByKey("shop/a"), nullptr);
  EXPECT_EQ(store.getByKey("shop/a")->metadata.name, "a");
  EXPECT_EQ(store.getByKey("shop/missing"), nullptr);
  EXPECT_EQ(store.get(*rs("infra", "z")), store.getByKey("infra/z"));
}

TEST(StoreTest, ObjectsAreSharedNotCopied) {
  Store<CachedReplicaSet> store;
  auto obj = rs("shop", "a");
  store.add(obj);
  EXPECT_EQ(store.getByKey("shop/a").get(), obj.get());
}

TEST(StoreTest, IndexesFollowUpdatesAndDeletes) {
  Store<CachedReplicaSet> store(defaultIndexers<CachedReplicaSet>());
  store.add(rs("shop", "a", {"uid-1"}));
  store.add(rs("shop", "b", {"uid-1"}));
  store.add(rs("infra", "c", {"uid-2"}));
  store.add(rs("infra", "d", {"uid-1", "uid-2"}));

  auto byOwner = [&](const std::string& uid) {
    auto r = store.byIndex(kOwnerUidIndex, uid);
    EXPECT_TRUE(r.has_value());
    return names(*r);
  };
  auto byNamespace = [&](const std::string& ns) {
    return names(*store.byIndex(kNamespaceIndex, ns));
  };

  EXPECT_EQ(byOwner("uid-1"), (std::vector<std::string>{"infra/d", "shop/a", "shop/b"}));
  EXPECT_EQ(byOwner("uid-2"), (std::vector<std::string>{"infra/c", "infra/d"}));
  EXPECT_EQ(byNamespace("shop"), (std::vector<std::string>{"shop/a", "shop/b"}));

  // Re-owned: leaves the old owner's index entry and joins the new one.
  store.update(rs("shop", "b", {"uid-2"}, "2"));
  EXPECT_EQ(byOwner("uid-1"), (std::vector<std::string>{"infra/d", "shop/a"}));
  EXPECT_EQ(byOwner("uid-2"), (std::vector<std::string>{"infra/c", "infra/d", "shop/b"}));
  EXPECT_EQ(store.getByKey("shop/b")->metadata.resourceVersion, "2");

  store.remove(rs("infra", "d"));
  EXPECT_EQ(byOwner("uid-1"), (std::vector<std::string>{"shop/a"}));
  EXPECT_EQ(byOwner("uid-2"), (std::vector<std::string>{"infra/c", "shop/b"}));

  store.remove(rs("infra", "c"));
  EXPECT_EQ(byNamespace("infra"), std::vector<std::string>{});
  // Values with no objects left are dropped from the index.
  EXPECT_EQ(*store.listIndexFuncValues(kNamespaceIndex), std::vector<std::string>{"shop"});
  EXPECT_EQ(*store.indexKeys(kOwnerUidIndex, "uid-2"), std::vector<std::string>{"shop/b"});
  EXPECT_EQ(*store.indexKeys(kOwnerUidIndex, "nobody"), std::vector<std::string>{});
}

TEST(StoreTest, UnknownIndexIsAnError) {
  Store<CachedReplicaSet> store;
  auto r = store.byIndex("byColour", "red");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "index with name byColour does not exist");
  EXPECT_FALSE(store.indexKeys("byColour", "red").has_value());
  EXPECT_FALSE(store.listIndexFuncValues("byColour").has_value());
}

TEST(StoreTest, AddIndexersIndexesExistingContent) {
  Store<CachedReplicaSet> store;
  store.add(rs("shop", "a", {}, "1", 3));
  store.add(rs("shop", "b", {}, "1", 0));
  Indexers<CachedReplicaSet> extra;
  extra.emplace("scaled", [](const CachedReplicaSet& o) {
    return std::vector<std::string>{o.replicas > 0 ? "up" : "down"};
  });
  ASSERT_TRUE(store.addIndexers(extra).has_value());
  EXPECT_EQ(*store.indexKeys("scaled", "up"), std::vector<std::string>{"shop/a"});
  store.update(rs("shop", "b", {}, "2", 1));
  EXPECT_EQ(*store.indexKeys("scaled", "up"), (std::vector<std::string>{"shop/a", "shop/b"}));
  auto conflict = store.addIndexers(extra);
  ASSERT_FALSE(conflict.has_value());
  EXPECT_EQ(conflict.error().message, "indexer conflict: scaled");
}

TEST(StoreTest, CustomKeyFunc) {
  struct Node {
    std::string name;
  };
  Store<Node> store([](const Node& n) { return n.name; });
  store.add(std::make_shared<Node>(Node{"node-1"}));
  EXPECT_NE(store.getByKey("node-1"), nullptr);
}

TEST(StoreTest, HandlersSeeAddUpdateDelete) {
  Store<CachedReplicaSet> store;
  auto rec = std::make_shared<Recorder>();
  store.addEventHandler(rec);
  store.add(rs("shop", "a", {}, "1"));
  store.update(rs("shop", "a", {}, "2"));
  store.add(rs("shop", "a", {}, "3"));     // add of a present key is an update
  store.update(rs("shop", "b", {}, "1"));  // update of an absent key is an add
  store.remove(rs("shop", "a", {}, "4"));
  store.remove(rs("shop", "missing"));  // unknown: no event
  EXPECT_EQ(rec->events, (std::vector<std::string>{
                             "add shop/a@1",
                             "update shop/a@1->2",
                             "update shop/a@2->3",
                             "add shop/b@1",
                             "delete shop/a@4",
                         }));
}

TEST(StoreTest, ResourceVersionNewerComparesDecimalVersions) {
  EXPECT_TRUE(resourceVersionNewer("9", "10"));
  EXPECT_FALSE(resourceVersionNewer("10", "9"));
  EXPECT_FALSE(resourceVersionNewer("10", "10"));
  EXPECT_TRUE(resourceVersionNewer("18446744073709551614", "18446744073709551615"));
  // Opaque or missing versions are never newer.
  EXPECT_FALSE(resourceVersionNewer("", "1"));
  EXPECT_FALSE(resourceVersionNewer("1", ""));
  EXPECT_FALSE(resourceVersionNewer("1", "2a"));
  EXPECT_FALSE(resourceVersionNewer("abc", "abd"));
  EXPECT_FALSE(resourceVersionNewer("1", "-2"));
}

TEST(StoreTest, UpdateIfNewerNeverGoesBackAndTellsNoHandler) {
  Store<CachedReplicaSet> store(defaultIndexers<CachedReplicaSet>());
  auto rec = std::make_shared<Recorder>();
  store.addEventHandler(rec);
  store.add(rs("shop", "a", {"u1"}, "5", 1));

  // A write's answer arrives before its watch event: stored, indexes follow, no event.
  EXPECT_TRUE(store.updateIfNewer(rs("shop", "a", {"u2"}, "7", 2)));
  EXPECT_EQ(store.getByKey("shop/a")->replicas, 2);
  EXPECT_EQ(store.getByKey("shop/a")->metadata.resourceVersion, "7");
  EXPECT_TRUE(store.byIndex(kOwnerUidIndex, "u1")->empty());
  EXPECT_EQ(names(*store.byIndex(kOwnerUidIndex, "u2")), (std::vector<std::string>{"shop/a"}));
  // The watch event of that write still reaches the handlers.
  store.update(rs("shop", "a", {"u2"}, "7", 2));

  // The same or an older version (the watch event came first, or a later write did): kept.
  EXPECT_FALSE(store.updateIfNewer(rs("shop", "a", {"u2"}, "7", 3)));
  EXPECT_FALSE(store.updateIfNewer(rs("shop", "a", {"u2"}, "6", 3)));
  EXPECT_FALSE(store.updateIfNewer(rs("shop", "a", {"u2"}, "", 3)));
  EXPECT_EQ(store.getByKey("shop/a")->replicas, 2);
  // An absent key (deleted, or not listed yet) is left to the watch.
  EXPECT_FALSE(store.updateIfNewer(rs("shop", "b", {}, "9")));
  EXPECT_EQ(store.getByKey("shop/b"), nullptr);

  EXPECT_EQ(rec->events, (std::vector<std::string>{"add shop/a@5", "update shop/a@7->7"}));
}

TEST(StoreTest, ConcurrentUpdateIfNewerKeepsTheLatest) {
  // Two writers' answers arriving at once: the check and the update are one step, so the
  // store ends at the latest version whatever the interleaving.
  Store<CachedReplicaSet> store;
  store.add(rs("shop", "a", {}, "0"));
  auto writeBack = [&store](int first) {
    for (int v = first; v <= 4000; v += 2)
      store.updateIfNewer(rs("shop", "a", {}, std::to_string(v)));
  };
  std::thread odd(writeBack, 1), even(writeBack, 2);
  odd.join();
  even.join();
  EXPECT_EQ(store.getByKey("shop/a")->metadata.resourceVersion, "4000");
}

TEST(StoreTest, ReplaceEmitsTombstonesForVanishedObjects) {
  Store<CachedReplicaSet> store(defaultIndexers<CachedReplicaSet>());
  auto rec = std::make_shared<Recorder>();
  store.addEventHandler(rec);
  EXPECT_FALSE(store.hasSynced());

  store.replace({rs("shop", "a", {"uid-1"}, "10"), rs("shop", "b", {"uid-1"}, "11")}, "100");
  EXPECT_TRUE(store.hasSynced());
  EXPECT_EQ(store.lastSyncResourceVersion(), "100");

  // A relist after a watch gap: b was deleted, a changed, c created meanwhile.
  store.replace({rs("shop", "a", {"uid-2"}, "12"), rs("shop", "c", {"uid-1"}, "13")}, "200");
  EXPECT_EQ(store.lastSyncResourceVersion(), "200");
  EXPECT_EQ(rec->events, (std::vector<std::string>{
                             "add(initial) shop/a@10",
                             "add(initial) shop/b@11",
                             "tombstone shop/b@11",
                             "update shop/a@10->12",
                             "add shop/c@13",
                         }));
  EXPECT_EQ(store.listKeys(), (std::vector<std::string>{"shop/a", "shop/c"}));
  EXPECT_EQ(*store.indexKeys(kOwnerUidIndex, "uid-1"), std::vector<std::string>{"shop/c"});
  EXPECT_EQ(*store.indexKeys(kOwnerUidIndex, "uid-2"), std::vector<std::string>{"shop/a"});

  store.replace({}, "300");
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(*store.listIndexFuncValues(kOwnerUidIndex), std::vector<std::string>{});
  EXPECT_EQ(rec->events.back(), "tombstone shop/c@13");
}

TEST(StoreTest, TombstoneUnwraps) {
  auto obj = rs("shop", "a");
  DeletedObject<CachedReplicaSet> direct{obj};
  DeletedObject<CachedReplicaSet> tombstone{
      DeletedFinalStateUnknown<CachedReplicaSet>{"shop/a", obj}};
  EXPECT_EQ(deletedObjectOf(direct).get(), obj.get());
  EXPECT_EQ(deletedObjectOf(tombstone).get(), obj.get());
}

TEST(StoreTest, ReplaceWithDuplicateKeysKeepsTheLast) {
  Store<CachedReplicaSet> store;
  store.replace({rs("shop", "a", {}, "1"), rs("shop", "a", {}, "2")}, "5");
  EXPECT_EQ(store.size(), 1u);
  EXPECT_EQ(store.getByKey("shop/a")->metadata.resourceVersion, "2");
}

TEST(StoreTest, LateHandlerGetsTheCurrentContentReplayed) {
  Store<CachedReplicaSet> store;
  store.replace({rs("shop", "a"), rs("shop", "b")}, "1");
  auto rec = std::make_shared<Recorder>();
  store.addEventHandler(rec);
  EXPECT_EQ(rec->events,
            (std::vector<std::string>{"add(initial) shop/a@1", "add(initial) shop/b@1"}));
  store.add(rs("shop", "c"));
  EXPECT_EQ(rec->events.back(), "add shop/c@1");
}

TEST(StoreTest, HandlerMayReadTheStore) {
  Store<CachedReplicaSet> store(defaultIndexers<CachedReplicaSet>());
  auto handler = std::make_shared<EventHandlerFuncs<CachedReplicaSet>>();
  std::vector<size_t> seen;
  handler->addFunc = [&](const Ptr&, bool) { seen.push_back(store.size()); };
  handler->deleteFunc = [&](const DeletedObject<CachedReplicaSet>&) {
    seen.push_back(store.size());
  };
  store.addEventHandler(handler);
  store.add(rs("shop", "a"));
  store.add(rs("shop", "b"));
  store.remove(rs("shop", "a"));
  // Handlers run after the write is applied.
  EXPECT_EQ(seen, (std::vector<size_t>{1, 2, 1}));
}

TEST(StoreTest, ConcurrentReadersAndWriter) {
  Store<CachedReplicaSet> store(defaultIndexers<CachedReplicaSet>());
  std::atomic<bool> stop{false};
  std::atomic<bool> inconsistent{false};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!stop) {
        // Every object is indexed under its owner; the index never names a missing key.
        auto objs = store.byIndex(kOwnerUidIndex, "uid-1");
        for (const auto& o : *objs) {
          if (o->metadata.ownerReferences.empty() ||
              o->metadata.ownerReferences[0].uid != "uid-1") {
            inconsistent = true;
          }
        }
        (void)store.list();
      }
    });
  }
  for (int i = 0; i < 2000; ++i) {
    std::string name = "rs-" + std::to_string(i % 50);
    store.update(rs("shop", name, {i % 2 ? "uid-1" : "uid-2"}, std::to_string(i)));
    if (i % 7 == 0) store.remove(rs("shop", name));
    if (i % 500 == 0) store.replace({rs("shop", "rs-0", {"uid-1"})}, std::to_string(i));
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_FALSE(inconsistent.load());
}

}  // namespace
}  // namespace canaryd::informer
