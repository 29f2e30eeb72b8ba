// HttpClient: kube::Client over HTTP/1.1 (Boost.Beast) and TLS (OpenSSL), as client-go's
// rest.RESTClient: TLS verification on by default (the RestConfig's CA, tls-server-name,
// insecure-skip-tls-verify), client certificates, bearer tokens from
// RestConfig::credentials() (exec plugins, rotating token files) with one re-authentication
// on 401, keep-alive connection reuse, per-request timeouts, client-side rate limiting
// (token bucket, with canaryd's urgent lane), retries with backoff for the safe cases only,
// and a request-metrics hook.
// A 403 is logged once per verb and resource (RBAC refusals repeat on every retry).
// All I/O runs on one internal thread (one io_context, C++20 coroutines); the blocking
// methods wait for their coroutine. Thread-safe; never call it from a metrics hook.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "kube/client.h"
#include "kube/config.h"
#include "kube/watch.h"

namespace canaryd::kube {

// One HTTP exchange, as reported to the metrics hook (client-go's rest_client_requests_total
// and rest_client_request_duration_seconds). Called once per attempt, retries included.
struct RequestMetric {
  std::string verb;      // Kubernetes verb: get, list, watch, create, update, patch, delete
  std::string resource;  // "replicasets.apps", "replicasets.apps/status"; the path otherwise
  int code = 0;          // HTTP status; 0 when no response came (see kube/client.h)
  std::chrono::steady_clock::duration latency{};  // until the response head (watch) or body
};
using RequestMetricsHook = std::function<void(const RequestMetric&)>;

struct HttpClientOptions {
  // Client-side rate limit (--kube-api-qps / --kube-api-burst); client-go's defaults.
  // qps <= 0 disables limiting. Requests sent inside a kube::UrgentRequestScope
  // (kube/rate_limiter.h) take the limiter's urgent lane: they go at once, ahead of routine
  // requests already waiting, whose later successors pay for their tokens.
  double qps = 5;
  int burst = 10;
  // Whole-attempt deadline for ordinary requests (connect, TLS, send, read the response).
  std::chrono::milliseconds requestTimeout{std::chrono::seconds(30)};
  // Deadline to open a watch (until the response head); the stream itself then lasts up
  // to its timeoutSeconds plus watchGrace.
  std::chrono::milliseconds watchGrace{std::chrono::seconds(30)};
  // Retries after the first attempt (client-go's maxRetries is 10). Which failures are
  // retried: any verb on 429 (after Retry-After, or the backoff when absent) and on a
  // connection that could not be opened; GET (get, list, opening a watch) also on 5xx and
  // on a connection broken after sending. Other writes are never repeated once they may
  // have reached the server.
  int maxRetries = 10;
  // Backoff between retries without Retry-After: base * 2^n, capped, with 0-20% jitter.
  std::chrono::milliseconds retryBaseDelay{200};
  std::chrono::milliseconds retryMaxDelay{std::chrono::seconds(5)};
  // Idle keep-alive connections kept for reuse.
  size_t maxIdleConnections = 16;
  std::string userAgent = "canaryd";
  RequestMetricsHook metrics;
};

// A response to HttpClient::request.
struct RawResponse {
  int status = 0;
  std::string contentType;
  std::string body;
};

class HttpClient final : public Client {
 public:
  // Validates the configuration (host URL with http or https scheme; CA and client
  // certificate PEM) and starts the I/O thread. Errors: a ConfigError-worded ApiError
  // (isClientError, reason kReasonCredentials) naming the bad field.
  static Result<std::unique_ptr<HttpClient>> create(RestConfig config,
                                                    HttpClientOptions options = {});
  // Ends every call and watch in flight (they return isCancelled) and joins the I/O thread.
  ~HttpClient() override;

  Result<Object> get(const GroupVersionResource& gvr, std::string_view ns, std::string_view name,
                     const GetOptions& options = {}) override;
  Result<ListPage> list(const GroupVersionResource& gvr, std::string_view ns,
                        const ListOptions& options = {}) override;
  Result<Object> create(const GroupVersionResource& gvr, std::string_view ns,
                        const rapidjson::Value& object, const WriteOptions& options = {}) override;
  Result<Object> update(const GroupVersionResource& gvr, std::string_view ns,
                        const rapidjson::Value& object, const WriteOptions& options = {}) override;
  Result<Object> patch(const GroupVersionResource& gvr, std::string_view ns, std::string_view name,
                       PatchType type, std::string_view patch,
                       const WriteOptions& options = {}) override;
  Result<void> remove(const GroupVersionResource& gvr, std::string_view ns, std::string_view name,
                      const DeleteOptions& options = {}) override;
  Result<std::unique_ptr<Watch>> watch(const GroupVersionResource& gvr, std::string_view ns,
                                       const ListOptions& options) override;

  // Any request, with the same authentication, limits and retries, for paths outside the
  // resource API (/version, /healthz). `target` is the path and query. Non-2xx statuses
  // are returned as responses, not errors; errors are client-side failures only.
  Result<RawResponse> request(std::string_view method, std::string_view target,
                              std::string_view contentType = {}, std::string body = {});

  // Ends every call and watch in flight and refuses new ones (isCancelled).
  void shutdown();

  const RestConfig& config() const;
  // Connections opened so far (for tests of keep-alive reuse).
  size_t connectionsOpened() const;

  // The implementation, shared with open watches (defined in http_client.cc).
  struct Impl;

 private:
  explicit HttpClient(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> shared_;
};

}  // namespace canaryd::kube
