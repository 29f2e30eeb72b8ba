#include "controllers.h"

#include <algorithm>
#include <set>

#include "api/json.h"

namespace canaryd::emulator {

using rapidjson::Value;

namespace {

int64_t intAt(const Value& obj, const char* a, const char* b) {
  if (!obj.IsObject()) return 0;
  auto i = obj.FindMember(a);
  if (i == obj.MemberEnd() || !i->value.IsObject()) return 0;
  auto j = i->value.FindMember(b);
  return j != i->value.MemberEnd() && j->value.IsInt64() ? j->value.GetInt64() : 0;
}

bool hasFinalizer(const Value& obj, const char* f) {
  const auto* fs = metaValue(obj, "finalizers");
  if (!fs || !fs->IsArray()) return false;
  for (const auto& s : fs->GetArray())
    if (s.IsString() && f == std::string_view(s.GetString())) return true;
  return false;
}

}  // namespace

bool Controllers::runOnce() {
  if (dirty_) {
    dirty_ = false;
    finalizeNamespaces();
    garbageCollect();
  }
  if (workloadsDirty_ || pending_) {
    workloadsDirty_ = false;
    pending_ = convergeWorkloads();
  }
  return pending_;
}

void Controllers::garbageCollect() {
  // As kube-controller-manager's garbage collector: an object all of whose owners are
  // gone is deleted (in the background); an owner being deleted in the foreground
  // waits for its dependents, then loses the foregroundDeletion finalizer.
  Store& store = api_.store();
  bool again = true;
  for (int round = 0; again && round < 16; ++round) {
    again = false;
    for (const auto& [key, obj] : store.ownedObjects()) {
      auto type = api_.types().findByStoreKey(key);
      if (!type || metaValue(*obj, "deletionTimestamp")) continue;
      const auto* refs = metaValue(*obj, "ownerReferences");
      bool anyOwner = false, ownerForeground = false;
      for (const auto& r : refs->GetArray()) {
        if (!r.IsObject() || !r.HasMember("uid") || !r["uid"].IsString()) continue;
        if (!store.uidExists(r["uid"].GetString())) continue;
        anyOwner = true;
        // An owner deleted in the foreground takes its dependents with it first.
        if (!r.HasMember("kind") || !r.HasMember("name") || !r.HasMember("apiVersion") ||
            !r["apiVersion"].IsString() || !r["kind"].IsString() || !r["name"].IsString())
          continue;
        std::string av = r["apiVersion"].GetString();
        std::string group = av.find('/') == std::string::npos ? "" : av.substr(0, av.find('/'));
        auto ownerType = api_.types().findKind(group, r["kind"].GetString());
        if (!ownerType) continue;
        auto owner = store.get(ownerType->storeKey(),
                               ownerType->namespaced ? metaString(*obj, "namespace") : "",
                               r["name"].GetString());
        if (owner && metaValue(*owner, "deletionTimestamp") &&
            hasFinalizer(*owner, "foregroundDeletion"))
          ownerForeground = true;
      }
      if (!anyOwner || ownerForeground) {
        api_.deleteObject(*type, metaString(*obj, "namespace"), metaString(*obj, "name"),
                          ownerForeground ? "Foreground" : "Background");
        again = true;
      }
    }
    auto foreground = foreground_;
    for (const auto& key : foreground) {
      auto [storeKey, nsName] = key;
      auto slash = nsName.find('/');
      auto obj = store.get(storeKey, nsName.substr(0, slash), nsName.substr(slash + 1));
      if (obj && metaValue(*obj, "deletionTimestamp") && hasFinalizer(*obj, "foregroundDeletion") &&
          store.dependentsOf(metaString(*obj, "uid")).empty()) {
        api_.removeFinalizer(storeKey, *obj, "foregroundDeletion");
        again = true;
      }
    }
    std::erase_if(foreground_, [&](const auto& k) {
      auto slash = k.second.find('/');
      auto obj = store.get(k.first, k.second.substr(0, slash), k.second.substr(slash + 1));
      return !obj || !hasFinalizer(*obj, "foregroundDeletion");
    });
  }
}

void Controllers::finalizeNamespaces() {
  Store& store = api_.store();
  for (const auto& ns : store.list("/namespaces", "")) {
    if (!metaValue(*ns, "deletionTimestamp")) continue;
    std::string name = metaString(*ns, "name");
    bool empty = true;
    for (const auto& key : store.storeKeys()) {
      auto type = api_.types().findByStoreKey(key);
      if (!type || !type->namespaced) continue;
      for (const auto& obj : store.list(key, name)) {
        empty = false;
        if (!metaValue(*obj, "deletionTimestamp"))
          api_.deleteObject(*type, name, metaString(*obj, "name"), "Background");
      }
    }
    if (empty && !hasFinalizer(*ns, "kubernetes"))
      store.remove("/namespaces", "", name);
    else
      dirty_ = true;  // look again once the content's finalizers are gone
  }
}

bool Controllers::convergeWorkloads() {
  Store& store = api_.store();
  auto now = std::chrono::steady_clock::now();
  bool pending = false;
  std::set<std::string> live;
  for (const char* key : {"apps/replicasets", "apps/deployments"}) {
    bool isDeployment = std::string_view(key) == "apps/deployments";
    for (const auto& obj : store.list(key, "")) {
      std::string uid = metaString(*obj, "uid");
      live.insert(uid);
      int64_t generation = 0;
      if (const auto* g = metaValue(*obj, "generation"); g && g->IsInt64())
        generation = g->GetInt64();
      auto& seen = seen_[uid];
      if (seen.first != generation) seen = {generation, now};
      int64_t desired = intAt(*obj, "spec", "replicas");
      bool neverReady = false;
      if (const Value* t = obj->HasMember("spec") ? &(*obj)["spec"] : nullptr;
          t && t->IsObject() && t->HasMember("template")) {
        const auto* ann = metaValue((*t)["template"], "annotations");
        if (ann && ann->IsObject()) {
          auto it = ann->FindMember(options_.neverReadyAnnotation.c_str());
          neverReady = it != ann->MemberEnd() && it->value == "true";
        }
      }
      bool delayed = now - seen.second < options_.readyDelay;
      if (delayed && !neverReady) pending = true;
      // Pods already ready stay ready while a change waits for its delay.
      int64_t ready = neverReady ? 0
                      : delayed ? std::min<int64_t>(intAt(*obj, "status", "readyReplicas"), desired)
                                : desired;
      rapidjson::Document status(rapidjson::kObjectType);
      auto& a = status.GetAllocator();
      status.AddMember("replicas", desired, a);
      if (isDeployment)
        status.AddMember("updatedReplicas", desired, a);
      else
        status.AddMember("fullyLabeledReplicas", desired, a);
      if (ready > 0) {
        status.AddMember("readyReplicas", ready, a);
        status.AddMember("availableReplicas", ready, a);
      }
      if (isDeployment && desired - ready > 0)
        status.AddMember("unavailableReplicas", desired - ready, a);
      status.AddMember("observedGeneration", generation, a);
      if (isDeployment) {
        // The deployment controller's Available and Progressing conditions.
        const Value* old = obj->HasMember("status") && (*obj)["status"].IsObject() &&
                                   (*obj)["status"].HasMember("conditions")
                               ? &(*obj)["status"]["conditions"]
                               : nullptr;
        std::string ts = api_.timestamp();
        Value conds(rapidjson::kArrayType);
        auto cond = [&](const char* type, bool ok, const char* reason, const std::string& msg) {
          std::string statusStr = ok ? "True" : "False";
          std::string transition = ts;
          if (old && old->IsArray())
            for (const auto& c : old->GetArray())
              if (c.IsObject() && c.HasMember("type") && c["type"] == type &&
                  c.HasMember("status") && c["status"] == statusStr.c_str() &&
                  c.HasMember("lastTransitionTime") && c["lastTransitionTime"].IsString())
                transition = c["lastTransitionTime"].GetString();
          Value c(rapidjson::kObjectType);
          c.AddMember("type", Value(type, a), a);
          c.AddMember("status", Value(statusStr.c_str(), a), a);
          c.AddMember("lastTransitionTime", Value(transition.c_str(), a), a);
          c.AddMember("reason", Value(reason, a), a);
          c.AddMember("message", Value(msg.c_str(), a), a);
          conds.PushBack(c, a);
        };
        bool available = ready >= desired;
        std::string name = metaString(*obj, "name");
        cond("Available", available,
             available ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
             available ? "Deployment has minimum availability."
                       : "Deployment does not have minimum availability.");
        cond("Progressing", true, available ? "NewReplicaSetAvailable" : "ReplicaSetUpdated",
             available ? "ReplicaSet \"" + name + "\" has successfully progressed."
                       : "ReplicaSet \"" + name + "\" is progressing.");
        status.AddMember("conditions", conds, a);
      }
      api_.writeStatus(key, *obj, status);
    }
  }
  std::erase_if(seen_, [&](const auto& kv) { return !live.count(kv.first); });
  return pending;
}

}  // namespace canaryd::emulator
