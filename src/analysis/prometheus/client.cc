#include "analysis/prometheus/client.h"

#include <cstdio>

#include "analysis/prometheus/response.h"
#include "kube/base64.h"

namespace canaryd::analysis::prometheus {
namespace {

// Prometheus reads `timeout` as a Go duration or a float of seconds; seconds with
// millisecond precision need no unit parsing on its side.
std::string seconds(api::Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

}  // namespace

std::string formEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' ||
        u == '.' || u == '_' || u == '~') {
      out += c;
    } else if (u == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

bool credentialsFromSecret(const std::map<std::string, std::string>& data,
                           const std::string& secretName, Credentials& out, std::string& error) {
  auto get = [&](const char* key) {
    auto it = data.find(key);
    return it == data.end() ? std::string() : it->second;
  };
  Credentials c;
  c.bearerToken = get("token");
  c.username = get("username");
  c.password = get("password");
  c.caPem = get("ca.crt");
  if (c.bearerToken.empty() && c.username.empty() && c.caPem.empty()) {
    error = "Secret " + secretName + " has none of the keys token, username/password, ca.crt";
    return false;
  }
  if (!c.username.empty() && data.find("password") == data.end()) {
    error = "Secret " + secretName + " has username but no password";
    return false;
  }
  out = std::move(c);
  return true;
}

PrometheusClient::PrometheusClient(std::shared_ptr<HttpTransport> transport,
                                   api::PrometheusProvider spec, Credentials credentials)
    : transport_(std::move(transport)),
      spec_(std::move(spec)),
      credentials_(std::move(credentials)) {}

HttpRequest PrometheusClient::request(const std::string& query, api::Time now) const {
  HttpRequest r;
  r.method = "POST";
  std::string base = spec_.address;
  while (!base.empty() && base.back() == '/') base.pop_back();
  r.url = base + "/api/v1/query";
  r.contentType = "application/x-www-form-urlencoded";
  r.body = "query=" + formEncode(query) +
           "&time=" + std::to_string(now.time_since_epoch().count()) +
           "&timeout=" + seconds(spec_.timeout);
  r.timeout = spec_.timeout;
  for (const auto& [k, v] : spec_.headers) r.headers.emplace_back(k, v);
  if (!credentials_.bearerToken.empty()) {
    r.headers.emplace_back("Authorization", "Bearer " + credentials_.bearerToken);
  } else if (!credentials_.username.empty()) {
    r.headers.emplace_back(
        "Authorization",
        "Basic " + kube::base64Encode(credentials_.username + ":" + credentials_.password));
  }
  r.caPem = credentials_.caPem;
  r.insecureSkipVerify = spec_.insecureSkipVerify;
  return r;
}

QueryResult PrometheusClient::measure(const std::string& query, api::Time now) {
  return measureAll({query}, now).front();
}

std::vector<QueryResult> PrometheusClient::measureAll(const std::vector<std::string>& queries,
                                                      api::Time now) {
  std::vector<HttpRequest> requests;
  requests.reserve(queries.size());
  for (const auto& q : queries) requests.push_back(request(q, now));
  std::vector<HttpResponse> responses = transport_->send(requests);
  std::vector<QueryResult> out;
  out.reserve(queries.size());
  for (auto& res : responses) {
    if (!res.error.empty()) {
      out.push_back(QueryResult::error("Prometheus " + spec_.address + ": " + res.error));
    } else {
      out.push_back(parseQueryResponse(res.status, res.contentType, res.body));
    }
  }
  return out;
}

PrometheusProviderFactory::PrometheusProviderFactory(std::shared_ptr<HttpTransport> transport,
                                                     SecretReader secrets)
    : transport_(std::move(transport)), secrets_(std::move(secrets)) {}

ProviderOrError PrometheusProviderFactory::provider(std::string_view ns,
                                                    const api::PrometheusProvider& spec) {
  Credentials credentials;
  if (spec.authSecretRef) {
    const std::string& name = spec.authSecretRef->name;
    std::string where = "prometheus.authSecretRef: Secret " + std::string(ns) + "/" + name;
    if (!secrets_) return {nullptr, where + ": Secrets cannot be read by this build"};
    std::map<std::string, std::string> data;
    std::string error;
    if (!secrets_(ns, name, data, error)) return {nullptr, where + ": " + error};
    if (!credentialsFromSecret(data, std::string(ns) + "/" + name, credentials, error))
      return {nullptr, "prometheus.authSecretRef: " + error};
  }
  return {std::make_shared<PrometheusClient>(transport_, spec, std::move(credentials)), ""};
}

}  // namespace canaryd::analysis::prometheus
