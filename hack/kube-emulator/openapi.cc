#include "openapi.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <functional>

#include "api/json.h"

namespace canaryd::emulator {

namespace {

using Alloc = rapidjson::Document::AllocatorType;
using rapidjson::Value;

const char* kObjectMetaRef = "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

std::string gvPath(const std::string& group, const std::string& version) {
  return group.empty() ? "api/" + version : "apis/" + group + "/" + version;
}

// The schema name kube-openapi gives a kind: the group reversed (canaryd.io -> io.canaryd)
// for custom resources, io.k8s.api.<group>.<version>.<Kind> for built-ins.
std::string schemaName(const ResourceType& t) {
  if (!t.custom) {
    std::string g = t.group.empty() ? "core" : t.group.substr(0, t.group.find('.'));
    return "io.k8s.api." + g + "." + t.version + "." + t.kind;
  }
  std::vector<std::string> parts;
  size_t s = 0;
  while (true) {
    auto d = t.group.find('.', s);
    parts.push_back(t.group.substr(s, d == std::string::npos ? std::string::npos : d - s));
    if (d == std::string::npos) break;
    s = d + 1;
  }
  std::reverse(parts.begin(), parts.end());
  std::string out;
  for (const auto& p : parts) out += p + ".";
  return out + t.version + "." + t.kind;
}

Value str(const std::string& s, Alloc& a) { return Value(s.c_str(), a); }

Value gvk(const ResourceType& t, Alloc& a, bool asArray) {
  Value o(rapidjson::kObjectType);
  o.AddMember("group", str(t.group, a), a);
  o.AddMember("kind", str(t.kind, a), a);
  o.AddMember("version", str(t.version, a), a);
  if (!asArray) return o;
  Value arr(rapidjson::kArrayType);
  arr.PushBack(o, a);
  return arr;
}

Value param(const char* name, const char* in, const char* description, Alloc& a,
            bool required = false) {
  Value p(rapidjson::kObjectType);
  p.AddMember("name", str(name, a), a);
  p.AddMember("in", str(in, a), a);
  p.AddMember("description", str(description, a), a);
  if (required) p.AddMember("required", true, a);
  Value schema(rapidjson::kObjectType);
  schema.AddMember("type", "string", a);
  schema.AddMember("uniqueItems", true, a);
  p.AddMember("schema", schema, a);
  return p;
}

Value refContent(const std::string& ref, const std::vector<std::string>& types, Alloc& a) {
  Value content(rapidjson::kObjectType);
  for (const auto& ct : types) {
    Value schema(rapidjson::kObjectType);
    schema.AddMember("$ref", str(ref, a), a);
    Value media(rapidjson::kObjectType);
    media.AddMember("schema", schema, a);
    content.AddMember(str(ct, a), media, a);
  }
  return content;
}

Value operation(const ResourceType& t, const std::string& action, const std::string& opId,
                const std::string& ref, bool withBody, const std::vector<std::string>& bodyTypes,
                Alloc& a) {
  Value op(rapidjson::kObjectType);
  op.AddMember("operationId", str(opId, a), a);
  Value params(rapidjson::kArrayType);
  if (action == "patch" || action == "put" || action == "post") {
    params.PushBack(param("dryRun", "query",
                          "When present, indicates that modifications should not be persisted.", a),
                    a);
    params.PushBack(param("fieldManager", "query",
                          "fieldManager is a name associated with the actor or entity that is "
                          "making these changes.",
                          a),
                    a);
    params.PushBack(param("fieldValidation", "query",
                          "fieldValidation instructs the server on how to handle objects in the "
                          "request containing unknown or duplicate fields. Valid values are: "
                          "Ignore, Warn, Strict.",
                          a),
                    a);
  }
  if (action == "patch")
    params.PushBack(param("force", "query", "Force is going to \"force\" Apply requests.", a), a);
  op.AddMember("parameters", params, a);
  if (withBody) {
    Value body(rapidjson::kObjectType);
    std::string bodyRef =
        action == "patch" ? "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch" : ref;
    body.AddMember("content", refContent(bodyRef, bodyTypes, a), a);
    body.AddMember("required", true, a);
    op.AddMember("requestBody", body, a);
  }
  Value responses(rapidjson::kObjectType);
  Value ok(rapidjson::kObjectType);
  ok.AddMember("description", "OK", a);
  ok.AddMember("content", refContent(ref, {"application/json", "application/yaml"}, a), a);
  responses.AddMember(action == "post" ? "201" : "200", ok, a);
  op.AddMember("responses", responses, a);
  op.AddMember("x-kubernetes-action", str(action, a), a);
  op.AddMember("x-kubernetes-group-version-kind", gvk(t, a, false), a);
  return op;
}

void addPaths(Value& paths, const ResourceType& t, Alloc& a) {
  std::string base = "/" + gvPath(t.group, t.version) + "/";
  std::string coll =
      t.namespaced ? base + "namespaces/{namespace}/" + t.resource : base + t.resource;
  std::string ref = "#/components/schemas/" + schemaName(t);
  std::string opBase = t.kind + (t.namespaced ? "Namespaced" : "");
  std::vector<std::string> patchTypes = {"application/json-patch+json",
                                         "application/merge-patch+json",
                                         "application/apply-patch+yaml"};
  std::vector<std::string> jsonTypes = {"application/json", "application/yaml"};

  Value collection(rapidjson::kObjectType);
  collection.AddMember("get", operation(t, "list", "list" + opBase, ref, false, {}, a), a);
  collection.AddMember("post", operation(t, "post", "create" + opBase, ref, true, jsonTypes, a), a);
  paths.AddMember(str(coll, a), collection, a);

  Value item(rapidjson::kObjectType);
  item.AddMember("get", operation(t, "get", "read" + opBase, ref, false, {}, a), a);
  item.AddMember("put", operation(t, "put", "replace" + opBase, ref, true, jsonTypes, a), a);
  item.AddMember("patch", operation(t, "patch", "patch" + opBase, ref, true, patchTypes, a), a);
  item.AddMember("delete", operation(t, "delete", "delete" + opBase, ref, false, {}, a), a);
  paths.AddMember(str(coll + "/{name}", a), item, a);

  if (t.statusSubresource) {
    Value status(rapidjson::kObjectType);
    status.AddMember("get", operation(t, "get", "read" + opBase + "Status", ref, false, {}, a), a);
    status.AddMember(
        "put", operation(t, "put", "replace" + opBase + "Status", ref, true, jsonTypes, a), a);
    status.AddMember(
        "patch", operation(t, "patch", "patch" + opBase + "Status", ref, true, patchTypes, a), a);
    paths.AddMember(str(coll + "/{name}/status", a), status, a);
  }
  if (t.namespaced) {
    Value all(rapidjson::kObjectType);
    all.AddMember("get",
                  operation(t, "list", "list" + t.kind + "ForAllNamespaces", ref, false, {}, a), a);
    paths.AddMember(str(base + t.resource, a), all, a);
  }
}

Value objectMetaSchema(Alloc& a) {
  auto doc = api::parseJson(R"({
    "description": "ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.",
    "type": "object",
    "properties": {
      "name": {"type": "string", "description": "Name must be unique within a namespace."},
      "generateName": {"type": "string", "description": "GenerateName is an optional prefix, used by the server, to generate a unique name ONLY IF the Name field has not been provided."},
      "namespace": {"type": "string", "description": "Namespace defines the space within which each name must be unique."},
      "uid": {"type": "string", "description": "UID is the unique in time and space value for this object."},
      "resourceVersion": {"type": "string", "description": "An opaque value that represents the internal version of this object."},
      "generation": {"type": "integer", "format": "int64", "description": "A sequence number representing a specific generation of the desired state."},
      "creationTimestamp": {"type": "string", "format": "date-time", "description": "CreationTimestamp is a timestamp representing the server time when this object was created."},
      "deletionTimestamp": {"type": "string", "format": "date-time", "description": "DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted."},
      "labels": {"type": "object", "additionalProperties": {"type": "string", "default": ""}, "description": "Map of string keys and values that can be used to organize and categorize (scope and select) objects."},
      "annotations": {"type": "object", "additionalProperties": {"type": "string", "default": ""}, "description": "Annotations is an unstructured key value map stored with a resource."},
      "finalizers": {"type": "array", "items": {"type": "string", "default": ""}, "description": "Must be empty before the object is deleted from the registry.", "x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge"},
      "ownerReferences": {"type": "array", "items": {"type": "object"}, "description": "List of objects depended by this object.", "x-kubernetes-patch-merge-key": "uid", "x-kubernetes-patch-strategy": "merge"}
    }
  })");
  Value v;
  v.CopyFrom(*doc, a);
  return v;
}

Value kindSchema(const ResourceType& t, Alloc& a) {
  Value s(rapidjson::kObjectType);
  if (t.schema) {
    s.CopyFrom(*t.schema, a);
  } else {
    s.AddMember("description", str(t.kind + " (schema not published by this server).", a), a);
    s.AddMember("type", "object", a);
    s.AddMember("x-kubernetes-preserve-unknown-fields", true, a);
  }
  if (!s.HasMember("type")) s.AddMember("type", "object", a);
  if (!s.HasMember("properties")) s.AddMember("properties", Value(rapidjson::kObjectType), a);
  auto& props = s["properties"];
  auto setProp = [&](const char* name, Value v) {
    auto it = props.FindMember(name);
    if (it != props.MemberEnd()) props.RemoveMember(it);
    props.AddMember(rapidjson::StringRef(name), v, a);
  };
  Value apiVersion(rapidjson::kObjectType);
  apiVersion.AddMember("description",
                       "APIVersion defines the versioned schema of this representation of an "
                       "object. Servers should convert recognized schemas to the latest internal "
                       "value, and may reject unrecognized values.",
                       a);
  apiVersion.AddMember("type", "string", a);
  setProp("apiVersion", std::move(apiVersion));
  Value kind(rapidjson::kObjectType);
  kind.AddMember("description",
                 "Kind is a string value representing the REST resource this object represents.",
                 a);
  kind.AddMember("type", "string", a);
  setProp("kind", std::move(kind));
  Value meta(rapidjson::kObjectType);
  Value allOf(rapidjson::kArrayType);
  Value ref(rapidjson::kObjectType);
  ref.AddMember("$ref", rapidjson::StringRef(kObjectMetaRef), a);
  allOf.PushBack(ref, a);
  meta.AddMember("allOf", allOf, a);
  meta.AddMember("default", Value(rapidjson::kObjectType), a);
  meta.AddMember("description",
                 "Standard object's metadata. More info: "
                 "https://git.k8s.io/community/contributors/devel/sig-architecture/"
                 "api-conventions.md#metadata",
                 a);
  setProp("metadata", std::move(meta));
  s.AddMember("x-kubernetes-group-version-kind", gvk(t, a, true), a);
  return s;
}

}  // namespace

std::string openApiIndex(const ResourceTypes& types) {
  rapidjson::Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  Value paths(rapidjson::kObjectType);
  std::string hash = std::to_string(types.revision());
  for (const auto& g : types.groups()) {
    for (const auto& v : g.versions) {
      std::string p = gvPath(g.group, v);
      Value entry(rapidjson::kObjectType);
      entry.AddMember("serverRelativeURL", str("/openapi/v3/" + p + "?hash=" + hash, a), a);
      paths.AddMember(str(p, a), entry, a);
    }
  }
  d.AddMember("paths", paths, a);
  return api::toJson(d);
}

std::string openApiDocument(const ResourceTypes& types, const std::string& path) {
  std::string group, version;
  if (path.rfind("api/", 0) == 0) {
    version = path.substr(4);
  } else if (path.rfind("apis/", 0) == 0) {
    auto rest = path.substr(5);
    auto slash = rest.find('/');
    if (slash == std::string::npos) return {};
    group = rest.substr(0, slash);
    version = rest.substr(slash + 1);
  } else {
    return {};
  }
  auto list = types.inGroupVersion(group, version);
  if (list.empty()) return {};
  rapidjson::Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  d.AddMember("openapi", "3.0.0", a);
  Value info(rapidjson::kObjectType);
  info.AddMember("title", "Kubernetes", a);
  info.AddMember("version", "v1.32.0", a);
  d.AddMember("info", info, a);
  Value paths(rapidjson::kObjectType);
  Value schemas(rapidjson::kObjectType);
  for (const auto& t : list) {
    addPaths(paths, *t, a);
    schemas.AddMember(str(schemaName(*t), a), kindSchema(*t, a), a);
  }
  schemas.AddMember("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", objectMetaSchema(a), a);
  Value patch(rapidjson::kObjectType);
  patch.AddMember("description",
                  "Patch is provided to give a concrete name and type to the Kubernetes PATCH "
                  "request body.",
                  a);
  patch.AddMember("type", "object", a);
  schemas.AddMember("io.k8s.apimachinery.pkg.apis.meta.v1.Patch", patch, a);
  d.AddMember("paths", paths, a);
  Value components(rapidjson::kObjectType);
  components.AddMember("schemas", schemas, a);
  d.AddMember("components", components, a);
  return api::toJson(d);
}

}  // namespace canaryd::emulator
