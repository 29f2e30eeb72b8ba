// The metric Provider interface: one instant query in, one value (or no data, or an
// error) out, as data: a provider never throws, a failure is an Error measurement (Argo
// Rollouts' MarkMeasurementError). Also the narrow HTTP interface providers speak through,
// so that tests and other transports can stand in. Implementations are thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/duration.h"
#include "api/types.h"

namespace canaryd::analysis {

// What one query returned.
struct QueryResult {
  enum class Kind { kValue, kNoData, kError };
  Kind kind = Kind::kError;
  double value = 0;  // kValue only; may be NaN or +-Inf (Prometheus sample values)
  // kError: what went wrong, for people. kValue / kNoData: the server's warnings joined
  // with "; " (empty when none).
  std::string message;

  static QueryResult ofValue(double v, std::string warnings = {}) {
    return {Kind::kValue, v, std::move(warnings)};
  }
  static QueryResult noData(std::string warnings = {}) {
    return {Kind::kNoData, 0, std::move(warnings)};
  }
  static QueryResult error(std::string message) { return {Kind::kError, 0, std::move(message)}; }
};

class Provider {
 public:
  virtual ~Provider() = default;
  // Evaluates `query` (already rendered, no {{variables}}) at `now`. Blocks for at most the
  // provider's timeout. Never throws.
  virtual QueryResult measure(const std::string& query, api::Time now) = 0;
  // Evaluates several queries at `now`, results in the same order. Implementations that can
  // run them concurrently do, so that a worker waits for about one query, not the sum.
  virtual std::vector<QueryResult> measureAll(const std::vector<std::string>& queries,
                                              api::Time now) {
    std::vector<QueryResult> out;
    out.reserve(queries.size());
    for (const auto& q : queries) out.push_back(measure(q, now));
    return out;
  }
};

// A provider, or why none could be made (for example an auth Secret that cannot be read):
// the error becomes an Error measurement of each metric due, so it counts against
// consecutiveErrorLimit like any other failure to measure.
struct ProviderOrError {
  std::shared_ptr<Provider> provider;
  std::string error;
};

// Chooses and builds providers (the one factory switch on the spec). Thread-safe.
class ProviderFactory {
 public:
  virtual ~ProviderFactory() = default;
  // A provider for `spec`, used by a Rollout in namespace `ns` (where authSecretRef lives).
  virtual ProviderOrError provider(std::string_view ns, const api::PrometheusProvider& spec) = 0;
};

// ---- the narrow HTTP interface ----

struct HttpRequest {
  std::string method = "POST";
  std::string url;  // absolute: http(s)://host[:port]/path[?query]
  std::vector<std::pair<std::string, std::string>> headers;
  std::string contentType;  // with a body
  std::string body;
  // Whole-exchange deadline: resolve, connect, TLS handshake, send, read the response.
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  // https only: PEM CA certificates to trust instead of the system's; or no verification.
  std::string caPem;
  bool insecureSkipVerify = false;
};

struct HttpResponse {
  int status = 0;  // 0 when no response came; see error
  std::string contentType;
  std::string body;
  // Non-empty when no complete response came: "connecting to 127.0.0.1:9090: Connection
  // refused", "timed out after 10s", "TLS handshake with ...: certificate verify failed".
  std::string error;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Sends every request concurrently; responses in the same order. Blocks until each has
  // a response or has passed its deadline. Never throws.
  virtual std::vector<HttpResponse> send(const std::vector<HttpRequest>& requests) = 0;
};

}  // namespace canaryd::analysis
