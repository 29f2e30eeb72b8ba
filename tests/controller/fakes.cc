#include "fakes.h"

#include <ostream>

#include "api/decode.h"
#include "api/json.h"
#include "controller/selector.h"

namespace canaryd::controller::testing {
namespace {

std::string key(std::string_view ns, std::string_view name) {
  return std::string(ns) + "/" + std::string(name);
}

template <class T>
Ptr<T> share(const std::map<std::string, T>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? nullptr : std::make_shared<const T>(it->second);
}

WriteError error(WriteError::Kind kind, std::string message) {
  return WriteError{kind, std::move(message)};
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Action& a) {
  return os << a.verb << " " << a.resource << " " << a.name << " " << a.body;
}

std::string canon(const std::string& json) {
  auto doc = api::parseJson(json);
  if (!doc) return "<invalid JSON: " + json + ">";
  api::sortKeys(*doc);
  return api::toJson(*doc);
}

Ptr<RolloutView> FakeLister::getRollout(std::string_view ns, std::string_view name) const {
  return share(rollouts, key(ns, name));
}

std::vector<Ptr<ReplicaSetView>> FakeLister::replicaSetsOwnedBy(std::string_view ns,
                                                                std::string_view uid) const {
  std::vector<Ptr<ReplicaSetView>> out;
  for (const auto& [k, rs] : replicaSets) {
    if (rs.metadata.namespace_ != ns) continue;
    for (const auto& ref : rs.metadata.ownerReferences)
      if (ref.uid == uid) {
        out.push_back(std::make_shared<const ReplicaSetView>(rs));
        break;
      }
  }
  return out;
}

std::vector<Ptr<ReplicaSetView>> FakeLister::replicaSetsMatching(
    std::string_view ns, const api::LabelSelector& selector) const {
  std::vector<Ptr<ReplicaSetView>> out;
  for (const auto& [k, rs] : replicaSets)
    if (rs.metadata.namespace_ == ns && selectorMatches(selector, rs.metadata.labels))
      out.push_back(std::make_shared<const ReplicaSetView>(rs));
  return out;
}

Ptr<ReplicaSetView> FakeLister::getReplicaSet(std::string_view ns, std::string_view name) const {
  return share(replicaSets, key(ns, name));
}

Ptr<ServiceView> FakeLister::getService(std::string_view ns, std::string_view name) const {
  return share(services, key(ns, name));
}

void RecordingWriter::failNext(std::string verb, std::string resource, WriteError e) {
  failures_[{std::move(verb), std::move(resource)}] = std::move(e);
}

std::optional<WriteError> RecordingWriter::takeFailure(const std::string& verb,
                                                       const std::string& resource) {
  auto it = failures_.find({verb, resource});
  if (it == failures_.end()) return std::nullopt;
  WriteError e = it->second;
  failures_.erase(it);
  return e;
}

WriteResult<ReplicaSetView> RecordingWriter::createReplicaSet(std::string_view ns,
                                                              const std::string& body) {
  auto doc = api::parseJson(body);
  ReplicaSetView view = replicaSetViewFromJson(*doc);
  actions.push_back({"create", "replicasets", view.metadata.name, canon(body)});
  if (auto e = takeFailure("create", "replicasets")) return *e;
  std::string k = key(ns, view.metadata.name);
  if (lister_.replicaSets.count(k) || unseen.count(k))
    return error(WriteError::Kind::kAlreadyExists,
                 "replicasets.apps \"" + view.metadata.name + "\" already exists");
  view.metadata.uid = "uid-rs-" + std::to_string(nextUid_++);
  view.metadata.resourceVersion = std::to_string(nextResourceVersion_++);
  view.metadata.generation = 1;
  std::string tpl = api::toJson((*doc)["spec"]["template"]);
  if (cacheLags) {
    unseen[k] = LiveReplicaSet{view, tpl};
  } else {
    lister_.replicaSets[k] = view;
    templates_[k] = tpl;
  }
  return view;
}

WriteResult<LiveReplicaSet> RecordingWriter::readReplicaSet(std::string_view ns,
                                                            std::string_view name) {
  actions.push_back({"get", "replicasets", std::string(name), ""});
  if (auto e = takeFailure("get", "replicasets")) return *e;
  std::string k = key(ns, name);
  if (auto it = unseen.find(k); it != unseen.end()) return it->second;
  auto it = lister_.replicaSets.find(k);
  if (it == lister_.replicaSets.end()) return error(WriteError::Kind::kNotFound, "not found");
  auto t = templates_.find(k);
  return LiveReplicaSet{it->second, t == templates_.end() ? "" : t->second};
}

WriteResult<api::Rollout> RecordingWriter::readRollout(std::string_view ns, std::string_view name) {
  actions.push_back({"get", "rollouts", std::string(name), ""});
  if (auto e = takeFailure("get", "rollouts")) return *e;
  auto it = apiRollouts.find(key(ns, name));
  if (it == apiRollouts.end()) return error(WriteError::Kind::kNotFound, "not found");
  return it->second;
}

void RecordingWriter::catchUp() {
  for (auto& [k, live] : unseen) {
    lister_.replicaSets[k] = live.view;
    templates_[k] = live.podTemplate;
  }
  unseen.clear();
}

WriteResult<ReplicaSetView> RecordingWriter::patchReplicaSet(std::string_view ns,
                                                             std::string_view name,
                                                             const std::string& patch) {
  actions.push_back({"patch", "replicasets", std::string(name), canon(patch)});
  if (auto e = takeFailure("patch", "replicasets")) return *e;
  // The API server's copy: in the cache, or not seen by it yet.
  ReplicaSetView* found = nullptr;
  if (auto it = lister_.replicaSets.find(key(ns, name)); it != lister_.replicaSets.end()) {
    found = &it->second;
  } else if (auto u = unseen.find(key(ns, name)); u != unseen.end()) {
    found = &u->second.view;
  }
  if (!found) return error(WriteError::Kind::kNotFound, "not found");
  ReplicaSetView& rs = *found;
  auto doc = api::parseJson(patch);
  const auto& p = *doc;
  if (p.HasMember("metadata")) {
    const auto& m = p["metadata"];
    if (m.HasMember("resourceVersion") &&
        m["resourceVersion"].GetString() != rs.metadata.resourceVersion)
      return error(WriteError::Kind::kConflict, "the object has been modified");
    if (m.HasMember("annotations"))
      for (auto a = m["annotations"].MemberBegin(); a != m["annotations"].MemberEnd(); ++a) {
        if (a->value.IsNull()) {
          rs.metadata.annotations.erase(a->name.GetString());
        } else {
          rs.metadata.annotations[a->name.GetString()] = a->value.GetString();
        }
      }
    if (m.HasMember("ownerReferences")) {
      api::ErrorList ignored;
      rapidjson::Document meta(rapidjson::kObjectType);
      meta.AddMember("ownerReferences", rapidjson::Value(m["ownerReferences"], meta.GetAllocator()),
                     meta.GetAllocator());
      rs.metadata.ownerReferences =
          api::decodeObjectMeta(meta, api::FieldPath("metadata"), ignored).ownerReferences;
    }
  }
  if (p.HasMember("spec") && p["spec"].HasMember("replicas")) {
    rs.specReplicas = p["spec"]["replicas"].GetInt();
    rs.metadata.generation++;
  }
  rs.metadata.resourceVersion = std::to_string(nextResourceVersion_++);
  return rs;
}

WriteResult<void> RecordingWriter::deleteReplicaSet(std::string_view ns, std::string_view name,
                                                    std::string_view uid) {
  actions.push_back({"delete", "replicasets", std::string(name), "uid=" + std::string(uid)});
  if (auto e = takeFailure("delete", "replicasets")) return *e;
  auto it = lister_.replicaSets.find(key(ns, name));
  if (it == lister_.replicaSets.end()) return error(WriteError::Kind::kNotFound, "not found");
  if (it->second.metadata.uid != uid)
    return error(WriteError::Kind::kConflict, "precondition failed: uid");
  lister_.replicaSets.erase(it);
  return {};
}

WriteResult<void> RecordingWriter::patchService(std::string_view ns, std::string_view name,
                                                const std::string& patch) {
  actions.push_back({"patch", "services", std::string(name), canon(patch)});
  if (auto e = takeFailure("patch", "services")) return *e;
  auto it = lister_.services.find(key(ns, name));
  if (it == lister_.services.end()) return error(WriteError::Kind::kNotFound, "not found");
  auto doc = api::parseJson(patch);
  const auto& p = *doc;
  for (auto a = p["metadata"]["annotations"].MemberBegin();
       a != p["metadata"]["annotations"].MemberEnd(); ++a)
    it->second.metadata.annotations[a->name.GetString()] = a->value.GetString();
  for (auto s = p["spec"]["selector"].MemberBegin(); s != p["spec"]["selector"].MemberEnd(); ++s)
    it->second.selector[s->name.GetString()] = s->value.GetString();
  return {};
}

WriteResult<void> RecordingWriter::updateRolloutStatus(std::string_view ns, std::string_view name,
                                                       std::string_view resourceVersion,
                                                       const std::string& statusJson) {
  actions.push_back({"update-status", "rollouts", std::string(name), canon(statusJson)});
  if (auto e = takeFailure("update-status", "rollouts")) return *e;
  auto it = lister_.rollouts.find(key(ns, name));
  if (it == lister_.rollouts.end()) return error(WriteError::Kind::kNotFound, "not found");
  if (it->second.metadata.resourceVersion != resourceVersion)
    return error(WriteError::Kind::kConflict, "the object has been modified");
  auto doc = api::parseJson(statusJson);
  auto decoded = api::decodeRolloutStatus(*doc);
  it->second.status = decoded.object;
  it->second.metadata.resourceVersion = std::to_string(nextResourceVersion_++);
  return {};
}

void RecordingWriter::recordEvent(const api::Rollout&, EventType type, std::string_view reason,
                                  std::string_view message) {
  events.push_back({type, std::string(reason), std::string(message)});
}

std::vector<std::string> RecordingWriter::eventReasons() const {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.reason);
  return out;
}

void RecordingWriter::reset() {
  actions.clear();
  events.clear();
}

std::optional<api::RolloutStatus> RecordingWriter::lastStatus() const {
  for (auto it = actions.rbegin(); it != actions.rend(); ++it)
    if (it->verb == "update-status") {
      auto doc = api::parseJson(it->body);
      return api::decodeRolloutStatus(*doc).object;
    }
  return std::nullopt;
}

std::vector<Action> RecordingWriter::objectWrites() const {
  std::vector<Action> out;
  for (const auto& a : actions)
    if (a.verb != "update-status" && a.verb != "get") out.push_back(a);
  return out;
}

RouterResult<void> FakeRouter::setWeight(int32_t weight) {
  if (setWeightFailure) return *setWeightFailure;
  log_.push_back({"set-weight", "router", "", std::to_string(weight)});
  return {};
}

RouterResult<void> FakeRouter::setHeaderRoute(const api::SetHeaderRouteStep& step) {
  log_.push_back({"set-header-route", "router", step.name, ""});
  return {};
}

RouterResult<void> FakeRouter::removeManagedRoutes() {
  log_.push_back({"remove-managed-routes", "router", "", ""});
  return {};
}

std::optional<bool> FakeRouter::verifyWeight(int32_t) { return verified; }

RouterResult<std::unique_ptr<TrafficRouter>> FakeRouterFactory::newRouter(const RouterTarget&) {
  if (failure) return *failure;
  auto router = std::make_unique<FakeRouter>(log_);
  router->verified = verified;
  router->setWeightFailure = setWeightFailure;
  return std::unique_ptr<TrafficRouter>(std::move(router));
}

AnalysisResult FakeAnalysisRunner::run(const AnalysisRequest& request) {
  log_.push_back({"analysis-run", "analysis",
                  request.stepIndex ? "step-" + std::to_string(*request.stepIndex) : "background",
                  ""});
  if (script.empty()) return AnalysisResult{};
  AnalysisResult r = script.front();
  if (script.size() > 1) script.pop_front();
  return r;
}

}  // namespace canaryd::controller::testing
