#include "discovery.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace canaryd::emulator {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

namespace {

void strings(Writer& w, const char* key, const std::vector<std::string>& v) {
  w.Key(key);
  w.StartArray();
  for (const auto& s : v) w.String(s);
  w.EndArray();
}

void groupEntry(Writer& w, const ResourceTypes::GroupVersions& g) {
  w.StartObject();
  w.Key("name");
  w.String(g.group);
  w.Key("versions");
  w.StartArray();
  for (const auto& v : g.versions) {
    w.StartObject();
    w.Key("groupVersion");
    w.String(g.group + "/" + v);
    w.Key("version");
    w.String(v);
    w.EndObject();
  }
  w.EndArray();
  w.Key("preferredVersion");
  w.StartObject();
  w.Key("groupVersion");
  w.String(g.group + "/" + g.versions.front());
  w.Key("version");
  w.String(g.versions.front());
  w.EndObject();
  w.EndObject();
}

}  // namespace

std::string versionDocument(const std::string& gitVersion) {
  // The shape of k8s.io/apimachinery/pkg/version.Info.
  std::string minor = "32";
  if (auto dot = gitVersion.find('.'); dot != std::string::npos) {
    auto dot2 = gitVersion.find('.', dot + 1);
    minor =
        gitVersion.substr(dot + 1, dot2 == std::string::npos ? std::string::npos : dot2 - dot - 1);
  }
  return R"({"major":"1","minor":")" + minor + R"(","gitVersion":")" + gitVersion +
         R"(","gitCommit":"0000000000000000000000000000000000000000","gitTreeState":"clean",)"
         R"("buildDate":"2025-01-01T00:00:00Z","goVersion":"go1.23.0","compiler":"gc",)"
         R"("platform":"linux/amd64"})";
}

std::string apiVersionsDocument() {
  return R"({"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":)"
         R"([{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]})";
}

std::string apiGroupListDocument(const ResourceTypes& types) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("kind");
  w.String("APIGroupList");
  w.Key("apiVersion");
  w.String("v1");
  w.Key("groups");
  w.StartArray();
  for (const auto& g : types.groups())
    if (!g.group.empty()) groupEntry(w, g);
  w.EndArray();
  w.EndObject();
  return buf.GetString();
}

std::string apiGroupDocument(const ResourceTypes& types, const std::string& group) {
  for (const auto& g : types.groups()) {
    if (g.group != group || group.empty()) continue;
    // An APIGroup: the group entry plus kind/apiVersion.
    rapidjson::StringBuffer inner;
    Writer wi(inner);
    groupEntry(wi, g);
    std::string s = inner.GetString();
    return R"({"kind":"APIGroup","apiVersion":"v1",)" + s.substr(1);
  }
  return {};
}

std::string apiResourceListDocument(const ResourceTypes& types, const std::string& group,
                                    const std::string& version) {
  auto list = types.inGroupVersion(group, version);
  if (list.empty()) return {};
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("kind");
  w.String("APIResourceList");
  w.Key("apiVersion");
  w.String("v1");
  w.Key("groupVersion");
  w.String(group.empty() ? version : group + "/" + version);
  w.Key("resources");
  w.StartArray();
  for (const auto& t : list) {
    w.StartObject();
    w.Key("name");
    w.String(t->resource);
    w.Key("singularName");
    w.String(t->singular);
    w.Key("namespaced");
    w.Bool(t->namespaced);
    w.Key("kind");
    w.String(t->kind);
    strings(w, "verbs", t->verbs);
    if (!t->shortNames.empty()) strings(w, "shortNames", t->shortNames);
    if (!t->categories.empty()) strings(w, "categories", t->categories);
    w.EndObject();
    if (t->statusSubresource) {
      w.StartObject();
      w.Key("name");
      w.String(t->resource + "/status");
      w.Key("singularName");
      w.String("");
      w.Key("namespaced");
      w.Bool(t->namespaced);
      w.Key("kind");
      w.String(t->kind);
      strings(w, "verbs", {"get", "patch", "update"});
      w.EndObject();
    }
    if (t->scaleSubresource) {
      w.StartObject();
      w.Key("name");
      w.String(t->resource + "/scale");
      w.Key("singularName");
      w.String("");
      w.Key("namespaced");
      w.Bool(t->namespaced);
      w.Key("group");
      w.String("autoscaling");
      w.Key("version");
      w.String("v1");
      w.Key("kind");
      w.String("Scale");
      strings(w, "verbs", {"get", "patch", "update"});
      w.EndObject();
    }
  }
  w.EndArray();
  w.EndObject();
  return buf.GetString();
}

}  // namespace canaryd::emulator
