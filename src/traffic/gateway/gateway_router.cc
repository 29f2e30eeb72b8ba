#include "traffic/gateway/gateway_router.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "api/json.h"
#include "traffic/json_util.h"

namespace canaryd::traffic {

using namespace detail;  // NOLINT(google-build-using-namespace): internal helpers

namespace {

constexpr std::string_view kRouteKind = "HTTPRoute";

// A backendRef to Service `name` in `ns` (Gateway API BackendObjectReference: group ""
// and kind Service by default, namespace the route's by default).
bool refersTo(const rapidjson::Value& ref, std::string_view name, std::string_view ns) {
  if (stringAt(ref, "name") != name) return false;
  if (member(ref, "kind") && stringAt(ref, "kind") != "Service") return false;
  if (member(ref, "group") && !stringAt(ref, "group").empty()) return false;
  if (member(ref, "namespace") && stringAt(ref, "namespace") != ns) return false;
  return true;
}

bool hasBackend(const rapidjson::Value& rule, std::string_view name, std::string_view ns) {
  const rapidjson::Value* refs = member(rule, "backendRefs");
  if (!refs || !refs->IsArray()) return false;
  return std::any_of(refs->Begin(), refs->End(),
                     [&](const rapidjson::Value& r) { return refersTo(r, name, ns); });
}

// A backendRef's weight; Gateway API's default is 1.
int64_t weightOf(const rapidjson::Value& ref) {
  const rapidjson::Value* w = member(ref, "weight");
  return w && w->IsInt64() ? w->GetInt64() : 1;
}

const rapidjson::Value* rulesOf(const rapidjson::Value& route) {
  const rapidjson::Value* spec = member(route, "spec");
  const rapidjson::Value* rules = spec ? member(*spec, "rules") : nullptr;
  return rules && rules->IsArray() ? rules : nullptr;
}

}  // namespace

struct GatewayRouter::Route {
  rapidjson::Document doc;
  std::string ref;  // "HTTPRoute ns/name"
  // kHeaderRoutesAnnotation's entries: "<rollout>/<step>" -> rules (in doc).
  HeaderRules headers;
  std::vector<size_t> baseRules;  // indexes of the rules no header route added
  bool missing = false;           // NotFound, when read(true) allows it
};

GatewayRouter::GatewayRouter(const RouterTarget& target, HttpRouteClient& client)
    : rollout_(target.rollout), client_(client) {
  const auto& canary = *rollout_.spec.strategy.canary;
  gateway_ = *canary.trafficRouting->gatewayAPI;
  maxWeight_ = canary.trafficRouting->maxTrafficWeight.value_or(api::kDefaultMaxTrafficWeight);
  stableService_ = canary.stableService;
  canaryService_ = canary.canaryService;
}

RouterResult<GatewayRouter::Route> GatewayRouter::read(bool allowMissing) {
  const std::string& ns = rollout_.metadata.namespace_;
  Route route;
  route.ref = objectRef(kRouteKind, ns, gateway_.httpRoute);
  auto got = client_.getHttpRoute(ns, gateway_.httpRoute);
  if (!got) {
    if (got.error().kind == ClientError::Kind::kNotFound && allowMissing) {
      route.missing = true;
      return route;
    }
    if (got.error().kind == ClientError::Kind::kNotFound)
      return RouterError{true, route.ref + " (trafficRouting.gatewayAPI.httpRoute) not found"};
    return clientFailure("get " + route.ref, got.error());
  }
  route.doc = std::move(*got);
  const rapidjson::Value* rules = rulesOf(route.doc);
  const size_t count = rules ? rules->Size() : 0;

  // Entries that do not parse, or name rules that are not there, are ignored: the rules
  // are then treated as the user's, which is safe (a header rule sends to a canary only).
  std::set<size_t> taken;
  const rapidjson::Value* meta = member(route.doc, "metadata");
  const rapidjson::Value* annotations = meta ? member(*meta, "annotations") : nullptr;
  std::string text = annotations ? stringAt(*annotations, kHeaderRoutesAnnotation) : "";
  if (!text.empty()) {
    auto parsed = api::parseJson(text);
    if (parsed && parsed->IsObject()) {
      for (const auto& entry : parsed->GetObject()) {
        if (!entry.value.IsArray()) continue;
        std::vector<const rapidjson::Value*> list;
        for (const auto& i : entry.value.GetArray()) {
          if (!i.IsUint64() || i.GetUint64() >= count || !taken.insert(i.GetUint64()).second)
            continue;
          list.push_back(&(*rules)[static_cast<rapidjson::SizeType>(i.GetUint64())]);
        }
        if (!list.empty())
          route.headers[std::string(entry.name.GetString(), entry.name.GetStringLength())] =
              std::move(list);
      }
    }
  }
  for (size_t i = 0; i < count; ++i)
    if (!taken.count(i)) route.baseRules.push_back(i);
  return route;
}

RouterResult<std::vector<size_t>> GatewayRouter::managedRules(const Route& route) const {
  const std::string& ns = rollout_.metadata.namespace_;
  const rapidjson::Value* rules = rulesOf(route.doc);
  std::vector<size_t> managed;
  if (gateway_.managedRoutes.empty()) {
    for (size_t i : route.baseRules)
      if (hasBackend((*rules)[static_cast<rapidjson::SizeType>(i)], stableService_, ns))
        managed.push_back(i);
    if (managed.empty())
      return RouterError{true, route.ref + " has no rule with a backendRef to Service " +
                                   stableService_ + " (spec.strategy.canary.stableService)"};
    return managed;
  }
  for (const std::string& name : gateway_.managedRoutes) {
    auto found = std::find_if(route.baseRules.begin(), route.baseRules.end(), [&](size_t i) {
      return stringAt((*rules)[static_cast<rapidjson::SizeType>(i)], "name") == name;
    });
    if (found == route.baseRules.end())
      return RouterError{true, route.ref + " has no rule named " + name +
                                   " (trafficRouting.gatewayAPI.managedRoutes)"};
    if (!hasBackend((*rules)[static_cast<rapidjson::SizeType>(*found)], stableService_, ns))
      return RouterError{true, route.ref + " rule " + name + " has no backendRef to Service " +
                                   stableService_ + " (spec.strategy.canary.stableService)"};
    managed.push_back(*found);
  }
  return managed;
}

RouterResult<void> GatewayRouter::write(const Route& route, const HeaderRules& headers,
                                        const std::vector<size_t>& managed,
                                        std::optional<int32_t> weight) {
  const std::string& ns = rollout_.metadata.namespace_;
  const rapidjson::Value* current = rulesOf(route.doc);
  rapidjson::Document patch(rapidjson::kObjectType);
  auto& alloc = patch.GetAllocator();

  rapidjson::Value rules(rapidjson::kArrayType);
  rapidjson::Value index(rapidjson::kObjectType);
  for (const auto& [key, list] : headers) {
    rapidjson::Value indexes(rapidjson::kArrayType);
    for (const rapidjson::Value* rule : list) {
      indexes.PushBack(rules.Size(), alloc);
      rules.PushBack(rapidjson::Value(*rule, alloc), alloc);
    }
    index.AddMember(str(key, alloc), std::move(indexes), alloc);
  }
  for (size_t i : route.baseRules) {
    rapidjson::Value rule((*current)[static_cast<rapidjson::SizeType>(i)], alloc);
    if (weight && std::find(managed.begin(), managed.end(), i) != managed.end()) {
      rapidjson::Value& refs = *member(rule, "backendRefs");
      rapidjson::Value out(rapidjson::kArrayType);
      bool haveCanary = hasBackend(rule, canaryService_, ns);
      for (auto& ref : refs.GetArray()) {
        if (refersTo(ref, stableService_, ns)) {
          setMember(ref, "weight", rapidjson::Value(maxWeight_ - *weight), alloc);
          out.PushBack(rapidjson::Value(ref, alloc), alloc);
          if (!haveCanary) {
            // The canary gets the stable backendRef's port (and filters), so the two
            // Services must expose the same port, as for every canary strategy.
            rapidjson::Value canary(ref, alloc);
            setMember(canary, "name", str(canaryService_, alloc), alloc);
            setMember(canary, "weight", rapidjson::Value(*weight), alloc);
            out.PushBack(std::move(canary), alloc);
            haveCanary = true;
          }
          continue;
        }
        if (refersTo(ref, canaryService_, ns))
          setMember(ref, "weight", rapidjson::Value(*weight), alloc);
        out.PushBack(rapidjson::Value(ref, alloc), alloc);
      }
      refs = std::move(out);
    }
    rules.PushBack(std::move(rule), alloc);
  }

  const rapidjson::Value* meta = member(route.doc, "metadata");
  const rapidjson::Value* annotations = meta ? member(*meta, "annotations") : nullptr;
  const rapidjson::Value* haveIndex =
      annotations ? member(*annotations, kHeaderRoutesAnnotation) : nullptr;
  std::string indexText = index.MemberCount() > 0 ? api::toJson(index) : "";
  bool indexChanged = indexText.empty() ? haveIndex != nullptr
                                        : !(haveIndex && haveIndex->IsString() &&
                                            haveIndex->GetString() == indexText);
  bool rulesChanged = !current || *current != rules;
  if (!indexChanged && !rulesChanged) return {};

  rapidjson::Value metaPatch(rapidjson::kObjectType);
  metaPatch.AddMember("resourceVersion", str(meta ? stringAt(*meta, "resourceVersion") : "", alloc),
                      alloc);
  if (indexChanged) {
    rapidjson::Value a(rapidjson::kObjectType);
    a.AddMember(str(kHeaderRoutesAnnotation, alloc),
                indexText.empty() ? rapidjson::Value() : str(indexText, alloc), alloc);
    metaPatch.AddMember("annotations", std::move(a), alloc);
  }
  patch.AddMember("metadata", std::move(metaPatch), alloc);
  rapidjson::Value spec(rapidjson::kObjectType);
  spec.AddMember("rules", std::move(rules), alloc);
  patch.AddMember("spec", std::move(spec), alloc);
  auto patched = client_.patchHttpRoute(ns, gateway_.httpRoute, api::toJson(patch));
  if (!patched) return clientFailure("patch " + route.ref, patched.error());
  return {};
}

RouterResult<void> GatewayRouter::checkReferences() {
  auto route = read(/*allowMissing=*/false);
  if (!route) return route.error();
  auto managed = managedRules(*route);
  if (!managed) return managed.error();
  return {};
}

RouterResult<void> GatewayRouter::setWeight(int32_t weight) {
  if (weight < 0 || weight > maxWeight_)
    return RouterError{true, "canary weight " + std::to_string(weight) + " is outside 0.." +
                                 std::to_string(maxWeight_) + " (trafficRouting.maxTrafficWeight)"};
  auto route = read(/*allowMissing=*/false);
  if (!route) return route.error();
  auto managed = managedRules(*route);
  if (!managed) return managed.error();
  return write(*route, route->headers, *managed, weight);
}

RouterResult<void> GatewayRouter::setHeaderRoute(const api::SetHeaderRouteStep& step) {
  if (step.match.empty() && step.cookie.empty()) return removeHeaderRules(step.name);
  if (!step.cookie.empty())
    return RouterError{true, "setHeaderRoute " + step.name +
                                 ": Gateway API has no cookie match (cookie routes require nginx)"};
  const std::string& ns = rollout_.metadata.namespace_;

  // The header matches, as Gateway API HTTPHeaderMatch.
  rapidjson::Document scratch(rapidjson::kArrayType);
  auto& alloc = scratch.GetAllocator();
  rapidjson::Value headerMatches(rapidjson::kArrayType);
  for (const api::HeaderMatch& m : step.match) {
    rapidjson::Value h(rapidjson::kObjectType);
    switch (m.headerValue.kind) {
      case api::StringMatch::Kind::kExact:
        h.AddMember("type", "Exact", alloc);
        break;
      case api::StringMatch::Kind::kRegex:
        h.AddMember("type", "RegularExpression", alloc);
        break;
      case api::StringMatch::Kind::kPrefix:
        return RouterError{true, "setHeaderRoute " + step.name +
                                     ": Gateway API cannot match a header value by prefix"};
    }
    h.AddMember("name", str(m.headerName, alloc), alloc);
    h.AddMember("value", str(m.headerValue.value, alloc), alloc);
    headerMatches.PushBack(std::move(h), alloc);
  }

  auto route = read(/*allowMissing=*/false);
  if (!route) return route.error();
  auto managed = managedRules(*route);
  if (!managed) return managed.error();
  const rapidjson::Value* rules = rulesOf(route->doc);

  // Gateway API gives a rule with more header matches precedence over one with fewer for
  // the same path (HTTPRouteRule precedence), so the copy wins over the managed rule
  // whatever the order; it is placed first anyway for people reading the route.
  std::vector<const rapidjson::Value*> added;
  for (size_t i : *managed) {
    const rapidjson::Value& base = (*rules)[static_cast<rapidjson::SizeType>(i)];
    rapidjson::Value rule(base, alloc);
    // Rule names must be unique in a route.
    rule.RemoveMember("name");
    rapidjson::Value matches(rapidjson::kArrayType);
    const rapidjson::Value* baseMatches = member(base, "matches");
    if (baseMatches && baseMatches->IsArray() && !baseMatches->Empty()) {
      for (const auto& m : baseMatches->GetArray())
        matches.PushBack(rapidjson::Value(m, alloc), alloc);
    } else {
      matches.PushBack(rapidjson::Value(rapidjson::kObjectType), alloc);
    }
    for (auto& m : matches.GetArray()) {
      // The step's headers replace the match's own conditions on the same headers
      // (header names are case-insensitive).
      rapidjson::Value headers(rapidjson::kArrayType);
      if (const rapidjson::Value* own = member(m, "headers"); own && own->IsArray()) {
        for (const auto& h : own->GetArray()) {
          std::string name = stringAt(h, "name");
          bool replaced = std::any_of(step.match.begin(), step.match.end(), [&](const auto& s) {
            return std::equal(name.begin(), name.end(), s.headerName.begin(), s.headerName.end(),
                              [](unsigned char a, unsigned char b) {
                                return std::tolower(a) == std::tolower(b);
                              });
          });
          if (!replaced) headers.PushBack(rapidjson::Value(h, alloc), alloc);
        }
      }
      for (const auto& h : headerMatches.GetArray())
        headers.PushBack(rapidjson::Value(h, alloc), alloc);
      setMember(m, "headers", std::move(headers), alloc);
    }
    setMember(rule, "matches", std::move(matches), alloc);

    rapidjson::Value backend(rapidjson::kObjectType);
    for (const auto& ref : member(base, "backendRefs")->GetArray()) {
      if (refersTo(ref, canaryService_, ns)) {
        backend.CopyFrom(ref, alloc);
        break;
      }
      if (refersTo(ref, stableService_, ns) && backend.ObjectEmpty()) {
        backend.CopyFrom(ref, alloc);
        setMember(backend, "name", str(canaryService_, alloc), alloc);
      }
    }
    // One backendRef takes all of the rule's traffic whatever its weight.
    backend.RemoveMember("weight");
    rapidjson::Value refs(rapidjson::kArrayType);
    refs.PushBack(std::move(backend), alloc);
    setMember(rule, "backendRefs", std::move(refs), alloc);
    scratch.PushBack(std::move(rule), alloc);
  }
  for (const auto& rule : scratch.GetArray()) added.push_back(&rule);

  HeaderRules headers = route->headers;
  headers[rollout_.metadata.name + "/" + step.name] = std::move(added);
  return write(*route, headers, *managed, std::nullopt);
}

RouterResult<void> GatewayRouter::removeManagedRoutes() { return removeHeaderRules(""); }

RouterResult<void> GatewayRouter::removeHeaderRules(std::string_view stepName) {
  // Nothing is routed by a route that is gone.
  auto route = read(/*allowMissing=*/true);
  if (!route) return route.error();
  if (route->missing) return {};
  const std::string own = rollout_.metadata.name + "/";
  HeaderRules headers;
  for (const auto& [key, list] : route->headers) {
    bool ours = key.starts_with(own) &&
                (stepName.empty() || std::string_view(key).substr(own.size()) == stepName);
    if (!ours) headers[key] = list;
  }
  return write(*route, headers, {}, std::nullopt);
}

std::optional<bool> GatewayRouter::verifyWeight(int32_t weight) {
  auto route = read(/*allowMissing=*/false);
  if (!route) return false;
  auto managed = managedRules(*route);
  if (!managed) return false;
  const std::string& ns = rollout_.metadata.namespace_;
  const rapidjson::Value* rules = rulesOf(route->doc);
  for (size_t i : *managed) {
    bool canarySeen = false;
    for (const auto& ref :
         member((*rules)[static_cast<rapidjson::SizeType>(i)], "backendRefs")->GetArray()) {
      if (refersTo(ref, stableService_, ns) && weightOf(ref) != maxWeight_ - weight) return false;
      if (refersTo(ref, canaryService_, ns)) {
        if (weightOf(ref) != weight) return false;
        canarySeen = true;
      }
    }
    if (!canarySeen && weight != 0) return false;
  }
  return true;
}

}  // namespace canaryd::traffic
