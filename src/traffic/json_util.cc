#include "traffic/json_util.h"

#include "controller/names.h"

namespace canaryd::traffic::detail {

namespace {
rapidjson::Value::StringRefType ref(std::string_view s) {
  return rapidjson::StringRef(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
}  // namespace

const rapidjson::Value* member(const rapidjson::Value& v, std::string_view key) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(ref(key));
  return it == v.MemberEnd() ? nullptr : &it->value;
}

rapidjson::Value* member(rapidjson::Value& v, std::string_view key) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(ref(key));
  return it == v.MemberEnd() ? nullptr : &it->value;
}

std::string stringAt(const rapidjson::Value& v, std::string_view key) {
  const rapidjson::Value* m = member(v, key);
  if (!m || !m->IsString()) return "";
  return std::string(m->GetString(), m->GetStringLength());
}

rapidjson::Value str(std::string_view s, Alloc& alloc) {
  return rapidjson::Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), alloc);
}

void setMember(rapidjson::Value& obj, std::string_view key, rapidjson::Value value, Alloc& alloc) {
  if (rapidjson::Value* existing = member(obj, key)) {
    *existing = std::move(value);
    return;
  }
  obj.AddMember(str(key, alloc), std::move(value), alloc);
}

rapidjson::Value& objectAt(rapidjson::Value& obj, std::string_view key, Alloc& alloc) {
  rapidjson::Value* existing = member(obj, key);
  if (existing && existing->IsObject()) return *existing;
  setMember(obj, key, rapidjson::Value(rapidjson::kObjectType), alloc);
  return *member(obj, key);
}

rapidjson::Value rolloutOwnerReference(const api::Rollout& rollout, Alloc& alloc) {
  rapidjson::Value ref(rapidjson::kObjectType);
  ref.AddMember("apiVersion", str(controller::kOwnerApiVersion, alloc), alloc);
  ref.AddMember("kind", str(controller::kOwnerKind, alloc), alloc);
  ref.AddMember("name", str(rollout.metadata.name, alloc), alloc);
  ref.AddMember("uid", str(rollout.metadata.uid, alloc), alloc);
  ref.AddMember("controller", true, alloc);
  ref.AddMember("blockOwnerDeletion", true, alloc);
  return ref;
}

bool ownedBy(const rapidjson::Value& object, const api::Rollout& rollout) {
  const rapidjson::Value* meta = member(object, "metadata");
  const rapidjson::Value* refs = meta ? member(*meta, "ownerReferences") : nullptr;
  if (!refs || !refs->IsArray()) return false;
  for (const auto& r : refs->GetArray()) {
    const rapidjson::Value* controller = member(r, "controller");
    if (!controller || !controller->IsBool() || !controller->GetBool()) continue;
    std::string apiVersion = stringAt(r, "apiVersion");
    if (stringAt(r, "kind") != controller::kOwnerKind ||
        apiVersion.substr(0, apiVersion.find('/')) != "canaryd.io")
      continue;
    if (!rollout.metadata.uid.empty()) return stringAt(r, "uid") == rollout.metadata.uid;
    return stringAt(r, "name") == rollout.metadata.name;
  }
  return false;
}

std::string objectRef(std::string_view kind, std::string_view ns, std::string_view name) {
  std::string s(kind);
  s += ' ';
  s += ns;
  s += '/';
  s += name;
  return s;
}

RouterError clientFailure(std::string_view what, const ClientError& e) {
  std::string message = "cannot " + std::string(what) + " (" + std::string(toString(e.kind)) + ")";
  if (!e.message.empty()) message += ": " + e.message;
  return RouterError{false, std::move(message)};
}

}  // namespace canaryd::traffic::detail
