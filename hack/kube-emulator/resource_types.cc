#include "resource_types.h"

#include <algorithm>

#include "api/json.h"

namespace canaryd::emulator {

namespace {

const std::vector<std::string> kAllVerbs = {"create", "delete", "deletecollection", "get",
                                            "list",   "patch",  "update",           "watch"};

ResourceType builtin(std::string group, std::string resource, std::string singular,
                     std::string kind, bool namespaced, std::vector<std::string> shortNames) {
  ResourceType t;
  t.group = std::move(group);
  t.version = "v1";
  t.resource = std::move(resource);
  t.singular = std::move(singular);
  t.kind = std::move(kind);
  t.listKind = t.kind + "List";
  t.namespaced = namespaced;
  t.shortNames = std::move(shortNames);
  t.verbs = kAllVerbs;
  return t;
}

std::string stringAt(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject()) return {};
  auto it = v.FindMember(key);
  return it != v.MemberEnd() && it->value.IsString() ? it->value.GetString() : std::string();
}

std::vector<std::string> stringsAt(const rapidjson::Value& v, const char* key) {
  std::vector<std::string> out;
  if (!v.IsObject()) return out;
  auto it = v.FindMember(key);
  if (it == v.MemberEnd() || !it->value.IsArray()) return out;
  for (const auto& s : it->value.GetArray())
    if (s.IsString()) out.emplace_back(s.GetString());
  return out;
}

}  // namespace

ResourceTypes::ResourceTypes() {
  // The subset of kube-apiserver's built-in types canaryd and its tools touch, with the
  // short names, categories and subresources kube-apiserver's discovery lists.
  auto ns = builtin("", "namespaces", "namespace", "Namespace", false, {"ns"});
  ns.statusSubresource = true;
  ns.verbs = {"create", "delete", "get", "list", "patch", "update", "watch"};
  add(ns);
  auto svc = builtin("", "services", "service", "Service", true, {"svc"});
  svc.statusSubresource = true;
  svc.categories = {"all"};
  svc.verbs = {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"};
  add(svc);
  add(builtin("", "configmaps", "configmap", "ConfigMap", true, {"cm"}));
  add(builtin("", "secrets", "secret", "Secret", true, {}));
  add(builtin("", "events", "event", "Event", true, {"ev"}));
  auto pod = builtin("", "pods", "pod", "Pod", true, {"po"});
  pod.statusSubresource = true;
  pod.categories = {"all"};
  add(pod);
  add(builtin("", "serviceaccounts", "serviceaccount", "ServiceAccount", true, {"sa"}));
  for (auto [res, sing, kind, shorts] :
       {std::tuple{"deployments", "deployment", "Deployment", std::vector<std::string>{"deploy"}},
        std::tuple{"replicasets", "replicaset", "ReplicaSet", std::vector<std::string>{"rs"}}}) {
    auto t = builtin("apps", res, sing, kind, true, shorts);
    t.statusSubresource = true;
    t.scaleSubresource = true;
    t.tracksGeneration = true;
    t.categories = {"all"};
    t.labelSelectorPath = ".spec.selector";
    add(t);
  }
  // kube-apiserver serves core/v1 and events.k8s.io/v1 Events from one storage with
  // conversion between their shapes; here they are two separate collections.
  auto ev = builtin("events.k8s.io", "events", "event", "Event", true, {"ev"});
  add(ev);
  auto ing = builtin("networking.k8s.io", "ingresses", "ingress", "Ingress", true, {"ing"});
  ing.statusSubresource = true;
  ing.tracksGeneration = true;
  add(ing);
  add(builtin("coordination.k8s.io", "leases", "lease", "Lease", true, {}));
  for (auto [res, sing, kind, namespaced] :
       {std::tuple{"clusterroles", "clusterrole", "ClusterRole", false},
        std::tuple{"clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", false},
        std::tuple{"roles", "role", "Role", true},
        std::tuple{"rolebindings", "rolebinding", "RoleBinding", true}}) {
    add(builtin("rbac.authorization.k8s.io", res, sing, kind, namespaced, {}));
  }
  auto pdb = builtin("policy", "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget",
                     true, {"pdb"});
  pdb.statusSubresource = true;
  add(pdb);
  auto crd =
      builtin("apiextensions.k8s.io", "customresourcedefinitions", "customresourcedefinition",
              "CustomResourceDefinition", false, {"crd", "crds"});
  crd.statusSubresource = true;
  crd.tracksGeneration = true;
  crd.categories = {"api-extensions"};
  add(crd);
}

void ResourceTypes::add(ResourceType t) {
  types_.push_back(std::make_shared<const ResourceType>(std::move(t)));
  ++revision_;
}

ResourceTypePtr ResourceTypes::find(const std::string& group, const std::string& version,
                                    const std::string& resource) const {
  for (const auto& t : types_)
    if (t->group == group && t->version == version && t->resource == resource) return t;
  return nullptr;
}

ResourceTypePtr ResourceTypes::findKind(const std::string& group, const std::string& kind) const {
  ResourceTypePtr any;
  for (const auto& t : types_) {
    if (t->group != group || t->kind != kind) continue;
    if (t->storageVersion) return t;
    if (!any) any = t;
  }
  return any;
}

ResourceTypePtr ResourceTypes::findByStoreKey(const std::string& storeKey) const {
  ResourceTypePtr any;
  for (const auto& t : types_) {
    if (t->storeKey() != storeKey) continue;
    if (t->storageVersion) return t;
    if (!any) any = t;
  }
  return any;
}

std::vector<ResourceTypePtr> ResourceTypes::all() const { return types_; }

std::vector<ResourceTypes::GroupVersions> ResourceTypes::groups() const {
  std::vector<GroupVersions> out;
  for (const auto& t : types_) {
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const GroupVersions& g) { return g.group == t->group; });
    if (it == out.end()) {
      out.push_back({t->group, {}});
      it = out.end() - 1;
    }
    if (std::find(it->versions.begin(), it->versions.end(), t->version) == it->versions.end()) {
      // The storage version is the preferred one, listed first.
      if (t->storageVersion)
        it->versions.insert(it->versions.begin(), t->version);
      else
        it->versions.push_back(t->version);
    }
  }
  return out;
}

std::vector<ResourceTypePtr> ResourceTypes::inGroupVersion(const std::string& group,
                                                           const std::string& version) const {
  std::vector<ResourceTypePtr> out;
  for (const auto& t : types_)
    if (t->group == group && t->version == version) out.push_back(t);
  return out;
}

void ResourceTypes::registerCrd(const rapidjson::Value& crd) {
  const std::string name = stringAt(crd["metadata"], "name");
  unregisterCrd(name);
  const auto& spec = crd["spec"];
  const auto& names = spec["names"];
  ResourceType base;
  base.group = stringAt(spec, "group");
  base.resource = stringAt(names, "plural");
  base.singular = stringAt(names, "singular");
  if (base.singular.empty()) {
    base.singular = stringAt(names, "kind");
    std::transform(base.singular.begin(), base.singular.end(), base.singular.begin(), ::tolower);
  }
  base.kind = stringAt(names, "kind");
  base.listKind = stringAt(names, "listKind");
  if (base.listKind.empty()) base.listKind = base.kind + "List";
  base.namespaced = stringAt(spec, "scope") != "Cluster";
  base.shortNames = stringsAt(names, "shortNames");
  base.categories = stringsAt(names, "categories");
  base.verbs = kAllVerbs;
  base.tracksGeneration = true;
  base.custom = true;
  base.crdName = name;
  if (!spec.HasMember("versions") || !spec["versions"].IsArray()) return;
  for (const auto& v : spec["versions"].GetArray()) {
    if (v.HasMember("served") && v["served"].IsBool() && !v["served"].GetBool()) continue;
    ResourceType t = base;
    t.version = stringAt(v, "name");
    t.storageVersion = v.HasMember("storage") && v["storage"].IsBool() && v["storage"].GetBool();
    if (v.HasMember("subresources") && v["subresources"].IsObject()) {
      const auto& sub = v["subresources"];
      t.statusSubresource = sub.HasMember("status");
      if (sub.HasMember("scale") && sub["scale"].IsObject()) {
        t.scaleSubresource = true;
        t.specReplicasPath = stringAt(sub["scale"], "specReplicasPath");
        t.statusReplicasPath = stringAt(sub["scale"], "statusReplicasPath");
        t.labelSelectorPath = stringAt(sub["scale"], "labelSelectorPath");
      }
    }
    if (v.HasMember("schema") && v["schema"].IsObject() &&
        v["schema"].HasMember("openAPIV3Schema")) {
      t.schema = std::make_shared<const rapidjson::Document>(
          api::cloneDocument(v["schema"]["openAPIV3Schema"]));
    }
    if (v.HasMember("additionalPrinterColumns") && v["additionalPrinterColumns"].IsArray()) {
      for (const auto& c : v["additionalPrinterColumns"].GetArray()) {
        PrinterColumn pc;
        pc.name = stringAt(c, "name");
        pc.type = stringAt(c, "type");
        pc.format = stringAt(c, "format");
        pc.description = stringAt(c, "description");
        pc.jsonPath = stringAt(c, "jsonPath");
        if (c.HasMember("priority") && c["priority"].IsInt()) pc.priority = c["priority"].GetInt();
        t.printerColumns.push_back(std::move(pc));
      }
    }
    add(std::move(t));
  }
}

void ResourceTypes::unregisterCrd(const std::string& crdName) {
  auto n = types_.size();
  std::erase_if(types_,
                [&](const ResourceTypePtr& t) { return t->custom && t->crdName == crdName; });
  if (types_.size() != n) ++revision_;
}

}  // namespace canaryd::emulator
