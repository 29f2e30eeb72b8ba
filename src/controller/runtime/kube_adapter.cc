#include "controller/runtime/kube_adapter.h"

#include <spdlog/spdlog.h>

#include "api/decode.h"
#include "api/json.h"
#include "controller/selector.h"
#include "informer/transform.h"
#include "kube/base64.h"

namespace canaryd::controller::runtime {

namespace {

template <class T>
std::unique_ptr<informer::SharedInformer<T>> makeInformer(kube::Client& client,
                                                          const kube::GroupVersionResource& gvr,
                                                          const std::string& ns,
                                                          informer::Transform<T> transform,
                                                          informer::Indexers<T> indexers,
                                                          std::string labelSelector = {}) {
  informer::ReflectorOptions options;
  options.resource = gvr;
  options.namespace_ = ns;
  options.labelSelector = std::move(labelSelector);
  return std::make_unique<informer::SharedInformer<T>>(client, std::move(options),
                                                       std::move(transform), std::move(indexers));
}

std::vector<std::string> serviceIndexFunc(const RolloutView& r) {
  std::vector<std::string> out;
  if (!r.spec.strategy.canary) return out;
  for (const auto* svc :
       {&r.spec.strategy.canary->stableService, &r.spec.strategy.canary->canaryService}) {
    if (!svc->empty()) out.push_back(r.metadata.namespace_ + "/" + *svc);
  }
  return out;
}

template <class T>
informer::Indexers<T> namespaceIndexers() {
  informer::Indexers<T> indexers;
  indexers.emplace(std::string(informer::kNamespaceIndex), &informer::metaNamespaceIndexFunc<T>);
  return indexers;
}

bool hasName(const rapidjson::Value& object) {
  return object.IsObject() && !kube::stringAt(object, "metadata.name").empty();
}

}  // namespace

informer::Transform<RolloutView> rolloutTransform() {
  return [](rapidjson::Value& object) -> informer::ObjectPtr<RolloutView> {
    if (!hasName(object)) return nullptr;
    informer::trimObject(object);
    return std::make_shared<const RolloutView>(rolloutViewFromJson(object));
  };
}

informer::Transform<ReplicaSetView> replicaSetTransform() {
  return [](rapidjson::Value& object) -> informer::ObjectPtr<ReplicaSetView> {
    if (!hasName(object)) return nullptr;
    return std::make_shared<const ReplicaSetView>(replicaSetViewFromJson(object));
  };
}

informer::Transform<ServiceView> serviceTransform() {
  return [](rapidjson::Value& object) -> informer::ObjectPtr<ServiceView> {
    if (!hasName(object)) return nullptr;
    return std::make_shared<const ServiceView>(serviceViewFromJson(object));
  };
}

informer::Transform<api::AnalysisTemplate> analysisTemplateTransform() {
  return [](rapidjson::Value& object) -> informer::ObjectPtr<api::AnalysisTemplate> {
    if (!hasName(object)) return nullptr;
    informer::trimObject(object);
    // Not strict: the API server's schema has pruned unknown fields already. Type errors
    // leave defaults; the runner reports what it cannot use.
    auto decoded = api::decodeAnalysisTemplate(object, api::DecodeOptions{.strict = false});
    return std::make_shared<const api::AnalysisTemplate>(std::move(decoded.object));
  };
}

// ---- Caches ----

Caches::Caches(kube::Client& client, const std::vector<std::string>& namespaces) {
  std::vector<std::string> list = namespaces;
  if (list.empty()) {
    allNamespaces_ = true;
    list.push_back("");
  }
  for (const auto& ns : list) {
    auto c = std::make_unique<NamespaceCaches>();
    c->namespace_ = ns;
    auto rolloutIndexers = namespaceIndexers<RolloutView>();
    rolloutIndexers.emplace(std::string(kServiceIndex), &serviceIndexFunc);
    c->rollouts = makeInformer<RolloutView>(client, kube::resources::kRollouts, ns,
                                            rolloutTransform(), std::move(rolloutIndexers));
    c->replicaSets = makeInformer<ReplicaSetView>(
        client, kube::resources::kReplicaSets, ns, replicaSetTransform(),
        informer::defaultIndexers<ReplicaSetView>(), std::string(kPodTemplateHashLabel));
    c->services = makeInformer<ServiceView>(client, kube::resources::kServices, ns,
                                            serviceTransform(), namespaceIndexers<ServiceView>());
    c->templates = makeInformer<api::AnalysisTemplate>(client, kube::resources::kAnalysisTemplates,
                                                       ns, analysisTemplateTransform(), {});
    caches_.push_back(std::move(c));
  }
}

Caches::~Caches() { stop(); }

void Caches::start() {
  for (auto& c : caches_) {
    c->rollouts->start();
    c->replicaSets->start();
    c->services->start();
    c->templates->start();
  }
}

void Caches::stop() {
  for (auto& c : caches_) {
    c->rollouts->stop();
    c->replicaSets->stop();
    c->services->stop();
    c->templates->stop();
  }
}

bool Caches::hasSynced() const { return unsynced().empty(); }

std::vector<std::string> Caches::unsynced() const {
  std::vector<std::string> out;
  for (const auto& c : caches_) {
    std::string where = c->namespace_.empty() ? " (all namespaces)" : " in " + c->namespace_;
    if (!c->rollouts->hasSynced()) out.push_back("rollouts.canaryd.io" + where);
    if (!c->replicaSets->hasSynced()) out.push_back("replicasets.apps" + where);
    if (!c->services->hasSynced()) out.push_back("services" + where);
    if (!c->templates->hasSynced()) out.push_back("analysistemplates.canaryd.io" + where);
  }
  return out;
}

const NamespaceCaches* Caches::forNamespace(std::string_view ns) const {
  if (allNamespaces_) return caches_.front().get();
  for (const auto& c : caches_) {
    if (c->namespace_ == ns) return c.get();
  }
  return nullptr;
}

std::vector<NamespaceCaches*> Caches::all() {
  std::vector<NamespaceCaches*> out;
  for (auto& c : caches_) out.push_back(c.get());
  return out;
}

// ---- CacheLister ----

Ptr<RolloutView> CacheLister::getRollout(std::string_view ns, std::string_view name) const {
  const auto* c = caches_.forNamespace(ns);
  return c ? c->rollouts->store().getByKey(informer::metaNamespaceKey(ns, name)) : nullptr;
}

std::vector<Ptr<ReplicaSetView>> CacheLister::replicaSetsOwnedBy(std::string_view ns,
                                                                 std::string_view ownerUid) const {
  std::vector<Ptr<ReplicaSetView>> out;
  const auto* c = caches_.forNamespace(ns);
  if (!c) return out;
  auto owned = c->replicaSets->store().byIndex(informer::kOwnerUidIndex, ownerUid);
  if (!owned) return out;
  for (auto& rs : *owned) {
    if (rs->metadata.namespace_ == ns) out.push_back(std::move(rs));
  }
  return out;
}

std::vector<Ptr<ReplicaSetView>> CacheLister::replicaSetsMatching(
    std::string_view ns, const api::LabelSelector& selector) const {
  std::vector<Ptr<ReplicaSetView>> out;
  const auto* c = caches_.forNamespace(ns);
  if (!c) return out;
  auto inNamespace = c->replicaSets->store().byIndex(informer::kNamespaceIndex, ns);
  if (!inNamespace) return out;
  for (auto& rs : *inNamespace) {
    if (selectorMatches(selector, rs->metadata.labels)) out.push_back(std::move(rs));
  }
  return out;
}

Ptr<ReplicaSetView> CacheLister::getReplicaSet(std::string_view ns, std::string_view name) const {
  const auto* c = caches_.forNamespace(ns);
  return c ? c->replicaSets->store().getByKey(informer::metaNamespaceKey(ns, name)) : nullptr;
}

Ptr<ServiceView> CacheLister::getService(std::string_view ns, std::string_view name) const {
  const auto* c = caches_.forNamespace(ns);
  return c ? c->services->store().getByKey(informer::metaNamespaceKey(ns, name)) : nullptr;
}

std::optional<api::AnalysisTemplateSpec> CacheLister::find(std::string_view ns,
                                                           std::string_view name) const {
  const auto* c = caches_.forNamespace(ns);
  if (!c) return std::nullopt;
  auto t = c->templates->store().getByKey(informer::metaNamespaceKey(ns, name));
  if (!t) return std::nullopt;
  return t->spec;
}

// ---- KubeWriter ----

KubeWriter::KubeWriter(kube::Client& client, kube::EventRecorder* events, WriteFence fence,
                       std::string fieldManager)
    : client_(client), events_(events), fence_(std::move(fence)) {
  options_.fieldManager = std::move(fieldManager);
}

WriteError KubeWriter::toWriteError(const kube::ApiError& e) {
  WriteError out;
  out.message = e.message;
  if (kube::isAlreadyExists(e)) {
    out.kind = WriteError::Kind::kAlreadyExists;
  } else if (kube::isConflict(e)) {
    out.kind = WriteError::Kind::kConflict;
  } else if (kube::isNotFound(e)) {
    out.kind = WriteError::Kind::kNotFound;
  } else if (kube::isInvalid(e)) {
    out.kind = WriteError::Kind::kInvalid;
  } else if (kube::isForbidden(e)) {
    out.kind = WriteError::Kind::kForbidden;
  } else {
    out.kind = WriteError::Kind::kOther;
  }
  return out;
}

std::optional<WriteError> KubeWriter::fenced(std::string_view what) const {
  if (!fence_ || fence_()) return std::nullopt;
  // A deposed leader writes nothing: its successor owns the Rollouts now.
  return WriteError{WriteError::Kind::kOther, "not the leader: " + std::string(what) + " skipped"};
}

WriteResult<ReplicaSetView> KubeWriter::createReplicaSet(std::string_view ns,
                                                         const std::string& body) {
  if (auto e = fenced("create ReplicaSet")) return *e;
  auto doc = api::parseJson(body);
  if (!doc)
    return WriteError{WriteError::Kind::kInvalid, "ReplicaSet body: " + doc.error().toString()};
  auto created = client_.create(kube::resources::kReplicaSets, ns, *doc, options_);
  if (!created) return toWriteError(created.error());
  return replicaSetViewFromJson(**created);
}

WriteResult<LiveReplicaSet> KubeWriter::readReplicaSet(std::string_view ns, std::string_view name) {
  auto got = client_.get(kube::resources::kReplicaSets, ns, name);
  if (!got) return toWriteError(got.error());
  LiveReplicaSet live;
  live.view = replicaSetViewFromJson(**got);
  const rapidjson::Value& object = **got;
  if (auto spec = object.FindMember("spec"); spec != object.MemberEnd() && spec->value.IsObject()) {
    if (auto tpl = spec->value.FindMember("template"); tpl != spec->value.MemberEnd())
      live.podTemplate = api::toJson(tpl->value);
  }
  return live;
}

WriteResult<api::Rollout> KubeWriter::readRollout(std::string_view ns, std::string_view name) {
  auto got = client_.get(kube::resources::kRollouts, ns, name);
  if (!got) return toWriteError(got.error());
  // Not strict, as the informer's transform: the API server's schema has pruned unknown
  // fields already.
  return api::decodeRollout(**got, api::DecodeOptions{.strict = false}).object;
}

WriteResult<ReplicaSetView> KubeWriter::patchReplicaSet(std::string_view ns, std::string_view name,
                                                        const std::string& mergePatch) {
  if (auto e = fenced("patch ReplicaSet")) return *e;
  auto patched = client_.patch(kube::resources::kReplicaSets, ns, name, kube::PatchType::kMerge,
                               mergePatch, options_);
  if (!patched) return toWriteError(patched.error());
  return replicaSetViewFromJson(**patched);
}

WriteResult<void> KubeWriter::deleteReplicaSet(std::string_view ns, std::string_view name,
                                               std::string_view uid) {
  if (auto e = fenced("delete ReplicaSet")) return *e;
  kube::DeleteOptions options;
  options.preconditionUid = std::string(uid);
  options.propagationPolicy = kube::PropagationPolicy::kBackground;
  auto removed = client_.remove(kube::resources::kReplicaSets, ns, name, options);
  if (!removed) return toWriteError(removed.error());
  return {};
}

WriteResult<void> KubeWriter::patchService(std::string_view ns, std::string_view name,
                                           const std::string& mergePatch) {
  if (auto e = fenced("patch Service")) return *e;
  auto patched = client_.patch(kube::resources::kServices, ns, name, kube::PatchType::kMerge,
                               mergePatch, options_);
  if (!patched) return toWriteError(patched.error());
  return {};
}

WriteResult<void> KubeWriter::updateRolloutStatus(std::string_view ns, std::string_view name,
                                                  std::string_view resourceVersion,
                                                  const std::string& statusJson) {
  if (auto e = fenced("update Rollout status")) return *e;
  auto status = api::parseJson(statusJson);
  if (!status)
    return WriteError{WriteError::Kind::kInvalid, "status: " + status.error().toString()};
  // PUT to the status subresource: the status strategy keeps everything but .status from
  // the stored object, and the resourceVersion is the precondition (409 when stale), so
  // fields the new status drops are removed, as a merge patch could not.
  rapidjson::Document body(rapidjson::kObjectType);
  auto& a = body.GetAllocator();
  auto str = [&a](std::string_view v) {
    return rapidjson::Value(v.data(), static_cast<rapidjson::SizeType>(v.size()), a);
  };
  body.AddMember("apiVersion", str(api::kApiVersion), a);
  body.AddMember("kind", str(api::kRolloutKind), a);
  rapidjson::Value meta(rapidjson::kObjectType);
  meta.AddMember("name", str(name), a);
  meta.AddMember("namespace", str(ns), a);
  meta.AddMember("resourceVersion", str(resourceVersion), a);
  body.AddMember("metadata", meta, a);
  body.AddMember("status", rapidjson::Value(*status, a), a);
  auto updated = client_.updateStatus(kube::resources::kRollouts, ns, body, options_);
  if (!updated) return toWriteError(updated.error());
  if (writeBack_ && *updated) {
    const NamespaceCaches* c = writeBack_->forNamespace(ns);
    if (auto view = c ? rolloutTransform()(**updated) : nullptr) {
      if (c->rollouts->store().updateIfNewer(std::move(view)))
        spdlog::trace("{}/{}: status write written back to the cache", ns, name);
    }
  }
  return {};
}

void KubeWriter::recordEvent(const api::Rollout& rollout, EventType type, std::string_view reason,
                             std::string_view message) {
  const std::string key = rollout.metadata.namespace_ + "/" + rollout.metadata.name;
  if (fence_ && !fence_()) {
    spdlog::debug("{}: event {} not recorded: not the leader", key, reason);
    return;
  }
  if (type == EventType::kWarning) {
    spdlog::warn("{}: event {}: {}", key, reason, message);
  } else {
    spdlog::info("{}: event {}: {}", key, reason, message);
  }
  if (!events_) return;
  kube::ObjectReference regarding;
  regarding.apiVersion = std::string(api::kApiVersion);
  regarding.kind = std::string(api::kRolloutKind);
  regarding.namespace_ = rollout.metadata.namespace_;
  regarding.name = rollout.metadata.name;
  regarding.uid = rollout.metadata.uid;
  regarding.resourceVersion = rollout.metadata.resourceVersion;
  events_->event(regarding,
                 type == EventType::kWarning ? kube::kEventTypeWarning : kube::kEventTypeNormal,
                 reason, reason, message);
}

// ---- Secrets ----

analysis::prometheus::SecretReader kubeSecretReader(kube::Client& client) {
  return [&client](std::string_view ns, const std::string& name,
                   std::map<std::string, std::string>& data, std::string& error) {
    auto secret = client.get(kube::resources::kSecrets, ns, name);
    if (!secret) {
      error = "Secret " + std::string(ns) + "/" + name + ": " + secret.error().message;
      return false;
    }
    const rapidjson::Value& obj = **secret;
    auto it = obj.FindMember("data");
    if (it == obj.MemberEnd() || !it->value.IsObject()) return true;
    for (const auto& m : it->value.GetObject()) {
      if (!m.value.IsString()) continue;
      auto decoded =
          kube::base64Decode(std::string_view(m.value.GetString(), m.value.GetStringLength()));
      if (!decoded) {
        error = "Secret " + std::string(ns) + "/" + name + ": data." + m.name.GetString() +
                " is not base64";
        return false;
      }
      data[m.name.GetString()] = std::move(*decoded);
    }
    return true;
  };
}

}  // namespace canaryd::controller::runtime
