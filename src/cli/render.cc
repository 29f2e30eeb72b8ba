#include "cli/render.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "api/json.h"
#include "controller/names.h"

namespace canaryd::cli {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

std::string joined(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

// A "Label:  value" line of the summary, labels padded to one width.
void field(std::string& out, std::string_view label, std::string_view value) {
  std::string l(label);
  l += ':';
  l.resize(std::max<size_t>(l.size() + 1, 15), ' ');
  out += l;
  out += value;
  out += '\n';
}

std::string threshold(const std::optional<double>& min, const std::optional<double>& max) {
  if (min && max) return formatValue(*min) + ".." + formatValue(*max);
  if (max) return "<= " + formatValue(*max);
  if (min) return ">= " + formatValue(*min);
  return "-";
}

// Images of the pod template's containers, in order.
std::vector<std::string> templateImages(const api::Rollout& r) {
  std::vector<std::string> images;
  if (!r.spec.podTemplate) return images;
  auto doc = api::parseJson(r.spec.podTemplate->json);
  if (!doc || !doc->IsObject()) return images;
  auto spec = doc->FindMember("spec");
  if (spec == doc->MemberEnd() || !spec->value.IsObject()) return images;
  auto containers = spec->value.FindMember("containers");
  if (containers == spec->value.MemberEnd() || !containers->value.IsArray()) return images;
  for (const auto& c : containers->value.GetArray()) {
    if (!c.IsObject()) continue;
    auto image = c.FindMember("image");
    if (image != c.MemberEnd() && image->value.IsString())
      images.push_back(image->value.GetString());
  }
  return images;
}

std::string trafficDescription(const api::CanaryStrategy& c) {
  if (c.trafficRouting && c.trafficRouting->nginx) {
    const auto& n = *c.trafficRouting->nginx;
    std::vector<std::string> ingresses = n.stableIngresses;
    if (!n.stableIngress.empty()) ingresses.insert(ingresses.begin(), n.stableIngress);
    return "nginx Ingress " + joined(ingresses, ", ");
  }
  if (c.trafficRouting && c.trafficRouting->gatewayAPI)
    return "Gateway API HTTPRoute " + c.trafficRouting->gatewayAPI->httpRoute;
  return "replica ratio";
}

bool canaryActive(const api::RolloutStatus& s) {
  return !s.currentPodHash.empty() && !s.stableRS.empty() && s.currentPodHash != s.stableRS;
}

// When the pause step the Rollout waits at ends, if it has a duration.
std::optional<api::Time> pauseEnd(const api::Rollout& r) {
  const auto& s = r.status;
  if (!r.spec.strategy.canary || !s.currentStepIndex) return std::nullopt;
  const auto& steps = r.spec.strategy.canary->steps;
  int32_t i = *s.currentStepIndex;
  if (i < 0 || i >= static_cast<int32_t>(steps.size())) return std::nullopt;
  const auto* pause = std::get_if<api::PauseStep>(&steps[i]);
  if (!pause || !pause->duration) return std::nullopt;
  for (const auto& p : s.pauseConditions)
    if (p.reason == "PauseStep")
      return p.startTime + std::chrono::ceil<std::chrono::seconds>(*pause->duration);
  return std::nullopt;
}

std::string replicaSetRow(std::string_view role, const std::string& expectedName,
                          const std::optional<controller::ReplicaSetView>& rs, Row& row) {
  row = {std::string(role), expectedName};
  if (!rs) {
    row.insert(row.end(), {"-", "-", "-", "-"});
    return "not found";
  }
  row.insert(row.end(), {str(rs->specReplicas), str(rs->replicas), str(rs->readyReplicas),
                         str(rs->availableReplicas)});
  return "";
}

std::string historyMetric(const api::HistoryEntry& h) {
  if (h.metric.empty()) return "-";
  std::string m = h.metric;
  if (h.measurement && h.measurement->value) m += "=" + formatValue(*h.measurement->value);
  return m;
}

std::string historyDuration(const api::HistoryEntry& h) {
  if (!h.startedAt || !h.finishedAt) return "-";
  return humanDuration(*h.finishedAt - *h.startedAt);
}

std::vector<Row> historyRows(const api::Rollout& r, const RenderOptions& o, size_t limit) {
  std::vector<Row> rows{
      {"REVISION", "REPLICASET", "OUTCOME", "REASON", "METRIC", "DURATION", "FINISHED"}};
  const auto& h = r.status.history;
  size_t first = limit > 0 && h.size() > limit ? h.size() - limit : 0;
  for (size_t i = first; i < h.size(); ++i) {
    const auto& e = h[i];
    rows.push_back(
        {str(e.revision),
         e.podHash.empty() ? "-" : controller::replicaSetName(r.metadata.name, e.podHash),
         Cell(e.outcome, e.outcome == "Promoted" ? kGreen : kRed),
         e.reason.empty() ? "-" : e.reason, historyMetric(e), historyDuration(e),
         e.finishedAt ? age(e.finishedAt, o.now) + " ago" : "-"});
  }
  return rows;
}

}  // namespace

std::string colorize(std::string_view text, std::string_view sgr, bool color) {
  if (!color || sgr.empty()) return std::string(text);
  std::string out = "\x1b[";
  out += sgr;
  out += 'm';
  out += text;
  out += "\x1b[0m";
  return out;
}

std::string formatTable(const std::vector<Row>& rows, bool color, int indent) {
  constexpr size_t kMinWidth = 6, kPadding = 3;
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].text.size());
  }
  std::string out;
  for (const auto& row : rows) {
    out.append(static_cast<size_t>(indent), ' ');
    for (size_t i = 0; i < row.size(); ++i) {
      out += colorize(row[i].text, row[i].sgr, color);
      if (i + 1 < row.size())
        out.append(std::max(kMinWidth, widths[i] + kPadding) - row[i].text.size(), ' ');
    }
    // An empty last cell leaves padding behind; kubectl's lines carry none.
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += '\n';
  }
  return out;
}

std::string humanDuration(std::chrono::seconds d) {
  // apimachinery/pkg/util/duration.HumanDuration.
  const int64_t seconds = d.count();
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return str(seconds) + "s";
  const int64_t minutes = seconds / 60;
  if (minutes < 10) {
    int64_t s = seconds % 60;
    return s == 0 ? str(minutes) + "m" : str(minutes) + "m" + str(s) + "s";
  }
  if (minutes < 60 * 3) return str(minutes) + "m";
  const int64_t hours = seconds / 3600;
  if (hours < 8) {
    int64_t m = minutes % 60;
    return m == 0 ? str(hours) + "h" : str(hours) + "h" + str(m) + "m";
  }
  if (hours < 48) return str(hours) + "h";
  if (hours < 24 * 8) {
    int64_t h = hours % 24;
    return h == 0 ? str(hours / 24) + "d" : str(hours / 24) + "d" + str(h) + "h";
  }
  if (hours < 24 * 365 * 2) return str(hours / 24) + "d";
  if (hours < 24 * 365 * 8) {
    int64_t dy = (hours / 24) % 365;
    return dy == 0 ? str(hours / 24 / 365) + "y" : str(hours / 24 / 365) + "y" + str(dy) + "d";
  }
  return str(hours / 24 / 365) + "y";
}

std::string age(const std::optional<api::Time>& t, api::Time now) {
  if (!t) return "<unknown>";
  return humanDuration(now - *t);
}

std::string formatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 4);
  return std::string(buf, res.ptr);
}

std::string describeStep(const api::Step& step) {
  if (const auto* w = std::get_if<api::SetWeightStep>(&step)) return "setWeight: " + str(w->weight);
  if (const auto* p = std::get_if<api::PauseStep>(&step))
    return p->duration ? "pause: " + api::formatDuration(*p->duration) : "pause: until promoted";
  if (const auto* a = std::get_if<api::AnalysisStep>(&step)) {
    std::vector<std::string> names;
    for (const auto& m : a->analysis.metrics) names.push_back(m.name);
    for (const auto& t : a->analysis.templates) names.push_back("template " + t.name);
    std::string out =
        "analysis: " + str(a->analysis.count) + " x " + api::formatDuration(a->analysis.interval);
    if (!names.empty()) out += " (" + joined(names, ", ") + ")";
    return out;
  }
  if (const auto* h = std::get_if<api::SetHeaderRouteStep>(&step)) {
    std::vector<std::string> matches;
    for (const auto& m : h->match) {
      std::string op = m.headerValue.kind == api::StringMatch::Kind::kExact    ? "="
                       : m.headerValue.kind == api::StringMatch::Kind::kPrefix ? "^="
                                                                               : "~=";
      matches.push_back(m.headerName + op + m.headerValue.value);
    }
    if (!h->cookie.empty()) matches.push_back("cookie " + h->cookie + "=always");
    std::string out = "setHeaderRoute: ";
    if (!h->name.empty()) out += h->name + " ";
    out += matches.empty() ? "remove" : joined(matches, ", ");
    return out;
  }
  const auto& c = std::get<api::SetCanaryScaleStep>(step);
  if (c.replicas) return "setCanaryScale: " + str(*c.replicas) + " replicas";
  if (c.weight) return "setCanaryScale: " + str(*c.weight) + "% of replicas";
  return "setCanaryScale: match traffic weight";
}

std::string stepProgress(const api::Rollout& r) {
  if (!r.spec.strategy.canary || !r.status.currentStepIndex) return "-";
  return str(*r.status.currentStepIndex) + "/" + str(r.spec.strategy.canary->steps.size());
}

std::string effectivePhase(const api::Rollout& r) {
  if (r.status.phase == api::RolloutPhase::kNone) return "Unknown";
  if (r.status.observedGeneration < r.metadata.generation) return "Progressing";
  return std::string(api::toString(r.status.phase));
}

std::string_view phaseColor(std::string_view phase) {
  if (phase == "Healthy" || phase == "Successful" || phase == "Promoted") return kGreen;
  if (phase == "Degraded" || phase == "Failed" || phase == "Error" || phase == "Aborted")
    return kRed;
  if (phase == "Paused" || phase == "Inconclusive") return kYellow;
  if (phase == "Progressing" || phase == "Running" || phase == "Pending") return kBlue;
  return {};
}

std::string renderList(const std::vector<api::Rollout>& rollouts, bool allNamespaces,
                       const RenderOptions& o) {
  std::vector<Row> rows;
  Row header{"NAME", "PHASE", "STEP", "WEIGHT", "AGE"};
  if (allNamespaces) header.insert(header.begin(), "NAMESPACE");
  rows.push_back(std::move(header));
  for (const auto& r : rollouts) {
    std::string phase = effectivePhase(r);
    Row row{r.metadata.name, Cell(phase, phaseColor(phase)), stepProgress(r),
            str(r.status.canaryWeight), age(r.metadata.creationTimestamp, o.now)};
    if (allNamespaces) row.insert(row.begin(), r.metadata.namespace_);
    rows.push_back(std::move(row));
  }
  return formatTable(rows, o.color);
}

std::string renderStatusLine(const api::Rollout& r, const RenderOptions& o) {
  std::string phase = effectivePhase(r);
  std::string out = colorize(phase, phaseColor(phase), o.color);
  std::string message = r.status.message;
  if (r.status.phase != api::RolloutPhase::kNone &&
      r.status.observedGeneration < r.metadata.generation)
    message = "waiting for canaryd to observe generation " + str(r.metadata.generation) +
              " (observed " + str(r.status.observedGeneration) + ")";
  else if (r.status.phase == api::RolloutPhase::kNone)
    message = "canaryd has not reported a status yet";
  if (!message.empty()) out += " - " + message;
  return out + "\n";
}

std::string renderGet(const RolloutDetails& d, const RenderOptions& o) {
  const api::Rollout& r = d.rollout;
  const api::RolloutStatus& s = r.status;
  std::string out;
  std::string phase = effectivePhase(r);

  field(out, "Name", r.metadata.name);
  field(out, "Namespace", r.metadata.namespace_);
  field(out, "Phase", colorize(phase, phaseColor(phase), o.color));
  if (!s.message.empty()) field(out, "Message", s.message);
  if (r.status.observedGeneration < r.metadata.generation)
    field(out, "Generation",
          str(r.metadata.generation) + " (observed " + str(s.observedGeneration) + ")");
  if (r.spec.strategy.canary) {
    const auto& c = *r.spec.strategy.canary;
    field(out, "Strategy", "canary, traffic by " + trafficDescription(c));
    field(out, "Step", stepProgress(r));
    int32_t total = c.trafficRouting && c.trafficRouting->maxTrafficWeight
                        ? *c.trafficRouting->maxTrafficWeight
                        : api::kDefaultMaxTrafficWeight;
    std::string weight =
        "canary " + str(s.canaryWeight) + ", stable " + str(std::max(0, total - s.canaryWeight));
    if (total != 100) weight += " (of " + str(total) + ")";
    field(out, "Weight", weight);
  }
  if (r.spec.paused) field(out, "Paused", "spec.paused is true (kubectl canary resume)");
  for (const auto& p : s.pauseConditions) {
    std::string v = p.reason + " for " + humanDuration(o.now - p.startTime);
    if (auto end = pauseEnd(r); end && p.reason == "PauseStep")
      v += " (" + humanDuration(std::max(std::chrono::seconds(0), *end - o.now)) + " left)";
    else if (p.reason == "PauseStep")
      v += " (until promoted: kubectl canary promote " + r.metadata.name + ")";
    field(out, "Paused", v);
  }
  if (s.abort)
    field(out, "Aborted",
          s.abortedAt
              ? age(s.abortedAt, o.now) + " ago (kubectl canary retry " + r.metadata.name + ")"
              : "yes");
  field(out, "Replicas",
        "desired " + str(r.spec.replicas) + ", current " + str(s.replicas) + ", updated " +
            str(s.updatedReplicas) + ", ready " + str(s.readyReplicas) + ", available " +
            str(s.availableReplicas));
  if (auto images = templateImages(r); !images.empty()) field(out, "Images", joined(images, ", "));
  field(out, "Age", age(r.metadata.creationTimestamp, o.now));

  if (r.spec.strategy.canary && !r.spec.strategy.canary->steps.empty()) {
    const auto& steps = r.spec.strategy.canary->steps;
    out += "\nSteps:\n";
    const bool active = canaryActive(s);
    const int32_t current = s.currentStepIndex.value_or(-1);
    for (size_t i = 0; i < steps.size(); ++i) {
      const auto idx = static_cast<int32_t>(i);
      std::string mark = "[ ]";
      std::string_view sgr;
      if (active && idx == current) {
        mark = "[>]";
        sgr = s.abort ? kRed : kBold;
      } else if (idx < current || (!active && current >= 0)) {
        mark = "[x]";
      }
      std::string line = mark + " " + str(idx) + "  " + describeStep(steps[i]);
      out += "  " + colorize(line, sgr, o.color) + "\n";
    }
  }

  if (!s.stableRS.empty() || canaryActive(s)) {
    out += "\nReplicaSets:\n";
    std::vector<Row> rows{{"ROLE", "NAME", "DESIRED", "CURRENT", "READY", "AVAILABLE"}};
    Row row;
    if (!s.stableRS.empty()) {
      replicaSetRow("stable", controller::replicaSetName(r.metadata.name, s.stableRS), d.stable,
                    row);
      rows.push_back(row);
    }
    if (canaryActive(s)) {
      replicaSetRow("canary", controller::replicaSetName(r.metadata.name, s.currentPodHash),
                    d.canary, row);
      rows.push_back(row);
    }
    out += formatTable(rows, o.color, 2);
  }

  if (s.analysis && !s.analysis->metrics.empty()) {
    const auto& a = *s.analysis;
    std::string aphase(api::toString(a.phase));
    std::string head = colorize(aphase.empty() ? "Pending" : aphase, phaseColor(aphase), o.color);
    head += a.stepIndex ? " (step " + str(*a.stepIndex) + ")" : " (background)";
    if (a.nextMeasurementAt && *a.nextMeasurementAt > o.now)
      head += ", next measurement in " + humanDuration(*a.nextMeasurementAt - o.now);
    out += "\nAnalysis: " + head + "\n";
    if (!a.message.empty()) out += "  " + a.message + "\n";
    std::vector<Row> rows{{"METRIC", "PHASE", "LAST", "THRESHOLD", "RECENT", "OK", "FAILED",
                           "INCONCLUSIVE", "ERRORS"}};
    for (const auto& m : a.metrics) {
      std::vector<std::string> recent;
      size_t first = m.measurements.size() > 3 ? m.measurements.size() - 3 : 0;
      for (size_t i = first; i < m.measurements.size(); ++i) {
        const auto& mm = m.measurements[i];
        recent.push_back(
            mm.value ? formatValue(*mm.value)
                     : std::string(mm.phase == api::AnalysisPhase::kError ? "error" : "no data"));
      }
      std::string mphase(api::toString(m.phase));
      rows.push_back({m.name, Cell(mphase.empty() ? "-" : mphase, phaseColor(mphase)),
                      m.lastValue ? formatValue(*m.lastValue) : "-", threshold(m.min, m.max),
                      recent.empty() ? "-" : joined(recent, ", "), str(m.successful), str(m.failed),
                      str(m.inconclusive), str(m.error)});
    }
    out += formatTable(rows, o.color, 2);
    // The message of the newest measurement that did not pass says why.
    for (const auto& m : a.metrics) {
      if (m.measurements.empty()) continue;
      const auto& last = m.measurements.back();
      if (last.phase != api::AnalysisPhase::kSuccessful && !last.message.empty())
        out += "  " + m.name + ": " + last.message + "\n";
    }
  }

  if (!s.history.empty()) {
    out += "\nHistory (last " + str(std::min<size_t>(s.history.size(), 5)) + " of " +
           str(s.history.size()) + "):\n";
    out += formatTable(historyRows(r, o, 5), o.color, 2);
  }

  if (!s.conditions.empty()) {
    out += "\nConditions:\n";
    std::vector<Row> rows{{"TYPE", "STATUS", "REASON", "AGE", "MESSAGE"}};
    for (const auto& c : s.conditions) {
      std::string_view sgr;
      if (c.type == "Ready") sgr = c.status == "True" ? kGreen : kYellow;
      if ((c.type == "Aborted" || c.type == "InvalidSpec") && c.status == "True") sgr = kRed;
      rows.push_back({c.type, Cell(c.status, sgr), c.reason.empty() ? "-" : c.reason,
                      age(c.lastTransitionTime, o.now), c.message});
    }
    out += formatTable(rows, o.color, 2);
  }
  return out;
}

std::string renderHistory(const api::Rollout& r, const RenderOptions& o, size_t limit) {
  if (r.status.history.empty()) return "";
  return formatTable(historyRows(r, o, limit), o.color);
}

}  // namespace canaryd::cli
