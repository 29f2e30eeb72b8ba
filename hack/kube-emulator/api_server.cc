#include "api_server.h"

#include <boost/beast/core/detail/base64.hpp>
#include <ctime>

#include "api/json.h"
#include "discovery.h"
#include "openapi.h"

namespace canaryd::emulator {

namespace {

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = path.find('/', i);
    if (i < path.size())
      out.push_back(path.substr(i, j == std::string::npos ? std::string::npos : j - i));
    if (j == std::string::npos) break;
    i = j;
  }
  return out;
}

Response json(std::string body, unsigned status = 200) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string queryValue(const Request& req, const char* key) {
  auto it = req.query.find(key);
  return it == req.query.end() ? std::string() : it->second;
}

// Continue tokens are base64.RawURLEncoding of a small JSON document, as the etcd3
// store encodes them (apiserver/pkg/storage/continue.go).
std::string base64Encode(const std::string& s) {
  std::string out(boost::beast::detail::base64::encoded_size(s.size()), '\0');
  out.resize(boost::beast::detail::base64::encode(out.data(), s.data(), s.size()));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::optional<std::string> base64Decode(const std::string& s) {
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : s) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '-'             ? 62
            : c == '_'             ? 63
                                   : -1;
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

// The HTTPRoute CRD that stands in for the Gateway API's, registered at start-up
// (gateway.networking.k8s.io/v1 httproutes). Its schema keeps every field.
const char* kHttpRouteCrd = R"({
  "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": {"name": "httproutes.gateway.networking.k8s.io",
               "annotations": {"gateway.networking.k8s.io/bundle-version": "v1.2.0"}},
  "spec": {"group": "gateway.networking.k8s.io", "scope": "Namespaced",
    "names": {"plural": "httproutes", "singular": "httproute", "kind": "HTTPRoute",
              "listKind": "HTTPRouteList", "categories": ["gateway-api"]},
    "versions": [{"name": "v1", "served": true, "storage": true,
      "subresources": {"status": {}},
      "additionalPrinterColumns": [
        {"name": "Hostnames", "type": "string", "jsonPath": ".spec.hostnames"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}],
      "schema": {"openAPIV3Schema": {"type": "object",
        "description": "HTTPRoute provides a way to route HTTP requests.",
        "properties": {
          "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                   "description": "Spec defines the desired state of HTTPRoute."},
          "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                     "description": "Status defines the current state of HTTPRoute."}}}}}]}
})";

}  // namespace

bool queryFlag(const Request& req, const char* key) {
  auto it = req.query.find(key);
  if (it == req.query.end()) return false;
  const std::string& v = it->second;
  return v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True";
}

Response errorResponse(const ApiError& e) {
  Response r;
  r.status = e.code;
  r.body = e.toStatusJson();
  if (e.retryAfterSeconds > 0)
    r.headers.emplace_back("Retry-After", std::to_string(e.retryAfterSeconds));
  return r;
}

ApiServer::ApiServer(ApiServerOptions options)
    : options_(std::move(options)), store_(options_.historyLimit), rng_(std::random_device{}()) {
  // The namespaces every cluster starts with.
  for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    Request req;
    req.method = "POST";
    req.path = "/api/v1/namespaces";
    req.body =
        std::string(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":")") + ns + "\"}}";
    handle(req);
  }
  Request crd;
  crd.method = "POST";
  crd.path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
  crd.body = kHttpRouteCrd;
  handle(crd);
}

std::string ApiServer::timestamp() const {
  std::time_t t = std::chrono::system_clock::to_time_t(now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string ApiServer::newUid() {
  std::uniform_int_distribution<int> d(0, 15);
  std::string s = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx";
  const char* hex = "0123456789abcdef";
  for (char& c : s) {
    if (c == 'x')
      c = hex[d(rng_)];
    else if (c == 'y')
      c = hex[8 + d(rng_) % 4];
  }
  return s;
}

std::string ApiServer::generateNameSuffix() {
  // apiserver's names.SimpleNameGenerator: 5 characters from an alphabet without vowels
  // and look-alikes.
  static const char* kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::uniform_int_distribution<int> d(0, 26);
  std::string s;
  for (int i = 0; i < 5; ++i) s += kAlphabet[d(rng_)];
  return s;
}

namespace {
// Nesting depth of a JSON text (brackets outside strings).
size_t jsonDepth(std::string_view text) {
  size_t depth = 0, max = 0;
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '{' || c == '[') {
      max = std::max(max, ++depth);
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return max;
}
}  // namespace

Outcome ApiServer::handle(const Request& req) {
  // Every decoder and walker here recurses per level; bound the nesting before any of
  // them runs (kube-apiserver's JSON decoder stops at 10000 levels; no object needs
  // more than a few dozen).
  if (req.contentType.find("protobuf") == std::string::npos && jsonDepth(req.body) > kMaxJsonDepth)
    return errorResponse(badRequest("the request body exceeds the maximum nesting depth of " +
                                    std::to_string(kMaxJsonDepth)));
  auto seg = splitPath(req.path);
  bool isGet = req.method == "GET";
  auto discovery = [&](std::string body) -> Outcome {
    if (!isGet) return errorResponse(methodNotAllowed());
    if (body.empty()) return errorResponse(pathNotFound());
    return json(std::move(body));
  };
  if (seg.empty()) return errorResponse(pathNotFound());
  if (seg.size() == 1 && seg[0] == "version")
    return discovery(versionDocument(options_.gitVersion));
  if (seg.size() == 1 && (seg[0] == "healthz" || seg[0] == "livez" || seg[0] == "readyz")) {
    Response r = json("ok");
    r.contentType = "text/plain; charset=utf-8";
    return r;
  }
  if (seg[0] == "openapi") {
    if (seg.size() == 2 && seg[1] == "v3") return discovery(openApiIndex(types_));
    if (seg.size() >= 3 && seg[1] == "v3") {
      std::string p;
      for (size_t i = 2; i < seg.size(); ++i) p += (i > 2 ? "/" : "") + seg[i];
      return discovery(openApiDocument(types_, p));
    }
    return errorResponse(pathNotFound());
  }
  Target t;
  std::vector<std::string> rest;
  std::string group, version;
  if (seg[0] == "api") {
    if (seg.size() == 1) return discovery(apiVersionsDocument());
    version = seg[1];
    if (seg.size() == 2) return discovery(apiResourceListDocument(types_, "", version));
    rest.assign(seg.begin() + 2, seg.end());
  } else if (seg[0] == "apis") {
    if (seg.size() == 1) return discovery(apiGroupListDocument(types_));
    group = seg[1];
    if (seg.size() == 2) return discovery(apiGroupDocument(types_, group));
    version = seg[2];
    if (seg.size() == 3) return discovery(apiResourceListDocument(types_, group, version));
    rest.assign(seg.begin() + 3, seg.end());
  } else {
    return errorResponse(pathNotFound());
  }
  if (!rest.empty() && rest[0] == "watch") {
    t.watchPrefix = true;
    rest.erase(rest.begin());
    if (rest.empty()) return errorResponse(pathNotFound());
  }
  std::string resource;
  if (rest[0] == "namespaces" && rest.size() >= 3 &&
      !(rest.size() == 3 && (rest[2] == "status" || rest[2] == "finalize"))) {
    if (rest.size() > 5) return errorResponse(pathNotFound());
    t.ns = rest[1];
    resource = rest[2];
    if (rest.size() > 3) t.name = rest[3];
    if (rest.size() > 4) t.subresource = rest[4];
  } else {
    if (rest.size() > 3) return errorResponse(pathNotFound());
    resource = rest[0];
    if (rest.size() > 1) t.name = rest[1];
    if (rest.size() > 2) t.subresource = rest[2];
  }
  t.type = types_.find(group, version, resource);
  if (!t.type) return errorResponse(pathNotFound());
  if (!t.type->namespaced && !t.ns.empty()) return errorResponse(pathNotFound());
  if (!t.subresource.empty() &&
      !((t.subresource == "status" && t.type->statusSubresource) ||
        (t.subresource == "scale" && t.type->scaleSubresource) ||
        (t.subresource == "finalize" && t.type->resource == "namespaces")))
    return errorResponse(pathNotFound());
  return handleResource(req, t);
}

Outcome ApiServer::handleResource(const Request& req, const Target& t) {
  const std::string& m = req.method;
  if (t.watchPrefix && m != "GET") return errorResponse(methodNotAllowed());
  if (m == "GET") {
    if (t.name.empty() || t.watchPrefix || queryFlag(req, "watch")) return list(req, t);
    if (t.subresource == "scale") return getScale(t);
    return get(req, t);
  }
  if (m == "POST") {
    if (!t.name.empty() || (t.type->namespaced && t.ns.empty()))
      return errorResponse(methodNotAllowed());
    return create(req, t);
  }
  if (t.name.empty()) {
    if (m == "DELETE") return removeCollection(req, t);
    return errorResponse(methodNotAllowed());
  }
  if (t.type->namespaced && t.ns.empty()) return errorResponse(pathNotFound());
  if (m == "PUT") return t.subresource == "scale" ? writeScale(req, t, false) : update(req, t);
  if (m == "PATCH") return t.subresource == "scale" ? writeScale(req, t, true) : patch(req, t);
  if (m == "DELETE" && t.subresource.empty()) return remove(req, t);
  return errorResponse(methodNotAllowed());
}

std::string ApiServer::renderObject(const ResourceType& type, const rapidjson::Value& obj) const {
  auto av = obj.FindMember("apiVersion");
  if (av != obj.MemberEnd() && av->value.IsString() && av->value.GetString() == type.apiVersion())
    return api::toJson(obj);
  rapidjson::Document copy;
  copy.CopyFrom(obj, copy.GetAllocator());
  if (copy.HasMember("apiVersion")) copy.RemoveMember("apiVersion");
  copy.AddMember("apiVersion", rapidjson::Value(type.apiVersion().c_str(), copy.GetAllocator()),
                 copy.GetAllocator());
  return api::toJson(copy);
}

bool ApiServer::wantsTable(const Request& req) const {
  // kubectl: Accept: application/json;as=Table;v=v1;g=meta.k8s.io,...
  return req.accept.find("as=Table") != std::string::npos &&
         req.accept.find("g=meta.k8s.io") != std::string::npos;
}

Response ApiServer::get(const Request& req, const Target& t) {
  auto obj = store_.get(t.type->storeKey(), t.ns, t.name);
  if (!obj) return errorResponse(notFound(t.type->group, t.type->resource, t.name));
  if (wantsTable(req))
    return json(renderTable(*t.type, {obj}, "", "", queryValue(req, "includeObject") == "Object"));
  return json(renderObject(*t.type, *obj));
}

Outcome ApiServer::list(const Request& req, const Target& t) {
  auto labels = LabelSelector::parse(queryValue(req, "labelSelector"));
  if (!labels) return errorResponse(badRequest(labels.error()));
  auto fields = FieldSelector::parse(queryValue(req, "fieldSelector"),
                                     supportedFieldSelectors(t.type->group, t.type->kind));
  if (!fields) return errorResponse(badRequest(fields.error()));
  std::string rvText = queryValue(req, "resourceVersion");
  uint64_t rv = 0;
  if (!rvText.empty()) {
    if (rvText.size() > 19 || rvText.find_first_not_of("0123456789") != std::string::npos)
      return errorResponse(badRequest("invalid resource version: \"" + rvText + "\""));
    rv = std::stoull(rvText);
  }
  bool watch = t.watchPrefix || queryFlag(req, "watch");
  if (watch) {
    WatchSpec spec;
    spec.type = t.type;
    spec.ns = t.ns;
    spec.labels = *labels;
    spec.fields = *fields;
    if (!t.name.empty()) {
      auto byName = FieldSelector::parse("metadata.name=" + t.name, {"metadata.name"});
      spec.fields = *byName;
      if (!fields->empty()) return errorResponse(badRequest("fieldSelector and name conflict"));
    }
    spec.initialEvents = rv == 0 || queryFlag(req, "sendInitialEvents");
    spec.fromResourceVersion = rv;
    spec.bookmarks = queryFlag(req, "allowWatchBookmarks");
    std::string ts = queryValue(req, "timeoutSeconds");
    if (!ts.empty()) spec.timeout = std::chrono::seconds(std::strtol(ts.c_str(), nullptr, 10));
    spec.table = wantsTable(req);
    return spec;
  }

  long limit = 0;
  if (std::string l = queryValue(req, "limit"); !l.empty())
    limit = std::strtol(l.c_str(), nullptr, 10);
  std::string after;
  uint64_t listRv = store_.resourceVersion();
  if (std::string cont = queryValue(req, "continue"); !cont.empty()) {
    auto decoded = base64Decode(cont);
    auto doc = decoded ? api::parseJson(*decoded)
                       : api::ParseResult<rapidjson::Document>(api::ParseError{"bad"});
    if (!doc || !doc->IsObject() || !(*doc).HasMember("rv") || !(*doc)["rv"].IsUint64() ||
        !(*doc).HasMember("start") || !(*doc)["start"].IsString())
      return errorResponse(badRequest("continue key is not valid: illegal base64 data"));
    listRv = (*doc)["rv"].GetUint64();
    after = (*doc)["start"].GetString();
    // As the etcd3 store: a continue token older than the compaction has expired.
    if (listRv < store_.compactedThrough())
      return errorResponse(expired(
          "The provided continue parameter is too old to display a consistent list result. You "
          "can start a new list without the continue parameter, or use the continue token in "
          "this response to retrieve the remainder of the results. Continuing with the provided "
          "token results in an inconsistent list - objects that were created, modified, or "
          "deleted between the time the first chunk was returned and now may show up in the "
          "list."));
  }
  std::vector<ObjectPtr> items;
  std::string nextContinue;
  long remaining = 0;
  for (const auto& obj : store_.list(t.type->storeKey(), t.ns, after)) {
    if (!labels->matches(*obj) || !fields->matches(*obj)) continue;
    if (limit > 0 && static_cast<long>(items.size()) >= limit) {
      if (nextContinue.empty()) {
        std::string last = objectKey(*items.back());
        rapidjson::Document tok(rapidjson::kObjectType);
        tok.AddMember("v", "meta.k8s.io/v1", tok.GetAllocator());
        tok.AddMember("rv", listRv, tok.GetAllocator());
        tok.AddMember("start", rapidjson::Value(last.c_str(), tok.GetAllocator()),
                      tok.GetAllocator());
        nextContinue = base64Encode(api::toJson(tok));
      }
      ++remaining;
      continue;
    }
    items.push_back(obj);
  }
  std::string rvOut = std::to_string(listRv);
  if (wantsTable(req))
    return json(renderTable(*t.type, items, rvOut, nextContinue,
                            queryValue(req, "includeObject") == "Object"));
  std::string body = R"({"kind":")" + t.type->listKind + R"(","apiVersion":")" +
                     t.type->apiVersion() + R"(","metadata":{"resourceVersion":")" + rvOut + "\"";
  if (!nextContinue.empty()) {
    body += R"(,"continue":")" + nextContinue + "\"";
    // kube-apiserver reports the count only when no selector filtered the list.
    if (labels->empty() && fields->empty())
      body += R"(,"remainingItemCount":)" + std::to_string(remaining);
  }
  body += R"(},"items":[)";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) body += ',';
    body += renderObject(*t.type, *items[i]);
  }
  body += "]}";
  return json(std::move(body));
}

bool ApiServer::matches(const WatchSpec& spec, const rapidjson::Value& object) const {
  return spec.labels.matches(object) && spec.fields.matches(object);
}

std::optional<FilteredEvent> ApiServer::filterEvent(const WatchSpec& spec,
                                                    const StoreEvent& ev) const {
  // As the watch cache: an object that starts matching is ADDED, one that stops
  // matching is DELETED.
  bool now = matches(spec, *ev.object);
  bool before = ev.previous && matches(spec, *ev.previous);
  switch (ev.type) {
    case EventType::kAdded:
      if (now) return FilteredEvent{EventType::kAdded, ev.object};
      return std::nullopt;
    case EventType::kModified:
      if (now && before) return FilteredEvent{EventType::kModified, ev.object};
      if (now) return FilteredEvent{EventType::kAdded, ev.object};
      if (before) return FilteredEvent{EventType::kDeleted, ev.object};
      return std::nullopt;
    case EventType::kDeleted:
      if (before || now) return FilteredEvent{EventType::kDeleted, ev.object};
      return std::nullopt;
  }
  return std::nullopt;
}

std::string ApiServer::renderEvent(const WatchSpec& spec, const char* type,
                                   const rapidjson::Value& object) const {
  std::string obj;
  if (spec.table) {
    auto ptr = std::make_shared<const rapidjson::Document>(api::cloneDocument(object));
    obj = renderTable(*spec.type, {ptr}, metaString(object, "resourceVersion"), "", false);
  } else {
    obj = renderObject(*spec.type, object);
  }
  return std::string(R"({"type":")") + type + R"(","object":)" + obj + "}\n";
}

const std::string& ApiServer::renderEvent(const WatchSpec& spec, const char* type,
                                          const ObjectPtr& object) {
  auto key = std::make_tuple(static_cast<const void*>(object.get()), std::string(type),
                             spec.type->apiVersion(), spec.table);
  auto it = rendered_.find(key);
  if (it != rendered_.end()) return it->second.line;
  if (rendered_.size() >= 4096) rendered_.clear();
  return rendered_.emplace(key, RenderedEvent{object, renderEvent(spec, type, *object)})
      .first->second.line;
}

std::string ApiServer::renderBookmark(const WatchSpec& spec, uint64_t resourceVersion) const {
  return R"({"type":"BOOKMARK","object":{"kind":")" + spec.type->kind + R"(","apiVersion":")" +
         spec.type->apiVersion() + R"(","metadata":{"resourceVersion":")" +
         std::to_string(resourceVersion) + "\"}}}\n";
}

std::string ApiServer::renderError(const ApiError& error) const {
  return R"({"type":"ERROR","object":)" + error.toStatusJson() + "}\n";
}

}  // namespace canaryd::emulator
