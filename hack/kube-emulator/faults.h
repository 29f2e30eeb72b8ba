// Fault injection and request accounting: per-request latency, a fraction of requests
// answered 500 or 429 (with Retry-After), dropping every watch now or every N seconds,
// request counters by verb, resource and HTTP code, and a bounded request log (an audit
// log's essentials, with wall-clock times). Set by flags and through the admin endpoints
// under /_emulator/. Not synchronised: I/O thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <tuple>

namespace canaryd::emulator {

struct FaultOptions {
  std::chrono::milliseconds latency{0};
  double errorFraction = 0;     // answered 500 InternalError
  double throttleFraction = 0;  // answered 429 TooManyRequests
  int retryAfterSeconds = 1;
  std::chrono::seconds dropWatchesEvery{0};  // 0: never
};

// What one API request was, as kube-apiserver's audit log names it.
struct RequestInfo {
  std::string verb;         // get list watch create update patch delete deletecollection
  std::string group;        // "" for the core group
  std::string resource;     // plural, e.g. "replicasets"
  std::string subresource;  // e.g. "status", "scale"; "" for the object itself
  std::string namespace_;   // "" for cluster-scoped requests
  std::string name;         // "" for collections
};

// One entry of the request log.
struct RequestRecord {
  std::int64_t timeMicros;  // CLOCK_REALTIME, microseconds since the Unix epoch
  RequestInfo info;
  std::string userAgent;
  unsigned code;  // the HTTP status answered (200 for a watch that started)
};

class Faults {
 public:
  explicit Faults(FaultOptions options) : options_(options), rng_(std::random_device{}()) {}

  FaultOptions& options() { return options_; }
  // The injected error for this request, if one is drawn: 500 or 429.
  std::optional<unsigned> draw();

  // Counts a request and appends it to the request log (the oldest entries are dropped
  // past kMaxRequestLog).
  void record(const RequestInfo& info, const std::string& userAgent, unsigned code);
  static constexpr size_t kMaxRequestLog = 1'000'000;
  // {"requests":[{"verb":"list","resource":"deployments","code":200,"count":3},...],"total":N}
  std::string countersJson() const;
  void resetCounters() { counters_.clear(); }
  // The request log, oldest first, as {"requests":[{"time":"2026-01-02T03:04:05.123456Z",
  // "timeUnixMicros":N,"verb":..,"group":..,"resource":..,"subresource":..,"namespace":..,
  // "name":..,"userAgent":..,"code":N}],"dropped":N}; only entries whose User-Agent starts
  // with `userAgentPrefix` when it is not empty. "dropped": entries lost to the bound.
  std::string requestLogJson(const std::string& userAgentPrefix) const;
  void clearRequestLog() {
    log_.clear();
    dropped_ = 0;
  }
  // The options as JSON: {"latencyMs":..,"errorFraction":..,"throttleFraction":..,
  // "retryAfterSeconds":..,"dropWatchesEverySeconds":..}
  std::string optionsJson() const;
  // Applies the members present in a JSON object of the same shape; false if malformed.
  bool setFromJson(const std::string& body, std::string& error);

 private:
  FaultOptions options_;
  std::mt19937_64 rng_;
  std::map<std::tuple<std::string, std::string, unsigned>, unsigned long long> counters_;
  std::deque<RequestRecord> log_;
  unsigned long long dropped_ = 0;
};

}  // namespace canaryd::emulator
