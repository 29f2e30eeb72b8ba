#include "server/kube_api_observer.h"

namespace canaryd::server {

kube::RequestMetricsHook KubeApiObserver::hook() {
  return [this](const kube::RequestMetric& request) { observe(request); };
}

void KubeApiObserver::observe(const kube::RequestMetric& request) {
  if (metrics_) metrics_->kubeRequest(request.verb, request.code);
  bool collection = request.verb == "list" || request.verb == "watch";
  bool subresource = request.resource.find('/') != std::string::npos;
  std::lock_guard lock(mu_);
  if (request.code == 403) {
    forbidden_.emplace(request.verb, request.resource);
    return;
  }
  if (request.code >= 200 && request.code < 300) forbidden_.erase({request.verb, request.resource});
  if (!collection || subresource) return;
  if (request.code == 404) {
    missing_.insert(request.resource);
  } else if (request.code >= 200 && request.code < 300) {
    missing_.erase(request.resource);
  }
}

std::vector<std::string> KubeApiObserver::missingResources() const {
  std::lock_guard lock(mu_);
  return {missing_.begin(), missing_.end()};
}

std::vector<std::pair<std::string, std::string>> KubeApiObserver::forbidden() const {
  std::lock_guard lock(mu_);
  return {forbidden_.begin(), forbidden_.end()};
}

}  // namespace canaryd::server
