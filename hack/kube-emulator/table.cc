// ApiServer::renderTable: meta.k8s.io/v1 Table answers for clients that ask for them
// (kubectl get: Accept: application/json;as=Table;v=v1;g=meta.k8s.io). Columns follow
// kube-apiserver's printers (pkg/printers/internalversion/printers.go) for the built-in
// kinds and a CRD's additionalPrinterColumns (apiextensions-apiserver tableconvertor)
// for custom ones.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <ctime>

#include "api/json.h"
#include "api_server.h"
#include "json_path.h"

namespace canaryd::emulator {

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
using rapidjson::Value;

struct Column {
  std::string name;
  std::string type;  // string, integer, number, boolean, date
  std::string format;
  std::string description;
  int priority = 0;
  // Computes the cell; writes one JSON value.
  std::function<void(Writer&, const Value&)> cell;
};

// k8s.io/apimachinery/pkg/util/duration.HumanDuration.
std::string humanDuration(long long secs) {
  if (secs < -1) return "<invalid>";
  if (secs < 0) return "0s";
  if (secs < 120) return std::to_string(secs) + "s";
  long long minutes = secs / 60;
  if (minutes < 10) {
    long long s = secs % 60;
    return s == 0 ? std::to_string(minutes) + "m"
                  : std::to_string(minutes) + "m" + std::to_string(s) + "s";
  }
  if (minutes < 180) return std::to_string(minutes) + "m";
  long long hours = minutes / 60;
  if (hours < 8) {
    long long m = minutes % 60;
    return m == 0 ? std::to_string(hours) + "h"
                  : std::to_string(hours) + "h" + std::to_string(m) + "m";
  }
  if (hours < 48) return std::to_string(hours) + "h";
  if (hours < 24 * 8) {
    long long h = hours % 24;
    return h == 0 ? std::to_string(hours / 24) + "d"
                  : std::to_string(hours / 24) + "d" + std::to_string(h) + "h";
  }
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24) + "d";
  if (hours < 24 * 365 * 8) {
    long long d = (hours / 24) % 365;
    return d == 0 ? std::to_string(hours / 24 / 365) + "y"
                  : std::to_string(hours / 24 / 365) + "y" + std::to_string(d) + "d";
  }
  return std::to_string(hours / 24 / 365) + "y";
}

long long parseTime(const std::string& ts) {
  std::tm tm{};
  if (!strptime(ts.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return -1;
  return static_cast<long long>(timegm(&tm));
}

const Value* at(const Value& obj, std::initializer_list<const char*> path) {
  const Value* cur = &obj;
  for (const char* p : path) {
    if (!cur->IsObject()) return nullptr;
    auto it = cur->FindMember(p);
    if (it == cur->MemberEnd()) return nullptr;
    cur = &it->value;
  }
  return cur;
}

long long intAt(const Value& obj, std::initializer_list<const char*> path) {
  const Value* v = at(obj, path);
  return v && v->IsInt64() ? v->GetInt64() : 0;
}

std::string strAt(const Value& obj, std::initializer_list<const char*> path) {
  const Value* v = at(obj, path);
  return v && v->IsString() ? v->GetString() : "";
}

}  // namespace

std::string ApiServer::renderTable(const ResourceType& type, const std::vector<ObjectPtr>& objects,
                                   const std::string& resourceVersion, const std::string& cont,
                                   bool includeObject, bool withColumns) const {
  long long nowSecs =
      std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
  auto age = [nowSecs](Writer& w, const Value& o) {
    std::string ts = metaString(o, "creationTimestamp");
    w.String(ts.empty() ? "<unknown>" : humanDuration(nowSecs - parseTime(ts)));
  };
  std::vector<Column> cols;
  cols.push_back({"Name", "string", "name",
                  "Name must be unique within a namespace. Is required when creating resources, "
                  "although some resources may allow a client to request the generation of an "
                  "appropriate name automatically.",
                  0, [](Writer& w, const Value& o) { w.String(metaString(o, "name")); }});
  auto ageCol = Column{"Age",
                       "string",
                       "",
                       "CreationTimestamp is a timestamp representing the server time when this "
                       "object was created.",
                       0,
                       age};
  auto strCol = [](std::string name, std::function<std::string(const Value&)> f, int prio = 0) {
    return Column{std::move(name),
                  "string",
                  "",
                  "",
                  prio,
                  [f](Writer& w, const Value& o) { w.String(f(o)); }};
  };
  auto intCol = [](std::string name, std::function<long long(const Value&)> f) {
    return Column{
        std::move(name), "integer", "", "", 0, [f](Writer& w, const Value& o) { w.Int64(f(o)); }};
  };
  if (type.custom) {
    for (const auto& pc : type.printerColumns) {
      Column c{pc.name, pc.type, pc.format, pc.description, pc.priority, nullptr};
      std::string ptype = pc.type;
      std::string path = pc.jsonPath;
      c.cell = [ptype, path, nowSecs](Writer& w, const Value& o) {
        auto vals = evalJsonPath(o, path);
        if (vals.empty()) {
          w.Null();
          return;
        }
        const Value& v = *vals.front();
        if (ptype == "date" && v.IsString()) {
          w.String(humanDuration(nowSecs - parseTime(v.GetString())));
        } else if (vals.size() == 1 && (v.IsNumber() || v.IsBool() || v.IsString())) {
          v.Accept(w);
        } else {
          std::string s;
          for (size_t i = 0; i < vals.size(); ++i)
            s += (i ? "," : "") +
                 (vals[i]->IsString() ? std::string(vals[i]->GetString()) : api::toJson(*vals[i]));
          w.String(s);
        }
      };
      if (ptype == "date") c.type = "date";
      cols.push_back(std::move(c));
    }
    if (type.printerColumns.empty()) cols.push_back(ageCol);
  } else if (type.kind == "Deployment") {
    cols.push_back(strCol("Ready", [](const Value& o) {
      return std::to_string(intAt(o, {"status", "readyReplicas"})) + "/" +
             std::to_string(intAt(o, {"spec", "replicas"}));
    }));
    cols.push_back(intCol("Up-to-date", [](const Value& o) {
      return intAt(o, {"status", "updatedReplicas"});
    }));
    cols.push_back(intCol("Available", [](const Value& o) {
      return intAt(o, {"status", "availableReplicas"});
    }));
    cols.push_back(ageCol);
  } else if (type.kind == "ReplicaSet") {
    cols.push_back(intCol("Desired", [](const Value& o) {
      return intAt(o, {"spec", "replicas"});
    }));
    cols.push_back(intCol("Current", [](const Value& o) {
      return intAt(o, {"status", "replicas"});
    }));
    cols.push_back(intCol("Ready", [](const Value& o) {
      return intAt(o, {"status", "readyReplicas"});
    }));
    cols.push_back(ageCol);
  } else if (type.kind == "Service") {
    cols.push_back(strCol("Type", [](const Value& o) { return strAt(o, {"spec", "type"}); }));
    cols.push_back(strCol("Cluster-IP", [](const Value& o) {
      return strAt(o, {"spec", "clusterIP"});
    }));
    cols.push_back(strCol("External-IP", [](const Value&) { return std::string("<none>"); }));
    cols.push_back(strCol("Port(s)", [](const Value& o) {
      std::string s;
      if (const Value* ports = at(o, {"spec", "ports"}); ports && ports->IsArray())
        for (const auto& p : ports->GetArray()) {
          if (!s.empty()) s += ",";
          s += std::to_string(intAt(p, {"port"})) + "/" + strAt(p, {"protocol"});
        }
      return s.empty() ? std::string("<none>") : s;
    }));
    cols.push_back(ageCol);
  } else if (type.kind == "ConfigMap" || type.kind == "Secret") {
    if (type.kind == "Secret")
      cols.push_back(strCol("Type", [](const Value& o) { return strAt(o, {"type"}); }));
    cols.push_back(intCol("Data", [](const Value& o) {
      long long n = 0;
      if (const Value* d = at(o, {"data"}); d && d->IsObject()) n += d->MemberCount();
      if (const Value* d = at(o, {"binaryData"}); d && d->IsObject()) n += d->MemberCount();
      return n;
    }));
    cols.push_back(ageCol);
  } else if (type.kind == "Namespace") {
    cols.push_back(strCol("Status", [](const Value& o) { return strAt(o, {"status", "phase"}); }));
    cols.push_back(ageCol);
  } else if (type.kind == "Pod") {
    cols.push_back(strCol("Ready", [](const Value& o) {
      long long total = 0, ready = 0;
      if (const Value* c = at(o, {"spec", "containers"}); c && c->IsArray()) total = c->Size();
      if (const Value* cs = at(o, {"status", "containerStatuses"}); cs && cs->IsArray())
        for (const auto& s : cs->GetArray())
          if (s.IsObject() && s.HasMember("ready") && s["ready"].IsBool() && s["ready"].GetBool())
            ++ready;
      return std::to_string(ready) + "/" + std::to_string(total);
    }));
    cols.push_back(strCol("Status", [](const Value& o) { return strAt(o, {"status", "phase"}); }));
    cols.push_back(intCol("Restarts", [](const Value&) { return 0LL; }));
    cols.push_back(ageCol);
  } else if (type.kind == "Ingress") {
    cols.push_back(strCol("Class", [](const Value& o) {
      std::string c = strAt(o, {"spec", "ingressClassName"});
      return c.empty() ? std::string("<none>") : c;
    }));
    cols.push_back(strCol("Hosts", [](const Value& o) {
      std::string s;
      if (const Value* r = at(o, {"spec", "rules"}); r && r->IsArray())
        for (const auto& rule : r->GetArray()) {
          std::string h = strAt(rule, {"host"});
          if (!h.empty()) s += (s.empty() ? "" : ",") + h;
        }
      return s.empty() ? std::string("*") : s;
    }));
    cols.push_back(strCol("Address", [](const Value&) { return std::string(); }));
    cols.push_back(strCol("Ports", [](const Value&) { return std::string("80"); }));
    cols.push_back(ageCol);
  } else if (type.kind == "Lease") {
    cols.push_back(strCol("Holder", [](const Value& o) {
      return strAt(o, {"spec", "holderIdentity"});
    }));
    cols.push_back(ageCol);
  } else if (type.kind == "CustomResourceDefinition") {
    cols.push_back(Column{"Created At", "date", "", "", 0, [](Writer& w, const Value& o) {
                            w.String(metaString(o, "creationTimestamp"));
                          }});
  } else {
    cols.push_back(ageCol);
  }

  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("kind");
  w.String("Table");
  w.Key("apiVersion");
  w.String("meta.k8s.io/v1");
  w.Key("metadata");
  w.StartObject();
  if (!resourceVersion.empty()) {
    w.Key("resourceVersion");
    w.String(resourceVersion);
  }
  if (!cont.empty()) {
    w.Key("continue");
    w.String(cont);
  }
  w.EndObject();
  if (withColumns) {
    w.Key("columnDefinitions");
    w.StartArray();
    for (const auto& c : cols) {
      w.StartObject();
      w.Key("name");
      w.String(c.name);
      w.Key("type");
      w.String(c.type);
      w.Key("format");
      w.String(c.format);
      w.Key("description");
      w.String(c.description);
      w.Key("priority");
      w.Int(c.priority);
      w.EndObject();
    }
    w.EndArray();
  }
  w.Key("rows");
  w.StartArray();
  for (const auto& o : objects) {
    w.StartObject();
    w.Key("cells");
    w.StartArray();
    for (const auto& c : cols) c.cell(w, *o);
    w.EndArray();
    w.Key("object");
    if (includeObject) {
      rapidjson::Document doc;
      doc.Parse(renderObject(type, *o).c_str());
      doc.Accept(w);
    } else {
      // includeObject=Metadata (the default): a PartialObjectMetadata.
      w.StartObject();
      w.Key("kind");
      w.String("PartialObjectMetadata");
      w.Key("apiVersion");
      w.String("meta.k8s.io/v1");
      w.Key("metadata");
      if (o->HasMember("metadata"))
        (*o)["metadata"].Accept(w);
      else {
        w.StartObject();
        w.EndObject();
      }
      w.EndObject();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buf.GetString();
}

}  // namespace canaryd::emulator
