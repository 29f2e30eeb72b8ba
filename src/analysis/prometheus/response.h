// Parsing of Prometheus HTTP API answers to instant queries (GET/POST /api/v1/query,
// https://prometheus.io/docs/prometheus/latest/querying/api/), into one QueryResult.
// Pure functions of the bytes received; thread-safe. Depends on RapidJSON only, so the
// fuzz target compiles it on its own.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "analysis/provider.h"

namespace canaryd::analysis::prometheus {

// Turns one HTTP answer into a value, no data, or an error (never throws):
// * {"status":"success","data":{"resultType":"vector","result":[...]}}: one series is its
//   sample value; no series is no data; several series are an Error saying how many and to
//   aggregate them (sum/max), since canaryd judges one number per measurement.
// * resultType "scalar": its value. "matrix" (a range-vector query) and "string": Errors.
// * Sample values are strings as Prometheus writes them (Go's strconv.FormatFloat), "NaN",
//   "+Inf" and "-Inf" included.
// * {"status":"error","errorType":"bad_data","error":"..."}, as Prometheus answers with
//   400 (bad_data), 422 (execution), 503 (timeout, canceled) or 500 (internal): an Error
//   naming the errorType, the HTTP status and Prometheus' text.
// * Anything else (the plain-text "Service Unavailable" 503 before Prometheus is ready, an
//   HTML page from a proxy, truncated or malformed JSON): an Error naming the HTTP status,
//   the content type and a short excerpt of the body.
// `warnings` are kept in the result's message ("warnings: a; b").
QueryResult parseQueryResponse(int httpStatus, std::string_view contentType, std::string_view body);

// A Prometheus sample value: a decimal or exponent float, "NaN", "+Inf", "-Inf" (also
// "Inf", any case, as Go's strconv.ParseFloat accepts). nullopt for anything else.
std::optional<double> parseSampleValue(std::string_view text);

// At most `max` bytes of `body` for an error message: control characters and runs of
// white space become one space, and "..." marks a cut.
std::string excerpt(std::string_view body, size_t max = 120);

}  // namespace canaryd::analysis::prometheus
