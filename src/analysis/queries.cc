#include "analysis/queries.h"

namespace canaryd::analysis {
namespace {

std::string selector(std::string_view name, const std::vector<std::string>& matchers) {
  std::string s(name);
  s += '{';
  for (size_t i = 0; i < matchers.size(); ++i) s += (i ? "," : "") + matchers[i];
  return s + '}';
}

std::string eq(std::string_view label, std::string_view value) {
  return std::string(label) + "=\"" + escapeLabelValue(value) + "\"";
}

}  // namespace

api::Duration rateWindow(api::Duration interval) {
  auto d = std::max(interval, kMinRateWindow);
  return std::chrono::ceil<std::chrono::seconds>(d);
}

std::string formatPromDuration(api::Duration d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

std::string canaryIngressName(std::string_view rollout, std::string_view stableIngress) {
  return std::string(rollout) + "-" + std::string(stableIngress) + "-canary";
}

QueryVariables queryVariables(const api::Rollout& rollout, std::string_view canaryHash,
                              std::string_view stableHash, api::Duration interval) {
  QueryVariables v;
  v.namespace_ = rollout.metadata.namespace_;
  v.rollout = rollout.metadata.name;
  v.canaryHash = std::string(canaryHash);
  v.stableHash = std::string(stableHash);
  v.interval = formatPromDuration(rateWindow(interval));
  if (const auto& c = rollout.spec.strategy.canary) {
    v.canaryService = c->canaryService;
    v.stableService = c->stableService;
    if (c->trafficRouting && c->trafficRouting->nginx) {
      const auto& n = *c->trafficRouting->nginx;
      std::string stable = !n.stableIngress.empty()     ? n.stableIngress
                           : !n.stableIngresses.empty() ? n.stableIngresses.front()
                                                        : std::string();
      if (!stable.empty()) v.canaryIngress = canaryIngressName(v.rollout, stable);
    }
  }
  return v;
}

std::string escapeLabelValue(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

RenderedQuery builtinQuery(std::string_view name, const QueryVariables& vars, bool nginx) {
  std::string counter, bucket, statusLabel;
  std::vector<std::string> scope;
  if (nginx) {
    if (vars.canaryIngress.empty())
      return {"", "template " + std::string(name) + " needs the canary Ingress name"};
    counter = "nginx_ingress_controller_requests";
    bucket = "nginx_ingress_controller_request_duration_seconds_bucket";
    statusLabel = "status";
    scope = {eq("namespace", vars.namespace_), eq("ingress", vars.canaryIngress)};
  } else {
    if (vars.canaryService.empty())
      return {"", "template " + std::string(name) + " needs spec.strategy.canary.canaryService"};
    counter = "http_requests_total";
    bucket = "http_request_duration_seconds_bucket";
    statusLabel = "code";
    scope = {eq("service", vars.canaryService)};
  }
  const std::string& w = vars.interval;
  auto rate = [&](const std::string& metric, std::vector<std::string> matchers) {
    return "rate(" + selector(metric, matchers) + "[" + w + "])";
  };
  std::string all = "sum(" + rate(counter, scope) + ")";
  auto ratio = [&](const std::string& op) {
    auto m = scope;
    m.push_back(statusLabel + op + "\"5..\"");
    return "(sum(" + rate(counter, m) + ") or vector(0)) / " + all;
  };
  auto quantile = [&](const char* q) {
    return std::string("histogram_quantile(") + q + ", sum by (le) (" + rate(bucket, scope) + "))";
  };
  if (name == "error-rate") return {ratio("=~"), ""};
  if (name == "success-rate") return {ratio("!~"), ""};
  if (name == "latency-p95") return {quantile("0.95"), ""};
  if (name == "latency-p99") return {quantile("0.99"), ""};
  return {"", "unknown template \"" + std::string(name) +
                  "\"; supported: error-rate, success-rate, latency-p95, latency-p99"};
}

RenderedQuery renderQuery(std::string_view query, const QueryVariables& vars) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = query.find("{{", pos);
    if (open == std::string_view::npos) {
      out += query.substr(pos);
      return {out, ""};
    }
    out += query.substr(pos, open - pos);
    size_t close = query.find("}}", open + 2);
    if (close == std::string_view::npos)
      return {"", "unclosed \"{{\" in query: " + std::string(query.substr(open, 40))};
    std::string_view name = query.substr(open + 2, close - open - 2);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    const std::string* value = name == "namespace"       ? &vars.namespace_
                               : name == "rollout"       ? &vars.rollout
                               : name == "canaryService" ? &vars.canaryService
                               : name == "stableService" ? &vars.stableService
                               : name == "canaryIngress" ? &vars.canaryIngress
                               : name == "canaryHash"    ? &vars.canaryHash
                               : name == "stableHash"    ? &vars.stableHash
                               : name == "interval"      ? &vars.interval
                                                         : nullptr;
    if (!value) {
      std::string supported;
      for (auto v : api::kQueryVariables)
        supported += (supported.empty() ? "" : ", ") + std::string(v);
      return {"", "unknown variable {{" + std::string(name) + "}}; supported: " + supported};
    }
    if (value->empty())
      return {"", "variable {{" + std::string(name) + "}} has no value" +
                      (name == "canaryIngress" ? " (it needs trafficRouting.nginx)" : "")};
    out += *value;
    pos = close + 2;
  }
}

RenderedQuery metricQuery(const api::Metric& metric, const QueryVariables& vars, bool nginx) {
  RenderedQuery r = metric.templateName.empty() ? renderQuery(metric.query, vars)
                                                : builtinQuery(metric.templateName, vars, nginx);
  if (!r.error.empty()) r.error = metric.name + ": " + r.error;
  return r;
}

}  // namespace canaryd::analysis
