// The handlers of the daemon's endpoints, as controller-runtime serves them: the health
// probe address answers /healthz (alive: 200 while the process serves) and /readyz (200
// once the informer caches synced, 503 with the reason before), the metrics address
// /metrics. Stateless functions; the handlers are as thread-safe as what they call.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "server/http_server.h"
#include "server/kube_api_observer.h"
#include "server/metrics.h"

namespace canaryd::server {

// nullopt when ready; otherwise a one-line reason.
using ReadinessCheck = std::function<std::optional<std::string>()>;

// GET /healthz: 200 "ok". GET /readyz: 200 "ok" when `ready` says so, else 503 with the
// reason. Other paths: 404.
HttpHandler healthProbeHandler(ReadinessCheck ready);

// GET /metrics: 200 with metrics.render() (kMetricsContentType). Other paths: 404.
// `metrics` must outlive the handler.
HttpHandler metricsHandler(const Metrics& metrics);

// Why caches have not synced, for /readyz and the logs. `unsynced` as
// Caches::unsynced() names them ("rollouts.canaryd.io (all namespaces)"); `api` may be
// null. In order: resource types the API server does not serve (for canaryd's own, the
// CRDs to install: "kubectl apply -f crds/"), lists and watches RBAC forbids, else the
// caches still waiting.
std::string cacheSyncReason(const std::vector<std::string>& unsynced, const KubeApiObserver* api);

}  // namespace canaryd::server
