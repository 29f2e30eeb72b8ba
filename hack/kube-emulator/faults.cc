#include "faults.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "api/json.h"

namespace canaryd::emulator {

std::optional<unsigned> Faults::draw() {
  if (options_.errorFraction <= 0 && options_.throttleFraction <= 0) return std::nullopt;
  double x = std::uniform_real_distribution<double>(0, 1)(rng_);
  if (x < options_.errorFraction) return 500;
  if (x < options_.errorFraction + options_.throttleFraction) return 429;
  return std::nullopt;
}

void Faults::count(const std::string& verb, const std::string& resource, unsigned code) {
  ++counters_[{verb, resource, code}];
}

std::string Faults::countersJson() const {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  unsigned long long total = 0;
  w.StartObject();
  w.Key("requests");
  w.StartArray();
  for (const auto& [k, n] : counters_) {
    w.StartObject();
    w.Key("verb");
    w.String(std::get<0>(k));
    w.Key("resource");
    w.String(std::get<1>(k));
    w.Key("code");
    w.Uint(std::get<2>(k));
    w.Key("count");
    w.Uint64(n);
    w.EndObject();
    total += n;
  }
  w.EndArray();
  w.Key("total");
  w.Uint64(total);
  w.EndObject();
  return buf.GetString();
}

std::string Faults::optionsJson() const {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("latencyMs");
  w.Int64(options_.latency.count());
  w.Key("errorFraction");
  w.Double(options_.errorFraction);
  w.Key("throttleFraction");
  w.Double(options_.throttleFraction);
  w.Key("retryAfterSeconds");
  w.Int(options_.retryAfterSeconds);
  w.Key("dropWatchesEverySeconds");
  w.Int64(options_.dropWatchesEvery.count());
  w.EndObject();
  return buf.GetString();
}

bool Faults::setFromJson(const std::string& body, std::string& error) {
  auto doc = api::parseJson(body);
  if (!doc || !doc->IsObject()) {
    error = "the body must be a JSON object";
    return false;
  }
  FaultOptions next = options_;
  for (const auto& m : doc->GetObject()) {
    std::string k = m.name.GetString();
    if (!m.value.IsNumber()) {
      error = k + " must be a number";
      return false;
    }
    double v = m.value.GetDouble();
    if (k == "latencyMs")
      next.latency = std::chrono::milliseconds(static_cast<long long>(v));
    else if (k == "errorFraction")
      next.errorFraction = v;
    else if (k == "throttleFraction")
      next.throttleFraction = v;
    else if (k == "retryAfterSeconds")
      next.retryAfterSeconds = static_cast<int>(v);
    else if (k == "dropWatchesEverySeconds")
      next.dropWatchesEvery = std::chrono::seconds(static_cast<long long>(v));
    else {
      error = "unknown field \"" + k + "\"";
      return false;
    }
  }
  if (next.errorFraction < 0 || next.throttleFraction < 0 ||
      next.errorFraction + next.throttleFraction > 1 || next.latency.count() < 0) {
    error = "fractions must be within [0, 1] and latency non-negative";
    return false;
  }
  options_ = next;
  return true;
}

}  // namespace canaryd::emulator
