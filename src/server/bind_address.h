// BindAddress: where a listener binds, parsed from the --metrics-bind-address and
// --health-probe-bind-address flags (controller-runtime's spelling: "host:port",
// ":port" for every interface, "0" to disable). Plain values; thread-compatible.
#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace canaryd::server {

struct BindAddress {
  std::string host;   // an IPv4 or IPv6 literal ("0.0.0.0" for ":port")
  uint16_t port = 0;  // 0: a free port chosen by the kernel
  bool operator==(const BindAddress&) const = default;
};

// Parses "host:port", "[v6]:port", ":port" (every IPv4 interface, as controller-runtime's
// ":8080") or "0" (disabled: nullopt). The host is an IP literal or "localhost"
// (127.0.0.1); names are not resolved, so a bind never depends on DNS. Port 0 asks the
// kernel for a free port. Errors: a message naming the value and what is wrong with it.
boost::system::result<std::optional<BindAddress>, std::string> parseBindAddress(
    std::string_view value);

// "host:port", with brackets around an IPv6 host.
std::string toString(const BindAddress& address);

}  // namespace canaryd::server
