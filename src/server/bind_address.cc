#include "server/bind_address.h"

#include <boost/asio/ip/address.hpp>
#include <charconv>

namespace canaryd::server {

boost::system::result<std::optional<BindAddress>, std::string> parseBindAddress(
    std::string_view value) {
  using Result = boost::system::result<std::optional<BindAddress>, std::string>;
  auto bad = [&](std::string_view why) {
    return Result(boost::system::in_place_error,
                  "bind address \"" + std::string(value) + "\": " + std::string(why));
  };
  if (value == "0") return std::optional<BindAddress>();
  auto colon = value.rfind(':');
  if (colon == std::string_view::npos) {
    return bad("expected host:port, :port, or 0 to disable");
  }
  std::string_view host = value.substr(0, colon);
  std::string_view portText = value.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
  if (portText.empty() || ec != std::errc() || end != portText.data() + portText.size() ||
      port > 65535) {
    return bad("the port must be a number from 0 to 65535");
  }
  BindAddress out;
  out.port = static_cast<uint16_t>(port);
  if (host.empty()) {
    out.host = "0.0.0.0";
  } else if (host == "localhost") {
    out.host = "127.0.0.1";
  } else {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
      return bad("an IPv6 host must be in brackets: [::1]:8080");
    }
    boost::system::error_code parseError;
    auto ip = boost::asio::ip::make_address(std::string(host), parseError);
    if (parseError) return bad("the host must be an IP address or localhost");
    out.host = ip.to_string();
  }
  return std::optional<BindAddress>(std::move(out));
}

std::string toString(const BindAddress& address) {
  bool v6 = address.host.find(':') != std::string::npos;
  return (v6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

}  // namespace canaryd::server
