#include "fake_clients.h"

#include <gtest/gtest.h>

#include "api/json.h"
#include "patch.h"

namespace canaryd::traffic::testing {

namespace {

std::string key(std::string_view kind, std::string_view ns, std::string_view name) {
  return std::string(kind) + "/" + std::string(ns) + "/" + std::string(name);
}

std::string metaString(const rapidjson::Value& object, const char* field) {
  auto meta = object.FindMember("metadata");
  if (meta == object.MemberEnd() || !meta->value.IsObject()) return "";
  auto f = meta->value.FindMember(field);
  return f != meta->value.MemberEnd() && f->value.IsString() ? f->value.GetString() : "";
}

rapidjson::Document parse(std::string_view text) {
  auto docs = api::parseManifests(text);
  EXPECT_TRUE(docs && docs->size() == 1) << text;
  if (!docs || docs->empty()) return rapidjson::Document(rapidjson::kObjectType);
  return std::move(docs->front());
}

}  // namespace

void FakeApi::store(rapidjson::Document& object) {
  auto& alloc = object.GetAllocator();
  auto& meta = object["metadata"];
  std::string rv = std::to_string(nextVersion_++);
  if (meta.HasMember("resourceVersion"))
    meta["resourceVersion"].SetString(rv.c_str(), alloc);
  else
    meta.AddMember("resourceVersion", rapidjson::Value(rv.c_str(), alloc), alloc);
  if (!meta.HasMember("uid")) {
    std::string uid = "uid-" + std::to_string(nextUid_++);
    meta.AddMember("uid", rapidjson::Value(uid.c_str(), alloc), alloc);
  }
  objects_[key(object["kind"].GetString(), metaString(object, "namespace"),
               metaString(object, "name"))] = api::toJson(object);
}

void FakeApi::seed(std::string_view yamlOrJson) {
  rapidjson::Document doc = parse(yamlOrJson);
  store(doc);
}

std::optional<rapidjson::Document> FakeApi::object(std::string_view kind, std::string_view ns,
                                                   std::string_view name) const {
  auto it = objects_.find(key(kind, ns, name));
  if (it == objects_.end()) return std::nullopt;
  return std::move(*api::parseJson(it->second));
}

void FakeApi::externalPatch(std::string_view kind, std::string_view ns, std::string_view name,
                            std::string_view mergePatchJson) {
  auto doc = object(kind, ns, name);
  ASSERT_TRUE(doc) << key(kind, ns, name);
  auto patch = api::parseJson(mergePatchJson);
  ASSERT_TRUE(patch);
  ASSERT_TRUE(emulator::applyMergePatch(*doc, *patch));
  store(*doc);
}

ClientResult<JsonObject> FakeApi::get(std::string_view kind, std::string_view ns,
                                      std::string_view name) {
  reads.push_back(std::string(kind) + " " + std::string(name));
  if (failNext) {
    ClientError e = *failNext;
    failNext.reset();
    return e;
  }
  auto doc = object(kind, ns, name);
  if (!doc) return ClientError{ClientError::Kind::kNotFound, key(kind, ns, name) + " not found"};
  return std::move(*doc);
}

ClientResult<JsonObject> FakeApi::patch(std::string_view kind, std::string_view ns,
                                        std::string_view name, std::string_view mergePatch) {
  writes.push_back({"patch", std::string(kind), std::string(name), std::string(mergePatch)});
  if (beforePatch) beforePatch();
  if (failNext) {
    ClientError e = *failNext;
    failNext.reset();
    return e;
  }
  auto doc = object(kind, ns, name);
  if (!doc) return ClientError{ClientError::Kind::kNotFound, key(kind, ns, name) + " not found"};
  auto patch = api::parseJson(mergePatch);
  EXPECT_TRUE(patch && patch->IsObject()) << mergePatch;
  if (!patch || !patch->IsObject()) return ClientError{ClientError::Kind::kOther, "bad patch"};
  // kube-apiserver: a resourceVersion in the patch must equal the stored one.
  std::string precondition = metaString(*patch, "resourceVersion");
  if (!precondition.empty() && precondition != metaString(*doc, "resourceVersion"))
    return ClientError{ClientError::Kind::kConflict,
                       "the object has been modified; please apply your changes to the latest "
                       "version and try again"};
  if (auto r = emulator::applyMergePatch(*doc, *patch); !r)
    return ClientError{ClientError::Kind::kOther, r.error().message};
  store(*doc);
  return std::move(*object(kind, ns, name));
}

ClientResult<JsonObject> FakeApi::getIngress(std::string_view ns, std::string_view name) {
  return get("Ingress", ns, name);
}

ClientResult<JsonObject> FakeApi::createIngress(std::string_view ns,
                                                const rapidjson::Value& ingress) {
  writes.push_back({"create", "Ingress", metaString(ingress, "name"), api::toJson(ingress)});
  if (failNext) {
    ClientError e = *failNext;
    failNext.reset();
    return e;
  }
  EXPECT_EQ(metaString(ingress, "namespace"), ns);
  std::string name = metaString(ingress, "name");
  if (object("Ingress", ns, name))
    return ClientError{ClientError::Kind::kConflict, "ingresses \"" + name + "\" already exists"};
  rapidjson::Document doc = api::cloneDocument(ingress);
  store(doc);
  return std::move(*object("Ingress", ns, name));
}

ClientResult<JsonObject> FakeApi::patchIngress(std::string_view ns, std::string_view name,
                                               std::string_view mergePatch) {
  return patch("Ingress", ns, name, mergePatch);
}

ClientResult<JsonObject> FakeApi::getHttpRoute(std::string_view ns, std::string_view name) {
  return get("HTTPRoute", ns, name);
}

ClientResult<JsonObject> FakeApi::patchHttpRoute(std::string_view ns, std::string_view name,
                                                 std::string_view mergePatch) {
  return patch("HTTPRoute", ns, name, mergePatch);
}

}  // namespace canaryd::traffic::testing
