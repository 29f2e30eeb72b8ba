#include "store.h"

#include <algorithm>

namespace canaryd::emulator {

const char* eventTypeName(EventType t) {
  switch (t) {
    case EventType::kAdded:
      return "ADDED";
    case EventType::kModified:
      return "MODIFIED";
    case EventType::kDeleted:
      return "DELETED";
  }
  return "MODIFIED";
}

const rapidjson::Value* metaValue(const rapidjson::Value& obj, const char* field) {
  if (!obj.IsObject()) return nullptr;
  auto m = obj.FindMember("metadata");
  if (m == obj.MemberEnd() || !m->value.IsObject()) return nullptr;
  auto f = m->value.FindMember(field);
  return f == m->value.MemberEnd() ? nullptr : &f->value;
}

std::string metaString(const rapidjson::Value& obj, const char* field) {
  const auto* v = metaValue(obj, field);
  return v && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : std::string();
}

std::string objectKey(const rapidjson::Value& obj) {
  return metaString(obj, "namespace") + "/" + metaString(obj, "name");
}

uint64_t objectResourceVersion(const rapidjson::Value& obj) {
  std::string s = metaString(obj, "resourceVersion");
  if (s.empty() || s.size() > 19 || !std::all_of(s.begin(), s.end(), ::isdigit)) return 0;
  return std::stoull(s);
}

namespace {
void setResourceVersion(rapidjson::Document& doc, uint64_t rv) {
  auto& meta = doc["metadata"];
  std::string s = std::to_string(rv);
  auto it = meta.FindMember("resourceVersion");
  if (it != meta.MemberEnd())
    it->value.SetString(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), doc.GetAllocator());
  else
    meta.AddMember("resourceVersion", rapidjson::Value(s.c_str(), doc.GetAllocator()),
                   doc.GetAllocator());
}
}  // namespace

ObjectPtr Store::get(const std::string& storeKey, const std::string& ns,
                     const std::string& name) const {
  auto b = objects_.find(storeKey);
  if (b == objects_.end()) return nullptr;
  auto it = b->second.find(ns + "/" + name);
  return it == b->second.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Store::list(const std::string& storeKey, const std::string& ns,
                                   const std::string& after) const {
  std::vector<ObjectPtr> out;
  auto b = objects_.find(storeKey);
  if (b == objects_.end()) return out;
  auto it = after.empty() ? b->second.begin() : b->second.upper_bound(after);
  if (!ns.empty() && (after.empty() || after < ns + "/")) it = b->second.lower_bound(ns + "/");
  for (; it != b->second.end(); ++it) {
    if (!ns.empty() && it->first.compare(0, ns.size() + 1, ns + "/") != 0) break;
    out.push_back(it->second);
  }
  return out;
}

std::vector<std::pair<std::string, ObjectPtr>> Store::dependentsOf(const std::string& uid) const {
  std::vector<std::pair<std::string, ObjectPtr>> out;
  for (auto& [key, obj] : ownedObjects()) {
    const auto* refs = metaValue(*obj, "ownerReferences");
    for (const auto& r : refs->GetArray()) {
      if (r.IsObject() && r.HasMember("uid") && r["uid"].IsString() &&
          r["uid"].GetString() == uid) {
        out.emplace_back(key, obj);
        break;
      }
    }
  }
  return out;
}

std::vector<std::pair<std::string, ObjectPtr>> Store::ownedObjects() const {
  std::vector<std::pair<std::string, ObjectPtr>> out;
  for (const auto& [storeKey, key] : owned_) {
    auto b = objects_.find(storeKey);
    if (b == objects_.end()) continue;
    auto it = b->second.find(key);
    if (it != b->second.end()) out.emplace_back(storeKey, it->second);
  }
  return out;
}

void Store::indexOwners(const std::string& storeKey, const ObjectPtr& obj) {
  const auto* refs = metaValue(*obj, "ownerReferences");
  if (refs && refs->IsArray() && !refs->Empty())
    owned_.emplace(storeKey, objectKey(*obj));
  else
    owned_.erase({storeKey, objectKey(*obj)});
}

std::vector<std::string> Store::storeKeys() const {
  std::vector<std::string> out;
  for (const auto& [k, b] : objects_) out.push_back(k);
  return out;
}

size_t Store::size() const {
  size_t n = 0;
  for (const auto& [k, b] : objects_) n += b.size();
  return n;
}

ObjectPtr Store::create(const std::string& storeKey, rapidjson::Document object) {
  setResourceVersion(object, ++rv_);
  auto ptr = std::make_shared<const rapidjson::Document>(std::move(object));
  std::string key = objectKey(*ptr);
  objects_[storeKey][key] = ptr;
  std::string uid = metaString(*ptr, "uid");
  if (!uid.empty()) uids_[uid] = {storeKey, key};
  indexOwners(storeKey, ptr);
  record({EventType::kAdded, rv_, storeKey, metaString(*ptr, "namespace"), ptr, nullptr});
  return ptr;
}

ObjectPtr Store::update(const std::string& storeKey, rapidjson::Document object) {
  setResourceVersion(object, ++rv_);
  auto ptr = std::make_shared<const rapidjson::Document>(std::move(object));
  auto& slot = objects_[storeKey][objectKey(*ptr)];
  ObjectPtr previous = slot;
  slot = ptr;
  indexOwners(storeKey, ptr);
  record({EventType::kModified, rv_, storeKey, metaString(*ptr, "namespace"), ptr, previous});
  return ptr;
}

ObjectPtr Store::remove(const std::string& storeKey, const std::string& ns,
                        const std::string& name) {
  auto b = objects_.find(storeKey);
  if (b == objects_.end()) return nullptr;
  auto it = b->second.find(ns + "/" + name);
  if (it == b->second.end()) return nullptr;
  ObjectPtr previous = it->second;
  b->second.erase(it);
  uids_.erase(metaString(*previous, "uid"));
  owned_.erase({storeKey, ns + "/" + name});
  // As etcd3 watchers: the DELETED event's object carries the delete's revision.
  rapidjson::Document last;
  last.CopyFrom(*previous, last.GetAllocator());
  setResourceVersion(last, ++rv_);
  auto ptr = std::make_shared<const rapidjson::Document>(std::move(last));
  record({EventType::kDeleted, rv_, storeKey, ns, ptr, previous});
  return ptr;
}

void Store::record(StoreEvent ev) {
  history_.push_back(ev);
  while (history_.size() > historyLimit_) {
    compactedThrough_ = history_.front().resourceVersion;
    history_.pop_front();
  }
  // Copy first: a wake() may remove its sink.
  auto sinks = sinks_;
  for (WatchSink* s : sinks) {
    if (s->storeKey != ev.storeKey || (!s->ns.empty() && s->ns != ev.ns)) continue;
    s->pending.push_back(ev);
    if (s->wake) s->wake();
  }
  if (onWrite_) onWrite_(ev);
}

void Store::replay(const std::string& storeKey, uint64_t rv,
                   const std::function<void(const StoreEvent&)>& fn) const {
  auto it = std::upper_bound(history_.begin(), history_.end(), rv,
                             [](uint64_t v, const StoreEvent& e) { return v < e.resourceVersion; });
  for (; it != history_.end(); ++it)
    if (it->storeKey == storeKey) fn(*it);
}

void Store::compact() {
  history_.clear();
  compactedThrough_ = rv_;
}

void Store::removeSink(WatchSink* sink) { std::erase(sinks_, sink); }

void Store::dropAllWatches() {
  auto sinks = sinks_;
  for (WatchSink* s : sinks) {
    s->dropped = true;
    if (s->wake) s->wake();
  }
}

}  // namespace canaryd::emulator
