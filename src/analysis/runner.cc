#include "analysis/runner.h"

#include <set>

#include "analysis/queries.h"

namespace canaryd::analysis {
namespace {

using api::AnalysisPhase;
using controller::AnalysisOutcome;
using controller::AnalysisResult;

bool ended(AnalysisPhase p) {
  return p == AnalysisPhase::kSuccessful || p == AnalysisPhase::kFailed ||
         p == AnalysisPhase::kError || p == AnalysisPhase::kInconclusive;
}

api::Time dueAt(const api::MetricResult& r, api::Duration interval) {
  const auto& last = r.measurements.back();
  api::Time started = last.startedAt ? *last.startedAt : last.finishedAt.value_or(api::Time{});
  return started + std::chrono::ceil<std::chrono::seconds>(interval);
}

bool isDue(const api::MetricResult& r, api::Duration interval, api::Time now) {
  return r.measurements.empty() || dueAt(r, interval) <= now;
}

void record(api::MetricResult& r, api::Measurement m) {
  ++r.count;
  switch (m.phase) {
    case AnalysisPhase::kSuccessful:
      ++r.successful;
      r.consecutiveError = 0;
      break;
    case AnalysisPhase::kFailed:
      ++r.failed;
      r.consecutiveError = 0;
      break;
    case AnalysisPhase::kInconclusive:
      ++r.inconclusive;
      r.consecutiveError = 0;
      break;
    default:
      ++r.error;
      ++r.consecutiveError;
      break;
  }
  // An error measured nothing: the last value measured stays on display.
  if (m.phase != AnalysisPhase::kError) r.lastValue = m.value;
  r.measurements.push_back(std::move(m));
  if (r.measurements.size() > api::kMaxMeasurementsPerMetric)
    r.measurements.erase(r.measurements.begin(),
                         r.measurements.end() - api::kMaxMeasurementsPerMetric);
}

// The metric that decided a terminal analysis phase.
const api::MetricResult* decidingMetric(const api::AnalysisStatus& st) {
  for (const auto& m : st.metrics)
    if (m.phase == st.phase) return &m;
  return nullptr;
}

AnalysisResult verdict(api::AnalysisStatus st, const Limits& limits) {
  AnalysisResult out;
  const api::MetricResult* deciding = decidingMetric(st);
  switch (st.phase) {
    case AnalysisPhase::kFailed:
    case AnalysisPhase::kError:
      out.outcome = AnalysisOutcome::kFailed;
      break;
    case AnalysisPhase::kInconclusive:
      out.outcome = AnalysisOutcome::kInconclusive;
      break;
    case AnalysisPhase::kSuccessful:
      out.outcome = AnalysisOutcome::kSuccessful;
      break;
    default:
      out.outcome = AnalysisOutcome::kRunning;
      break;
  }
  if (out.outcome == AnalysisOutcome::kFailed || out.outcome == AnalysisOutcome::kInconclusive) {
    if (deciding) {
      st.message = metricVerdict(*deciding, limits);
      out.metric = deciding->name;
      if (!deciding->measurements.empty()) out.measurement = deciding->measurements.back();
    }
    out.reason = st.message;
  } else if (out.outcome == AnalysisOutcome::kSuccessful) {
    std::string summary;
    for (const auto& m : st.metrics)
      summary += (summary.empty() ? "" : "; ") + m.name + " passed " +
                 std::to_string(m.successful) + " of " + std::to_string(m.count);
    st.message = "Successful: " + summary;
  }
  if (ended(st.phase)) st.nextMeasurementAt.reset();
  out.status = std::move(st);
  return out;
}

AnalysisResult invalidSpec(api::AnalysisStatus st, api::ErrorList errors) {
  st.phase = AnalysisPhase::kError;
  st.message = "InvalidSpec: " + api::joinErrors(errors);
  st.nextMeasurementAt.reset();
  AnalysisResult out;
  out.outcome = AnalysisOutcome::kInvalidSpec;
  out.reason = st.message;
  out.specErrors = std::move(errors);
  out.status = std::move(st);
  return out;
}

}  // namespace

api::FieldPath analysisPath(std::optional<int32_t> stepIndex) {
  api::FieldPath canary = api::FieldPath("spec").child("strategy").child("canary");
  if (!stepIndex) return canary.child("analysis");
  return canary.child("steps").index(static_cast<size_t>(*stepIndex)).child("analysis");
}

ResolvedAnalysis resolveAnalysis(const api::AnalysisSpec& spec, const api::Rollout& rollout,
                                 const TemplateResolver* templates,
                                 const std::optional<api::PrometheusProvider>& fallback,
                                 const api::FieldPath& path) {
  ResolvedAnalysis out;
  out.metrics = spec.metrics;
  for (size_t i = 0; i < spec.metrics.size(); ++i)
    out.origins.push_back({path.child("metrics").index(i), "", i});
  out.prometheus = spec.prometheus;
  const std::string& ns = rollout.metadata.namespace_;
  for (size_t j = 0; j < spec.templates.size(); ++j) {
    const auto& ref = spec.templates[j];
    api::FieldPath at = path.child("templates").index(j);
    std::optional<api::AnalysisTemplateSpec> t =
        templates ? templates->find(ns, ref.name) : std::nullopt;
    if (!t) {
      out.errors.push_back(api::invalidStringError(
          at.child("name"), ref.name,
          "AnalysisTemplate \"" + ref.name + "\" not found in namespace " + ns));
      continue;
    }
    for (size_t i = 0; i < t->metrics.size(); ++i) {
      out.metrics.push_back(t->metrics[i]);
      out.origins.push_back({at, ref.name, i});
    }
    if (!out.prometheus) out.prometheus = t->prometheus;
  }
  std::set<std::string> names;
  for (size_t i = 0; i < out.metrics.size(); ++i) {
    const auto& m = out.metrics[i];
    if (names.insert(m.name).second) continue;
    const auto& o = out.origins[i];
    std::string detail =
        "metric \"" + m.name + "\" is defined more than once (in metrics and/or AnalysisTemplates)";
    out.errors.push_back(o.templateName.empty()
                             ? api::invalidStringError(o.path.child("name"), m.name, detail)
                             : api::invalidStringError(o.path, o.templateName, detail));
  }
  if (out.metrics.empty() && out.errors.empty())
    out.errors.push_back(api::requiredError(
        path.child("metrics"), "the analysis has no metrics (in metrics or templates)"));
  if (!out.prometheus) {
    const auto& c = rollout.spec.strategy.canary;
    if (c && c->analysis && c->analysis->prometheus) out.prometheus = c->analysis->prometheus;
  }
  if (!out.prometheus) out.prometheus = fallback;
  if (!out.prometheus)
    out.errors.push_back(
        api::requiredError(path.child("prometheus").child("address"),
                           "no Prometheus to query: set prometheus.address in the analysis or its "
                           "AnalysisTemplate, or start canaryd with --prometheus-address"));
  return out;
}

Runner::Runner(ProviderFactory& providers, const TemplateResolver* templates, RunnerOptions options)
    : providers_(providers), templates_(templates), options_(std::move(options)) {}

AnalysisResult Runner::run(const controller::AnalysisRequest& request) {
  const api::AnalysisSpec& spec = request.spec;
  const api::Rollout& rollout = request.rollout;
  Limits limits{spec.failureLimit, spec.consecutiveErrorLimit, spec.inconclusiveLimit,
                request.stepIndex ? std::optional<int32_t>(spec.count) : std::nullopt};

  // Status of another analysis (the background one, or another step's) is not carried on.
  api::AnalysisStatus st;
  const auto& previous = request.status.analysis;
  if (previous && previous->stepIndex == request.stepIndex) st = *previous;
  st.stepIndex = request.stepIndex;

  ResolvedAnalysis resolved = resolveAnalysis(spec, rollout, templates_, options_.defaultPrometheus,
                                              analysisPath(request.stepIndex));

  bool nginx = false;
  if (const auto& c = rollout.spec.strategy.canary)
    nginx = c->trafficRouting && c->trafficRouting->nginx;
  QueryVariables vars =
      queryVariables(rollout, request.canaryHash, request.stableHash, spec.interval);
  std::vector<std::string> queries;
  for (size_t i = 0; i < resolved.metrics.size(); ++i) {
    const auto& m = resolved.metrics[i];
    RenderedQuery q = metricQuery(m, vars, nginx);
    if (!q.error.empty()) {
      const auto& o = resolved.origins[i];
      if (!o.templateName.empty()) {
        // The AnalysisTemplate is another object: name it and the metric's place in it.
        q.error = "AnalysisTemplate " + rollout.metadata.namespace_ + "/" + o.templateName +
                  " spec.metrics[" + std::to_string(o.index) + "]: " + q.error;
        resolved.errors.push_back(api::invalidStringError(o.path, o.templateName, q.error));
      } else if (m.templateName.empty()) {
        resolved.errors.push_back(api::invalidStringError(o.path.child("query"), m.query, q.error));
      } else {
        resolved.errors.push_back(
            api::invalidStringError(o.path.child("template"), m.templateName, q.error));
      }
    }
    queries.push_back(std::move(q.query));
  }
  if (!resolved.errors.empty()) return invalidSpec(std::move(st), std::move(resolved.errors));

  // Results in the order of the metrics, carried over by name.
  std::vector<api::MetricResult> results;
  for (const auto& m : resolved.metrics) {
    api::MetricResult r;
    r.name = m.name;
    for (const auto& old : st.metrics)
      if (old.name == m.name) r = old;
    r.min = m.min;
    r.max = m.max;
    results.push_back(std::move(r));
  }
  st.metrics = std::move(results);

  if (st.phase == AnalysisPhase::kFailed || st.phase == AnalysisPhase::kError ||
      st.phase == AnalysisPhase::kSuccessful)
    return verdict(std::move(st), limits);
  if (st.phase == AnalysisPhase::kInconclusive) {
    // Called again after an Inconclusive verdict: the rollout was resumed (promoted).
    for (auto& r : st.metrics) {
      r.inconclusive = 0;
      if (r.phase == AnalysisPhase::kInconclusive) r.phase = AnalysisPhase::kRunning;
    }
    st.message.clear();
  }

  std::vector<size_t> due;
  std::vector<controller::TakenMeasurement> taken;
  for (size_t i = 0; i < st.metrics.size(); ++i) {
    auto& r = st.metrics[i];
    r.phase = metricPhase(r, limits);
    if (r.phase == AnalysisPhase::kRunning && isDue(r, spec.interval, request.now))
      due.push_back(i);
  }
  if (!due.empty()) {
    std::vector<QueryResult> measured;
    ProviderOrError p = providers_.provider(rollout.metadata.namespace_, *resolved.prometheus);
    if (!p.provider) {
      measured.assign(due.size(), QueryResult::error(p.error));
    } else {
      std::vector<std::string> dueQueries;
      for (size_t i : due) dueQueries.push_back(queries[i]);
      measured = p.provider->measureAll(dueQueries, request.now);
      if (measured.size() != due.size())
        measured.assign(due.size(), QueryResult::error(
                                        "the provider answered " + std::to_string(measured.size()) +
                                        " results for " + std::to_string(due.size()) + " queries"));
    }
    for (size_t k = 0; k < due.size(); ++k) {
      auto& r = st.metrics[due[k]];
      api::Measurement m =
          judgeMeasurement(resolved.metrics[due[k]], queries[due[k]], measured[k], request.now);
      if (options_.onMeasurement) options_.onMeasurement(r.name, api::toString(m.phase));
      taken.push_back({r.name, m});
      record(r, std::move(m));
      r.phase = metricPhase(r, limits);
    }
  }

  st.phase = analysisPhase(st.metrics);
  st.nextMeasurementAt.reset();
  if (st.phase == AnalysisPhase::kRunning) {
    for (const auto& r : st.metrics) {
      if (r.phase != AnalysisPhase::kRunning) continue;
      api::Time at = r.measurements.empty() ? request.now : dueAt(r, spec.interval);
      if (!st.nextMeasurementAt || at < *st.nextMeasurementAt) st.nextMeasurementAt = at;
    }
    st.message.clear();
  }
  AnalysisResult out = verdict(std::move(st), limits);
  out.nextRunAt = out.status.nextMeasurementAt;
  out.taken = std::move(taken);
  return out;
}

}  // namespace canaryd::analysis
