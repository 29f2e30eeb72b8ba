// PrometheusClient: the analysis::Provider for Prometheus instant queries (POST
// /api/v1/query with the form fields query, time and timeout, as the Prometheus HTTP API
// documents), over an analysis::HttpTransport. Authentication values are given by the
// caller: reading the authSecretRef Secret is the controller's job. Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "analysis/provider.h"
#include "api/types.h"

namespace canaryd::analysis::prometheus {

// The contents of a PrometheusProvider's authSecretRef Secret, decoded. At most one of
// bearerToken and username/password is used (the token wins).
struct Credentials {
  std::string bearerToken;  // Secret key `token`: "Authorization: Bearer <token>"
  std::string username;     // Secret keys `username` and `password`: basic auth
  std::string password;
  std::string caPem;  // Secret key `ca.crt`: PEM CAs for an https address (else the system's)
  bool operator==(const Credentials&) const = default;
};

// Reads Credentials from a Secret's decoded `data`. Errors (as text naming the key): a
// Secret with neither `token` nor `username`, or `username` without `password`.
// `secretName` is for the messages.
bool credentialsFromSecret(const std::map<std::string, std::string>& data,
                           const std::string& secretName, Credentials& out, std::string& error);

class PrometheusClient final : public Provider {
 public:
  // `spec.address` is http(s)://host[:port][/prefix] (validated by the api package);
  // queries go to <address>/api/v1/query. spec.timeout bounds each query, both as the
  // form's `timeout` (Prometheus' own evaluation limit) and as the HTTP deadline.
  PrometheusClient(std::shared_ptr<HttpTransport> transport, api::PrometheusProvider spec,
                   Credentials credentials = {});

  // An instant query at `now` (the form's `time`, Unix seconds). Transport failures are
  // Errors "Prometheus <address>: <what failed>"; answers are parsed by
  // parseQueryResponse (prometheus/response.h).
  QueryResult measure(const std::string& query, api::Time now) override;
  // The queries are sent concurrently.
  std::vector<QueryResult> measureAll(const std::vector<std::string>& queries,
                                      api::Time now) override;

  // The request measure() sends (for tests).
  HttpRequest request(const std::string& query, api::Time now) const;

 private:
  std::shared_ptr<HttpTransport> transport_;
  api::PrometheusProvider spec_;
  Credentials credentials_;
};

// Reads a Secret's decoded `data` (key -> value) into `data`, or says why it cannot
// (NotFound, Forbidden ...) in `error`. Supplied by the controller, which owns the
// Kubernetes client and its cache.
using SecretReader =
    std::function<bool(std::string_view ns, const std::string& name,
                       std::map<std::string, std::string>& data, std::string& error)>;

// The ProviderFactory for Prometheus: PrometheusClients sharing one transport, with
// credentials read through `secrets` for each provider made (each run of an analysis),
// so that a rotated Secret is picked up. `secrets` may be empty: an authSecretRef is then
// an error.
class PrometheusProviderFactory final : public ProviderFactory {
 public:
  PrometheusProviderFactory(std::shared_ptr<HttpTransport> transport, SecretReader secrets);
  ProviderOrError provider(std::string_view ns, const api::PrometheusProvider& spec) override;

 private:
  std::shared_ptr<HttpTransport> transport_;
  SecretReader secrets_;
};

// application/x-www-form-urlencoded encoding of one value (RFC 3986 unreserved characters
// kept, space as "+", everything else %XX).
std::string formEncode(std::string_view value);

}  // namespace canaryd::analysis::prometheus
