// ApiServer's write paths: create, update (PUT), patch, delete, deletecollection and the
// scale subresource, with kube-apiserver's generic registry semantics
// (k8s.io/apiserver/pkg/registry/generic/registry/store.go, rest/create.go, update.go,
// delete.go) and the status-subresource strategies.
#include <algorithm>

#include "api/json.h"
#include "api_server.h"
#include "json_path.h"
#include "patch.h"
#include "protobuf.h"

namespace canaryd::emulator {

using Alloc = rapidjson::Document::AllocatorType;
using rapidjson::Value;

namespace {

std::string queryValue(const Request& req, const char* key) {
  auto it = req.query.find(key);
  return it == req.query.end() ? std::string() : it->second;
}

Response jsonResponse(std::string body, unsigned status = 200) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string mediaType(const std::string& contentType) {
  std::string t = contentType.substr(0, contentType.find(';'));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  std::transform(t.begin(), t.end(), t.begin(), ::tolower);
  return t;
}

Value& ensureObject(Value& parent, const char* key, Alloc& a) {
  auto it = parent.FindMember(key);
  if (it == parent.MemberEnd() || !it->value.IsObject()) {
    if (it != parent.MemberEnd()) parent.RemoveMember(it);
    parent.AddMember(Value(key, a), Value(rapidjson::kObjectType), a);
    it = parent.FindMember(key);
  }
  return it->value;
}

void setMember(Value& obj, const char* key, Value v, Alloc& a) {
  auto it = obj.FindMember(key);
  if (it != obj.MemberEnd())
    it->value = v;
  else
    obj.AddMember(Value(key, a), v, a);
}

void removeMember(Value& obj, const char* key) {
  auto it = obj.FindMember(key);
  if (it != obj.MemberEnd()) obj.RemoveMember(it);
}

bool isDryRun(const Request& req) { return queryValue(req, "dryRun") == "All"; }

// Equality of everything but metadata (and status, when it is a subresource): the
// part whose change bumps metadata.generation.
bool specEqual(const Value& a, const Value& b, bool ignoreStatus) {
  auto skip = [&](const Value::ConstMemberIterator& m) {
    std::string n = m->name.GetString();
    return n == "metadata" || (ignoreStatus && n == "status") || n == "apiVersion" || n == "kind";
  };
  size_t ca = 0, cb = 0;
  for (auto m = a.MemberBegin(); m != a.MemberEnd(); ++m) {
    if (skip(m)) continue;
    ++ca;
    auto o = b.FindMember(m->name);
    if (o == b.MemberEnd() || !(o->value == m->value)) return false;
  }
  for (auto m = b.MemberBegin(); m != b.MemberEnd(); ++m)
    if (!skip(m)) ++cb;
  return ca == cb;
}

std::vector<std::string> finalizersOf(const Value& obj) {
  std::vector<std::string> out;
  const auto* f = metaValue(obj, "finalizers");
  if (f && f->IsArray())
    for (const auto& s : f->GetArray())
      if (s.IsString()) out.emplace_back(s.GetString());
  return out;
}

Response successStatus(const ResourceType& type, const Value& obj) {
  std::string body =
      R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","details":{"name":")" +
      metaString(obj, "name") + R"(","group":")" + type.group + R"(","kind":")" + type.resource +
      R"(","uid":")" + metaString(obj, "uid") + "\"}}";
  return jsonResponse(body);
}

// A DELETE body: meta/v1 DeleteOptions as JSON, or as protobuf (client-go's typed
// clients, and so helm, send it in the client's content type).
boost::system::result<rapidjson::Document, ApiError> decodeDeleteOptions(const Request& req) {
  const std::string cannot = "DeleteOptions in version \"v1\" cannot be handled as a DeleteOptions";
  std::string mt = mediaType(req.contentType);
  if (mt == "application/vnd.kubernetes.protobuf") {
    auto decoded = decodeProtobufDeleteOptions(req.body);
    if (!decoded) return badRequest(cannot + ": " + decoded.error().message);
    return std::move(*decoded);
  }
  if (!mt.empty() && mt != "application/json" && mt != "*/*" && mt != "application/yaml")
    return unsupportedMediaType(
        "application/json, application/yaml, application/vnd.kubernetes.protobuf");
  rapidjson::Document opts;
  if (mt == "application/yaml") {
    auto docs = api::parseYamlDocuments(req.body);
    if (!docs || docs->size() != 1) return badRequest(cannot);
    opts = std::move(docs->front());
  } else {
    auto parsed = api::parseJson(req.body);
    if (!parsed) return badRequest(cannot);
    opts = std::move(*parsed);
  }
  if (!opts.IsObject()) return badRequest(cannot);
  return opts;
}

}  // namespace

boost::system::result<rapidjson::Document, ApiError> ApiServer::decodeBody(
    const Request& req, const ResourceType& type) {
  std::string mt = mediaType(req.contentType);
  std::string cannot =
      type.kind + " in version \"" + type.version + "\" cannot be handled as a " + type.kind + ": ";
  rapidjson::Document doc;
  if (mt == "application/vnd.kubernetes.protobuf") {
    auto decoded = decodeProtobufObject(req.body, type.group, type.kind);
    if (!decoded) {
      if (decoded.error().unsupported)
        return unsupportedMediaType("application/json, application/yaml");
      return badRequest(cannot + decoded.error().message);
    }
    doc = std::move(*decoded);
  } else if (mt.empty() || mt == "application/json" || mt == "*/*") {
    auto parsed = api::parseJson(req.body);
    if (!parsed) return badRequest(cannot + parsed.error().toString());
    doc = std::move(*parsed);
  } else if (mt == "application/yaml") {
    auto parsed = api::parseYamlDocuments(req.body);
    if (!parsed || parsed->size() != 1) return badRequest(cannot + "error converting YAML to JSON");
    doc = std::move(parsed->front());
  } else {
    return unsupportedMediaType(
        "application/json, application/yaml, application/vnd.kubernetes.protobuf");
  }
  if (!doc.IsObject())
    return badRequest(cannot + "json: cannot unmarshal " + std::string(api::jsonTypeName(doc)) +
                      " into Go value of type struct");
  auto& a = doc.GetAllocator();
  // The apiVersion/kind in the body must name this resource (or be absent).
  std::string av, kind;
  if (auto it = doc.FindMember("apiVersion"); it != doc.MemberEnd() && it->value.IsString())
    av = it->value.GetString();
  if (auto it = doc.FindMember("kind"); it != doc.MemberEnd() && it->value.IsString())
    kind = it->value.GetString();
  if (!kind.empty() && kind != type.kind)
    return badRequest("the object provided is unrecognized (must be of type " + type.kind +
                      "): couldn't get version/kind; json parse error: kind " + kind +
                      " does not match " + type.kind);
  if (!av.empty() && av != type.apiVersion()) {
    bool servedVersion = false;
    for (const auto& t : types_.all())
      if (t->storeKey() == type.storeKey() && t->apiVersion() == av) servedVersion = true;
    if (!servedVersion)
      return badRequest("the API version in the data (" + av +
                        ") does not match the expected API version (" + type.apiVersion() + ")");
  }
  // Objects are stored in their storage version.
  auto storage = types_.findByStoreKey(type.storeKey());
  setMember(doc, "apiVersion",
            Value((storage ? storage : nullptr) ? storage->apiVersion().c_str()
                                                : type.apiVersion().c_str(),
                  a),
            a);
  setMember(doc, "kind", Value(type.kind.c_str(), a), a);
  auto meta = doc.FindMember("metadata");
  if (meta == doc.MemberEnd() || meta->value.IsNull()) {
    removeMember(doc, "metadata");
    doc.AddMember("metadata", Value(rapidjson::kObjectType), a);
  } else if (!meta->value.IsObject()) {
    return badRequest(cannot + "json: cannot unmarshal " +
                      std::string(api::jsonTypeName(meta->value)) + " into Go struct field " +
                      type.kind + ".metadata of type v1.ObjectMeta");
  }
  return doc;
}

Response ApiServer::create(const Request& req, const Target& t) {
  const ResourceType& type = *t.type;
  auto decoded = decodeBody(req, type);
  if (!decoded) return errorResponse(decoded.error());
  rapidjson::Document obj = std::move(*decoded);
  auto& a = obj.GetAllocator();
  Value& meta = obj["metadata"];
  std::string ns = metaString(obj, "namespace");
  if (type.namespaced) {
    if (!ns.empty() && ns != t.ns)
      return errorResponse(badRequest(
          "the namespace of the provided object does not match the namespace sent on the request"));
    setMember(meta, "namespace", Value(t.ns.c_str(), a), a);
    auto nsObj = store_.get("/namespaces", "", t.ns);
    if (!nsObj) return errorResponse(notFound("", "namespaces", t.ns));
    if (metaValue(*nsObj, "deletionTimestamp"))
      return errorResponse(forbidden(type.groupResource() + " \"" + metaString(obj, "name") +
                                     "\" is forbidden: unable to create new content in namespace " +
                                     t.ns + " because it is being terminated"));
  } else {
    removeMember(meta, "namespace");
  }
  if (!metaString(obj, "resourceVersion").empty())
    return errorResponse(
        internalError("resourceVersion should not be set on objects to be created"));
  std::string name = metaString(obj, "name");
  std::string generateName = metaString(obj, "generateName");
  if (name.empty() && !generateName.empty()) {
    // names.SimpleNameGenerator, retried on collision as the registry does.
    for (int i = 0; i < 8; ++i) {
      name = generateName + generateNameSuffix();
      if (!store_.get(type.storeKey(), t.ns, name)) break;
    }
    setMember(meta, "name", Value(name.c_str(), a), a);
  }
  setMember(meta, "uid", Value(newUid().c_str(), a), a);
  setMember(meta, "creationTimestamp", Value(timestamp().c_str(), a), a);
  removeMember(meta, "deletionTimestamp");
  removeMember(meta, "deletionGracePeriodSeconds");
  removeMember(meta, "selfLink");
  if (type.tracksGeneration)
    setMember(meta, "generation", Value(1), a);
  else
    removeMember(meta, "generation");
  // Status strategies drop the status sent on create (PrepareForCreate).
  if (type.statusSubresource) {
    removeMember(obj, "status");
    // Built-in kinds' status is a struct, so their JSON always carries one.
    if (!type.custom) obj.AddMember("status", Value(rapidjson::kObjectType), a);
  }
  warnings_.clear();
  if (auto err = admit(req, type, obj, nullptr)) return errorResponse(*err);
  if (store_.get(type.storeKey(), t.ns, name))
    return errorResponse(alreadyExists(type.group, type.resource, name));
  Response r;
  if (isDryRun(req)) {
    r = jsonResponse(renderObject(type, obj), 201);
  } else {
    auto stored = store_.create(type.storeKey(), std::move(obj));
    if (type.resource == "customresourcedefinitions") crdStored(*stored);
    changed();
    r = jsonResponse(renderObject(type, *stored), 201);
  }
  for (const auto& w : warnings_) r.headers.emplace_back("Warning", w);
  return r;
}

Response ApiServer::update(const Request& req, const Target& t) {
  const ResourceType& type = *t.type;
  auto decoded = decodeBody(req, type);
  if (!decoded) return errorResponse(decoded.error());
  rapidjson::Document obj = std::move(*decoded);
  std::string name = metaString(obj, "name");
  if (name != t.name)
    return errorResponse(badRequest("the name of the object (" + name +
                                    ") does not match the name on the URL (" + t.name + ")"));
  std::string ns = metaString(obj, "namespace");
  if (type.namespaced && !ns.empty() && ns != t.ns)
    return errorResponse(badRequest(
        "the namespace of the provided object does not match the namespace sent on the request"));
  auto existing = store_.get(type.storeKey(), t.ns, t.name);
  if (!existing) return errorResponse(notFound(type.group, type.resource, t.name));
  return commitUpdate(req, t, std::move(obj), existing);
}

Response ApiServer::commitUpdate(const Request& req, const Target& t, rapidjson::Document proposed,
                                 const ObjectPtr& existing, bool) {
  const ResourceType& type = *t.type;
  auto& a = proposed.GetAllocator();
  std::string proposedRv = metaString(proposed, "resourceVersion");
  std::string existingRv = metaString(*existing, "resourceVersion");
  if (!proposedRv.empty() && proposedRv != existingRv)
    return errorResponse(conflict(type.group, type.resource, t.name,
                                  "the object has been modified; please apply your changes to "
                                  "the latest version and try again"));
  // Custom resources refuse unconditional updates (customresource strategy
  // AllowUnconditionalUpdate is false); PATCH always carries the current version.
  if (proposedRv.empty() && type.custom && req.method == "PUT")
    return errorResponse(invalid(type.group, type.kind, t.name,
                                 {api::invalidError(api::FieldPath("metadata.resourceVersion"),
                                                    "0x0", "must be specified for an update")}));
  rapidjson::Document next;
  if (t.subresource == "status") {
    // The status strategy: only .status changes through /status.
    next.CopyFrom(*existing, next.GetAllocator());
    removeMember(next, "status");
    if (auto st = proposed.FindMember("status"); st != proposed.MemberEnd())
      next.AddMember("status", Value(st->value, next.GetAllocator()), next.GetAllocator());
  } else {
    next = std::move(proposed);
    if (!next.HasMember("metadata") || !next["metadata"].IsObject()) {
      removeMember(next, "metadata");
      next.AddMember("metadata", Value(rapidjson::kObjectType), a);
    }
    Value& meta = next["metadata"];
    auto& na = next.GetAllocator();
    // Fields the registry keeps from the stored object (rest.BeforeUpdate).
    for (const char* f : {"uid", "creationTimestamp", "deletionTimestamp",
                          "deletionGracePeriodSeconds", "generation", "name", "namespace"}) {
      removeMember(meta, f);
      if (const auto* v = metaValue(*existing, f)) meta.AddMember(Value(f, na), Value(*v, na), na);
    }
    removeMember(meta, "selfLink");
    if (type.statusSubresource) {
      removeMember(next, "status");
      if (auto st = existing->FindMember("status"); st != existing->MemberEnd())
        next.AddMember("status", Value(st->value, na), na);
    }
  }
  auto& na = next.GetAllocator();
  setMember(next["metadata"], "resourceVersion", Value(existingRv.c_str(), na), na);
  bool deleting = metaValue(*existing, "deletionTimestamp") != nullptr;
  auto oldFinalizers = finalizersOf(*existing);
  auto newFinalizers = finalizersOf(next);
  if (deleting) {
    std::vector<std::string> added;
    for (const auto& f : newFinalizers)
      if (std::find(oldFinalizers.begin(), oldFinalizers.end(), f) == oldFinalizers.end())
        added.push_back(f);
    if (!added.empty()) {
      std::string list = "[]string{";
      for (size_t i = 0; i < added.size(); ++i) list += (i ? ", \"" : "\"") + added[i] + "\"";
      list += "}";
      return errorResponse(invalid(type.group, type.kind, t.name,
                                   {api::forbiddenError(api::FieldPath("metadata.finalizers"),
                                                        "no new finalizers can be added if the "
                                                        "object is being deleted, found new "
                                                        "finalizers " +
                                                            list)}));
    }
  }
  warnings_.clear();
  if (auto err = admit(req, type, next, existing.get())) return errorResponse(*err);
  if (type.tracksGeneration && !specEqual(next, *existing, type.statusSubresource)) {
    int64_t gen = 0;
    if (const auto* g = metaValue(*existing, "generation"); g && g->IsInt64()) gen = g->GetInt64();
    setMember(next["metadata"], "generation", Value(gen + 1), na);
  }
  Response r;
  if (next == *existing) {
    // A no-op update writes nothing: the resourceVersion stays (GuaranteedUpdate).
    r = jsonResponse(renderObject(type, *existing));
  } else if (isDryRun(req)) {
    r = jsonResponse(renderObject(type, next));
  } else if (deleting && finalizersOf(next).empty()) {
    std::string body = renderObject(type, next);
    store_.update(type.storeKey(), std::move(next));
    store_.remove(type.storeKey(), t.ns, t.name);
    changed();
    r = jsonResponse(std::move(body));
  } else {
    auto stored = store_.update(type.storeKey(), std::move(next));
    if (type.resource == "customresourcedefinitions") crdStored(*stored);
    changed();
    r = jsonResponse(renderObject(type, *stored));
  }
  for (const auto& w : warnings_) r.headers.emplace_back("Warning", w);
  return r;
}

Response ApiServer::patch(const Request& req, const Target& t) {
  const ResourceType& type = *t.type;
  std::string mt = mediaType(req.contentType);
  // handlers/patch.go: the patch types this resource accepts, else 415.
  std::string accepted = type.custom ? "application/json-patch+json, application/merge-patch+json"
                                     : "application/json-patch+json, application/merge-patch+json, "
                                       "application/strategic-merge-patch+json";
  bool known = mt == "application/json-patch+json" || mt == "application/merge-patch+json" ||
               (!type.custom && mt == "application/strategic-merge-patch+json");
  if (!known) return errorResponse(unsupportedMediaType(accepted));
  auto existing = store_.get(type.storeKey(), t.ns, t.name);
  if (!existing) return errorResponse(notFound(type.group, type.resource, t.name));
  auto patchDoc = api::parseJson(req.body);
  if (!patchDoc)
    return errorResponse(badRequest("error decoding patch: " + patchDoc.error().toString()));
  rapidjson::Document doc = api::cloneDocument(*existing);
  PatchResult result;
  if (mt == "application/json-patch+json")
    result = applyJsonPatch(doc, *patchDoc);
  else if (mt == "application/merge-patch+json")
    result = applyMergePatch(doc, *patchDoc);
  else
    result = applyStrategicMergePatch(doc, *patchDoc);
  if (!result) {
    if (result.error().unprocessable) {
      ApiError e{422, "Invalid", result.error().message};
      return errorResponse(e);
    }
    return errorResponse(badRequest(result.error().message));
  }
  if (!doc.IsObject()) return errorResponse(badRequest("the patched document is not an object"));
  // The patch may not move the object elsewhere.
  if (metaString(doc, "name") != t.name)
    return errorResponse(badRequest("the name of the object (" + metaString(doc, "name") +
                                    ") does not match the name on the URL (" + t.name + ")"));
  return commitUpdate(req, t, std::move(doc), existing);
}

Response ApiServer::getScale(const Target& t) {
  const ResourceType& type = *t.type;
  auto obj = store_.get(type.storeKey(), t.ns, t.name);
  if (!obj) return errorResponse(notFound(type.group, type.resource, t.name));
  rapidjson::Document s(rapidjson::kObjectType);
  auto& a = s.GetAllocator();
  s.AddMember("kind", "Scale", a);
  s.AddMember("apiVersion", "autoscaling/v1", a);
  Value meta(rapidjson::kObjectType);
  for (const char* f : {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"})
    if (const auto* v = metaValue(*obj, f)) meta.AddMember(Value(f, a), Value(*v, a), a);
  s.AddMember("metadata", meta, a);
  int64_t specReplicas = 0, statusReplicas = 0;
  if (const auto* v = valueAtPath(*obj, type.specReplicasPath); v && v->IsInt64())
    specReplicas = v->GetInt64();
  if (const auto* v = valueAtPath(*obj, type.statusReplicasPath); v && v->IsInt64())
    statusReplicas = v->GetInt64();
  Value spec(rapidjson::kObjectType);
  spec.AddMember("replicas", specReplicas, a);
  s.AddMember("spec", spec, a);
  Value status(rapidjson::kObjectType);
  status.AddMember("replicas", statusReplicas, a);
  std::string selector;
  if (type.custom) {
    if (const auto* v =
            type.labelSelectorPath.empty() ? nullptr : valueAtPath(*obj, type.labelSelectorPath);
        v && v->IsString())
      selector = v->GetString();
  } else if (const auto* v = valueAtPath(*obj, ".spec.selector")) {
    if (auto sel = LabelSelector::fromObject(*v)) selector = sel->toString();
  }
  if (!selector.empty()) status.AddMember("selector", Value(selector.c_str(), a), a);
  s.AddMember("status", status, a);
  return jsonResponse(api::toJson(s));
}

Response ApiServer::writeScale(const Request& req, const Target& t, bool isPatch) {
  const ResourceType& type = *t.type;
  auto existing = store_.get(type.storeKey(), t.ns, t.name);
  if (!existing) return errorResponse(notFound(type.group, type.resource, t.name));
  Response current = getScale(t);
  rapidjson::Document scale = std::move(*api::parseJson(current.body));
  if (isPatch) {
    std::string mt = mediaType(req.contentType);
    auto patchDoc = api::parseJson(req.body);
    if (!patchDoc)
      return errorResponse(badRequest("error decoding patch: " + patchDoc.error().toString()));
    PatchResult r;
    if (mt == "application/json-patch+json")
      r = applyJsonPatch(scale, *patchDoc);
    else if (mt == "application/merge-patch+json" || mt == "application/strategic-merge-patch+json")
      r = applyMergePatch(scale, *patchDoc);
    else
      return errorResponse(
          unsupportedMediaType("application/json-patch+json, application/merge-patch+json, "
                               "application/strategic-merge-patch+json"));
    if (!r) return errorResponse(ApiError{422, "Invalid", r.error().message});
  } else {
    auto body = api::parseJson(req.body);
    if (!body || !body->IsObject())
      return errorResponse(badRequest("Scale in version \"v1\" cannot be handled as a Scale"));
    scale = std::move(*body);
  }
  const Value* replicas = scale.IsObject() ? valueAtPath(scale, ".spec.replicas") : nullptr;
  int64_t n = replicas && replicas->IsInt64() ? replicas->GetInt64() : -1;
  if (!replicas || !replicas->IsInt64() || n < 0)
    return errorResponse(invalid("autoscaling", "Scale", t.name,
                                 {api::invalidError(api::FieldPath("spec.replicas"),
                                                    replicas ? api::renderValue(*replicas) : "null",
                                                    "must be greater than or equal to 0")}));
  std::string rv = metaString(scale, "resourceVersion");
  if (!rv.empty() && rv != metaString(*existing, "resourceVersion"))
    return errorResponse(conflict(type.group, type.resource, t.name,
                                  "the object has been modified; please apply your changes to "
                                  "the latest version and try again"));
  rapidjson::Document next = api::cloneDocument(*existing);
  // Set the value at specReplicasPath (a dotted path), creating objects on the way.
  Value* cur = &next;
  std::string path = type.specReplicasPath.substr(1);
  size_t s = 0;
  while (true) {
    auto d = path.find('.', s);
    std::string part = path.substr(s, d == std::string::npos ? std::string::npos : d - s);
    if (d == std::string::npos) {
      setMember(*cur, part.c_str(), Value(n), next.GetAllocator());
      break;
    }
    cur = &ensureObject(*cur, part.c_str(), next.GetAllocator());
    s = d + 1;
  }
  Target main = t;
  main.subresource.clear();
  Request inner = req;
  inner.method = "PATCH";
  Response r = commitUpdate(inner, main, std::move(next), existing);
  if (r.status != 200) return r;
  return getScale(t);
}

Response ApiServer::remove(const Request& req, const Target& t) {
  const ResourceType& type = *t.type;
  auto existing = store_.get(type.storeKey(), t.ns, t.name);
  if (!existing) return errorResponse(notFound(type.group, type.resource, t.name));
  std::string policy = queryValue(req, "propagationPolicy");
  bool dryRun = isDryRun(req);
  if (!req.body.empty()) {
    auto opts = decodeDeleteOptions(req);
    if (!opts) return errorResponse(opts.error());
    if (auto d = opts->FindMember("dryRun"); d != opts->MemberEnd() && d->value.IsArray())
      for (const auto& v : d->value.GetArray()) dryRun |= v == "All";
    if (auto p = opts->FindMember("propagationPolicy");
        p != opts->MemberEnd() && p->value.IsString())
      policy = p->value.GetString();
    if (auto o = opts->FindMember("orphanDependents"); o != opts->MemberEnd() && o->value.IsBool())
      policy = o->value.GetBool() ? "Orphan" : "Background";
    if (auto pre = opts->FindMember("preconditions");
        pre != opts->MemberEnd() && pre->value.IsObject()) {
      if (auto u = pre->value.FindMember("uid");
          u != pre->value.MemberEnd() && u->value.IsString() &&
          u->value.GetString() != metaString(*existing, "uid"))
        return errorResponse(conflict(
            type.group, type.resource, t.name,
            "Precondition failed: UID in precondition: " + std::string(u->value.GetString()) +
                ", UID in object meta: " + metaString(*existing, "uid")));
      if (auto v = pre->value.FindMember("resourceVersion");
          v != pre->value.MemberEnd() && v->value.IsString() &&
          v->value.GetString() != metaString(*existing, "resourceVersion"))
        return errorResponse(conflict(
            type.group, type.resource, t.name,
            "Precondition failed: ResourceVersion in precondition: " +
                std::string(v->value.GetString()) +
                ", ResourceVersion in object meta: " + metaString(*existing, "resourceVersion")));
    }
  }
  if (!policy.empty() && policy != "Orphan" && policy != "Background" && policy != "Foreground")
    return errorResponse(
        invalid("", "DeleteOptions", "",
                {api::notSupportedError(api::FieldPath("propagationPolicy"), policy,
                                        {"Foreground", "Background", "Orphan"})}));
  if (dryRun) return successStatus(type, *existing);
  if (auto err = deleteObject(type, t.ns, t.name, policy)) return errorResponse(*err);
  auto after = store_.get(type.storeKey(), t.ns, t.name);
  if (after) return jsonResponse(renderObject(type, *after));
  // Registries with ReturnDeletedObject (pods, serviceaccounts) answer with the object;
  // the others with a Success Status (generic/registry/store.go Delete).
  if (type.group.empty() && (type.resource == "pods" || type.resource == "serviceaccounts"))
    return jsonResponse(renderObject(type, *existing));
  return successStatus(type, *existing);
}

Response ApiServer::removeCollection(const Request& req, const Target& t) {
  const ResourceType& type = *t.type;
  auto labels = LabelSelector::parse(queryValue(req, "labelSelector"));
  if (!labels) return errorResponse(badRequest(labels.error()));
  auto fields = FieldSelector::parse(queryValue(req, "fieldSelector"),
                                     supportedFieldSelectors(type.group, type.kind));
  if (!fields) return errorResponse(badRequest(fields.error()));
  if (std::find(type.verbs.begin(), type.verbs.end(), "deletecollection") == type.verbs.end())
    return errorResponse(methodNotAllowed());
  std::string policy = queryValue(req, "propagationPolicy");
  bool dryRun = isDryRun(req);
  if (!req.body.empty()) {
    auto opts = decodeDeleteOptions(req);
    if (!opts) return errorResponse(opts.error());
    if (auto p = opts->FindMember("propagationPolicy");
        p != opts->MemberEnd() && p->value.IsString())
      policy = p->value.GetString();
    if (auto d = opts->FindMember("dryRun"); d != opts->MemberEnd() && d->value.IsArray())
      for (const auto& v : d->value.GetArray()) dryRun |= v == "All";
  }
  std::string body = R"({"kind":")" + type.listKind + R"(","apiVersion":")" + type.apiVersion() +
                     R"(","metadata":{},"items":[)";
  bool first = true;
  for (const auto& obj : store_.list(type.storeKey(), t.ns)) {
    if (!labels->matches(*obj) || !fields->matches(*obj)) continue;
    if (!dryRun)
      deleteObject(type, metaString(*obj, "namespace"), metaString(*obj, "name"), policy);
    body += (first ? "" : ",") + renderObject(type, *obj);
    first = false;
  }
  body += "]}";
  return jsonResponse(std::move(body));
}

std::optional<ApiError> ApiServer::deleteObject(const ResourceType& type, const std::string& ns,
                                                const std::string& name,
                                                const std::string& propagation) {
  auto existing = store_.get(type.storeKey(), ns, name);
  if (!existing) return notFound(type.group, type.resource, name);
  std::string uid = metaString(*existing, "uid");
  if (propagation == "Orphan") {
    // The orphan finalizer's work, done at once: dependents lose this owner.
    for (auto& [key, dep] : store_.dependentsOf(uid)) {
      rapidjson::Document d = api::cloneDocument(*dep);
      auto& refs = d["metadata"]["ownerReferences"];
      for (rapidjson::SizeType i = 0; i < refs.Size();) {
        if (refs[i].IsObject() && refs[i].HasMember("uid") && refs[i]["uid"] == uid.c_str())
          refs.Erase(refs.Begin() + i);
        else
          ++i;
      }
      if (refs.Empty()) d["metadata"].RemoveMember("ownerReferences");
      store_.update(key, std::move(d));
    }
  }
  if (type.resource == "customresourcedefinitions") {
    if (auto err = crdDeleting(*existing)) return err;
  }
  auto finalizers = finalizersOf(*existing);
  bool isNamespace = type.resource == "namespaces" && type.group.empty();
  if (propagation == "Foreground" &&
      std::find(finalizers.begin(), finalizers.end(), "foregroundDeletion") == finalizers.end())
    finalizers.push_back("foregroundDeletion");
  if (!finalizers.empty() || isNamespace) {
    if (metaValue(*existing, "deletionTimestamp") && finalizers == finalizersOf(*existing))
      return std::nullopt;
    rapidjson::Document d = api::cloneDocument(*existing);
    auto& a = d.GetAllocator();
    Value& meta = d["metadata"];
    if (!metaValue(d, "deletionTimestamp")) {
      setMember(meta, "deletionTimestamp", Value(timestamp().c_str(), a), a);
      setMember(meta, "deletionGracePeriodSeconds", Value(0), a);
      if (const auto* g = metaValue(d, "generation"); g && g->IsInt64())
        setMember(meta, "generation", Value(g->GetInt64() + 1), a);
    }
    Value list(rapidjson::kArrayType);
    for (const auto& f : finalizers) list.PushBack(Value(f.c_str(), a), a);
    if (!finalizers.empty()) setMember(meta, "finalizers", std::move(list), a);
    if (isNamespace) {
      Value& status = ensureObject(d, "status", a);
      setMember(status, "phase", Value("Terminating"), a);
    }
    store_.update(type.storeKey(), std::move(d));
  } else {
    store_.remove(type.storeKey(), ns, name);
  }
  changed();
  return std::nullopt;
}

void ApiServer::writeStatus(const std::string& storeKey, const rapidjson::Value& object,
                            const rapidjson::Value& status) {
  auto existing = store_.get(storeKey, metaString(object, "namespace"), metaString(object, "name"));
  if (!existing) return;
  rapidjson::Document d = api::cloneDocument(*existing);
  removeMember(d, "status");
  d.AddMember("status", Value(status, d.GetAllocator()), d.GetAllocator());
  if (d == *existing) return;
  store_.update(storeKey, std::move(d));
  changed();
}

void ApiServer::removeFinalizer(const std::string& storeKey, const rapidjson::Value& object,
                                const std::string& finalizer) {
  std::string ns = metaString(object, "namespace"), name = metaString(object, "name");
  auto existing = store_.get(storeKey, ns, name);
  if (!existing) return;
  rapidjson::Document d = api::cloneDocument(*existing);
  auto& meta = d["metadata"];
  auto it = meta.FindMember("finalizers");
  if (it == meta.MemberEnd() || !it->value.IsArray()) return;
  auto& arr = it->value;
  for (rapidjson::SizeType i = 0; i < arr.Size();) {
    if (arr[i].IsString() && finalizer == arr[i].GetString())
      arr.Erase(arr.Begin() + i);
    else
      ++i;
  }
  if (arr.Empty()) meta.RemoveMember("finalizers");
  bool gone = metaValue(d, "deletionTimestamp") && finalizersOf(d).empty();
  store_.update(storeKey, std::move(d));
  if (gone) store_.remove(storeKey, ns, name);
  changed();
}

}  // namespace canaryd::emulator
