#include "server/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>
#include <vector>

namespace canaryd::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr auto kAwait = net::as_tuple(net::use_awaitable);

HttpResponse handle(const HttpHandler& handler, const http::request<http::string_body>& req) {
  HttpRequest request;
  request.method = std::string(req.method_string());
  request.target = std::string(req.target());
  request.path = request.target.substr(0, request.target.find('?'));
  if (req.method() != http::verb::get) {
    return HttpResponse{405, "text/plain; charset=utf-8", "method not allowed: use GET\n"};
  }
  try {
    return handler(request);
  } catch (const std::exception& e) {
    spdlog::error("http: {} {}: {}", request.method, request.target, e.what());
    return HttpResponse{500, "text/plain; charset=utf-8", "internal error\n"};
  }
}

}  // namespace

struct HttpServer::Impl {
  struct Listener {
    std::unique_ptr<tcp::acceptor> acceptor;
    std::shared_ptr<HttpHandler> handler;
  };

  std::chrono::milliseconds idleTimeout;
  net::io_context ioc{1};
  std::vector<Listener> listeners;
  std::thread thread;
  bool started = false;
  bool stopped = false;

  net::awaitable<void> session(tcp::socket socket, std::shared_ptr<HttpHandler> handler) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      stream.expires_after(idleTimeout);
      http::request<http::string_body> req;
      auto [readError, n] = co_await http::async_read(stream, buffer, req, kAwait);
      (void)n;
      if (readError) break;  // closed by the peer, idle, malformed: nothing to answer
      HttpResponse out = handle(*handler, req);
      http::response<http::string_body> res{static_cast<http::status>(out.status), req.version()};
      res.set(http::field::server, "canaryd");
      res.set(http::field::content_type, out.contentType);
      if (out.status == 405) res.set(http::field::allow, "GET");
      res.keep_alive(req.keep_alive());
      res.body() = std::move(out.body);
      res.prepare_payload();
      auto [writeError, m] = co_await http::async_write(stream, res, kAwait);
      (void)m;
      if (writeError || !res.keep_alive()) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  net::awaitable<void> accept(tcp::acceptor& acceptor, std::shared_ptr<HttpHandler> handler) {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kAwait);
      if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
      // Out of descriptors and the like: keep accepting, as the next may succeed.
      if (ec) continue;
      net::co_spawn(ioc, session(std::move(socket), handler), net::detached);
    }
  }
};

HttpServer::HttpServer(std::chrono::milliseconds idleTimeout) : impl_(std::make_unique<Impl>()) {
  impl_->idleTimeout = idleTimeout;
}

HttpServer::~HttpServer() { stop(); }

boost::system::result<BindAddress, std::string> HttpServer::listen(const BindAddress& address,
                                                                   HttpHandler handler) {
  auto fail = [&](std::string_view what, const boost::system::error_code& ec) {
    return boost::system::result<BindAddress, std::string>(
        boost::system::in_place_error,
        "listen on " + toString(address) + ": " + std::string(what) + ec.message());
  };
  boost::system::error_code ec;
  auto ip = net::ip::make_address(address.host, ec);
  if (ec) return fail("bad host: ", ec);
  tcp::endpoint endpoint(ip, address.port);
  auto acceptor = std::make_unique<tcp::acceptor>(impl_->ioc);
  acceptor->open(endpoint.protocol(), ec);
  if (ec) return fail("", ec);
  // As Go's net.Listen: a restarted daemon may bind while old connections linger in
  // TIME_WAIT; a port another process listens on still fails.
  acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return fail("", ec);
  acceptor->bind(endpoint, ec);
  if (ec) return fail("", ec);
  acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail("", ec);
  BindAddress bound = address;
  bound.port = acceptor->local_endpoint().port();
  impl_->listeners.push_back(
      Impl::Listener{std::move(acceptor), std::make_shared<HttpHandler>(std::move(handler))});
  return bound;
}

void HttpServer::start() {
  if (impl_->started || impl_->stopped) return;
  impl_->started = true;
  for (auto& l : impl_->listeners) {
    net::co_spawn(impl_->ioc, impl_->accept(*l.acceptor, l.handler), net::detached);
  }
  impl_->thread = std::thread([impl = impl_.get()] { impl->ioc.run(); });
}

void HttpServer::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  // Connections in the middle of a request are cut: these endpoints are probes and
  // scrapes, which retry. Their coroutines are destroyed with the io_context.
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  for (auto& l : impl_->listeners) {
    boost::system::error_code ignored;
    l.acceptor->close(ignored);
  }
}

}  // namespace canaryd::server
