#include "api/encode.h"

#include <charconv>
#include <cmath>

#include "api/json.h"

namespace canaryd::api {
namespace {

using Value = rapidjson::Value;
using Alloc = rapidjson::Document::AllocatorType;

// Builds one JSON object member by member, skipping empty optional fields.
class ObjectWriter {
 public:
  ObjectWriter(Value& out, Alloc& alloc) : out_(out), alloc_(alloc) { out_.SetObject(); }

  void str(std::string_view key, std::string_view v, bool omitEmpty = true) {
    if (omitEmpty && v.empty()) return;
    add(key, Value(v.data(), static_cast<rapidjson::SizeType>(v.size()), alloc_));
  }
  void i64(std::string_view key, int64_t v) { add(key, Value(static_cast<int64_t>(v))); }
  void i64IfNonZero(std::string_view key, int64_t v) {
    if (v != 0) i64(key, v);
  }
  void optI32(std::string_view key, const std::optional<int32_t>& v) {
    if (v) i64(key, *v);
  }
  void boolean(std::string_view key, bool v) { add(key, Value(v)); }
  void boolIfTrue(std::string_view key, bool v) {
    if (v) boolean(key, v);
  }
  void number(std::string_view key, const std::optional<double>& v) {
    if (v && std::isfinite(*v)) add(key, Value(*v));
  }
  void duration(std::string_view key, Duration d) { str(key, formatDuration(d)); }
  void time(std::string_view key, const std::optional<Time>& t) {
    if (t) str(key, formatTime(*t));
  }
  void stringMap(std::string_view key, const StringMap& m) {
    if (m.empty()) return;
    Value obj(rapidjson::kObjectType);
    for (const auto& [k, v] : m)
      obj.AddMember(Value(k.c_str(), alloc_), Value(v.c_str(), alloc_), alloc_);
    add(key, std::move(obj));
  }
  void stringList(std::string_view key, const std::vector<std::string>& list) {
    if (list.empty()) return;
    Value arr(rapidjson::kArrayType);
    for (const auto& s : list) arr.PushBack(Value(s.c_str(), alloc_), alloc_);
    add(key, std::move(arr));
  }
  template <class F>
  void object(std::string_view key, F&& fill) {
    Value obj;
    ObjectWriter w(obj, alloc_);
    fill(w);
    add(key, std::move(obj));
  }
  template <class T, class F>
  void array(std::string_view key, const std::vector<T>& items, F&& fill) {
    if (items.empty()) return;
    Value arr(rapidjson::kArrayType);
    for (const auto& item : items) {
      Value obj;
      ObjectWriter w(obj, alloc_);
      fill(w, item);
      arr.PushBack(std::move(obj), alloc_);
    }
    add(key, std::move(arr));
  }
  void raw(std::string_view key, Value&& v) { add(key, std::move(v)); }
  Alloc& alloc() { return alloc_; }

 private:
  void add(std::string_view key, Value&& v) {
    out_.AddMember(Value(key.data(), static_cast<rapidjson::SizeType>(key.size()), alloc_), v,
                   alloc_);
  }
  Value& out_;
  Alloc& alloc_;
};

// Shortest text that reads back as the same double; NaN and infinities spelled as
// Prometheus spells them.
std::string measuredValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

void writeMetric(ObjectWriter& w, const Metric& m) {
  w.str("name", m.name);
  w.str("template", m.templateName);
  w.str("query", m.query);
  w.number("min", m.min);
  w.number("max", m.max);
  w.str("noData", toString(m.noData));
}

void writePrometheus(ObjectWriter& w, const PrometheusProvider& p) {
  w.str("address", p.address);
  w.duration("timeout", p.timeout);
  w.boolIfTrue("insecureSkipVerify", p.insecureSkipVerify);
  w.stringMap("headers", p.headers);
  if (p.authSecretRef)
    w.object("authSecretRef", [&](ObjectWriter& s) { s.str("name", p.authSecretRef->name); });
}

void writeAnalysis(ObjectWriter& w, const AnalysisSpec& a, bool inStep) {
  if (inStep) {
    w.i64("count", a.count);
  } else {
    w.i64("startingStep", a.startingStep);
  }
  w.duration("interval", a.interval);
  w.i64("failureLimit", a.failureLimit);
  w.i64("consecutiveErrorLimit", a.consecutiveErrorLimit);
  w.i64("inconclusiveLimit", a.inconclusiveLimit);
  if (a.prometheus)
    w.object("prometheus", [&](ObjectWriter& p) { writePrometheus(p, *a.prometheus); });
  w.array("metrics", a.metrics, writeMetric);
  w.array("templates", a.templates,
          [](ObjectWriter& t, const TemplateRef& ref) { t.str("name", ref.name); });
}

void writeStep(ObjectWriter& w, const Step& step) {
  if (auto* s = std::get_if<SetWeightStep>(&step)) {
    w.i64("setWeight", s->weight);
  } else if (auto* p = std::get_if<PauseStep>(&step)) {
    w.object("pause", [&](ObjectWriter& pw) {
      if (p->duration) pw.duration("duration", *p->duration);
    });
  } else if (auto* a = std::get_if<AnalysisStep>(&step)) {
    w.object("analysis", [&](ObjectWriter& aw) { writeAnalysis(aw, a->analysis, true); });
  } else if (auto* h = std::get_if<SetHeaderRouteStep>(&step)) {
    w.object("setHeaderRoute", [&](ObjectWriter& hw) {
      hw.str("name", h->name);
      hw.str("cookie", h->cookie);
      hw.array("match", h->match, [](ObjectWriter& mw, const HeaderMatch& m) {
        mw.str("headerName", m.headerName);
        mw.object("headerValue", [&](ObjectWriter& vw) {
          std::string_view kind = m.headerValue.kind == StringMatch::Kind::kExact    ? "exact"
                                  : m.headerValue.kind == StringMatch::Kind::kPrefix ? "prefix"
                                                                                     : "regex";
          vw.str(kind, m.headerValue.value, false);
        });
      });
    });
  } else if (auto* c = std::get_if<SetCanaryScaleStep>(&step)) {
    w.object("setCanaryScale", [&](ObjectWriter& cw) {
      cw.optI32("replicas", c->replicas);
      cw.optI32("weight", c->weight);
      cw.boolIfTrue("matchTrafficWeight", c->matchTrafficWeight);
    });
  }
}

void writeCanary(ObjectWriter& w, const CanaryStrategy& c) {
  w.str("stableService", c.stableService);
  w.str("canaryService", c.canaryService);
  w.i64("scaleDownDelaySeconds", c.scaleDownDelaySeconds);
  w.i64("abortScaleDownDelaySeconds", c.abortScaleDownDelaySeconds);
  if (c.trafficRouting) {
    const auto& t = *c.trafficRouting;
    w.object("trafficRouting", [&](ObjectWriter& tw) {
      tw.optI32("maxTrafficWeight", t.maxTrafficWeight);
      if (t.nginx)
        tw.object("nginx", [&](ObjectWriter& nw) {
          nw.str("stableIngress", t.nginx->stableIngress);
          nw.stringList("stableIngresses", t.nginx->stableIngresses);
          nw.str("annotationPrefix", t.nginx->annotationPrefix);
          nw.stringMap("additionalIngressAnnotations", t.nginx->additionalIngressAnnotations);
        });
      if (t.gatewayAPI)
        tw.object("gatewayAPI", [&](ObjectWriter& gw) {
          gw.str("httpRoute", t.gatewayAPI->httpRoute);
          gw.stringList("managedRoutes", t.gatewayAPI->managedRoutes);
        });
    });
  }
  if (c.analysis)
    w.object("analysis", [&](ObjectWriter& aw) { writeAnalysis(aw, *c.analysis, false); });
  if (!c.steps.empty()) {
    Value arr(rapidjson::kArrayType);
    for (const auto& step : c.steps) {
      Value obj;
      ObjectWriter sw(obj, w.alloc());
      writeStep(sw, step);
      arr.PushBack(std::move(obj), w.alloc());
    }
    w.raw("steps", std::move(arr));
  }
}

void writeSpec(ObjectWriter& w, const RolloutSpec& s) {
  w.i64("replicas", s.replicas);
  if (s.selector) {
    w.object("selector", [&](ObjectWriter& sw) {
      sw.stringMap("matchLabels", s.selector->matchLabels);
      sw.array("matchExpressions", s.selector->matchExpressions,
               [](ObjectWriter& ew, const LabelSelectorRequirement& r) {
                 ew.str("key", r.key);
                 ew.str("operator", r.operator_);
                 ew.stringList("values", r.values);
               });
    });
  }
  if (s.podTemplate) {
    auto doc = parseJson(s.podTemplate->json);
    Value copy;
    if (doc) copy.CopyFrom(*doc, w.alloc());
    w.raw("template", std::move(copy));
  }
  w.i64("revisionHistoryLimit", s.revisionHistoryLimit);
  w.i64("progressDeadlineSeconds", s.progressDeadlineSeconds);
  w.boolIfTrue("paused", s.paused);
  w.object("strategy", [&](ObjectWriter& sw) {
    if (s.strategy.canary)
      sw.object("canary", [&](ObjectWriter& cw) { writeCanary(cw, *s.strategy.canary); });
  });
}

void writeMeasurement(ObjectWriter& w, const Measurement& m) {
  w.str("phase", toString(m.phase));
  if (m.value) w.str("value", measuredValue(*m.value));
  w.str("query", m.query);
  w.str("message", m.message);
  w.time("startedAt", m.startedAt);
  w.time("finishedAt", m.finishedAt);
}

void writeStatus(ObjectWriter& w, const RolloutStatus& s) {
  w.str("phase", toString(s.phase));
  w.str("message", s.message);
  w.i64IfNonZero("observedGeneration", s.observedGeneration);
  w.str("currentPodHash", s.currentPodHash);
  w.str("stableRS", s.stableRS);
  w.optI32("currentStepIndex", s.currentStepIndex);
  w.i64("canaryWeight", s.canaryWeight);
  w.i64("replicas", s.replicas);
  w.i64("updatedReplicas", s.updatedReplicas);
  w.i64("readyReplicas", s.readyReplicas);
  w.i64("availableReplicas", s.availableReplicas);
  w.str("selector", s.selector);
  w.boolIfTrue("abort", s.abort);
  w.time("abortedAt", s.abortedAt);
  w.boolIfTrue("promoteFull", s.promoteFull);
  w.optI32("collisionCount", s.collisionCount);
  w.array("pauseConditions", s.pauseConditions, [](ObjectWriter& pw, const PauseCondition& p) {
    pw.str("reason", p.reason);
    pw.str("startTime", formatTime(p.startTime));
  });
  w.array("conditions", s.conditions, [](ObjectWriter& cw, const Condition& c) {
    cw.str("type", c.type);
    cw.str("status", c.status);
    cw.str("reason", c.reason);
    cw.str("message", c.message);
    cw.time("lastTransitionTime", c.lastTransitionTime);
    cw.time("lastUpdateTime", c.lastUpdateTime);
    cw.i64IfNonZero("observedGeneration", c.observedGeneration);
  });
  if (s.analysis) {
    const auto& a = *s.analysis;
    w.object("analysis", [&](ObjectWriter& aw) {
      aw.str("phase", toString(a.phase));
      aw.str("message", a.message);
      aw.optI32("stepIndex", a.stepIndex);
      aw.time("nextMeasurementAt", a.nextMeasurementAt);
      aw.array("metrics", a.metrics, [](ObjectWriter& mw, const MetricResult& m) {
        mw.str("name", m.name);
        mw.str("phase", toString(m.phase));
        if (m.lastValue) mw.str("lastValue", measuredValue(*m.lastValue));
        mw.number("min", m.min);
        mw.number("max", m.max);
        mw.i64("count", m.count);
        mw.i64("successful", m.successful);
        mw.i64("failed", m.failed);
        mw.i64("inconclusive", m.inconclusive);
        mw.i64("error", m.error);
        mw.i64("consecutiveError", m.consecutiveError);
        mw.array("measurements", m.measurements, writeMeasurement);
      });
    });
  }
  w.array("history", s.history, [](ObjectWriter& hw, const HistoryEntry& h) {
    hw.i64("revision", h.revision);
    hw.str("podHash", h.podHash);
    hw.str("outcome", h.outcome);
    hw.str("reason", h.reason);
    hw.time("startedAt", h.startedAt);
    hw.time("finishedAt", h.finishedAt);
    hw.str("metric", h.metric);
    if (h.measurement)
      hw.object("measurement", [&](ObjectWriter& mw) { writeMeasurement(mw, *h.measurement); });
  });
}

template <class F>
std::string toJsonText(F&& encode) {
  rapidjson::Document doc;
  encode(doc, doc.GetAllocator());
  return toJson(doc);
}

}  // namespace

void encodeObjectMeta(const ObjectMeta& m, Value& out, Alloc& alloc) {
  ObjectWriter w(out, alloc);
  w.str("name", m.name);
  w.str("generateName", m.generateName);
  w.str("namespace", m.namespace_);
  w.str("uid", m.uid);
  w.str("resourceVersion", m.resourceVersion);
  w.i64IfNonZero("generation", m.generation);
  w.time("creationTimestamp", m.creationTimestamp);
  w.time("deletionTimestamp", m.deletionTimestamp);
  w.stringMap("labels", m.labels);
  w.stringMap("annotations", m.annotations);
  w.array("ownerReferences", m.ownerReferences, [](ObjectWriter& ow, const OwnerReference& r) {
    ow.str("apiVersion", r.apiVersion);
    ow.str("kind", r.kind);
    ow.str("name", r.name);
    ow.str("uid", r.uid);
    ow.boolIfTrue("controller", r.controller);
    ow.boolIfTrue("blockOwnerDeletion", r.blockOwnerDeletion);
  });
  w.stringList("finalizers", m.finalizers);
}

void encodeRolloutStatus(const RolloutStatus& status, Value& out, Alloc& alloc) {
  ObjectWriter w(out, alloc);
  writeStatus(w, status);
}

void encodeRollout(const Rollout& r, Value& out, Alloc& alloc) {
  ObjectWriter w(out, alloc);
  w.str("apiVersion", kApiVersion);
  w.str("kind", kRolloutKind);
  Value meta;
  encodeObjectMeta(r.metadata, meta, alloc);
  w.raw("metadata", std::move(meta));
  w.object("spec", [&](ObjectWriter& sw) { writeSpec(sw, r.spec); });
  if (!(r.status == RolloutStatus{})) {
    Value status;
    encodeRolloutStatus(r.status, status, alloc);
    w.raw("status", std::move(status));
  }
}

std::string encodeRolloutJson(const Rollout& rollout) {
  return toJsonText([&](Value& v, Alloc& a) { encodeRollout(rollout, v, a); });
}

void encodeAnalysisTemplate(const AnalysisTemplate& t, Value& out, Alloc& alloc) {
  ObjectWriter w(out, alloc);
  w.str("apiVersion", kApiVersion);
  w.str("kind", kAnalysisTemplateKind);
  Value meta;
  encodeObjectMeta(t.metadata, meta, alloc);
  w.raw("metadata", std::move(meta));
  w.object("spec", [&](ObjectWriter& sw) {
    if (t.spec.prometheus)
      sw.object("prometheus", [&](ObjectWriter& p) { writePrometheus(p, *t.spec.prometheus); });
    sw.array("metrics", t.spec.metrics, writeMetric);
  });
}

std::string encodeAnalysisTemplateJson(const AnalysisTemplate& t) {
  return toJsonText([&](Value& v, Alloc& a) { encodeAnalysisTemplate(t, v, a); });
}

}  // namespace canaryd::api
