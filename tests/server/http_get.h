// Test support: a blocking HTTP/1.1 GET against 127.0.0.1 (Boost.Beast), for the
// server's endpoints. Not synchronised; one connection per call.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <string>

namespace canaryd::server::testing {

struct Got {
  int status = 0;  // 0: no answer
  std::string contentType;
  std::string body;
};

inline Got httpGet(uint16_t port, const std::string& target, const std::string& method = "GET") {
  namespace net = boost::asio;
  namespace http = boost::beast::http;
  net::io_context ioc;
  boost::beast::tcp_stream stream(ioc);
  boost::system::error_code ec;
  stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return {};
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.prepare_payload();
  http::write(stream, req, ec);
  if (ec) return {};
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res, ec);
  if (ec) return {};
  return Got{static_cast<int>(res.result_int()), std::string(res[http::field::content_type]),
             res.body()};
}

}  // namespace canaryd::server::testing
