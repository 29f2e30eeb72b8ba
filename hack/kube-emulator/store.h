// Store: the emulator's in-memory etcd. Objects are immutable JSON snapshots keyed by
// resource ("group/resource"), namespace and name; every write takes the next value of
// one cluster-wide resourceVersion counter and appends an event to a bounded history
// that watches replay from. Not synchronised: used on the server's one I/O thread only.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace canaryd::emulator {

using ObjectPtr = std::shared_ptr<const rapidjson::Document>;

enum class EventType { kAdded, kModified, kDeleted };
const char* eventTypeName(EventType t);

struct StoreEvent {
  EventType type;
  uint64_t resourceVersion;
  std::string storeKey;
  std::string ns;
  ObjectPtr object;    // the new state; for kDeleted the last state, at the delete's rv
  ObjectPtr previous;  // the state before (null for kAdded), for selector transitions
};

// A watch's mailbox. The store appends matching events and calls wake().
struct WatchSink {
  std::string storeKey;
  std::string ns;  // empty: every namespace
  std::deque<StoreEvent> pending;
  std::function<void()> wake;
  bool dropped = false;  // set when the fault injector closes every watch
};

class Store {
 public:
  explicit Store(size_t historyLimit) : historyLimit_(historyLimit) {}

  // The resourceVersion of the latest write (0 before any).
  uint64_t resourceVersion() const { return rv_; }
  // Watches may start from any rv >= this; older ones are answered 410 Gone.
  uint64_t compactedThrough() const { return compactedThrough_; }

  ObjectPtr get(const std::string& storeKey, const std::string& ns, const std::string& name) const;
  // Objects of one resource, ordered by namespace then name (as etcd keys sort);
  // ns empty lists every namespace. Starts after `after` ("ns/name") when given.
  std::vector<ObjectPtr> list(const std::string& storeKey, const std::string& ns,
                              const std::string& after = {}) const;
  // Every object whose metadata.ownerReferences names uid.
  std::vector<std::pair<std::string, ObjectPtr>> dependentsOf(const std::string& uid) const;
  // Every object that has ownerReferences, with its storeKey (for the garbage collector).
  std::vector<std::pair<std::string, ObjectPtr>> ownedObjects() const;
  bool uidExists(const std::string& uid) const { return uids_.count(uid) > 0; }
  std::vector<std::string> storeKeys() const;
  size_t size() const;

  // Writes take the next resourceVersion, set metadata.resourceVersion, store the
  // snapshot and record the event. They do not check preconditions: callers do.
  ObjectPtr create(const std::string& storeKey, rapidjson::Document object);
  ObjectPtr update(const std::string& storeKey, rapidjson::Document object);
  // Removes the object; returns its last state carrying the delete's resourceVersion.
  ObjectPtr remove(const std::string& storeKey, const std::string& ns, const std::string& name);

  // Calls fn for every recorded event with resourceVersion > rv of storeKey, in order.
  void replay(const std::string& storeKey, uint64_t rv,
              const std::function<void(const StoreEvent&)>& fn) const;
  // Drops the whole history: every watch from an older resourceVersion gets 410.
  void compact();
  void setHistoryLimit(size_t n) { historyLimit_ = n; }

  void addSink(WatchSink* sink) { sinks_.push_back(sink); }
  void removeSink(WatchSink* sink);
  // Marks every watch dropped and wakes it (fault injection).
  void dropAllWatches();
  size_t watchCount() const { return sinks_.size(); }

  // Called after every write (the controllers use it to schedule work).
  void setOnWrite(std::function<void(const StoreEvent&)> fn) { onWrite_ = std::move(fn); }

 private:
  void record(StoreEvent ev);

  using Bucket = std::map<std::string, ObjectPtr>;  // "ns/name" -> object
  std::map<std::string, Bucket> objects_;
  std::map<std::string, std::pair<std::string, std::string>> uids_;  // uid -> storeKey, key
  std::set<std::pair<std::string, std::string>> owned_;  // storeKey, key of objects with owners
  void indexOwners(const std::string& storeKey, const ObjectPtr& obj);
  std::deque<StoreEvent> history_;
  size_t historyLimit_;
  uint64_t rv_ = 0;
  uint64_t compactedThrough_ = 0;
  std::vector<WatchSink*> sinks_;
  std::function<void(const StoreEvent&)> onWrite_;
};

// Object metadata accessors (empty string / null when absent).
std::string metaString(const rapidjson::Value& obj, const char* field);
const rapidjson::Value* metaValue(const rapidjson::Value& obj, const char* field);
std::string objectKey(const rapidjson::Value& obj);  // "ns/name"
// metadata.resourceVersion as a number; 0 when absent or malformed.
uint64_t objectResourceVersion(const rapidjson::Value& obj);

}  // namespace canaryd::emulator
