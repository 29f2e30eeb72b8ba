// Fault injection and request accounting: per-request latency, a fraction of requests
// answered 500 or 429 (with Retry-After), dropping every watch now or every N seconds,
// and request counters by verb, resource and HTTP code. Set by flags and through the
// admin endpoints under /_emulator/. Not synchronised: I/O thread only.
#pragma once

#include <chrono>
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

class Faults {
 public:
  explicit Faults(FaultOptions options) : options_(options), rng_(std::random_device{}()) {}

  FaultOptions& options() { return options_; }
  // The injected error for this request, if one is drawn: 500 or 429.
  std::optional<unsigned> draw();

  void count(const std::string& verb, const std::string& resource, unsigned code);
  // {"requests":[{"verb":"list","resource":"deployments","code":200,"count":3},...],"total":N}
  std::string countersJson() const;
  void resetCounters() { counters_.clear(); }
  // The options as JSON: {"latencyMs":..,"errorFraction":..,"throttleFraction":..,
  // "retryAfterSeconds":..,"dropWatchesEverySeconds":..}
  std::string optionsJson() const;
  // Applies the members present in a JSON object of the same shape; false if malformed.
  bool setFromJson(const std::string& body, std::string& error);

 private:
  FaultOptions options_;
  std::mt19937_64 rng_;
  std::map<std::tuple<std::string, std::string, unsigned>, unsigned long long> counters_;
};

}  // namespace canaryd::emulator
