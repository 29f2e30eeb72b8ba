#include "controller/views.h"

#include "api/decode.h"
#include "api/validate.h"
#include "controller/names.h"
#include "controller/pod_template_hash.h"

namespace canaryd::controller {
namespace {

using Value = rapidjson::Value;

const Value* member(const Value& object, const char* key) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(key);
  if (it == object.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

template <class T>
void readInt(const Value* object, const char* key, T& out) {
  if (!object) return;
  const Value* v = member(*object, key);
  if (v && v->IsInt64()) out = static_cast<T>(v->GetInt64());
}

api::ObjectMeta readMeta(const Value& object) {
  api::ErrorList ignored;
  const Value* meta = member(object, "metadata");
  if (!meta) return {};
  api::ObjectMeta out = api::decodeObjectMeta(*meta, api::FieldPath("metadata"), ignored);
  // Not read by the controller; dropped to keep the cache small.
  out.generateName.clear();
  out.finalizers.clear();
  out.finalizers.shrink_to_fit();
  return out;
}

bool isStatusError(const api::FieldError& e) {
  return e.field == "status" || e.field.rfind("status.", 0) == 0 ||
         e.field.rfind("status[", 0) == 0;
}

}  // namespace

RolloutView rolloutViewFromJson(const Value& object) {
  auto checked = api::checkRollout(object, api::DecodeOptions{.strict = false});
  RolloutView view;
  static_cast<api::Rollout&>(view) = std::move(checked.object);
  for (auto& e : checked.errors)
    if (!isStatusError(e)) view.specErrors.push_back(std::move(e));
  // The template's text is most of a Rollout's size and is needed only to create a
  // ReplicaSet, which is rare; its hash is needed at every reconcile.
  if (view.spec.podTemplate) trimPodTemplate(*view.spec.podTemplate);
  return view;
}

ReplicaSetView replicaSetViewFromJson(const Value& object) {
  ReplicaSetView view;
  view.metadata = readMeta(object);
  if (auto it = view.metadata.labels.find(std::string(kPodTemplateHashLabel));
      it != view.metadata.labels.end())
    view.podTemplateHash = it->second;
  readInt(member(object, "spec"), "replicas", view.specReplicas);
  const Value* status = member(object, "status");
  readInt(status, "replicas", view.replicas);
  readInt(status, "readyReplicas", view.readyReplicas);
  readInt(status, "availableReplicas", view.availableReplicas);
  readInt(status, "observedGeneration", view.observedGeneration);
  return view;
}

ServiceView serviceViewFromJson(const Value& object) {
  ServiceView view;
  view.metadata = readMeta(object);
  const Value* spec = member(object, "spec");
  const Value* selector = spec ? member(*spec, "selector") : nullptr;
  if (selector && selector->IsObject()) {
    for (auto it = selector->MemberBegin(); it != selector->MemberEnd(); ++it)
      if (it->value.IsString())
        view.selector.emplace(std::string(it->name.GetString(), it->name.GetStringLength()),
                              std::string(it->value.GetString(), it->value.GetStringLength()));
  }
  return view;
}

const api::OwnerReference* controllerOf(const api::ObjectMeta& meta) {
  for (const auto& ref : meta.ownerReferences)
    if (ref.controller) return &ref;
  return nullptr;
}

}  // namespace canaryd::controller
