#include "kube/client.h"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace canaryd::kube {

ApiError clientError(std::string_view reasonText, std::string message) {
  ApiError e;
  e.code = 0;
  e.reason = StatusReason::kUnknown;
  e.reasonText = std::string(reasonText);
  e.message = std::move(message);
  return e;
}

bool isClientError(const ApiError& e) { return e.code == 0 && !e.reasonText.empty(); }
bool isTransportError(const ApiError& e) {
  return e.code == 0 && (e.reasonText == kReasonTransport || e.reasonText == kReasonClientTimeout);
}
bool isDecodeError(const ApiError& e) { return e.code == 0 && e.reasonText == kReasonDecode; }
bool isCancelled(const ApiError& e) { return e.code == 0 && e.reasonText == kReasonCancelled; }

std::string GroupVersionResource::groupVersion() const {
  return group.empty() ? version : group + "/" + version;
}

std::string GroupVersionResource::apiPath() const {
  return group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
}

std::string GroupVersionResource::collectionPath(std::string_view ns) const {
  std::string path = apiPath();
  if (namespaced && !ns.empty()) path.append("/namespaces/").append(urlEncode(ns));
  path.append("/").append(resource);
  return path;
}

std::string GroupVersionResource::objectPath(std::string_view ns, std::string_view name,
                                             std::string_view subresource) const {
  std::string path = collectionPath(ns);
  path.append("/").append(urlEncode(name));
  if (!subresource.empty()) path.append("/").append(subresource);
  return path;
}

std::string GroupVersionResource::groupResource() const {
  return group.empty() ? resource : resource + "." + group;
}

namespace resources {
const GroupVersionResource kNamespaces{"", "v1", "namespaces", false};
const GroupVersionResource kPods{"", "v1", "pods", true};
const GroupVersionResource kServices{"", "v1", "services", true};
const GroupVersionResource kConfigMaps{"", "v1", "configmaps", true};
const GroupVersionResource kSecrets{"", "v1", "secrets", true};
const GroupVersionResource kCoreEvents{"", "v1", "events", true};
const GroupVersionResource kEvents{"events.k8s.io", "v1", "events", true};
const GroupVersionResource kReplicaSets{"apps", "v1", "replicasets", true};
const GroupVersionResource kDeployments{"apps", "v1", "deployments", true};
const GroupVersionResource kIngresses{"networking.k8s.io", "v1", "ingresses", true};
const GroupVersionResource kHttpRoutes{"gateway.networking.k8s.io", "v1", "httproutes", true};
const GroupVersionResource kLeases{"coordination.k8s.io", "v1", "leases", true};
const GroupVersionResource kRollouts{"canaryd.io", "v1alpha1", "rollouts", true};
const GroupVersionResource kAnalysisTemplates{"canaryd.io", "v1alpha1", "analysistemplates", true};
}  // namespace resources

std::string_view patchContentType(PatchType type) {
  switch (type) {
    case PatchType::kMerge:
      return "application/merge-patch+json";
    case PatchType::kJson:
      return "application/json-patch+json";
    case PatchType::kStrategicMerge:
      return "application/strategic-merge-patch+json";
  }
  return "application/merge-patch+json";
}

const rapidjson::Value& ListPage::items() const {
  static const rapidjson::Value kEmpty(rapidjson::kArrayType);
  if (!list || !list->IsObject()) return kEmpty;
  auto it = list->FindMember("items");
  if (it == list->MemberEnd() || !it->value.IsArray()) return kEmpty;
  return it->value;
}

std::string urlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string listQuery(const ListOptions& o, bool watch) {
  std::string q;
  auto add = [&](std::string_view key, std::string_view value) {
    if (value.empty()) return;
    if (!q.empty()) q.push_back('&');
    q.append(key).append("=").append(urlEncode(value));
  };
  if (watch) add("watch", "1");
  add("labelSelector", o.labelSelector);
  add("fieldSelector", o.fieldSelector);
  add("resourceVersion", o.resourceVersion);
  add("resourceVersionMatch", o.resourceVersionMatch);
  if (!watch && o.limit > 0) add("limit", std::to_string(o.limit));
  if (!watch) add("continue", o.continueToken);
  if (watch && o.allowWatchBookmarks) add("allowWatchBookmarks", "true");
  if (o.timeoutSeconds > 0) add("timeoutSeconds", std::to_string(o.timeoutSeconds));
  return q;
}

std::string formatMicroTime(std::chrono::system_clock::time_point t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  long micros = static_cast<long>(us % 1000000);
  if (micros < 0) {
    micros += 1000000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[128];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
  return buf;
}

std::string_view stringAt(const rapidjson::Value& object, std::string_view dottedPath) {
  const rapidjson::Value* v = &object;
  while (!dottedPath.empty()) {
    auto dot = dottedPath.find('.');
    std::string_view key = dottedPath.substr(0, dot);
    dottedPath = dot == std::string_view::npos ? std::string_view() : dottedPath.substr(dot + 1);
    if (!v->IsObject()) return {};
    // A Value, not a StringRef: StringRef converts to const char* and would be read to
    // the next NUL.
    rapidjson::Value name(rapidjson::StringRef(key.data(), key.size()));
    auto it = v->FindMember(name);
    if (it == v->MemberEnd()) return {};
    v = &it->value;
  }
  if (!v->IsString()) return {};
  return std::string_view(v->GetString(), v->GetStringLength());
}

}  // namespace canaryd::kube
