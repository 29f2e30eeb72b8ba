// KubeApiObserver: watches every Kubernetes API request canaryd makes (the kube client's
// request-metrics hook) to count them (canaryd_kube_requests_total) and to know, for
// /readyz, which resource types the API server does not serve (a list or watch answered
// 404: a CRD not installed) and which requests RBAC refuses (403).
// Thread-safe; observe() runs on the client's I/O thread and never calls the client.
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "kube/http_client.h"
#include "server/metrics.h"

namespace canaryd::server {

class KubeApiObserver {
 public:
  // `metrics` may be null (nothing is counted); it must outlive the observer.
  explicit KubeApiObserver(Metrics* metrics) : metrics_(metrics) {}

  // The hook for kube::HttpClientOptions::metrics. The observer must outlive the client.
  kube::RequestMetricsHook hook();

  void observe(const kube::RequestMetric& request);

  // Resources ("rollouts.canaryd.io") whose last list or watch was answered 404, sorted.
  // As kube-apiserver: a collection of a resource type it does not serve is 404, while
  // one in a namespace that does not exist is an empty list.
  std::vector<std::string> missingResources() const;

  // The (verb, resource) pairs whose last request was refused with 403, sorted.
  std::vector<std::pair<std::string, std::string>> forbidden() const;

 private:
  Metrics* metrics_;
  mutable std::mutex mu_;
  std::set<std::string> missing_;
  std::set<std::pair<std::string, std::string>> forbidden_;
};

}  // namespace canaryd::server
