#include "analysis/prometheus/beast_transport.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <future>
#include <thread>

#include "analysis/prometheus/response.h"
#include "api/duration.h"

namespace canaryd::analysis::prometheus {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

constexpr auto kAwait = net::as_tuple(net::use_awaitable);
// How long send() waits past a request's deadline for the I/O thread to report it, before
// answering the timeout itself (the name resolver cannot be interrupted).
constexpr auto kReportGrace = std::chrono::milliseconds(500);

struct Exchange {
  HttpRequest request;
  std::promise<HttpResponse> promise;
};

std::string timedOut(const HttpRequest& r) {
  return "timed out after " + api::formatDuration(r.timeout);
}

bool isIpAddress(const std::string& host) {
  boost::system::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

std::string ioError(const beast::error_code& ec, const std::string& what, const HttpRequest& r) {
  if (ec == beast::error::timeout) return what + ": " + timedOut(r);
  return what + ": " + ec.message();
}

struct Target {
  bool https = false;
  std::string host;  // for the resolver and SNI: no IPv6 brackets
  std::string port;
  std::string hostHeader;
  std::string path;  // path and query
};

std::optional<Target> parseTarget(const std::string& url, std::string& error) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u || (u->scheme() != "http" && u->scheme() != "https") || u->encoded_host().empty()) {
    error = "not an http:// or https:// URL with a host: \"" + excerpt(url, 200) + "\"";
    return std::nullopt;
  }
  Target t;
  t.https = u->scheme() == "https";
  t.host = std::string(u->encoded_host_address());
  t.port = u->has_port() ? std::string(u->port()) : (t.https ? "443" : "80");
  t.hostHeader = std::string(u->encoded_host_and_port());
  t.path = u->encoded_path().empty() ? "/" : std::string(u->encoded_path());
  if (u->has_query()) t.path += "?" + std::string(u->encoded_query());
  return t;
}

template <class Stream>
net::awaitable<void> exchangeOver(Stream& stream, const Target& t, const HttpRequest& r,
                                  HttpResponse& out) {
  http::request<http::string_body> req{http::string_to_verb(r.method), t.path, 11};
  req.set(http::field::host, t.hostHeader);
  req.set(http::field::user_agent, "canaryd");
  req.set(http::field::accept, "application/json");
  for (const auto& [k, v] : r.headers) req.insert(k, v);
  if (!r.contentType.empty()) req.set(http::field::content_type, r.contentType);
  req.body() = r.body;
  req.keep_alive(false);
  req.prepare_payload();
  auto [wec, written] = co_await http::async_write(stream, req, kAwait);
  (void)written;
  if (wec) {
    out.error = ioError(wec, "sending to " + t.hostHeader, r);
    co_return;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(BeastHttpTransport::kMaxBodyBytes);
  auto [rec, read] = co_await http::async_read(stream, buffer, parser, kAwait);
  (void)read;
  if (rec) {
    std::string what = "reading the response from " + t.hostHeader;
    if (parser.is_header_done()) {
      const auto& head = parser.get();
      what += " (HTTP " + std::to_string(head.result_int()) + ", body cut short after " +
              std::to_string(head.body().size()) + " bytes: \"" + excerpt(head.body()) + "\")";
    }
    out.error = ioError(rec, what, r);
    co_return;
  }
  auto res = parser.release();
  out.status = static_cast<int>(res.result_int());
  out.contentType = std::string(res[http::field::content_type]);
  out.body = std::move(res.body());
}

net::awaitable<HttpResponse> perform(const HttpRequest& r) {
  HttpResponse out;
  std::string error;
  auto target = parseTarget(r.url, error);
  if (!target) {
    out.error = error;
    co_return out;
  }
  if (http::string_to_verb(r.method) == http::verb::unknown) {
    out.error = "unknown HTTP method \"" + r.method + "\"";
    co_return out;
  }
  auto executor = co_await net::this_coro::executor;
  auto deadline = std::chrono::steady_clock::now() + r.timeout;
  tcp::resolver resolver(executor);
  auto [rec, endpoints] = co_await resolver.async_resolve(target->host, target->port, kAwait);
  if (rec) {
    out.error = ioError(rec, "resolving " + target->host, r);
    co_return out;
  }
  if (std::chrono::steady_clock::now() >= deadline) {
    out.error = "resolving " + target->host + ": " + timedOut(r);
    co_return out;
  }
  if (!target->https) {
    beast::tcp_stream stream(executor);
    stream.expires_at(deadline);
    auto [cec, ep] = co_await stream.async_connect(endpoints, kAwait);
    (void)ep;
    if (cec) {
      out.error = ioError(cec, "connecting to " + target->hostHeader, r);
      co_return out;
    }
    co_await exchangeOver(stream, *target, r, out);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return out;
  }
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  beast::error_code ec;
  if (r.insecureSkipVerify) {
    ctx.set_verify_mode(ssl::verify_none);
  } else {
    ctx.set_verify_mode(ssl::verify_peer);
    if (!r.caPem.empty()) {
      ctx.add_certificate_authority(net::buffer(r.caPem), ec);
      if (ec) {
        out.error = "CA certificate: not a PEM certificate: " + ec.message();
        co_return out;
      }
    } else {
      ctx.set_default_verify_paths(ec);
    }
  }
  beast::ssl_stream<beast::tcp_stream> stream(executor, ctx);
  if (!isIpAddress(target->host))
    SSL_set_tlsext_host_name(stream.native_handle(), target->host.c_str());
  if (!r.insecureSkipVerify) stream.set_verify_callback(ssl::host_name_verification(target->host));
  auto& lowest = beast::get_lowest_layer(stream);
  lowest.expires_at(deadline);
  auto [cec, ep] = co_await lowest.async_connect(endpoints, kAwait);
  (void)ep;
  if (cec) {
    out.error = ioError(cec, "connecting to " + target->hostHeader, r);
    co_return out;
  }
  auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, kAwait);
  if (hec) {
    out.error = ioError(hec, "TLS handshake with " + target->hostHeader, r);
    co_return out;
  }
  co_await exchangeOver(stream, *target, r, out);
  beast::error_code ignored;
  lowest.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return out;
}

net::awaitable<void> run(std::shared_ptr<Exchange> ex) {
  HttpResponse out;
  try {
    out = co_await perform(ex->request);
  } catch (const std::exception& e) {
    out = HttpResponse{};
    out.error = std::string("request failed: ") + e.what();
  }
  ex->promise.set_value(std::move(out));
}

}  // namespace

struct BeastHttpTransport::Impl {
  net::io_context ioc{1};
  net::executor_work_guard<net::io_context::executor_type> guard{ioc.get_executor()};
  std::thread thread;
};

BeastHttpTransport::BeastHttpTransport() : impl_(std::make_unique<Impl>()) {
  impl_->thread = std::thread([impl = impl_.get()] { impl->ioc.run(); });
}

BeastHttpTransport::~BeastHttpTransport() {
  impl_->guard.reset();
  impl_->ioc.stop();
  impl_->thread.join();
}

std::vector<HttpResponse> BeastHttpTransport::send(const std::vector<HttpRequest>& requests) {
  std::vector<std::shared_ptr<Exchange>> exchanges;
  std::vector<std::future<HttpResponse>> futures;
  std::vector<std::chrono::steady_clock::time_point> deadlines;
  auto start = std::chrono::steady_clock::now();
  for (const auto& r : requests) {
    auto ex = std::make_shared<Exchange>();
    ex->request = r;
    futures.push_back(ex->promise.get_future());
    deadlines.push_back(start + r.timeout + kReportGrace);
    net::co_spawn(impl_->ioc, run(ex), net::detached);
    exchanges.push_back(std::move(ex));
  }
  std::vector<HttpResponse> out(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    if (futures[i].wait_until(deadlines[i]) == std::future_status::ready) {
      out[i] = futures[i].get();
    } else {
      // The exchange keeps its own state alive and finishes on the I/O thread unobserved.
      out[i].error = timedOut(requests[i]);
    }
  }
  return out;
}

}  // namespace canaryd::analysis::prometheus
