// Store<T>: client-go's thread-safe store with indexes (cache.Indexer over
// threadSafeMap) plus the informer's event dispatch. It holds immutable
// shared_ptr<const T> objects keyed by namespace/name, where T is the trimmed projection
// the controller caches, keeps named indexes (by namespace, by owner uid, or any IndexFunc)
// up to date on every write, and tells registered handlers what changed, turning objects
// that vanish across a relist into DeletedFinalStateUnknown tombstones.
// Thread-safe: writes are serialised, and handlers run on the writing thread after the
// store is updated, in the order of the writes.
#pragma once

#include <boost/system/result.hpp>
#include <concepts>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace canaryd::informer {

struct StoreError {
  // Not constructible from a string, so that StoreResult<std::string> is unambiguous.
  StoreError() = default;
  static StoreError of(std::string message) {
    StoreError e;
    e.message = std::move(message);
    return e;
  }
  std::string message;
};

template <class T>
using StoreResult = boost::system::result<T, StoreError>;

// The store key of an object: "namespace/name", or "name" for cluster-scoped objects
// (cache.MetaNamespaceKeyFunc).
std::string metaNamespaceKey(std::string_view ns, std::string_view name);

// Splits a key made by metaNamespaceKey into {namespace, name} (cache.SplitMetaNamespaceKey).
// Error: more than one '/'.
StoreResult<std::pair<std::string, std::string>> splitMetaNamespaceKey(std::string_view key);

// Index names built into canaryd's informers (cache.NamespaceIndex is "namespace").
inline constexpr std::string_view kNamespaceIndex = "namespace";
inline constexpr std::string_view kOwnerUidIndex = "ownerUID";

template <class T>
using ObjectPtr = std::shared_ptr<const T>;
// Computes an object's key; must be a pure function of the object.
template <class T>
using KeyFunc = std::function<std::string(const T&)>;
// Computes the values under which an object is indexed (none, one or several).
template <class T>
using IndexFunc = std::function<std::vector<std::string>(const T&)>;
template <class T>
using Indexers = std::map<std::string, IndexFunc<T>, std::less<>>;

// Types carrying ObjectMeta-like metadata (api::ObjectMeta or a trimmed copy of it).
template <class T>
concept HasObjectMeta = requires(const T& t) {
  { t.metadata.namespace_ } -> std::convertible_to<std::string_view>;
  { t.metadata.name } -> std::convertible_to<std::string_view>;
};
template <class T>
concept HasOwnerReferences = HasObjectMeta<T> && requires(const T& t) {
  { t.metadata.ownerReferences.begin()->uid } -> std::convertible_to<std::string_view>;
};

// Types whose metadata carries a resourceVersion.
template <class T>
concept HasResourceVersion = HasObjectMeta<T> && requires(const T& t) {
  { t.metadata.resourceVersion } -> std::convertible_to<std::string_view>;
};

// Whether resourceVersion `candidate` is later than `stored`. resourceVersions are opaque
// to clients, but kube-apiserver's (etcd revisions) and the emulator's are decimal
// integers that grow with every write; anything else, or an empty version, is never
// newer, so that a caller comparing them can only decline.
bool resourceVersionNewer(std::string_view stored, std::string_view candidate);

template <HasObjectMeta T>
std::string metaNamespaceKeyFunc(const T& obj) {
  return metaNamespaceKey(obj.metadata.namespace_, obj.metadata.name);
}
// cache.MetaNamespaceIndexFunc: indexes by metadata.namespace.
template <HasObjectMeta T>
std::vector<std::string> metaNamespaceIndexFunc(const T& obj) {
  return {std::string(obj.metadata.namespace_)};
}
// Indexes by the uid of every ownerReference, so that an owner finds what it owns.
template <HasOwnerReferences T>
std::vector<std::string> ownerUidIndexFunc(const T& obj) {
  std::vector<std::string> uids;
  for (const auto& ref : obj.metadata.ownerReferences) uids.emplace_back(ref.uid);
  return uids;
}
// The namespace and owner-uid indexes for types with metadata.
template <HasOwnerReferences T>
Indexers<T> defaultIndexers() {
  Indexers<T> indexers;
  indexers.emplace(std::string(kNamespaceIndex), &metaNamespaceIndexFunc<T>);
  indexers.emplace(std::string(kOwnerUidIndex), &ownerUidIndexFunc<T>);
  return indexers;
}

// What a delete handler receives when the store missed the deletion itself (the object
// vanished between two lists): the key and the last state the store held
// (cache.DeletedFinalStateUnknown).
template <class T>
struct DeletedFinalStateUnknown {
  std::string key;
  ObjectPtr<T> obj;
};

// The argument of onDelete: the deleted object, or a tombstone.
template <class T>
using DeletedObject = std::variant<ObjectPtr<T>, DeletedFinalStateUnknown<T>>;

// The object inside a DeletedObject, unwrapping a tombstone.
template <class T>
const ObjectPtr<T>& deletedObjectOf(const DeletedObject<T>& deleted) {
  if (const auto* tombstone = std::get_if<DeletedFinalStateUnknown<T>>(&deleted)) {
    return tombstone->obj;
  }
  return std::get<ObjectPtr<T>>(deleted);
}

// Receives a store's changes (cache.ResourceEventHandler). Called on the writing thread
// with the store's write lock held: handlers may read the store but must not write it,
// and should only enqueue keys.
template <class T>
class EventHandler {
 public:
  virtual ~EventHandler() = default;
  // isInInitialList: the object came with the first list (or the replay to a handler
  // registered later), not from a later change.
  virtual void onAdd(const ObjectPtr<T>& obj, bool isInInitialList) = 0;
  // Also called for objects that a relist returns again, changed or not (as client-go's
  // Replaced/Sync deltas); compare resourceVersions to skip no-ops.
  virtual void onUpdate(const ObjectPtr<T>& oldObj, const ObjectPtr<T>& newObj) = 0;
  virtual void onDelete(const DeletedObject<T>& obj) = 0;
};

// An EventHandler from functions; unset ones do nothing (cache.ResourceEventHandlerFuncs).
template <class T>
class EventHandlerFuncs final : public EventHandler<T> {
 public:
  std::function<void(const ObjectPtr<T>&, bool)> addFunc;
  std::function<void(const ObjectPtr<T>&, const ObjectPtr<T>&)> updateFunc;
  std::function<void(const DeletedObject<T>&)> deleteFunc;

  void onAdd(const ObjectPtr<T>& obj, bool isInInitialList) override {
    if (addFunc) addFunc(obj, isInInitialList);
  }
  void onUpdate(const ObjectPtr<T>& oldObj, const ObjectPtr<T>& newObj) override {
    if (updateFunc) updateFunc(oldObj, newObj);
  }
  void onDelete(const DeletedObject<T>& obj) override {
    if (deleteFunc) deleteFunc(obj);
  }
};

template <class T>
class Store {
 public:
  explicit Store(KeyFunc<T> keyFunc, Indexers<T> indexers = {}) : keyFunc_(std::move(keyFunc)) {
    for (auto& [name, fn] : indexers) {
      indexers_.emplace(name, std::move(fn));
      indices_[name];
    }
  }
  // Keyed by metaNamespaceKeyFunc.
  explicit Store(Indexers<T> indexers = {}) requires HasObjectMeta<T>
      : Store(&metaNamespaceKeyFunc<T>, std::move(indexers)) {}

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Inserts or replaces the object under its key; handlers see onAdd when the key was
  // absent and onUpdate(old, new) otherwise (the informer's HandleDeltas). add and
  // update are the same operation, as in client-go's informer.
  void add(ObjectPtr<T> obj) { upsert(std::move(obj)); }
  void update(ObjectPtr<T> obj) { upsert(std::move(obj)); }

  // Replaces the object stored under obj's key with `obj` when its resourceVersion is newer
  // (resourceVersionNewer), atomically with the check, and without telling the handlers:
  // for writing an object a write returned back into an informer's store before its watch
  // event arrives (Argo Rollouts' writeBackToInformer), so that the next read is not stale.
  // The watch event then still reaches the handlers as onUpdate (same resourceVersion on
  // both sides). Returns whether it stored `obj`; false when the key is absent (deleted, or
  // never listed: the watch decides) or the store holds that version or a later one.
  bool updateIfNewer(ObjectPtr<T> obj) requires HasResourceVersion<T> {
    std::lock_guard write(writeMu_);
    std::string key = keyFunc_(*obj);
    std::lock_guard lock(mu_);
    auto it = items_.find(key);
    if (it == items_.end() ||
        !resourceVersionNewer(it->second->metadata.resourceVersion, obj->metadata.resourceVersion))
      return false;
    ObjectPtr<T> old = std::exchange(it->second, std::move(obj));
    updateIndicesLocked(old.get(), it->second.get(), key);
    return true;
  }

  // Removes the object stored under obj's key; handlers see onDelete(obj), with `obj` as
  // the final state. Nothing happens when the key is absent (DeltaFIFO drops deletions of
  // unknown objects).
  void remove(const ObjectPtr<T>& obj) {
    std::lock_guard write(writeMu_);
    std::string key = keyFunc_(*obj);
    {
      std::lock_guard lock(mu_);
      auto it = items_.find(key);
      if (it == items_.end()) return;
      updateIndicesLocked(it->second.get(), nullptr, key);
      items_.erase(it);
    }
    DeletedObject<T> deleted{obj};
    for (auto& handler : handlers_) handler->onDelete(deleted);
  }

  // Replaces the whole content with `objs` (a fresh list at `resourceVersion`) and
  // rebuilds the indexes. Handlers see onAdd for new keys, onUpdate for keys present
  // before, and onDelete(DeletedFinalStateUnknown) for keys that are gone, carrying the
  // last object held (DeltaFIFO.Replace). The first replace marks the store synced.
  // Objects sharing a key: the last one wins.
  void replace(std::vector<ObjectPtr<T>> objs, std::string resourceVersion) {
    std::lock_guard write(writeMu_);
    std::map<std::string, ObjectPtr<T>, std::less<>> items;
    for (auto& obj : objs) {
      std::string key = keyFunc_(*obj);
      items.insert_or_assign(std::move(key), std::move(obj));
    }
    std::map<std::string, ObjectPtr<T>, std::less<>> old;
    bool initial;
    {
      std::lock_guard lock(mu_);
      old.swap(items_);
      items_ = std::move(items);
      for (auto& [name, index] : indices_) index.clear();
      for (const auto& [key, obj] : items_) updateIndicesLocked(nullptr, obj.get(), key);
      initial = !synced_;
      synced_ = true;
      resourceVersion_ = std::move(resourceVersion);
    }
    // items_ cannot change while writeMu_ is held, so it is read here without mu_.
    // Deletions first, so that a handler never sees a stale object after its replacement.
    for (const auto& [key, obj] : old) {
      if (items_.contains(key)) continue;
      DeletedObject<T> tombstone{DeletedFinalStateUnknown<T>{key, obj}};
      for (auto& handler : handlers_) handler->onDelete(tombstone);
    }
    for (const auto& [key, obj] : items_) {
      auto it = old.find(key);
      for (auto& handler : handlers_) {
        if (it == old.end()) {
          handler->onAdd(obj, initial);
        } else {
          handler->onUpdate(it->second, obj);
        }
      }
    }
  }

  // The object stored under `key`, or null.
  ObjectPtr<T> getByKey(std::string_view key) const {
    std::lock_guard lock(mu_);
    auto it = items_.find(key);
    return it == items_.end() ? nullptr : it->second;
  }
  // The object stored under obj's key, or null.
  ObjectPtr<T> get(const T& obj) const { return getByKey(keyFunc_(obj)); }

  // Every object, ordered by key.
  std::vector<ObjectPtr<T>> list() const {
    std::lock_guard lock(mu_);
    std::vector<ObjectPtr<T>> out;
    out.reserve(items_.size());
    for (const auto& [key, obj] : items_) out.push_back(obj);
    return out;
  }
  // Every key, sorted.
  std::vector<std::string> listKeys() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    out.reserve(items_.size());
    for (const auto& [key, obj] : items_) out.push_back(key);
    return out;
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return items_.size();
  }

  // Objects indexed under `value` by index `indexName`, ordered by key.
  // Error: no such index.
  StoreResult<std::vector<ObjectPtr<T>>> byIndex(std::string_view indexName,
                                                 std::string_view value) const {
    std::lock_guard lock(mu_);
    auto index = indices_.find(indexName);
    if (index == indices_.end()) return noIndex(indexName);
    std::vector<ObjectPtr<T>> out;
    auto keys = index->second.find(value);
    if (keys == index->second.end()) return out;
    out.reserve(keys->second.size());
    for (const auto& key : keys->second) out.push_back(items_.find(key)->second);
    return out;
  }
  // Keys indexed under `value` by `indexName`, sorted. Error: no such index.
  StoreResult<std::vector<std::string>> indexKeys(std::string_view indexName,
                                                  std::string_view value) const {
    std::lock_guard lock(mu_);
    auto index = indices_.find(indexName);
    if (index == indices_.end()) return noIndex(indexName);
    auto keys = index->second.find(value);
    if (keys == index->second.end()) return std::vector<std::string>{};
    return std::vector<std::string>(keys->second.begin(), keys->second.end());
  }
  // The values present in index `indexName`, sorted. Error: no such index.
  StoreResult<std::vector<std::string>> listIndexFuncValues(std::string_view indexName) const {
    std::lock_guard lock(mu_);
    auto index = indices_.find(indexName);
    if (index == indices_.end()) return noIndex(indexName);
    std::vector<std::string> out;
    out.reserve(index->second.size());
    for (const auto& [value, keys] : index->second) out.push_back(value);
    return out;
  }

  // Adds indexes and indexes the current content with them. Error: a name already in
  // use (client-go: "indexer conflict").
  StoreResult<void> addIndexers(Indexers<T> indexers) {
    std::lock_guard write(writeMu_);
    std::lock_guard lock(mu_);
    for (const auto& [name, fn] : indexers) {
      if (indexers_.contains(name)) return StoreError::of("indexer conflict: " + name);
    }
    for (auto& [name, fn] : indexers) {
      auto& index = indices_[name];
      for (const auto& [key, obj] : items_) {
        for (auto& value : fn(*obj)) index[std::move(value)].insert(key);
      }
      indexers_.emplace(name, std::move(fn));
    }
    return {};
  }

  // Registers a handler and replays the current content to it as onAdd (with
  // isInInitialList true), as a handler added to a running shared informer.
  void addEventHandler(std::shared_ptr<EventHandler<T>> handler) {
    std::lock_guard write(writeMu_);
    for (const auto& obj : list()) handler->onAdd(obj, true);
    handlers_.push_back(std::move(handler));
  }

  // True once replace() has run (the initial list is in).
  bool hasSynced() const {
    std::lock_guard lock(mu_);
    return synced_;
  }
  // The resourceVersion given to the last replace().
  std::string lastSyncResourceVersion() const {
    std::lock_guard lock(mu_);
    return resourceVersion_;
  }

 private:
  using KeySet = std::set<std::string, std::less<>>;
  using Index = std::map<std::string, KeySet, std::less<>>;

  static StoreError noIndex(std::string_view name) {
    return StoreError::of("index with name " + std::string(name) + " does not exist");
  }

  void upsert(ObjectPtr<T> obj) {
    std::lock_guard write(writeMu_);
    std::string key = keyFunc_(*obj);
    ObjectPtr<T> old;
    {
      std::lock_guard lock(mu_);
      auto [it, inserted] = items_.try_emplace(key, obj);
      if (!inserted) {
        old = std::exchange(it->second, obj);
      }
      updateIndicesLocked(old.get(), obj.get(), key);
    }
    for (auto& handler : handlers_) {
      if (old) {
        handler->onUpdate(old, obj);
      } else {
        handler->onAdd(obj, false);
      }
    }
  }

  // Moves `key` from the index values of oldObj to those of newObj (either may be null).
  void updateIndicesLocked(const T* oldObj, const T* newObj, const std::string& key) {
    for (const auto& [name, fn] : indexers_) {
      std::vector<std::string> oldValues, newValues;
      if (oldObj) oldValues = fn(*oldObj);
      if (newObj) newValues = fn(*newObj);
      if (oldValues == newValues) continue;
      Index& index = indices_[name];
      for (const auto& value : oldValues) {
        auto set = index.find(value);
        if (set == index.end()) continue;
        set->second.erase(key);
        // Drop empty sets so that values of deleted objects do not pile up.
        if (set->second.empty()) index.erase(set);
      }
      for (const auto& value : newValues) index[value].insert(key);
    }
  }

  const KeyFunc<T> keyFunc_;

  // Serialises writers and handler calls; taken before mu_.
  std::mutex writeMu_;
  std::vector<std::shared_ptr<EventHandler<T>>> handlers_;

  // A plain mutex: reads are short (a lookup and shared_ptr copies), and glibc's
  // reader-preferring rwlock would let busy readers starve the writer.
  mutable std::mutex mu_;
  std::map<std::string, ObjectPtr<T>, std::less<>> items_;
  std::map<std::string, IndexFunc<T>, std::less<>> indexers_;
  std::map<std::string, Index, std::less<>> indices_;
  bool synced_ = false;
  std::string resourceVersion_;
};

}  // namespace canaryd::informer
