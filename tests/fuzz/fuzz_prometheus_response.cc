// Fuzz target for the Prometheus query-response parser: the first byte picks the HTTP
// status Prometheus (or a proxy in front of it) answered with, the rest is the body.
// Beyond "no crash, no sanitizer report", it checks that an error always says something
// and that excerpts stay bounded.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "analysis/prometheus/response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace canaryd::analysis;
  static constexpr int kStatuses[] = {200, 400, 422, 503, 500, 502, 204, 0};
  int status = size == 0 ? 200 : kStatuses[data[0] % 8];
  std::string_view body(reinterpret_cast<const char*>(data), size);
  if (size > 0) body.remove_prefix(1);
  QueryResult r = prometheus::parseQueryResponse(status, "application/json", body);
  if (r.kind == QueryResult::Kind::kError && r.message.empty()) std::abort();
  if (prometheus::excerpt(body, 64).size() > 64 + 3) std::abort();
  (void)prometheus::parseSampleValue(body);
  return 0;
}
