#include "api/decode.h"

#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <set>

#include "api/json.h"

namespace canaryd::api {
namespace {

using Value = rapidjson::Value;

std::string_view sv(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

FieldError typeError(const FieldPath& path, const Value& v, std::string_view type) {
  return invalidError(path, renderValue(v), "must be of type " + std::string(type));
}

// Reads one JSON object, field by field, recording type errors and (when strict) the
// fields nobody asked for. A JSON null counts as absent, as Go's decoder treats it.
class ObjectReader {
 public:
  ObjectReader(const Value& value, FieldPath path, ErrorList& errors, bool strict)
      : value_(value), path_(std::move(path)), errors_(errors), strict_(strict) {
    ok_ = value.IsObject();
    if (!ok_ && !value.IsNull()) errors_.push_back(typeError(path_, value, "object"));
  }
  ObjectReader(const ObjectReader&) = delete;
  ObjectReader& operator=(const ObjectReader&) = delete;
  ~ObjectReader() { finish(); }

  bool ok() const { return ok_; }
  const FieldPath& path() const { return path_; }
  ErrorList& errors() { return errors_; }
  bool strict() const { return strict_; }

  // Marks `key` as known and returns its value, or nullptr when absent or null.
  const Value* get(std::string_view key) {
    known_.insert(std::string(key));
    if (!ok_) return nullptr;
    auto it = value_.FindMember(Value(rapidjson::StringRef(key.data(), key.size())));
    if (it == value_.MemberEnd() || it->value.IsNull()) return nullptr;
    return &it->value;
  }
  bool has(std::string_view key) {
    if (!ok_) return false;
    auto it = value_.FindMember(Value(rapidjson::StringRef(key.data(), key.size())));
    return it != value_.MemberEnd() && !it->value.IsNull();
  }

  bool str(std::string_view key, std::string& out) {
    const Value* v = get(key);
    if (!v) return false;
    if (!v->IsString()) return fail(key, *v, "string");
    out.assign(v->GetString(), v->GetStringLength());
    return true;
  }

  bool boolean(std::string_view key, bool& out) {
    const Value* v = get(key);
    if (!v) return false;
    if (!v->IsBool()) return fail(key, *v, "boolean");
    out = v->GetBool();
    return true;
  }

  bool i64(std::string_view key, int64_t& out) {
    const Value* v = get(key);
    if (!v) return false;
    if (v->IsInt64()) {
      out = v->GetInt64();
      return true;
    }
    // 2.0 is an integer to kube-apiserver's JSON decoder; 2.5 is not.
    if (v->IsDouble() && std::trunc(v->GetDouble()) == v->GetDouble() &&
        std::fabs(v->GetDouble()) < 9.0e18) {
      out = static_cast<int64_t>(v->GetDouble());
      return true;
    }
    return fail(key, *v, "integer");
  }

  bool i32(std::string_view key, int32_t& out) {
    int64_t wide = 0;
    if (!i64(key, wide)) return false;
    if (wide < std::numeric_limits<int32_t>::min() || wide > std::numeric_limits<int32_t>::max()) {
      errors_.push_back(invalidError(path_.child(key), wide, "must fit in a 32-bit integer"));
      return false;
    }
    out = static_cast<int32_t>(wide);
    return true;
  }

  bool optI32(std::string_view key, std::optional<int32_t>& out) {
    int32_t v = 0;
    if (!i32(key, v)) return false;
    out = v;
    return true;
  }

  bool number(std::string_view key, std::optional<double>& out) {
    const Value* v = get(key);
    if (!v) return false;
    if (!v->IsNumber()) return fail(key, *v, "number");
    out = v->GetDouble();
    return true;
  }

  // A Go duration string ("30s"); with allowSeconds, an integer of seconds too.
  bool duration(std::string_view key, Duration& out, bool allowSeconds = false) {
    const Value* v = get(key);
    if (!v) return false;
    if (allowSeconds && v->IsInt64()) {
      out = std::chrono::seconds(v->GetInt64());
      return true;
    }
    if (!v->IsString()) return fail(key, *v, allowSeconds ? "string or integer" : "string");
    auto d = parseDuration(sv(*v));
    if (!d) {
      errors_.push_back(invalidStringError(
          path_.child(key), sv(*v), "must be a duration such as \"30s\", \"1m30s\" or \"2h\""));
      return false;
    }
    out = *d;
    return true;
  }

  bool time(std::string_view key, std::optional<Time>& out) {
    const Value* v = get(key);
    if (!v) return false;
    if (!v->IsString()) return fail(key, *v, "string");
    auto t = parseTime(sv(*v));
    if (!t) {
      errors_.push_back(invalidStringError(
          path_.child(key), sv(*v), "must be an RFC 3339 time such as \"2026-01-02T15:04:05Z\""));
      return false;
    }
    out = *t;
    return true;
  }

  bool stringMap(std::string_view key, StringMap& out) {
    const Value* v = get(key);
    if (!v) return false;
    if (!v->IsObject()) return fail(key, *v, "object");
    for (const auto& m : v->GetObject()) {
      if (m.value.IsNull()) continue;
      if (!m.value.IsString()) {
        errors_.push_back(typeError(path_.child(key).key(sv(m.name)), m.value, "string"));
        continue;
      }
      out[std::string(sv(m.name))] = std::string(sv(m.value));
    }
    return true;
  }

  bool stringList(std::string_view key, std::vector<std::string>& out) {
    return array(key, [&](const Value& item, const FieldPath& p) {
      if (!item.IsString()) {
        errors_.push_back(typeError(p, item, "string"));
        return;
      }
      out.emplace_back(sv(item));
    });
  }

  // Calls fn(value, path) for an object-typed field.
  bool object(std::string_view key, const std::function<void(const Value&, const FieldPath&)>& fn) {
    const Value* v = get(key);
    if (!v) return false;
    if (!v->IsObject()) return fail(key, *v, "object");
    fn(*v, path_.child(key));
    return true;
  }

  // Calls fn(item, path[i]) for each element of an array-typed field.
  bool array(std::string_view key, const std::function<void(const Value&, const FieldPath&)>& fn) {
    const Value* v = get(key);
    if (!v) return false;
    if (!v->IsArray()) return fail(key, *v, "array");
    FieldPath p = path_.child(key);
    for (rapidjson::SizeType i = 0; i < v->Size(); ++i) fn((*v)[i], p.index(i));
    return true;
  }

  // Reports, when strict, every member that no get() asked for.
  void finish() {
    if (finished_) return;
    finished_ = true;
    if (!strict_ || !ok_) return;
    for (const auto& m : value_.GetObject()) {
      std::string name(sv(m.name));
      if (!known_.count(name)) errors_.push_back(unknownFieldError(path_.child(name)));
    }
  }

 private:
  bool fail(std::string_view key, const Value& v, std::string_view type) {
    errors_.push_back(typeError(path_.child(key), v, type));
    return false;
  }

  const Value& value_;
  FieldPath path_;
  ErrorList& errors_;
  bool strict_;
  bool ok_ = false;
  bool finished_ = false;
  std::set<std::string> known_;
};

// ---- metadata ----

void decodeOwnerReference(const Value& v, const FieldPath& path, ErrorList& errors,
                          OwnerReference& out) {
  ObjectReader r(v, path, errors, false);
  r.str("apiVersion", out.apiVersion);
  r.str("kind", out.kind);
  r.str("name", out.name);
  r.str("uid", out.uid);
  r.boolean("controller", out.controller);
  r.boolean("blockOwnerDeletion", out.blockOwnerDeletion);
}

void decodeSelector(const Value& v, const FieldPath& path, ErrorList& errors, bool strict,
                    LabelSelector& out) {
  ObjectReader r(v, path, errors, strict);
  r.stringMap("matchLabels", out.matchLabels);
  r.array("matchExpressions", [&](const Value& item, const FieldPath& p) {
    ObjectReader e(item, p, errors, strict);
    LabelSelectorRequirement req;
    e.str("key", req.key);
    e.str("operator", req.operator_);
    e.stringList("values", req.values);
    out.matchExpressions.push_back(std::move(req));
  });
}

void decodePodTemplate(const Value& v, const FieldPath& path, ErrorList& errors, PodTemplate& out) {
  rapidjson::Document copy = cloneDocument(v);
  sortKeys(copy);
  out.json = toJson(copy);
  // Only metadata.labels is read; everything else passes through untouched.
  auto meta = v.FindMember("metadata");
  if (meta == v.MemberEnd() || !meta->value.IsObject()) {
    if (meta != v.MemberEnd() && !meta->value.IsNull())
      errors.push_back(typeError(path.child("metadata"), meta->value, "object"));
    return;
  }
  ObjectReader m(meta->value, path.child("metadata"), errors, false);
  m.stringMap("labels", out.labels);
}

// ---- analysis ----

void decodeMetric(const Value& v, const FieldPath& path, ErrorList& errors, bool strict,
                  Metric& out) {
  ObjectReader r(v, path, errors, strict);
  r.str("name", out.name);
  r.str("template", out.templateName);
  r.str("query", out.query);
  r.number("min", out.min);
  r.number("max", out.max);
  std::string noData;
  if (r.str("noData", noData)) {
    if (auto p = parseNoDataPolicy(noData)) {
      out.noData = *p;
    } else {
      errors.push_back(
          notSupportedError(path.child("noData"), noData, {"inconclusive", "fail", "pass"}));
    }
  }
}

void decodePrometheus(const Value& v, const FieldPath& path, ErrorList& errors, bool strict,
                      PrometheusProvider& out) {
  ObjectReader r(v, path, errors, strict);
  r.str("address", out.address);
  r.duration("timeout", out.timeout);
  r.boolean("insecureSkipVerify", out.insecureSkipVerify);
  r.stringMap("headers", out.headers);
  r.object("authSecretRef", [&](const Value& s, const FieldPath& p) {
    ObjectReader sr(s, p, errors, strict);
    SecretRef ref;
    sr.str("name", ref.name);
    out.authSecretRef = ref;
  });
}

void decodeMetricsAndTemplates(ObjectReader& r, std::vector<Metric>& metrics,
                               std::vector<TemplateRef>& templates) {
  r.array("metrics", [&](const Value& item, const FieldPath& p) {
    Metric m;
    decodeMetric(item, p, r.errors(), r.strict(), m);
    metrics.push_back(std::move(m));
  });
  r.array("templates", [&](const Value& item, const FieldPath& p) {
    ObjectReader t(item, p, r.errors(), r.strict());
    TemplateRef ref;
    t.str("name", ref.name);
    templates.push_back(std::move(ref));
  });
}

// inStep: an inline analysis step (count) rather than background analysis (startingStep).
void decodeAnalysis(const Value& v, const FieldPath& path, ErrorList& errors, bool strict,
                    bool inStep, AnalysisSpec& out) {
  ObjectReader r(v, path, errors, strict);
  if (inStep) {
    r.i32("count", out.count);
  } else {
    r.i32("startingStep", out.startingStep);
  }
  r.duration("interval", out.interval);
  r.i32("failureLimit", out.failureLimit);
  r.i32("consecutiveErrorLimit", out.consecutiveErrorLimit);
  r.i32("inconclusiveLimit", out.inconclusiveLimit);
  r.object("prometheus", [&](const Value& p, const FieldPath& pp) {
    PrometheusProvider prom;
    decodePrometheus(p, pp, errors, strict, prom);
    out.prometheus = std::move(prom);
  });
  decodeMetricsAndTemplates(r, out.metrics, out.templates);
}

// ---- steps ----

constexpr std::string_view kStepKinds[] = {"setWeight", "pause", "analysis", "setHeaderRoute",
                                           "setCanaryScale"};

void decodeHeaderRoute(const Value& v, const FieldPath& path, ErrorList& errors, bool strict,
                       SetHeaderRouteStep& out) {
  ObjectReader r(v, path, errors, strict);
  r.str("name", out.name);
  r.str("cookie", out.cookie);
  r.array("match", [&](const Value& item, const FieldPath& p) {
    ObjectReader m(item, p, errors, strict);
    HeaderMatch hm;
    m.str("headerName", hm.headerName);
    bool hasValue = m.object("headerValue", [&](const Value& hv, const FieldPath& hp) {
      ObjectReader h(hv, hp, errors, strict);
      int kinds = 0;
      std::string s;
      if (h.str("exact", s)) ++kinds, hm.headerValue = {StringMatch::Kind::kExact, s};
      if (h.str("prefix", s)) ++kinds, hm.headerValue = {StringMatch::Kind::kPrefix, s};
      if (h.str("regex", s)) ++kinds, hm.headerValue = {StringMatch::Kind::kRegex, s};
      if (kinds == 0) errors.push_back(requiredError(hp, "must set one of exact, prefix, regex"));
      if (kinds > 1)
        errors.push_back(forbiddenError(hp, "may not set more than one of exact, prefix, regex"));
    });
    if (!hasValue && m.ok() && !m.has("headerValue"))
      errors.push_back(requiredError(p.child("headerValue")));
    out.match.push_back(std::move(hm));
  });
}

Step decodeStep(const Value& v, const FieldPath& path, ErrorList& errors, bool strict) {
  ObjectReader r(v, path, errors, strict);
  std::vector<std::string_view> present;
  for (auto kind : kStepKinds)
    if (r.has(kind)) present.push_back(kind);
  if (r.ok() && present.size() > 1) {
    std::string names;
    for (auto k : present) names += (names.empty() ? "" : ", ") + std::string(k);
    errors.push_back(forbiddenError(path, "may not set more than one step kind: found " + names));
  }
  Step step = PauseStep{};
  if (r.ok() && present.empty()) {
    errors.push_back(requiredError(
        path, "must set one of setWeight, pause, analysis, setHeaderRoute, setCanaryScale"));
  }
  std::string_view kind = present.empty() ? std::string_view() : present.front();
  // Mark every kind as known so that a second kind is not also an "unknown field".
  for (auto k : kStepKinds) {
    const Value* sub = r.get(k);
    if (!sub || k != kind) continue;
    FieldPath p = path.child(k);
    if (k == "setWeight") {
      SetWeightStep s;
      r.i32("setWeight", s.weight);
      step = s;
    } else if (k == "pause") {
      PauseStep s;
      ObjectReader pr(*sub, p, errors, strict);
      Duration d{};
      if (pr.duration("duration", d, /*allowSeconds=*/true)) s.duration = d;
      step = s;
    } else if (k == "analysis") {
      AnalysisStep s;
      decodeAnalysis(*sub, p, errors, strict, /*inStep=*/true, s.analysis);
      step = std::move(s);
    } else if (k == "setHeaderRoute") {
      SetHeaderRouteStep s;
      decodeHeaderRoute(*sub, p, errors, strict, s);
      step = std::move(s);
    } else if (k == "setCanaryScale") {
      SetCanaryScaleStep s;
      ObjectReader sr(*sub, p, errors, strict);
      sr.optI32("replicas", s.replicas);
      sr.optI32("weight", s.weight);
      sr.boolean("matchTrafficWeight", s.matchTrafficWeight);
      step = s;
    }
  }
  return step;
}

// ---- strategy ----

void decodeTrafficRouting(const Value& v, const FieldPath& path, ErrorList& errors, bool strict,
                          TrafficRouting& out) {
  ObjectReader r(v, path, errors, strict);
  r.optI32("maxTrafficWeight", out.maxTrafficWeight);
  r.object("nginx", [&](const Value& n, const FieldPath& p) {
    ObjectReader nr(n, p, errors, strict);
    NginxTrafficRouting nginx;
    nr.str("stableIngress", nginx.stableIngress);
    nr.stringList("stableIngresses", nginx.stableIngresses);
    nr.str("annotationPrefix", nginx.annotationPrefix);
    nr.stringMap("additionalIngressAnnotations", nginx.additionalIngressAnnotations);
    out.nginx = std::move(nginx);
  });
  r.object("gatewayAPI", [&](const Value& g, const FieldPath& p) {
    ObjectReader gr(g, p, errors, strict);
    GatewayApiTrafficRouting gw;
    gr.str("httpRoute", gw.httpRoute);
    gr.stringList("managedRoutes", gw.managedRoutes);
    out.gatewayAPI = std::move(gw);
  });
}

void decodeCanary(const Value& v, const FieldPath& path, ErrorList& errors, bool strict,
                  CanaryStrategy& out) {
  ObjectReader r(v, path, errors, strict);
  r.str("stableService", out.stableService);
  r.str("canaryService", out.canaryService);
  r.i32("scaleDownDelaySeconds", out.scaleDownDelaySeconds);
  r.i32("abortScaleDownDelaySeconds", out.abortScaleDownDelaySeconds);
  r.object("trafficRouting", [&](const Value& t, const FieldPath& p) {
    TrafficRouting tr;
    decodeTrafficRouting(t, p, errors, strict, tr);
    out.trafficRouting = std::move(tr);
  });
  r.object("analysis", [&](const Value& a, const FieldPath& p) {
    AnalysisSpec spec;
    decodeAnalysis(a, p, errors, strict, /*inStep=*/false, spec);
    out.analysis = std::move(spec);
  });
  r.array("steps", [&](const Value& s, const FieldPath& p) {
    out.steps.push_back(decodeStep(s, p, errors, strict));
  });
}

void decodeSpec(const Value& v, const FieldPath& path, ErrorList& errors, bool strict,
                RolloutSpec& out) {
  ObjectReader r(v, path, errors, strict);
  r.i32("replicas", out.replicas);
  r.object("selector", [&](const Value& s, const FieldPath& p) {
    LabelSelector sel;
    decodeSelector(s, p, errors, strict, sel);
    out.selector = std::move(sel);
  });
  r.object("template", [&](const Value& t, const FieldPath& p) {
    PodTemplate tpl;
    decodePodTemplate(t, p, errors, tpl);
    out.podTemplate = std::move(tpl);
  });
  r.i32("revisionHistoryLimit", out.revisionHistoryLimit);
  r.i32("progressDeadlineSeconds", out.progressDeadlineSeconds);
  r.boolean("paused", out.paused);
  r.object("strategy", [&](const Value& s, const FieldPath& p) {
    ObjectReader sr(s, p, errors, strict);
    sr.object("canary", [&](const Value& c, const FieldPath& cp) {
      CanaryStrategy canary;
      decodeCanary(c, cp, errors, strict, canary);
      out.strategy.canary = std::move(canary);
    });
  });
}

// ---- status ----

// Measurement values are strings in status ("0.01", "NaN", "+Inf"); numbers are accepted.
void readMeasuredValue(ObjectReader& r, std::string_view key, std::optional<double>& out) {
  const Value* v = r.get(key);
  if (!v) return;
  if (v->IsNumber()) {
    out = v->GetDouble();
    return;
  }
  if (v->IsString()) {
    std::string s(sv(*v));
    if (s == "NaN") {
      out = std::numeric_limits<double>::quiet_NaN();
      return;
    }
    if (s == "+Inf" || s == "Inf") {
      out = std::numeric_limits<double>::infinity();
      return;
    }
    if (s == "-Inf") {
      out = -std::numeric_limits<double>::infinity();
      return;
    }
    double d = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec == std::errc() && ptr == s.data() + s.size()) {
      out = d;
      return;
    }
  }
  r.errors().push_back(invalidError(r.path().child(key), renderValue(*v), "must be a number"));
}

void readAnalysisPhase(ObjectReader& r, std::string_view key, AnalysisPhase& out) {
  std::string s;
  if (!r.str(key, s)) return;
  if (auto p = parseAnalysisPhase(s)) {
    out = *p;
  } else {
    r.errors().push_back(
        notSupportedError(r.path().child(key), s,
                          {"Pending", "Running", "Successful", "Failed", "Error", "Inconclusive"}));
  }
}

Measurement decodeMeasurement(const Value& v, const FieldPath& path, ErrorList& errors) {
  ObjectReader r(v, path, errors, false);
  Measurement m;
  readAnalysisPhase(r, "phase", m.phase);
  readMeasuredValue(r, "value", m.value);
  r.str("query", m.query);
  r.str("message", m.message);
  r.time("startedAt", m.startedAt);
  r.time("finishedAt", m.finishedAt);
  return m;
}

void decodeStatusInto(const Value& v, const FieldPath& path, ErrorList& errors,
                      RolloutStatus& out) {
  ObjectReader r(v, path, errors, false);
  std::string phase;
  if (r.str("phase", phase)) {
    if (auto p = parseRolloutPhase(phase)) {
      out.phase = *p;
    } else {
      errors.push_back(notSupportedError(path.child("phase"), phase,
                                         {"Healthy", "Progressing", "Paused", "Degraded"}));
    }
  }
  r.str("message", out.message);
  r.i64("observedGeneration", out.observedGeneration);
  r.str("currentPodHash", out.currentPodHash);
  r.str("stableRS", out.stableRS);
  r.optI32("currentStepIndex", out.currentStepIndex);
  r.i32("canaryWeight", out.canaryWeight);
  r.i32("replicas", out.replicas);
  r.i32("updatedReplicas", out.updatedReplicas);
  r.i32("readyReplicas", out.readyReplicas);
  r.i32("availableReplicas", out.availableReplicas);
  r.str("selector", out.selector);
  r.boolean("abort", out.abort);
  r.time("abortedAt", out.abortedAt);
  r.boolean("promoteFull", out.promoteFull);
  r.optI32("collisionCount", out.collisionCount);
  r.array("pauseConditions", [&](const Value& item, const FieldPath& p) {
    ObjectReader pr(item, p, errors, false);
    PauseCondition pc;
    pr.str("reason", pc.reason);
    std::optional<Time> t;
    pr.time("startTime", t);
    if (t) pc.startTime = *t;
    out.pauseConditions.push_back(std::move(pc));
  });
  r.array("conditions", [&](const Value& item, const FieldPath& p) {
    ObjectReader cr(item, p, errors, false);
    Condition c;
    cr.str("type", c.type);
    cr.str("status", c.status);
    cr.str("reason", c.reason);
    cr.str("message", c.message);
    cr.time("lastTransitionTime", c.lastTransitionTime);
    cr.time("lastUpdateTime", c.lastUpdateTime);
    cr.i64("observedGeneration", c.observedGeneration);
    out.conditions.push_back(std::move(c));
  });
  r.object("analysis", [&](const Value& a, const FieldPath& p) {
    ObjectReader ar(a, p, errors, false);
    AnalysisStatus st;
    readAnalysisPhase(ar, "phase", st.phase);
    ar.str("message", st.message);
    ar.optI32("stepIndex", st.stepIndex);
    ar.time("nextMeasurementAt", st.nextMeasurementAt);
    ar.array("metrics", [&](const Value& item, const FieldPath& mp) {
      ObjectReader mr(item, mp, errors, false);
      MetricResult m;
      mr.str("name", m.name);
      readAnalysisPhase(mr, "phase", m.phase);
      readMeasuredValue(mr, "lastValue", m.lastValue);
      mr.number("min", m.min);
      mr.number("max", m.max);
      mr.i32("count", m.count);
      mr.i32("successful", m.successful);
      mr.i32("failed", m.failed);
      mr.i32("inconclusive", m.inconclusive);
      mr.i32("error", m.error);
      mr.i32("consecutiveError", m.consecutiveError);
      mr.array("measurements", [&](const Value& me, const FieldPath& mep) {
        m.measurements.push_back(decodeMeasurement(me, mep, errors));
      });
      st.metrics.push_back(std::move(m));
    });
    out.analysis = std::move(st);
  });
  r.array("history", [&](const Value& item, const FieldPath& p) {
    ObjectReader hr(item, p, errors, false);
    HistoryEntry h;
    hr.i64("revision", h.revision);
    hr.str("podHash", h.podHash);
    hr.str("outcome", h.outcome);
    hr.str("reason", h.reason);
    hr.time("startedAt", h.startedAt);
    hr.time("finishedAt", h.finishedAt);
    hr.str("metric", h.metric);
    hr.object("measurement", [&](const Value& me, const FieldPath& mep) {
      h.measurement = decodeMeasurement(me, mep, errors);
    });
    out.history.push_back(std::move(h));
  });
}

// Checks apiVersion and kind of a top-level object.
void checkTypeMeta(ObjectReader& r, std::string_view kind) {
  std::string apiVersion, gotKind;
  if (!r.ok()) return;
  if (!r.str("apiVersion", apiVersion)) {
    if (!r.has("apiVersion")) r.errors().push_back(requiredError(FieldPath("apiVersion")));
  } else if (apiVersion != kApiVersion) {
    r.errors().push_back(notSupportedError(FieldPath("apiVersion"), apiVersion, {kApiVersion}));
  }
  if (!r.str("kind", gotKind)) {
    if (!r.has("kind")) r.errors().push_back(requiredError(FieldPath("kind")));
  } else if (gotKind != kind) {
    r.errors().push_back(notSupportedError(FieldPath("kind"), gotKind, {kind}));
  }
}

}  // namespace

ObjectMeta decodeObjectMeta(const Value& value, const FieldPath& path, ErrorList& errors) {
  ObjectMeta meta;
  ObjectReader r(value, path, errors, false);
  r.str("name", meta.name);
  r.str("generateName", meta.generateName);
  r.str("namespace", meta.namespace_);
  r.str("uid", meta.uid);
  r.str("resourceVersion", meta.resourceVersion);
  r.i64("generation", meta.generation);
  r.time("creationTimestamp", meta.creationTimestamp);
  r.time("deletionTimestamp", meta.deletionTimestamp);
  r.stringMap("labels", meta.labels);
  r.stringMap("annotations", meta.annotations);
  r.stringList("finalizers", meta.finalizers);
  r.array("ownerReferences", [&](const Value& item, const FieldPath& p) {
    OwnerReference ref;
    decodeOwnerReference(item, p, errors, ref);
    meta.ownerReferences.push_back(std::move(ref));
  });
  return meta;
}

namespace {

// Reads what every top-level object has (apiVersion, kind, metadata); false when the
// value is not an object, which is then the one error.
bool readTopLevel(ObjectReader& r, const Value& value, std::string_view kind, ObjectMeta& meta) {
  if (!r.ok()) {
    if (value.IsNull()) r.errors().push_back(requiredError(FieldPath(), "an object"));
    return false;
  }
  checkTypeMeta(r, kind);
  if (const Value* m = r.get("metadata"))
    meta = decodeObjectMeta(*m, FieldPath("metadata"), r.errors());
  return true;
}

}  // namespace

Decoded<Rollout> decodeRollout(const Value& value, DecodeOptions options) {
  Decoded<Rollout> out;
  ObjectReader r(value, FieldPath(), out.errors, options.strict);
  if (!readTopLevel(r, value, kRolloutKind, out.object.metadata)) return out;
  if (const Value* s = r.get("spec")) {
    decodeSpec(*s, FieldPath("spec"), out.errors, options.strict, out.object.spec);
  } else {
    out.errors.push_back(requiredError(FieldPath("spec")));
  }
  if (const Value* st = r.get("status"))
    decodeStatusInto(*st, FieldPath("status"), out.errors, out.object.status);
  return out;
}

Decoded<RolloutStatus> decodeRolloutStatus(const Value& value) {
  Decoded<RolloutStatus> out;
  decodeStatusInto(value, FieldPath("status"), out.errors, out.object);
  return out;
}

Decoded<AnalysisTemplate> decodeAnalysisTemplate(const Value& value, DecodeOptions options) {
  Decoded<AnalysisTemplate> out;
  ObjectReader r(value, FieldPath(), out.errors, options.strict);
  if (!readTopLevel(r, value, kAnalysisTemplateKind, out.object.metadata)) return out;
  if (const Value* s = r.get("spec")) {
    ObjectReader sr(*s, FieldPath("spec"), out.errors, options.strict);
    sr.object("prometheus", [&](const Value& p, const FieldPath& pp) {
      PrometheusProvider prom;
      decodePrometheus(p, pp, out.errors, options.strict, prom);
      out.object.spec.prometheus = std::move(prom);
    });
    sr.array("metrics", [&](const Value& item, const FieldPath& p) {
      Metric m;
      decodeMetric(item, p, out.errors, options.strict, m);
      out.object.spec.metrics.push_back(std::move(m));
    });
  } else {
    out.errors.push_back(requiredError(FieldPath("spec")));
  }
  return out;
}

}  // namespace canaryd::api
