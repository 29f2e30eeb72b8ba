#include "informer/transform.h"

#include "api/decode.h"
#include "api/json.h"

namespace canaryd::informer {

namespace {

rapidjson::Value* member(rapidjson::Value& v, std::string_view name) {
  if (!v.IsObject()) return nullptr;
  rapidjson::Value key(rapidjson::StringRef(name.data(), name.size()));
  auto it = v.FindMember(key);
  return it == v.MemberEnd() ? nullptr : &it->value;
}

void erase(rapidjson::Value& v, std::string_view name) {
  if (!v.IsObject()) return;
  rapidjson::Value key(rapidjson::StringRef(name.data(), name.size()));
  v.EraseMember(key);
}

}  // namespace

void trimObject(rapidjson::Value& object) {
  rapidjson::Value* meta = member(object, "metadata");
  if (!meta || !meta->IsObject()) return;
  erase(*meta, "managedFields");
  if (rapidjson::Value* annotations = member(*meta, "annotations")) {
    erase(*annotations, kLastAppliedAnnotation);
    if (annotations->IsObject() && annotations->MemberCount() == 0) erase(*meta, "annotations");
  }
}

void trimReplicaSet(rapidjson::Value& object) {
  trimObject(object);
  rapidjson::Value* spec = member(object, "spec");
  if (!spec) return;
  rapidjson::Value* tmpl = member(*spec, "template");
  if (!tmpl || !tmpl->IsObject()) return;
  // Keep template.metadata.labels' hash labels; drop every other member on the way.
  for (auto it = tmpl->MemberBegin(); it != tmpl->MemberEnd();) {
    if (std::string_view(it->name.GetString(), it->name.GetStringLength()) == "metadata") {
      ++it;
    } else {
      it = tmpl->EraseMember(it);
    }
  }
  rapidjson::Value* meta = member(*tmpl, "metadata");
  if (!meta || !meta->IsObject()) return;
  for (auto it = meta->MemberBegin(); it != meta->MemberEnd();) {
    if (std::string_view(it->name.GetString(), it->name.GetStringLength()) == "labels") {
      ++it;
    } else {
      it = meta->EraseMember(it);
    }
  }
  rapidjson::Value* labels = member(*meta, "labels");
  if (!labels || !labels->IsObject()) return;
  for (auto it = labels->MemberBegin(); it != labels->MemberEnd();) {
    std::string_view key(it->name.GetString(), it->name.GetStringLength());
    if (key == kPodTemplateHashLabel || key == kCanarydPodTemplateHashLabel) {
      ++it;
    } else {
      it = labels->EraseMember(it);
    }
  }
}

rapidjson::Document CachedObject::body() const {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  return doc;
}

size_t CachedObject::bytes() const {
  size_t n = sizeof(*this) + json.capacity();
  const auto& m = metadata;
  n += m.name.capacity() + m.namespace_.capacity() + m.uid.capacity() +
       m.resourceVersion.capacity() + m.generateName.capacity();
  for (const auto& [k, v] : m.labels) n += 64 + k.capacity() + v.capacity();
  for (const auto& [k, v] : m.annotations) n += 64 + k.capacity() + v.capacity();
  for (const auto& r : m.ownerReferences) {
    n += sizeof(r) + r.apiVersion.capacity() + r.kind.capacity() + r.name.capacity() +
         r.uid.capacity();
  }
  return n;
}

ObjectPtr<CachedObject> toCachedObject(rapidjson::Value& object) {
  if (!object.IsObject()) return nullptr;
  auto meta = object.FindMember("metadata");
  if (meta == object.MemberEnd() || !meta->value.IsObject()) return nullptr;
  auto out = std::make_shared<CachedObject>();
  api::ErrorList errors;
  out->metadata = api::decodeObjectMeta(meta->value, api::FieldPath("metadata"), errors);
  if (out->metadata.name.empty()) return nullptr;
  // Serialise everything but metadata (already decoded) without copying the object.
  rapidjson::Value metadata;
  metadata.Swap(meta->value);
  object.EraseMember("metadata");
  out->json = api::toJson(object);
  out->json.shrink_to_fit();
  return out;
}

Transform<CachedObject> cachedObjectTransform(std::function<void(rapidjson::Value&)> trim) {
  return [trim = std::move(trim)](rapidjson::Value& object) -> ObjectPtr<CachedObject> {
    if (trim) trim(object);
    return toCachedObject(object);
  };
}

}  // namespace canaryd::informer
