#include "traffic/nginx/nginx_router.h"

#include <map>
#include <optional>

#include "api/json.h"
#include "controller/names.h"
#include "traffic/json_util.h"

namespace canaryd::traffic {

using namespace detail;  // NOLINT(google-build-using-namespace): internal helpers

namespace {

constexpr std::string_view kIngressKind = "Ingress";
// metav1.ObjectMeta name limit (a DNS subdomain).
constexpr size_t kMaxNameLength = 253;

// Annotation key -> value to set, or nullopt to remove (null in a merge patch).
using Annotations = std::map<std::string, std::optional<std::string>>;

// The header route keys (ingress-nginx canary annotations), without the prefix.
constexpr std::string_view kHeaderKeys[] = {"canary-by-header", "canary-by-header-value",
                                            "canary-by-header-pattern", "canary-by-cookie"};

std::optional<std::string> annotation(const rapidjson::Value& object, std::string_view key) {
  const rapidjson::Value* meta = member(object, "metadata");
  const rapidjson::Value* annotations = meta ? member(*meta, "annotations") : nullptr;
  const rapidjson::Value* v = annotations ? member(*annotations, key) : nullptr;
  if (!v || !v->IsString()) return std::nullopt;
  return std::string(v->GetString(), v->GetStringLength());
}

// The backend Service name of an Ingress path (networking.k8s.io/v1 HTTPIngressPath).
std::string backendService(const rapidjson::Value& path) {
  const rapidjson::Value* backend = member(path, "backend");
  const rapidjson::Value* service = backend ? member(*backend, "service") : nullptr;
  return service ? stringAt(*service, "name") : "";
}

}  // namespace

struct NginxRouter::Plan {
  std::string stableName;
  std::string canaryName;
  rapidjson::Document spec;                    // the canary Ingress's desired spec
  Annotations annotations;                     // the annotations canaryd manages on it
  std::optional<rapidjson::Document> current;  // the canary Ingress as stored, if any
};

NginxRouter::NginxRouter(const RouterTarget& target, IngressClient& client)
    : rollout_(target.rollout), client_(client) {
  const auto& canary = *rollout_.spec.strategy.canary;
  nginx_ = *canary.trafficRouting->nginx;
  maxTrafficWeight_ = canary.trafficRouting->maxTrafficWeight;
  stableService_ = canary.stableService;
  canaryService_ = canary.canaryService;
}

std::string NginxRouter::canaryIngressName(std::string_view rollout,
                                           std::string_view stableIngress) {
  std::string name(rollout);
  name += '-';
  name += stableIngress;
  name += "-canary";
  return name;
}

std::optional<bool> NginxRouter::verifyWeight(int32_t) { return std::nullopt; }

RouterResult<std::vector<NginxRouter::Plan>> NginxRouter::plan(std::optional<int32_t> weight) {
  const std::string& ns = rollout_.metadata.namespace_;
  std::vector<std::string> stableNames = nginx_.stableIngresses;
  if (!nginx_.stableIngress.empty()) stableNames.insert(stableNames.begin(), nginx_.stableIngress);
  const std::string& prefix = nginx_.annotationPrefix;

  std::vector<Plan> plans;
  for (const std::string& stableName : stableNames) {
    Plan p;
    p.stableName = stableName;
    p.canaryName = canaryIngressName(rollout_.metadata.name, stableName);
    const std::string canaryRef = objectRef(kIngressKind, ns, p.canaryName);
    const std::string stableRef = objectRef(kIngressKind, ns, stableName);
    if (p.canaryName.size() > kMaxNameLength)
      return RouterError{true, "the canary Ingress name for " + stableRef +
                                   " would be longer than " + std::to_string(kMaxNameLength) +
                                   " characters"};

    auto stable = client_.getIngress(ns, stableName);
    if (!stable) {
      if (stable.error().kind == ClientError::Kind::kNotFound)
        return RouterError{true, "stable " + stableRef + " (trafficRouting.nginx) not found"};
      return clientFailure("get " + stableRef, stable.error());
    }

    // The canary Ingress: the stable Ingress's hosts, TLS and class, with only the paths to
    // stableService, pointed at canaryService. ingress-nginx merges a canary Ingress into
    // the server and location of the same host and path of a non-canary Ingress.
    auto& alloc = p.spec.GetAllocator();
    p.spec.SetObject();
    const rapidjson::Value* stableSpec = member(*stable, "spec");
    if (stableSpec) {
      if (const rapidjson::Value* cls = member(*stableSpec, "ingressClassName"))
        p.spec.AddMember("ingressClassName", rapidjson::Value(*cls, alloc), alloc);
    }
    rapidjson::Value rules(rapidjson::kArrayType);
    const rapidjson::Value* stableRules = stableSpec ? member(*stableSpec, "rules") : nullptr;
    if (stableRules && stableRules->IsArray()) {
      for (const auto& rule : stableRules->GetArray()) {
        const rapidjson::Value* http = member(rule, "http");
        const rapidjson::Value* paths = http ? member(*http, "paths") : nullptr;
        if (!paths || !paths->IsArray()) continue;
        rapidjson::Value canaryPaths(rapidjson::kArrayType);
        for (const auto& path : paths->GetArray()) {
          if (backendService(path) != stableService_) continue;
          rapidjson::Value copy(path, alloc);
          setMember(*member(*member(copy, "backend"), "service"), "name",
                    str(canaryService_, alloc), alloc);
          canaryPaths.PushBack(std::move(copy), alloc);
        }
        if (canaryPaths.Empty()) continue;
        rapidjson::Value canaryRule(rapidjson::kObjectType);
        if (const rapidjson::Value* host = member(rule, "host"))
          canaryRule.AddMember("host", rapidjson::Value(*host, alloc), alloc);
        rapidjson::Value canaryHttp(rapidjson::kObjectType);
        canaryHttp.AddMember("paths", std::move(canaryPaths), alloc);
        canaryRule.AddMember("http", std::move(canaryHttp), alloc);
        rules.PushBack(std::move(canaryRule), alloc);
      }
    }
    if (rules.Empty())
      return RouterError{true, stableRef + " has no path whose backend is Service " +
                                   stableService_ + " (spec.strategy.canary.stableService)"};
    if (stableSpec) {
      if (const rapidjson::Value* tls = member(*stableSpec, "tls"))
        p.spec.AddMember("tls", rapidjson::Value(*tls, alloc), alloc);
    }
    p.spec.AddMember("rules", std::move(rules), alloc);

    auto current = client_.getIngress(ns, p.canaryName);
    if (current) {
      if (!ownedBy(*current, rollout_))
        return RouterError{true, canaryRef + " exists and is not controlled by Rollout " + ns +
                                     "/" + rollout_.metadata.name + "; canaryd leaves it alone"};
      p.current = std::move(*current);
    } else if (current.error().kind != ClientError::Kind::kNotFound) {
      return clientFailure("get " + canaryRef, current.error());
    }

    int32_t w = rollout_.status.canaryWeight;
    if (weight) {
      w = *weight;
    } else if (p.current) {
      // Keeps what the data plane was told, even if status lags behind.
      auto told = annotation(*p.current, prefix + "/canary-weight");
      if (told) {
        try {
          w = std::stoi(*told);
        } catch (const std::exception&) {
          // A weight someone else wrote that is not a number: set ours.
        }
      }
    }
    p.annotations[prefix + "/canary"] = "true";
    p.annotations[prefix + "/canary-weight"] = std::to_string(w);
    p.annotations[prefix + "/canary-weight-total"] =
        maxTrafficWeight_ ? std::optional<std::string>(std::to_string(*maxTrafficWeight_))
                          : std::nullopt;
    for (const auto& [k, v] : nginx_.additionalIngressAnnotations)
      p.annotations[prefix + "/" + k] = v;
    p.annotations[std::string(controller::kManagedByAnnotation)] = rollout_.metadata.name;
    p.annotations[std::string(kLegacyIngressClassAnnotation)] =
        annotation(*stable, kLegacyIngressClassAnnotation);
    plans.push_back(std::move(p));
  }
  return plans;
}

RouterResult<void> NginxRouter::write(Plan& p) {
  const std::string& ns = rollout_.metadata.namespace_;
  const std::string canaryRef = objectRef(kIngressKind, ns, p.canaryName);
  if (!p.current) {
    rapidjson::Document ingress(rapidjson::kObjectType);
    auto& alloc = ingress.GetAllocator();
    ingress.AddMember("apiVersion", "networking.k8s.io/v1", alloc);
    ingress.AddMember("kind", "Ingress", alloc);
    rapidjson::Value meta(rapidjson::kObjectType);
    meta.AddMember("name", str(p.canaryName, alloc), alloc);
    meta.AddMember("namespace", str(ns, alloc), alloc);
    rapidjson::Value annotations(rapidjson::kObjectType);
    for (const auto& [k, v] : p.annotations)
      if (v) annotations.AddMember(str(k, alloc), str(*v, alloc), alloc);
    meta.AddMember("annotations", std::move(annotations), alloc);
    rapidjson::Value owners(rapidjson::kArrayType);
    owners.PushBack(rolloutOwnerReference(rollout_, alloc), alloc);
    meta.AddMember("ownerReferences", std::move(owners), alloc);
    ingress.AddMember("metadata", std::move(meta), alloc);
    ingress.AddMember("spec", rapidjson::Value(p.spec, alloc), alloc);
    auto created = client_.createIngress(ns, ingress);
    if (!created) return clientFailure("create " + canaryRef, created.error());
    return {};
  }

  // A merge patch of only what differs: annotations one key at a time (null removes), so
  // that annotations other controllers added stay; the spec as a whole (it is canaryd's).
  rapidjson::Document patch(rapidjson::kObjectType);
  auto& alloc = patch.GetAllocator();
  bool changed = false;
  rapidjson::Value annotations(rapidjson::kObjectType);
  for (const auto& [k, v] : p.annotations) {
    auto have = annotation(*p.current, k);
    if (v && have != v) {
      annotations.AddMember(str(k, alloc), str(*v, alloc), alloc);
    } else if (!v && have) {
      annotations.AddMember(str(k, alloc), rapidjson::Value(), alloc);
    }
  }
  rapidjson::Value meta(rapidjson::kObjectType);
  if (annotations.MemberCount() > 0) {
    meta.AddMember("annotations", std::move(annotations), alloc);
    changed = true;
  }
  const rapidjson::Value* spec = member(*p.current, "spec");
  if (!spec || *spec != p.spec) {
    rapidjson::Value specPatch(p.spec, alloc);
    if (spec && spec->IsObject()) {
      for (const auto& m : spec->GetObject())
        if (!member(p.spec, std::string_view(m.name.GetString(), m.name.GetStringLength())))
          specPatch.AddMember(rapidjson::Value(m.name, alloc), rapidjson::Value(), alloc);
    }
    patch.AddMember("spec", std::move(specPatch), alloc);
    changed = true;
  }
  if (!changed) return {};
  const rapidjson::Value* currentMeta = member(*p.current, "metadata");
  meta.AddMember("resourceVersion",
                 str(currentMeta ? stringAt(*currentMeta, "resourceVersion") : "", alloc), alloc);
  patch.AddMember("metadata", std::move(meta), alloc);
  auto patched = client_.patchIngress(ns, p.canaryName, api::toJson(patch));
  if (!patched) return clientFailure("patch " + canaryRef, patched.error());
  return {};
}

RouterResult<void> NginxRouter::checkReferences() {
  auto plans = plan(std::nullopt);
  if (!plans) return plans.error();
  return {};
}

RouterResult<void> NginxRouter::setWeight(int32_t weight) {
  const int32_t max = maxTrafficWeight_.value_or(api::kDefaultMaxTrafficWeight);
  if (weight < 0 || weight > max)
    return RouterError{true, "canary weight " + std::to_string(weight) + " is outside 0.." +
                                 std::to_string(max) + " (trafficRouting.maxTrafficWeight)"};
  auto plans = plan(weight);
  if (!plans) return plans.error();
  for (Plan& p : *plans)
    if (auto r = write(p); !r) return r;
  return {};
}

RouterResult<void> NginxRouter::setHeaderRoute(const api::SetHeaderRouteStep& step) {
  if (step.match.empty() && step.cookie.empty()) return removeHeaderRoutes(step.name);
  const std::string& prefix = nginx_.annotationPrefix;
  if (step.match.size() > 1)
    return RouterError{true, "setHeaderRoute " + step.name +
                                 ": nginx routes by one header; the step has " +
                                 std::to_string(step.match.size())};
  Annotations header;
  for (std::string_view key : kHeaderKeys) header[prefix + "/" + std::string(key)] = std::nullopt;
  if (!step.match.empty()) {
    const api::HeaderMatch& m = step.match.front();
    header[prefix + "/canary-by-header"] = m.headerName;
    switch (m.headerValue.kind) {
      case api::StringMatch::Kind::kExact:
        header[prefix + "/canary-by-header-value"] = m.headerValue.value;
        break;
      case api::StringMatch::Kind::kRegex:
        header[prefix + "/canary-by-header-pattern"] = m.headerValue.value;
        break;
      case api::StringMatch::Kind::kPrefix:
        return RouterError{
            true, "setHeaderRoute " + step.name + ": nginx cannot match a header value by prefix"};
    }
  }
  if (!step.cookie.empty()) header[prefix + "/canary-by-cookie"] = step.cookie;
  header[std::string(kNginxHeaderRouteAnnotation)] = step.name;

  auto plans = plan(std::nullopt);
  if (!plans) return plans.error();
  for (Plan& p : *plans) {
    for (auto& [k, v] : header) p.annotations[k] = v;
    if (auto r = write(p); !r) return r;
  }
  return {};
}

RouterResult<void> NginxRouter::removeManagedRoutes() { return removeHeaderRoutes(""); }

RouterResult<void> NginxRouter::removeHeaderRoutes(std::string_view name) {
  const std::string& ns = rollout_.metadata.namespace_;
  const std::string& prefix = nginx_.annotationPrefix;
  std::vector<std::string> stableNames = nginx_.stableIngresses;
  if (!nginx_.stableIngress.empty()) stableNames.insert(stableNames.begin(), nginx_.stableIngress);

  // Only canary Ingresses are touched (the stable ones may be gone by now), and only those
  // this Rollout controls; all are read before any is written.
  std::vector<std::pair<std::string, std::string>> patches;  // name, merge patch
  for (const std::string& stableName : stableNames) {
    std::string canaryName = canaryIngressName(rollout_.metadata.name, stableName);
    auto current = client_.getIngress(ns, canaryName);
    if (!current) {
      if (current.error().kind == ClientError::Kind::kNotFound) continue;
      return clientFailure("get " + objectRef(kIngressKind, ns, canaryName), current.error());
    }
    if (!ownedBy(*current, rollout_)) continue;
    auto routeName = annotation(*current, kNginxHeaderRouteAnnotation);
    if (!name.empty() && routeName && *routeName != name) continue;
    rapidjson::Document patch(rapidjson::kObjectType);
    auto& alloc = patch.GetAllocator();
    rapidjson::Value annotations(rapidjson::kObjectType);
    std::vector<std::string> keys;
    for (std::string_view key : kHeaderKeys) keys.push_back(prefix + "/" + std::string(key));
    keys.emplace_back(kNginxHeaderRouteAnnotation);
    for (const std::string& key : keys)
      if (annotation(*current, key))
        annotations.AddMember(str(key, alloc), rapidjson::Value(), alloc);
    if (annotations.MemberCount() == 0) continue;
    rapidjson::Value meta(rapidjson::kObjectType);
    meta.AddMember("annotations", std::move(annotations), alloc);
    const rapidjson::Value* currentMeta = member(*current, "metadata");
    meta.AddMember("resourceVersion",
                   str(currentMeta ? stringAt(*currentMeta, "resourceVersion") : "", alloc), alloc);
    patch.AddMember("metadata", std::move(meta), alloc);
    patches.emplace_back(std::move(canaryName), api::toJson(patch));
  }
  for (const auto& [canaryName, patch] : patches) {
    auto patched = client_.patchIngress(ns, canaryName, patch);
    if (!patched)
      return clientFailure("patch " + objectRef(kIngressKind, ns, canaryName), patched.error());
  }
  return {};
}

}  // namespace canaryd::traffic
