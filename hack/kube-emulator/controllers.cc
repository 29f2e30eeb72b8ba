#include "controllers.h"

#include <algorithm>
#include <optional>
#include <set>
#include <variant>

#include "api/json.h"
#include "controller/pod_template_hash.h"

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

constexpr const char* kHashLabel = "pod-template-hash";
constexpr const char* kRevision = "deployment.kubernetes.io/revision";
constexpr const char* kDesiredReplicas = "deployment.kubernetes.io/desired-replicas";
constexpr const char* kMaxReplicas = "deployment.kubernetes.io/max-replicas";

// The value at a path of object keys, or null.
const Value* at(const Value& v, std::initializer_list<const char*> path) {
  const Value* cur = &v;
  for (const char* key : path) {
    if (!cur->IsObject()) return nullptr;
    auto it = cur->FindMember(key);
    if (it == cur->MemberEnd()) return nullptr;
    cur = &it->value;
  }
  return cur;
}

std::string annotationOf(const Value& obj, const char* key) {
  const Value* ann = metaValue(obj, "annotations");
  if (!ann || !ann->IsObject()) return {};
  auto it = ann->FindMember(key);
  return it != ann->MemberEnd() && it->value.IsString() ? it->value.GetString() : std::string();
}

int64_t revisionOf(const Value& rs) {
  std::string r = annotationOf(rs, kRevision);
  if (r.empty() || r.size() > 18 || r.find_first_not_of("0123456789") != std::string::npos)
    return 0;
  return std::stoll(r);
}

std::string quoted(const std::string& s) {
  rapidjson::Document d;
  d.SetString(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), d.GetAllocator());
  return api::toJson(d);
}

void setString(Value& obj, const char* key, const std::string& v,
               rapidjson::Document::AllocatorType& a) {
  auto it = obj.FindMember(key);
  if (it != obj.MemberEnd())
    it->value.SetString(v.c_str(), a);
  else
    obj.AddMember(Value(key, a), Value(v.c_str(), a), a);
}

Value& memberObject(Value& obj, const char* key, rapidjson::Document::AllocatorType& a) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsObject()) {
    if (it != obj.MemberEnd()) obj.RemoveMember(it);
    obj.AddMember(Value(key, a), Value(rapidjson::kObjectType), a);
    it = obj.FindMember(key);
  }
  return it->value;
}

// The uid of the ownerReference with controller: true, or "".
std::string controllerUid(const Value& obj) {
  const Value* refs = metaValue(obj, "ownerReferences");
  if (!refs || !refs->IsArray()) return {};
  for (const auto& r : refs->GetArray())
    if (r.IsObject() && r.HasMember("controller") && r["controller"].IsBool() &&
        r["controller"].GetBool() && r.HasMember("uid") && r["uid"].IsString())
      return r["uid"].GetString();
  return {};
}

// Drops what a Go client cannot tell from absent once decoded into typed structs: null,
// false, 0, "", and objects or arrays left empty ({} resources, creationTimestamp: null
// from a client that round-tripped the template through its types).
void dropZeroValues(Value& v) {
  if (v.IsArray()) {
    for (auto& e : v.GetArray()) dropZeroValues(e);
    return;
  }
  if (!v.IsObject()) return;
  for (auto m = v.MemberBegin(); m != v.MemberEnd();) {
    dropZeroValues(m->value);
    const Value& x = m->value;
    bool zero = x.IsNull() || x.IsFalse() || (x.IsNumber() && x.GetDouble() == 0) ||
                (x.IsString() && x.GetStringLength() == 0) || (x.IsObject() && x.ObjectEmpty()) ||
                (x.IsArray() && x.Empty());
    m = zero ? v.EraseMember(m) : m + 1;
  }
}

// A pod template without the pod-template-hash label and zero values, keys sorted:
// templates that apiequality.Semantic.DeepEqual would call equal compare equal here.
rapidjson::Document comparableTemplate(const Value& t) {
  rapidjson::Document d = api::cloneDocument(t);
  if (!d.IsObject()) return d;
  if (auto meta = d.FindMember("metadata"); meta != d.MemberEnd() && meta->value.IsObject())
    if (auto labels = meta->value.FindMember("labels");
        labels != meta->value.MemberEnd() && labels->value.IsObject())
      labels->value.RemoveMember(kHashLabel);
  dropZeroValues(d);
  api::sortKeys(d);
  return d;
}

// deploymentutil.EqualIgnoreHash.
bool equalIgnoringHash(const Value& a, const Value& b) {
  return comparableTemplate(a) == comparableTemplate(b);
}

// Oldest first, names breaking ties (deploymentutil.ReplicaSetsByCreationTimestamp).
void sortByCreation(std::vector<ObjectPtr>& rss) {
  std::sort(rss.begin(), rss.end(), [](const ObjectPtr& x, const ObjectPtr& y) {
    auto tx = metaString(*x, "creationTimestamp"), ty = metaString(*y, "creationTimestamp");
    return tx != ty ? tx < ty : metaString(*x, "name") < metaString(*y, "name");
  });
}

// intstr.GetScaledValueFromIntOrPercent: an int, or "N%" of total rounded up or down.
int64_t scaled(const Value* v, int64_t total, bool roundUp, int64_t fallback) {
  if (!v) return fallback;
  if (v->IsInt64()) return v->GetInt64();
  if (!v->IsString()) return fallback;
  std::string s = v->GetString();
  if (s.size() < 2 || s.back() != '%' || s.find_first_not_of("0123456789") != s.size() - 1 ||
      s.size() > 12)
    return fallback;
  int64_t pct = std::stoll(s.substr(0, s.size() - 1));
  return roundUp ? (pct * total + 99) / 100 : pct * total / 100;
}

// deploymentutil.ResolveFenceposts for a Deployment: (maxSurge, maxUnavailable).
std::pair<int64_t, int64_t> fenceposts(const Value& d) {
  int64_t replicas = intAt(d, "spec", "replicas");
  const Value* ru = at(d, {"spec", "strategy", "rollingUpdate"});
  const Value* surgeV = ru ? at(*ru, {"maxSurge"}) : nullptr;
  const Value* unavailV = ru ? at(*ru, {"maxUnavailable"}) : nullptr;
  int64_t surge = scaled(surgeV, replicas, true, 0);
  int64_t unavailable = scaled(unavailV, replicas, false, 0);
  if (surge == 0 && unavailable == 0) unavailable = 1;
  return {surge, unavailable};
}

bool isRollingUpdate(const Value& d) {
  const Value* t = at(d, {"spec", "strategy", "type"});
  return t && t->IsString() && *t == "RollingUpdate";
}

// deploymentutil.MaxUnavailable.
int64_t maxUnavailable(const Value& d) {
  int64_t replicas = intAt(d, "spec", "replicas");
  if (!isRollingUpdate(d) || replicas == 0) return 0;
  return std::min(fenceposts(d).second, replicas);
}

// deploymentutil.MaxSurge.
int64_t maxSurge(const Value& d) { return isRollingUpdate(d) ? fenceposts(d).first : 0; }

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
  // A pass's own writes (a new ReplicaSet, a scaled one) mark work for the next pass.
  return pending_ || dirty_ || workloadsDirty_;
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
  auto now = std::chrono::steady_clock::now();
  std::set<std::string> live;
  syncDeployments();
  bool pending = convergeReplicaSets(now, live);
  deploymentStatuses();
  pending |= runPods(now, live);
  std::erase_if(seen_, [&](const auto& kv) { return !live.count(kv.first); });
  return pending;
}

Response Controllers::call(const std::string& method, const std::string& path,
                           const std::string& body, const std::string& contentType) {
  Request req;
  req.method = method;
  req.path = path;
  req.body = body;
  req.contentType = contentType;
  req.accept = "application/json";
  auto outcome = api_.handle(req);
  if (auto* r = std::get_if<Response>(&outcome)) return std::move(*r);
  return Response{500, "application/json", "", {}};
}

void Controllers::syncDeployments() {
  Store& store = api_.store();
  std::map<std::string, std::vector<ObjectPtr>> owned;  // controller uid -> ReplicaSets
  for (const auto& rs : store.list("apps/replicasets", ""))
    if (auto uid = controllerUid(*rs); !uid.empty()) owned[uid].push_back(rs);
  for (const auto& d : store.list("apps/deployments", "")) {
    if (metaValue(*d, "deletionTimestamp")) continue;
    auto it = owned.find(metaString(*d, "uid"));
    syncDeployment(*d, it == owned.end() ? std::vector<ObjectPtr>{} : it->second);
  }
}

void Controllers::syncDeployment(const Value& d, std::vector<ObjectPtr> owned) {
  const Value* tmpl = at(d, {"spec", "template"});
  const Value* selector = at(d, {"spec", "selector"});
  if (!tmpl || !tmpl->IsObject() || !selector || !selector->IsObject()) return;
  std::string ns = metaString(d, "namespace"), name = metaString(d, "name");
  std::string uid = metaString(d, "uid");
  std::string rsPath = "/apis/apps/v1/namespaces/" + ns + "/replicasets";
  int64_t desired = intAt(d, "spec", "replicas");
  const Value* paused = at(d, {"spec", "paused"});
  const Value* strategy = at(d, {"spec", "strategy", "type"});
  bool recreate = strategy && strategy->IsString() && *strategy == "Recreate";
  sortByCreation(owned);
  ObjectPtr current;
  std::vector<ObjectPtr> old;
  for (const auto& rs : owned) {
    const Value* t = at(*rs, {"spec", "template"});
    if (!current && t && equalIgnoringHash(*t, *tmpl))
      current = rs;
    else
      old.push_back(rs);
  }
  int64_t maxOldRevision = 0;
  for (const auto& rs : old) maxOldRevision = std::max(maxOldRevision, revisionOf(*rs));
  int64_t maxReplicas = desired + maxSurge(d);
  int64_t revision = 0;
  if (!current) {
    if (paused && paused->IsBool() && paused->GetBool()) return;
    // getNewReplicaSet: "<deployment>-<hash>", the hash over the template and the
    // collision count, which goes up while the name is taken by another template.
    std::string canonicalJson = api::toJson(comparableTemplate(*tmpl));
    std::optional<int32_t> collisions;
    if (const Value* c = at(d, {"status", "collisionCount"}); c && c->IsInt())
      collisions = c->GetInt();
    if (auto it = collisionCounts_.find(uid); it != collisionCounts_.end()) collisions = it->second;
    std::string hash, rsName;
    for (int attempt = 0; attempt < 16; ++attempt) {
      hash = controller::computePodTemplateHash(canonicalJson, collisions);
      rsName = name + "-" + hash;
      if (!api_.store().get("apps/replicasets", ns, rsName)) break;
      collisions = collisions.value_or(0) + 1;
      collisionCounts_[uid] = *collisions;
    }
    revision = maxOldRevision + 1;
    rapidjson::Document rs(rapidjson::kObjectType);
    auto& a = rs.GetAllocator();
    rs.AddMember("apiVersion", "apps/v1", a);
    rs.AddMember("kind", "ReplicaSet", a);
    Value meta(rapidjson::kObjectType);
    meta.AddMember("name", Value(rsName.c_str(), a), a);
    meta.AddMember("namespace", Value(ns.c_str(), a), a);
    Value labels(rapidjson::kObjectType);
    if (const Value* l = metaValue(*tmpl, "labels"); l && l->IsObject()) labels.CopyFrom(*l, a);
    setString(labels, kHashLabel, hash, a);
    meta.AddMember("labels", Value(labels, a), a);
    Value annotations(rapidjson::kObjectType);
    setString(annotations, kDesiredReplicas, std::to_string(desired), a);
    setString(annotations, kMaxReplicas, std::to_string(maxReplicas), a);
    setString(annotations, kRevision, std::to_string(revision), a);
    meta.AddMember("annotations", annotations, a);
    Value owner(rapidjson::kObjectType);
    owner.AddMember("apiVersion", "apps/v1", a);
    owner.AddMember("kind", "Deployment", a);
    owner.AddMember("name", Value(name.c_str(), a), a);
    owner.AddMember("uid", Value(uid.c_str(), a), a);
    owner.AddMember("controller", true, a);
    owner.AddMember("blockOwnerDeletion", true, a);
    Value owners(rapidjson::kArrayType);
    owners.PushBack(owner, a);
    meta.AddMember("ownerReferences", owners, a);
    rs.AddMember("metadata", meta, a);
    Value spec(rapidjson::kObjectType);
    spec.AddMember("replicas", desired, a);
    if (const Value* m = at(d, {"spec", "minReadySeconds"}); m && m->IsInt64())
      spec.AddMember("minReadySeconds", m->GetInt64(), a);
    Value sel(*selector, a);
    Value& matchLabels = memberObject(sel, "matchLabels", a);
    setString(matchLabels, kHashLabel, hash, a);
    spec.AddMember("selector", sel, a);
    Value t(*tmpl, a);
    Value& tmeta = memberObject(t, "metadata", a);
    memberObject(tmeta, "labels", a).CopyFrom(labels, a);
    spec.AddMember("template", t, a);
    rs.AddMember("spec", spec, a);
    Response r = call("POST", rsPath, api::toJson(rs), "application/json");
    if (r.status != 201) return;
  } else {
    revision = revisionOf(*current);
    std::string patch;
    if (intAt(*current, "spec", "replicas") != desired)
      patch = R"("spec":{"replicas":)" + std::to_string(desired) + "}";
    // A rollback to an older template makes its ReplicaSet the newest revision.
    std::string annotations;
    if (revision <= maxOldRevision) {
      revision = maxOldRevision + 1;
      annotations += quoted(kRevision) + ":" + quoted(std::to_string(revision));
    }
    if (annotationOf(*current, kDesiredReplicas) != std::to_string(desired))
      annotations += (annotations.empty() ? "" : ",") + quoted(kDesiredReplicas) + ":" +
                     quoted(std::to_string(desired));
    if (annotationOf(*current, kMaxReplicas) != std::to_string(maxReplicas))
      annotations += (annotations.empty() ? "" : ",") + quoted(kMaxReplicas) + ":" +
                     quoted(std::to_string(maxReplicas));
    if (!annotations.empty())
      patch += (patch.empty() ? "" : ",") + std::string(R"("metadata":{"annotations":{)") +
               annotations + "}}";
    if (!patch.empty())
      call("PATCH", rsPath + "/" + metaString(*current, "name"), "{" + patch + "}");
  }
  // Old ReplicaSets go to 0 at once (Recreate), or once the new one is available
  // (RollingUpdate with every new replica surged at once).
  bool newAvailable = false;
  if (current) {
    int64_t gen = 0;
    if (const auto* g = metaValue(*current, "generation"); g && g->IsInt64()) gen = g->GetInt64();
    newAvailable = intAt(*current, "spec", "replicas") == desired &&
                   intAt(*current, "status", "observedGeneration") == gen &&
                   intAt(*current, "status", "availableReplicas") >= desired;
  } else {
    newAvailable = desired == 0;
  }
  std::vector<ObjectPtr> drained;
  for (const auto& rs : old) {
    if (intAt(*rs, "spec", "replicas") != 0) {
      if (recreate || newAvailable)
        call("PATCH", rsPath + "/" + metaString(*rs, "name"), R"({"spec":{"replicas":0}})");
    } else if (intAt(*rs, "status", "replicas") == 0) {
      drained.push_back(rs);
    }
  }
  // cleanupDeployment: the oldest drained ReplicaSets beyond revisionHistoryLimit go.
  int64_t limit = 10;
  if (const Value* l = at(d, {"spec", "revisionHistoryLimit"}); l && l->IsInt64())
    limit = l->GetInt64();
  if (static_cast<int64_t>(drained.size()) > limit) {
    std::sort(drained.begin(), drained.end(), [](const ObjectPtr& x, const ObjectPtr& y) {
      return revisionOf(*x) < revisionOf(*y);
    });
    auto type = api_.types().findByStoreKey("apps/replicasets");
    for (size_t i = 0; type && i < drained.size() - static_cast<size_t>(limit); ++i)
      api_.deleteObject(*type, ns, metaString(*drained[i], "name"), "Background");
  }
  // The Deployment carries the revision of its current ReplicaSet.
  if (annotationOf(d, kRevision) != std::to_string(revision))
    call("PATCH", "/apis/apps/v1/namespaces/" + ns + "/deployments/" + name,
         std::string(R"({"metadata":{"annotations":{)") + quoted(kRevision) + ":" +
             quoted(std::to_string(revision)) + "}}}");
}

bool Controllers::convergeReplicaSets(std::chrono::steady_clock::time_point now,
                                      std::set<std::string>& live) {
  bool pending = false;
  for (const auto& obj : api_.store().list("apps/replicasets", "")) {
    std::string uid = metaString(*obj, "uid");
    live.insert(uid);
    int64_t generation = 0;
    if (const auto* g = metaValue(*obj, "generation"); g && g->IsInt64())
      generation = g->GetInt64();
    auto& seen = seen_[uid];
    if (seen.first != generation) seen = {generation, now};
    int64_t desired = intAt(*obj, "spec", "replicas");
    bool neverReady = false;
    if (const Value* ann = at(*obj, {"spec", "template", "metadata", "annotations"});
        ann && ann->IsObject()) {
      auto it = ann->FindMember(options_.neverReadyAnnotation.c_str());
      neverReady = it != ann->MemberEnd() && it->value == "true";
    }
    bool delayed = now - seen.second < options_.readyDelay;
    if (delayed && !neverReady) pending = true;
    // Pods already ready stay ready while a change waits for its delay.
    int64_t ready = neverReady ? 0
                    : delayed  ? std::min<int64_t>(intAt(*obj, "status", "readyReplicas"), desired)
                               : desired;
    // apps/v1 ReplicaSetStatus: replicas is always present, the counts are omitempty.
    rapidjson::Document status(rapidjson::kObjectType);
    auto& a = status.GetAllocator();
    status.AddMember("replicas", desired, a);
    if (desired > 0) status.AddMember("fullyLabeledReplicas", desired, a);
    if (ready > 0) {
      status.AddMember("readyReplicas", ready, a);
      status.AddMember("availableReplicas", ready, a);
    }
    status.AddMember("observedGeneration", generation, a);
    api_.writeStatus("apps/replicasets", *obj, status);
  }
  return pending;
}

void Controllers::deploymentStatuses() {
  Store& store = api_.store();
  std::map<std::string, std::vector<ObjectPtr>> owned;
  for (const auto& rs : store.list("apps/replicasets", ""))
    if (auto uid = controllerUid(*rs); !uid.empty()) owned[uid].push_back(rs);
  for (const auto& d : store.list("apps/deployments", "")) {
    std::string uid = metaString(*d, "uid");
    std::vector<ObjectPtr> rss;
    if (auto it = owned.find(uid); it != owned.end()) rss = it->second;
    sortByCreation(rss);
    const Value* tmpl = at(*d, {"spec", "template"});
    ObjectPtr current;
    int64_t replicas = 0, updated = 0, ready = 0, available = 0, total = 0;
    for (const auto& rs : rss) {
      const Value* t = at(*rs, {"spec", "template"});
      if (!current && tmpl && t && equalIgnoringHash(*t, *tmpl)) {
        current = rs;
        updated = intAt(*rs, "status", "replicas");
      }
      replicas += intAt(*rs, "status", "replicas");
      ready += intAt(*rs, "status", "readyReplicas");
      available += intAt(*rs, "status", "availableReplicas");
      total += intAt(*rs, "spec", "replicas");
    }
    int64_t desired = intAt(*d, "spec", "replicas");
    int64_t generation = 0;
    if (const auto* g = metaValue(*d, "generation"); g && g->IsInt64()) generation = g->GetInt64();
    // apps/v1 DeploymentStatus: every count is omitempty.
    rapidjson::Document status(rapidjson::kObjectType);
    auto& a = status.GetAllocator();
    status.AddMember("observedGeneration", generation, a);
    auto count = [&](const char* field, int64_t v) {
      if (v > 0) status.AddMember(Value(field, a), Value(v), a);
    };
    count("replicas", replicas);
    count("updatedReplicas", updated);
    count("readyReplicas", ready);
    count("availableReplicas", available);
    count("unavailableReplicas", total - available);
    const Value* old = at(*d, {"status", "conditions"});
    std::string ts = api_.timestamp();
    Value conds(rapidjson::kArrayType);
    auto cond = [&](const char* type, const char* statusStr, const char* reason,
                    const std::string& msg) {
      std::string transition = ts, update = ts;
      if (old && old->IsArray())
        for (const auto& c : old->GetArray()) {
          if (!c.IsObject() || !c.HasMember("type") || c["type"] != type) continue;
          bool sameStatus = c.HasMember("status") && c["status"] == statusStr;
          if (sameStatus && c.HasMember("lastTransitionTime") && c["lastTransitionTime"].IsString())
            transition = c["lastTransitionTime"].GetString();
          if (sameStatus && c.HasMember("reason") && c["reason"] == reason &&
              c.HasMember("message") && c["message"] == msg.c_str() &&
              c.HasMember("lastUpdateTime") && c["lastUpdateTime"].IsString())
            update = c["lastUpdateTime"].GetString();
        }
      Value c(rapidjson::kObjectType);
      c.AddMember("type", Value(type, a), a);
      c.AddMember("status", Value(statusStr, a), a);
      c.AddMember("lastUpdateTime", Value(update.c_str(), a), a);
      c.AddMember("lastTransitionTime", Value(transition.c_str(), a), a);
      c.AddMember("reason", Value(reason, a), a);
      c.AddMember("message", Value(msg.c_str(), a), a);
      conds.PushBack(c, a);
    };
    // deploymentutil: Available once availableReplicas >= replicas - maxUnavailable;
    // Progressing complete once every replica is updated and available.
    bool minimumAvailable = available >= desired - maxUnavailable(*d);
    cond("Available", minimumAvailable ? "True" : "False",
         minimumAvailable ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
         minimumAvailable ? "Deployment has minimum availability."
                          : "Deployment does not have minimum availability.");
    const Value* paused = at(*d, {"spec", "paused"});
    if (paused && paused->IsBool() && paused->GetBool()) {
      cond("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused");
    } else if (current) {
      std::string rsName = metaString(*current, "name");
      bool complete = updated == desired && replicas == desired && available == desired;
      cond("Progressing", "True", complete ? "NewReplicaSetAvailable" : "ReplicaSetUpdated",
           complete ? "ReplicaSet \"" + rsName + "\" has successfully progressed."
                    : "ReplicaSet \"" + rsName + "\" is progressing.");
    }
    status.AddMember("conditions", conds, a);
    std::optional<int32_t> collisions;
    if (const Value* c = at(*d, {"status", "collisionCount"}); c && c->IsInt())
      collisions = c->GetInt();
    if (auto it = collisionCounts_.find(uid); it != collisionCounts_.end()) collisions = it->second;
    if (collisions) status.AddMember("collisionCount", *collisions, a);
    api_.writeStatus("apps/deployments", *d, status);
  }
  std::erase_if(collisionCounts_, [&](const auto& kv) { return !store.uidExists(kv.first); });
}

bool Controllers::runPods(std::chrono::steady_clock::time_point now, std::set<std::string>& live) {
  bool pending = false;
  for (const auto& pod : api_.store().list("/pods", "")) {
    if (metaValue(*pod, "deletionTimestamp")) continue;
    const Value* phase = at(*pod, {"status", "phase"});
    if (phase && phase->IsString() && *phase != "Pending") continue;
    std::string uid = metaString(*pod, "uid");
    live.insert(uid);
    auto& seen = seen_[uid];
    if (seen.second == std::chrono::steady_clock::time_point{}) seen = {0, now};
    if (now - seen.second < options_.readyDelay) {
      pending = true;
      continue;
    }
    bool neverReady = false;
    if (const Value* ann = metaValue(*pod, "annotations"); ann && ann->IsObject()) {
      auto it = ann->FindMember(options_.neverReadyAnnotation.c_str());
      neverReady = it != ann->MemberEnd() && it->value == "true";
    }
    rapidjson::Document status(rapidjson::kObjectType);
    auto& a = status.GetAllocator();
    std::string ts = api_.timestamp();
    status.AddMember("phase", "Running", a);
    Value conds(rapidjson::kArrayType);
    for (const char* type :
         {"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"}) {
      bool ok = !neverReady ||
                (std::string_view(type) != "Ready" && std::string_view(type) != "ContainersReady");
      Value c(rapidjson::kObjectType);
      c.AddMember("type", Value(type, a), a);
      c.AddMember("status", rapidjson::StringRef(ok ? "True" : "False"), a);
      c.AddMember("lastProbeTime", Value(rapidjson::kNullType), a);
      c.AddMember("lastTransitionTime", Value(ts.c_str(), a), a);
      if (!ok) c.AddMember("reason", "ContainersNotReady", a);
      conds.PushBack(c, a);
    }
    status.AddMember("conditions", conds, a);
    // A stable pod address per Pod from 10.244.0.0/16, and the one node's address.
    controller::Fnv32a h;
    h.write(uid);
    uint32_t offset = 2 + h.sum32() % 65532;
    std::string ip = "10.244." + std::to_string(offset >> 8) + "." + std::to_string(offset & 255);
    status.AddMember("hostIP", "172.18.0.2", a);
    status.AddMember("podIP", Value(ip.c_str(), a), a);
    Value podIps(rapidjson::kArrayType);
    Value podIp(rapidjson::kObjectType);
    podIp.AddMember("ip", Value(ip.c_str(), a), a);
    podIps.PushBack(podIp, a);
    status.AddMember("podIPs", podIps, a);
    status.AddMember("startTime", Value(ts.c_str(), a), a);
    Value containerStatuses(rapidjson::kArrayType);
    if (const Value* cs = at(*pod, {"spec", "containers"}); cs && cs->IsArray())
      for (const auto& c : cs->GetArray()) {
        if (!c.IsObject()) continue;
        Value s(rapidjson::kObjectType);
        auto str = [&](const char* f) {
          auto it = c.FindMember(f);
          return it != c.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString())
                                                             : std::string();
        };
        s.AddMember("name", Value(str("name").c_str(), a), a);
        s.AddMember("image", Value(str("image").c_str(), a), a);
        s.AddMember("imageID", "", a);
        s.AddMember("ready", !neverReady, a);
        s.AddMember("restartCount", 0, a);
        s.AddMember("started", true, a);
        Value running(rapidjson::kObjectType);
        running.AddMember("startedAt", Value(ts.c_str(), a), a);
        Value state(rapidjson::kObjectType);
        state.AddMember("running", running, a);
        s.AddMember("state", state, a);
        containerStatuses.PushBack(s, a);
      }
    status.AddMember("containerStatuses", containerStatuses, a);
    status.AddMember("qosClass", "BestEffort", a);
    api_.writeStatus("/pods", *pod, status);
  }
  return pending;
}

}  // namespace canaryd::emulator
