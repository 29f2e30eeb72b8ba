#include "faults.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <ctime>

#include "api/json.h"

namespace canaryd::emulator {

std::optional<unsigned> Faults::draw() {
  if (options_.errorFraction <= 0 && options_.throttleFraction <= 0) return std::nullopt;
  double x = std::uniform_real_distribution<double>(0, 1)(rng_);
  if (x < options_.errorFraction) return 500;
  if (x < options_.errorFraction + options_.throttleFraction) return 429;
  return std::nullopt;
}

void Faults::record(const RequestInfo& info, const std::string& userAgent, unsigned code) {
  std::string resource =
      info.subresource.empty() ? info.resource : info.resource + "/" + info.subresource;
  ++counters_[{info.verb, resource, code}];
  auto now = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  if (log_.size() >= kMaxRequestLog) {
    log_.pop_front();
    ++dropped_;
  }
  log_.push_back(RequestRecord{now.count(), info, userAgent, code});
}

std::string Faults::requestLogJson(const std::string& userAgentPrefix) const {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("requests");
  w.StartArray();
  for (const auto& r : log_) {
    if (!userAgentPrefix.empty() && r.userAgent.rfind(userAgentPrefix, 0) != 0) continue;
    std::time_t secs = static_cast<std::time_t>(r.timeMicros / 1'000'000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[96];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<long long>(r.timeMicros % 1'000'000));
    auto member = [&w](const char* key, const std::string& value) {
      w.Key(key);
      w.String(value);
    };
    w.StartObject();
    member("time", stamp);
    w.Key("timeUnixMicros");
    w.Int64(r.timeMicros);
    for (auto [key, value] : {std::pair{"verb", &r.info.verb},
                              {"group", &r.info.group},
                              {"resource", &r.info.resource},
                              {"subresource", &r.info.subresource},
                              {"namespace", &r.info.namespace_},
                              {"name", &r.info.name},
                              {"userAgent", &r.userAgent}})
      member(key, *value);
    w.Key("code");
    w.Uint(r.code);
    w.EndObject();
  }
  w.EndArray();
  w.Key("dropped");
  w.Uint64(dropped_);
  w.EndObject();
  return buf.GetString();
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
