// Durations and timestamps in the forms Kubernetes objects carry them: Go's
// time.Duration strings ("30s", "1m30s", "1.5h", "300ms") and RFC 3339 times
// ("2026-11-21T23:21:14Z", metav1.Time, second precision). Pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace canaryd::api {

using Duration = std::chrono::milliseconds;
using Time = std::chrono::sys_seconds;

// Parses a Go duration string as time.ParseDuration does: an optional sign, then one
// or more decimal numbers each followed by a unit (ns, us, µs, ms, s, m, h); "0" alone
// is zero. Returns nullopt on any other text or on overflow. Sub-millisecond parts are
// truncated to whole milliseconds.
std::optional<Duration> parseDuration(std::string_view text);

// Formats as Go's Duration.String(): "0s", "300ms", "30s", "1m30s", "2h0m0s", "1.5s".
std::string formatDuration(Duration d);

// Parses an RFC 3339 timestamp ("2006-01-02T15:04:05Z" or with a numeric offset and
// optional fractional seconds, which are dropped). Returns nullopt when malformed.
std::optional<Time> parseTime(std::string_view text);

// Formats as metav1.Time does: UTC, second precision, "2006-01-02T15:04:05Z".
std::string formatTime(Time t);

}  // namespace canaryd::api
