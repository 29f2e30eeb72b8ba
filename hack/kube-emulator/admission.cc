// ApiServer::admit: defaulting and validation before an object is stored, per kind:
// generic ObjectMeta rules (apimachinery/pkg/api/validation/objectmeta.go), the
// built-in kinds canaryd writes (pkg/apis/*/validation, pkg/registry/*/strategy.go),
// CustomResourceDefinitions (apiextensions-apiserver/pkg/apis/apiextensions/validation)
// and custom objects against their structural schema.
#include <algorithm>
#include <cctype>
#include <functional>
#include <set>

#include "api/json.h"
#include "api_server.h"
#include "controller/pod_template_hash.h"
#include "kube/base64.h"
#include "schema.h"

namespace canaryd::emulator {

using Alloc = rapidjson::Document::AllocatorType;
using api::FieldPath;
using rapidjson::Value;

namespace {

const char* kSubdomainMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const char* kLabelMsg =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const char* kDns1035Msg =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const char* kLabelValueMsg =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

bool lowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool isDns1123Label(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s)
    if (!lowerAlnum(c) && c != '-') return false;
  return lowerAlnum(s.front()) && lowerAlnum(s.back());
}

bool isDns1123Subdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    auto dot = s.find('.', start);
    std::string part = s.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) return false;
    for (char c : part)
      if (!lowerAlnum(c) && c != '-') return false;
    if (!lowerAlnum(part.front()) || !lowerAlnum(part.back())) return false;
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

bool isDns1035Label(const std::string& s) {
  return isDns1123Label(s) && s.front() >= 'a' && s.front() <= 'z';
}

bool isLabelValue(const std::string& v) {
  if (v.empty()) return true;
  if (v.size() > 63) return false;
  for (char c : v)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  return std::isalnum(static_cast<unsigned char>(v.front())) &&
         std::isalnum(static_cast<unsigned char>(v.back()));
}

bool isQualifiedName(const std::string& k) {
  auto slash = k.find('/');
  std::string name = k;
  if (slash != std::string::npos) {
    if (!isDns1123Subdomain(k.substr(0, slash))) return false;
    name = k.substr(slash + 1);
  }
  return !name.empty() && name.size() <= 63 && isLabelValue(name);
}

Value& member(Value& obj, const char* key, Alloc& a, rapidjson::Type type) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd()) {
    obj.AddMember(Value(key, a), Value(type), a);
    it = obj.FindMember(key);
  }
  return it->value;
}

void setDefault(Value& obj, const char* key, Value v, Alloc& a) {
  if (!obj.HasMember(key)) obj.AddMember(Value(key, a), v, a);
}

// Go's %#v of map[string]string, as validation messages print label maps.
std::string goStringMap(const Value* m) {
  std::string s = "map[string]string{";
  if (m && m->IsObject()) {
    std::vector<std::pair<std::string, std::string>> kv;
    for (const auto& e : m->GetObject())
      kv.emplace_back(e.name.GetString(), e.value.IsString() ? e.value.GetString() : "");
    std::sort(kv.begin(), kv.end());
    for (size_t i = 0; i < kv.size(); ++i)
      s += (i ? ", \"" : "\"") + kv[i].first + "\":\"" + kv[i].second + "\"";
  }
  return s + "}";
}

void validateMeta(const ResourceType& type, const Value& obj, api::ErrorList& errs) {
  std::string name = metaString(obj, "name");
  FieldPath meta("metadata");
  if (name.empty()) {
    errs.push_back(api::requiredError(meta.child("name"), "name or generateName is required"));
  } else if (type.resource == "namespaces" && type.group.empty()) {
    if (!isDns1123Label(name))
      errs.push_back(api::invalidStringError(meta.child("name"), name, kLabelMsg));
  } else if (type.resource == "services" && type.group.empty()) {
    if (!isDns1035Label(name))
      errs.push_back(api::invalidStringError(meta.child("name"), name, kDns1035Msg));
  } else if (type.resource == "events") {
    if (name.find('/') != std::string::npos || name.find('%') != std::string::npos || name == "." ||
        name == "..")
      errs.push_back(
          api::invalidStringError(meta.child("name"), name, "may not contain '/' or '%'"));
  } else if (!isDns1123Subdomain(name)) {
    errs.push_back(api::invalidStringError(meta.child("name"), name, kSubdomainMsg));
  }
  if (const auto* labels = metaValue(obj, "labels"); labels && labels->IsObject()) {
    for (const auto& l : labels->GetObject()) {
      std::string k = l.name.GetString();
      if (!isQualifiedName(k))
        errs.push_back(api::invalidStringError(meta.child("labels"), k,
                                               "name part must consist of alphanumeric characters, "
                                               "'-', '_' or '.', and must start and end with an "
                                               "alphanumeric character (e.g. 'MyName',  or "
                                               "'my.name',  or '123-abc', regex used for "
                                               "validation is "
                                               "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"));
      if (!l.value.IsString() || !isLabelValue(l.value.GetString()))
        errs.push_back(
            api::invalidError(meta.child("labels"), api::renderValue(l.value), kLabelValueMsg));
    }
  }
  if (const auto* ann = metaValue(obj, "annotations"); ann && ann->IsObject()) {
    size_t total = 0;
    for (const auto& l : ann->GetObject()) {
      total += l.name.GetStringLength() + (l.value.IsString() ? l.value.GetStringLength() : 0);
      if (!isQualifiedName(l.name.GetString()))
        errs.push_back(api::invalidStringError(meta.child("annotations"), l.name.GetString(),
                                               "name part must consist of alphanumeric characters, "
                                               "'-', '_' or '.', and must start and end with an "
                                               "alphanumeric character"));
    }
    if (total > 256 * 1024)
      errs.push_back({api::FieldError::Type::kTooMany, "metadata.annotations", "",
                      "must have at most 262144 bytes"});
  }
}

// Deployments and ReplicaSets (pkg/apis/apps/validation, defaults from apps/v1).
void workload(const ResourceType& type, Value& obj, Alloc& a, api::ErrorList& errs) {
  Value& spec = member(obj, "spec", a, rapidjson::kObjectType);
  if (!spec.IsObject()) {
    errs.push_back(
        api::invalidError(FieldPath("spec"), api::renderValue(spec), "must be an object"));
    return;
  }
  setDefault(spec, "replicas", Value(1), a);
  setDefault(spec, "revisionHistoryLimit", Value(10), a);
  if (type.kind == "Deployment") {
    setDefault(spec, "progressDeadlineSeconds", Value(600), a);
    Value& strategy = member(spec, "strategy", a, rapidjson::kObjectType);
    if (strategy.IsObject()) {
      setDefault(strategy, "type", Value("RollingUpdate"), a);
      if (strategy["type"] == "RollingUpdate") {
        Value& ru = member(strategy, "rollingUpdate", a, rapidjson::kObjectType);
        if (ru.IsObject()) {
          setDefault(ru, "maxUnavailable", Value("25%"), a);
          setDefault(ru, "maxSurge", Value("25%"), a);
        }
      }
    }
  }
  if (spec["revisionHistoryLimit"].IsNull()) spec.RemoveMember("revisionHistoryLimit");
  if (const auto& r = spec["replicas"]; !r.IsInt64() || r.GetInt64() < 0)
    errs.push_back(api::invalidError(FieldPath("spec.replicas"), api::renderValue(r),
                                     "must be greater than or equal to 0"));
  auto sel = spec.FindMember("selector");
  if (sel == spec.MemberEnd() || !sel->value.IsObject()) {
    errs.push_back(api::requiredError(FieldPath("spec.selector")));
    return;
  }
  auto selector = LabelSelector::fromObject(sel->value);
  if (!selector) {
    errs.push_back(api::invalidError(FieldPath("spec.selector"), api::renderValue(sel->value),
                                     selector.error()));
    return;
  }
  if (selector->empty())
    errs.push_back(api::invalidError(FieldPath("spec.selector"),
                                     "v1.LabelSelector{MatchLabels:map[string]string(nil), "
                                     "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}",
                                     "empty selector is invalid for deployment"));
  auto tmpl = spec.FindMember("template");
  const Value* labels = nullptr;
  if (tmpl != spec.MemberEnd() && tmpl->value.IsObject()) labels = metaValue(tmpl->value, "labels");
  if (!selector->matchesLabels(labels))
    errs.push_back(api::invalidError(FieldPath("spec.template.metadata.labels"),
                                     goStringMap(labels),
                                     "`selector` does not match template `labels`"));
  const Value* containers = nullptr;
  if (tmpl != spec.MemberEnd() && tmpl->value.IsObject() && tmpl->value.HasMember("spec") &&
      tmpl->value["spec"].IsObject() && tmpl->value["spec"].HasMember("containers"))
    containers = &tmpl->value["spec"]["containers"];
  if (!containers || !containers->IsArray() || containers->Empty())
    errs.push_back(api::requiredError(FieldPath("spec.template.spec.containers")));
  else
    for (rapidjson::SizeType i = 0; i < containers->Size(); ++i) {
      const auto& c = (*containers)[i];
      FieldPath p = FieldPath("spec.template.spec.containers").index(i);
      if (!c.IsObject() || !c.HasMember("name") || !c["name"].IsString())
        errs.push_back(api::requiredError(p.child("name")));
      if (!c.IsObject() || !c.HasMember("image") || !c["image"].IsString() ||
          c["image"].GetStringLength() == 0)
        errs.push_back(api::requiredError(p.child("image")));
    }
}

// The first address of the service CIDR 10.96.0.0/12 and its size. Offsets below
// kReservedOffsets (10.96.0.1 for the kubernetes Service, 10.96.0.10 for DNS by
// convention) are never handed out, as kube-apiserver keeps its static band for
// requested addresses.
constexpr uint32_t kServiceCidrBase = (10u << 24) | (96u << 16);
constexpr uint32_t kServiceCidrSize = 1u << 20;
constexpr uint32_t kReservedOffsets = 16;

std::string ipv4(uint32_t ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 255) + "." +
         std::to_string((ip >> 8) & 255) + "." + std::to_string(ip & 255);
}

// A ClusterIP for namespace/name: FNV-32a of "namespace/name" picks the first candidate
// in the dynamic band (so a Service gets the same address in every run), then the next
// free one.
std::string allocateClusterIp(const std::string& ns, const std::string& name,
                              const std::function<bool(const std::string&)>& allocated) {
  controller::Fnv32a h;
  h.write(ns + "/" + name);
  uint32_t band = kServiceCidrSize - kReservedOffsets - 1;  // the last address is broadcast
  for (uint32_t i = 0; i < band; ++i) {
    std::string ip = ipv4(kServiceCidrBase + kReservedOffsets + (h.sum32() + i) % band);
    if (!allocated(ip)) return ip;
  }
  return {};
}

// Services (pkg/registry/core/service/storage/alloc.go, core/v1 defaults): a ClusterIP
// from 10.96.0.0/12 on create unless headless or ExternalName, kept on update (an empty
// clusterIP in the update means "keep"), immutable once set.
void service(Value& obj, Alloc& a, bool create, const Value* old,
             const std::function<bool(const std::string&)>& allocated, api::ErrorList& errs) {
  Value& spec = member(obj, "spec", a, rapidjson::kObjectType);
  if (!spec.IsObject()) return;
  setDefault(spec, "type", Value("ClusterIP"), a);
  setDefault(spec, "sessionAffinity", Value("None"), a);
  std::string type = spec["type"].IsString() ? spec["type"].GetString() : "";
  auto clusterIp = [](const Value& s) -> std::string {
    auto it = s.FindMember("clusterIP");
    return it != s.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
  };
  FieldPath ipsPath = FieldPath("spec.clusterIPs");
  if (type == "ExternalName") {
    // ExternalName Services have no ClusterIP (the registry releases it on type change).
    if (spec.HasMember("clusterIP") && clusterIp(spec).empty()) spec.RemoveMember("clusterIP");
    if (spec.HasMember("clusterIPs")) spec.RemoveMember("clusterIPs");
  } else {
    std::string requested = clusterIp(spec);
    std::string previous;
    if (!create && old) {
      auto os = old->FindMember("spec");
      if (os != old->MemberEnd() && os->value.IsObject()) previous = clusterIp(os->value);
    }
    std::string ip = requested;
    if (!previous.empty()) {
      if (requested.empty())
        ip = previous;
      else if (requested != previous)
        errs.push_back(api::invalidError(ipsPath.index(0), api::quoteValue(requested),
                                         "may not change once set"));
    } else if (requested.empty()) {
      ip = allocateClusterIp(metaString(obj, "namespace"), metaString(obj, "name"), allocated);
      if (ip.empty())
        errs.push_back(
            api::invalidError(ipsPath, "[]string(nil)", "failed to allocate IP: range is full"));
    } else if (requested != "None" && create && allocated(requested)) {
      errs.push_back(api::invalidError(
          ipsPath, "[]string{" + api::quoteValue(requested) + "}",
          "failed to allocate IP " + requested + ": provided IP is already allocated"));
    }
    if (!ip.empty()) {
      if (spec.HasMember("clusterIP"))
        spec["clusterIP"].SetString(ip.c_str(), a);
      else
        spec.AddMember("clusterIP", Value(ip.c_str(), a), a);
      Value ips(rapidjson::kArrayType);
      ips.PushBack(Value(ip.c_str(), a), a);
      if (spec.HasMember("clusterIPs")) spec.RemoveMember("clusterIPs");
      spec.AddMember("clusterIPs", ips, a);
      Value families(rapidjson::kArrayType);
      families.PushBack("IPv4", a);
      setDefault(spec, "ipFamilies", std::move(families), a);
      setDefault(spec, "ipFamilyPolicy", Value("SingleStack"), a);
    }
    setDefault(spec, "internalTrafficPolicy", Value("Cluster"), a);
  }
  if (spec.HasMember("ports") && spec["ports"].IsArray()) {
    auto& ports = spec["ports"];
    for (rapidjson::SizeType i = 0; i < ports.Size(); ++i) {
      auto& p = ports[i];
      if (!p.IsObject()) continue;
      setDefault(p, "protocol", Value("TCP"), a);
      if (!p.HasMember("port") || !p["port"].IsInt() || p["port"].GetInt() < 1 ||
          p["port"].GetInt() > 65535)
        errs.push_back(api::invalidError(FieldPath("spec.ports").index(i).child("port"),
                                         p.HasMember("port") ? api::renderValue(p["port"]) : "0",
                                         "must be between 1 and 65535, inclusive"));
      else if (!p.HasMember("targetPort"))
        p.AddMember("targetPort", Value(p["port"].GetInt()), a);
    }
  } else if (type != "ExternalName" &&
             !(spec.HasMember("clusterIP") && spec["clusterIP"] == "None")) {
    errs.push_back(api::requiredError(FieldPath("spec.ports")));
  }
}

}  // namespace

void ApiServer::loadClusterIps() {
  clusterIps_.clear();
  for (const auto& svc : store_.list("/services", "")) {
    auto spec = svc->FindMember("spec");
    if (spec == svc->MemberEnd() || !spec->value.IsObject()) continue;
    auto ip = spec->value.FindMember("clusterIP");
    if (ip != spec->value.MemberEnd() && ip->value.IsString() && ip->value.GetStringLength() > 0 &&
        std::string_view(ip->value.GetString()) != "None")
      clusterIps_.insert(ip->value.GetString());
  }
  clusterIpsLoaded_ = true;
}

std::optional<ApiError> ApiServer::admit(const Request& req, const ResourceType& type,
                                         rapidjson::Document& obj, const rapidjson::Value* old) {
  auto& a = obj.GetAllocator();
  api::ErrorList errs;
  std::string name = metaString(obj, "name");
  validateMeta(type, obj, errs);
  bool create = old == nullptr;
  if (type.custom) {
    auto current = types_.find(type.group, type.version, type.resource);
    if (current && current->schema) {
      auto outcome = applyStructuralSchema(obj, *current->schema, a);
      std::string mode = "Warn";
      if (auto it = req.query.find("fieldValidation"); it != req.query.end()) mode = it->second;
      if (!outcome.unknownFields.empty()) {
        // fieldValidation (KEP-2885): Strict fails with 400, Warn adds Warning headers.
        if (mode == "Strict") {
          std::string list;
          for (size_t i = 0; i < outcome.unknownFields.size(); ++i)
            list +=
                (i ? ", " : "") + std::string("unknown field \"") + outcome.unknownFields[i] + "\"";
          return badRequest(type.kind + " in version \"" + type.version +
                            "\" cannot be handled as a " + type.kind +
                            ": strict decoding error: " + list);
        }
        if (mode == "Warn")
          for (const auto& f : outcome.unknownFields)
            warnings_.push_back("299 - \"unknown field \\\"" + f + "\\\"\"");
      }
      errs.insert(errs.end(), outcome.errors.begin(), outcome.errors.end());
    }
  } else if (type.group == "apps" && (type.kind == "Deployment" || type.kind == "ReplicaSet")) {
    workload(type, obj, a, errs);
    if (!create && old) {
      // apps/v1 selectors are immutable.
      const Value* os = nullptr;
      if (old->HasMember("spec") && (*old)["spec"].IsObject() &&
          (*old)["spec"].HasMember("selector"))
        os = &(*old)["spec"]["selector"];
      if (os && obj["spec"].IsObject() && obj["spec"].HasMember("selector") &&
          !(obj["spec"]["selector"] == *os))
        errs.push_back(api::invalidError(FieldPath("spec.selector"),
                                         api::renderValue(obj["spec"]["selector"]),
                                         "field is immutable"));
    }
  } else if (type.group.empty() && type.kind == "Service") {
    if (!clusterIpsLoaded_) loadClusterIps();
    // An address not in the superset is free; one in it is judged on the Services stored
    // now (one rescan per request, which also drops released addresses).
    bool rescanned = false;
    auto allocated = [&](const std::string& ip) {
      if (!clusterIps_.count(ip)) return false;
      if (!rescanned) {
        loadClusterIps();
        rescanned = true;
      }
      return clusterIps_.count(ip) > 0;
    };
    service(obj, a, create, old, allocated, errs);
    auto spec = obj.FindMember("spec");
    spec = obj.FindMember("spec");
    if (create && errs.empty() && spec != obj.MemberEnd() && spec->value.IsObject() &&
        spec->value.HasMember("clusterIP") && spec->value["clusterIP"].IsString() &&
        std::string_view(spec->value["clusterIP"].GetString()) != "None")
      clusterIps_.insert(spec->value["clusterIP"].GetString());
  } else if (type.group.empty() && type.kind == "Secret") {
    setDefault(obj, "type", Value("Opaque"), a);
    // stringData is write-only: merged into data, base64-encoded (core/v1 conversion).
    if (auto sd = obj.FindMember("stringData"); sd != obj.MemberEnd()) {
      if (sd->value.IsObject()) {
        Value& data = member(obj, "data", a, rapidjson::kObjectType);
        for (const auto& e : sd->value.GetObject()) {
          if (!e.value.IsString()) continue;
          std::string enc =
              kube::base64Encode(std::string(e.value.GetString(), e.value.GetStringLength()));
          auto it = data.FindMember(e.name);
          if (it != data.MemberEnd())
            it->value.SetString(enc.c_str(), a);
          else
            data.AddMember(Value(e.name, a), Value(enc.c_str(), a), a);
        }
      }
      obj.RemoveMember("stringData");
    }
  } else if (type.group.empty() && type.kind == "Namespace") {
    if (create) {
      Value& spec = member(obj, "spec", a, rapidjson::kObjectType);
      if (spec.IsObject() && !spec.HasMember("finalizers")) {
        Value f(rapidjson::kArrayType);
        f.PushBack("kubernetes", a);
        spec.AddMember("finalizers", f, a);
      }
      Value& status = member(obj, "status", a, rapidjson::kObjectType);
      if (status.IsObject()) setDefault(status, "phase", Value("Active"), a);
      // The namespace controller's label (kube 1.22+).
      Value& meta = obj["metadata"];
      Value& labels = member(meta, "labels", a, rapidjson::kObjectType);
      if (labels.IsObject())
        setDefault(labels, "kubernetes.io/metadata.name", Value(name.c_str(), a), a);
    }
  } else if (type.group.empty() && type.kind == "Pod") {
    if (create) {
      Value& status = member(obj, "status", a, rapidjson::kObjectType);
      if (status.IsObject()) setDefault(status, "phase", Value("Pending"), a);
    }
  } else if (type.group == "apiextensions.k8s.io") {
    validateCrd(obj, errs);
  }
  if (!errs.empty()) return invalid(type.group, type.kind, name, errs);
  return std::nullopt;
}

void ApiServer::validateCrd(rapidjson::Document& crd, api::ErrorList& errs) {
  auto& a = crd.GetAllocator();
  FieldPath spec("spec");
  if (!crd.HasMember("spec") || !crd["spec"].IsObject()) {
    errs.push_back(api::requiredError(spec));
    return;
  }
  Value& s = crd["spec"];
  std::string group = s.HasMember("group") && s["group"].IsString() ? s["group"].GetString() : "";
  if (group.empty())
    errs.push_back(api::requiredError(spec.child("group")));
  else if (group.find('.') == std::string::npos)
    errs.push_back(api::invalidStringError(spec.child("group"), group,
                                           "should be a domain with at least one dot"));
  std::string scope = s.HasMember("scope") && s["scope"].IsString() ? s["scope"].GetString() : "";
  if (scope != "Namespaced" && scope != "Cluster")
    errs.push_back(api::notSupportedError(spec.child("scope"), scope, {"Cluster", "Namespaced"}));
  if (!s.HasMember("names") || !s["names"].IsObject()) {
    errs.push_back(api::requiredError(spec.child("names")));
    return;
  }
  Value& names = s["names"];
  std::string plural =
      names.HasMember("plural") && names["plural"].IsString() ? names["plural"].GetString() : "";
  std::string kind =
      names.HasMember("kind") && names["kind"].IsString() ? names["kind"].GetString() : "";
  if (plural.empty()) errs.push_back(api::requiredError(spec.child("names").child("plural")));
  if (kind.empty()) errs.push_back(api::requiredError(spec.child("names").child("kind")));
  std::string name = metaString(crd, "name");
  if (!plural.empty() && !group.empty() && name != plural + "." + group)
    errs.push_back(api::invalidStringError(FieldPath("metadata.name"), name,
                                           "must be spec.names.plural+\".\"+spec.group"));
  // Defaults (apiextensions/v1 SetDefaults_CustomResourceDefinitionSpec).
  std::string lowerKind = kind;
  std::transform(lowerKind.begin(), lowerKind.end(), lowerKind.begin(), ::tolower);
  setDefault(names, "singular", Value(lowerKind.c_str(), a), a);
  setDefault(names, "listKind", Value((kind + "List").c_str(), a), a);
  if (!s.HasMember("conversion")) {
    Value conv(rapidjson::kObjectType);
    conv.AddMember("strategy", "None", a);
    s.AddMember("conversion", conv, a);
  }
  if (!s.HasMember("versions") || !s["versions"].IsArray() || s["versions"].Empty()) {
    errs.push_back(api::requiredError(spec.child("versions"),
                                      "must have exactly one version marked as storage version"));
    return;
  }
  int storage = 0;
  std::string storageName;
  for (rapidjson::SizeType i = 0; i < s["versions"].Size(); ++i) {
    auto& v = s["versions"][i];
    FieldPath vp = spec.child("versions").index(i);
    if (!v.IsObject()) continue;
    if (v.HasMember("storage") && v["storage"].IsBool() && v["storage"].GetBool()) {
      ++storage;
      storageName = v.HasMember("name") && v["name"].IsString() ? v["name"].GetString() : "";
    }
    if (!v.HasMember("name") || !v["name"].IsString())
      errs.push_back(api::requiredError(vp.child("name")));
    if (!v.HasMember("schema") || !v["schema"].IsObject() ||
        !v["schema"].HasMember("openAPIV3Schema"))
      errs.push_back(
          api::requiredError(vp.child("schema").child("openAPIV3Schema"), "schemas are required"));
    else if (!v["schema"]["openAPIV3Schema"].IsObject() ||
             !v["schema"]["openAPIV3Schema"].HasMember("type"))
      errs.push_back(api::requiredError(vp.child("schema").child("openAPIV3Schema").child("type"),
                                        "must not be empty at the root"));
  }
  if (storage != 1)
    errs.push_back(api::invalidError(spec.child("versions"), api::renderValue(s["versions"]),
                                     "must have exactly one version marked as storage version"));
  // The status the apiextensions controllers write once names are accepted.
  Value status(rapidjson::kObjectType);
  Value accepted(names, a);
  status.AddMember("acceptedNames", accepted, a);
  Value conditions(rapidjson::kArrayType);
  std::string now = timestamp();
  for (auto [type, reason, message] :
       {std::tuple{"NamesAccepted", "NoConflicts", "no conflicts found"},
        std::tuple{"Established", "InitialNamesAccepted",
                   "the initial names have been accepted"}}) {
    Value c(rapidjson::kObjectType);
    c.AddMember("type", Value(type, a), a);
    c.AddMember("status", "True", a);
    c.AddMember("lastTransitionTime", Value(now.c_str(), a), a);
    c.AddMember("reason", Value(reason, a), a);
    c.AddMember("message", Value(message, a), a);
    conditions.PushBack(c, a);
  }
  status.AddMember("conditions", conditions, a);
  Value stored(rapidjson::kArrayType);
  stored.PushBack(Value(storageName.c_str(), a), a);
  status.AddMember("storedVersions", stored, a);
  if (crd.HasMember("status")) {
    // Keep conditions' transition times stable across updates.
    auto& old = crd["status"];
    if (old.IsObject() && old.HasMember("conditions"))
      status["conditions"].CopyFrom(old["conditions"], a);
    crd.RemoveMember("status");
  }
  crd.AddMember("status", status, a);
}

void ApiServer::crdStored(const rapidjson::Value& crd) { types_.registerCrd(crd); }

std::optional<ApiError> ApiServer::crdDeleting(const rapidjson::Value& crd) {
  // The CRD finalizer's work (customresourcecleanup): every custom object goes first.
  std::string name = metaString(crd, "name");
  std::string storeKey;
  for (const auto& t : types_.all())
    if (t->custom && t->crdName == name) storeKey = t->storeKey();
  if (!storeKey.empty())
    for (const auto& obj : store_.list(storeKey, ""))
      store_.remove(storeKey, metaString(*obj, "namespace"), metaString(*obj, "name"));
  types_.unregisterCrd(name);
  return std::nullopt;
}

}  // namespace canaryd::emulator
