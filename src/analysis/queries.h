// PromQL for analysis metrics: the built-in templates and {{variable}} substitution in
// custom queries. Pure functions; thread-safe.
//
// Built-in templates, with W the rate window (rateWindow(interval), written as "30s"):
//
// nginx-ingress (the Rollout uses trafficRouting.nginx), by the canary Ingress
// `<rollout>-<stableIngress>-canary` in the Rollout's namespace. Series and labels as
// ingress-nginx's controller exports them:
//   nginx_ingress_controller_requests{namespace, ingress, status}   (counter; status "503")
//   nginx_ingress_controller_request_duration_seconds_bucket{namespace, ingress, le}
//   error-rate   = (sum(rate(requests{namespace=N,ingress=I,status=~"5.."}[W])) or vector(0))
//                  / sum(rate(requests{namespace=N,ingress=I}[W]))
//   success-rate = (sum(rate(requests{...,status!~"5.."}[W])) or vector(0)) / sum(rate(...[W]))
//   latency-pNN  = histogram_quantile(0.NN, sum by (le) (rate(..._bucket{namespace=N,
//                  ingress=I}[W])))
//
// Otherwise (Gateway API or replica-ratio routing), the de-facto HTTP instrumentation
// names, labelled by the Service the canary pods sit behind (a scrape config relabels
// __meta_kubernetes_service_name, or the ServiceMonitor's, to `service`):
//   http_requests_total{service, code}                   (counter; code "503")
//   http_request_duration_seconds_bucket{service, le}
// with the same expressions over service=<canaryService> and code instead of status.
//
// error-rate and success-rate are ratios 0-1; latencies are seconds. "or vector(0)" keeps
// a canary that served no 5xx at 0 instead of no data; a canary that served nothing at all
// is no data (empty, or NaN from 0/0), which the judge makes Inconclusive by default.
#pragma once

#include <string>
#include <string_view>

#include "api/types.h"

namespace canaryd::analysis {

// Prometheus' rate() needs two samples inside its window: the interval must be at least
// twice the scrape interval. Windows are never shorter than this.
inline constexpr api::Duration kMinRateWindow = std::chrono::seconds(10);

// The values of a custom query's {{variables}} (api::kQueryVariables).
struct QueryVariables {
  std::string namespace_;
  std::string rollout;
  std::string canaryService;
  std::string stableService;
  std::string canaryIngress;  // empty unless trafficRouting.nginx
  std::string canaryHash;
  std::string stableHash;
  std::string interval;  // the rate window as a PromQL duration, "30s"
};

// The rate window for an analysis interval: the interval, at least kMinRateWindow, rounded
// up to whole seconds.
api::Duration rateWindow(api::Duration interval);

// A PromQL duration: whole seconds "90s" (every Prometheus 2.x reads it), or "1500ms".
std::string formatPromDuration(api::Duration d);

// `<rollout>-<stableIngress>-canary`: the Ingress canaryd's nginx router creates.
std::string canaryIngressName(std::string_view rollout, std::string_view stableIngress);

// The variables for `rollout` with these ReplicaSet hashes and analysis interval.
QueryVariables queryVariables(const api::Rollout& rollout, std::string_view canaryHash,
                              std::string_view stableHash, api::Duration interval);

// A PromQL string literal's content: backslash and double quote escaped.
std::string escapeLabelValue(std::string_view value);

struct RenderedQuery {
  std::string query;  // when error is empty
  std::string error;  // "unknown variable {{foo}}", "{{canaryIngress}} needs trafficRouting.nginx"
};

// The PromQL of a built-in template (`name` one of api::kBuiltinMetricTemplates); nginx
// selects the nginx-ingress form. An unknown name is an error.
RenderedQuery builtinQuery(std::string_view name, const QueryVariables& vars, bool nginx);

// Substitutes {{variable}} (spaces inside the braces allowed) in a custom query. Unknown
// or unclosed references, and {{canaryIngress}} without nginx routing, are errors.
RenderedQuery renderQuery(std::string_view query, const QueryVariables& vars);

// The query a metric runs: builtinQuery for `template`, renderQuery for `query`. Errors
// name the metric.
RenderedQuery metricQuery(const api::Metric& metric, const QueryVariables& vars, bool nginx);

}  // namespace canaryd::analysis
