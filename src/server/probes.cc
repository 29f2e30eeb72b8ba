#include "server/probes.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

namespace canaryd::server {

namespace {

HttpResponse notFound(const HttpRequest& request) {
  return HttpResponse{404, "text/plain; charset=utf-8", "not found: " + request.path + "\n"};
}

// "rollouts.canaryd.io (all namespaces)" -> "rollouts.canaryd.io".
std::string resourceOf(const std::string& unsynced) {
  return unsynced.substr(0, unsynced.find(' '));
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

HttpHandler healthProbeHandler(ReadinessCheck ready) {
  return [ready = std::move(ready)](const HttpRequest& request) {
    if (request.path == "/healthz") return HttpResponse{200, "text/plain; charset=utf-8", "ok\n"};
    if (request.path == "/readyz") {
      auto reason = ready ? ready() : std::optional<std::string>("not started");
      if (!reason) return HttpResponse{200, "text/plain; charset=utf-8", "ok\n"};
      return HttpResponse{503, "text/plain; charset=utf-8", "not ready: " + *reason + "\n"};
    }
    return notFound(request);
  };
}

HttpHandler metricsHandler(const Metrics& metrics) {
  return [&metrics](const HttpRequest& request) {
    if (request.path != "/metrics") return notFound(request);
    return HttpResponse{200, std::string(kMetricsContentType), metrics.render()};
  };
}

std::string cacheSyncReason(const std::vector<std::string>& unsynced, const KubeApiObserver* api) {
  std::set<std::string> waiting;
  for (const auto& u : unsynced) waiting.insert(resourceOf(u));
  if (api) {
    std::vector<std::string> crds, others;
    for (const auto& r : api->missingResources()) {
      if (!waiting.count(r)) continue;
      (endsWith(r, ".canaryd.io") ? crds : others).push_back(r);
    }
    if (!crds.empty()) {
      return fmt::format(
          "the canaryd CRDs are not installed (the API server does not serve {}): install "
          "them with `kubectl apply -f crds/`; retrying",
          fmt::join(crds, ", "));
    }
    if (!others.empty()) {
      return fmt::format("the API server does not serve {}; retrying", fmt::join(others, ", "));
    }
    std::vector<std::string> refused;
    for (const auto& [verb, resource] : api->forbidden()) {
      if ((verb == "list" || verb == "watch") && waiting.count(resource)) {
        refused.push_back(verb + " " + resource);
      }
    }
    if (!refused.empty()) {
      return fmt::format(
          "forbidden: RBAC does not allow canaryd to {}; grant it to canaryd's "
          "ServiceAccount; retrying",
          fmt::join(refused, ", "));
    }
  }
  return fmt::format("waiting for caches to sync: {}", fmt::join(unsynced, ", "));
}

}  // namespace canaryd::server
