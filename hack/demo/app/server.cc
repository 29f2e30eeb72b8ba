#include "server.h"

#include <prometheus/text_serializer.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace canaryd::demo {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;

namespace {
constexpr auto kUseAwaitable = asio::as_tuple(asio::use_awaitable);
}

const std::vector<double>& durationBuckets() {
  static const std::vector<double> buckets{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25,
                                           0.3,   0.4,  0.5,   0.75, 1,     2.5, 5,    10};
  return buckets;
}

DemoServer::DemoServer(asio::io_context& io, ServerOptions options)
    : io_(io),
      options_(std::move(options)),
      acceptor_(io, tcp::endpoint(asio::ip::make_address(options_.host), options_.port)),
      port_(acceptor_.local_endpoint().port()),
      errors_(options_.errorRate),
      registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("http_requests_total")
                    .Help("HTTP requests answered, by status code and app version.")
                    .Register(*registry_)),
      duration_(prometheus::BuildHistogram()
                    .Name("http_request_duration_seconds")
                    .Help("Time from reading a request to answering it, in seconds.")
                    .Register(*registry_)
                    .Add({{"version", options_.version}}, durationBuckets())) {
  // Both codes exist from the start so that rate() sees the first failure as an increase.
  requests_.Add({{"code", "200"}, {"version", options_.version}});
  requests_.Add({{"code", "500"}, {"version", options_.version}});
}

std::string DemoServer::url() const {
  return "http://" + options_.host + ":" + std::to_string(port_);
}

void DemoServer::start() { asio::co_spawn(io_, acceptLoop(), asio::detached); }

void DemoServer::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

std::string DemoServer::metricsText() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

asio::awaitable<void> DemoServer::acceptLoop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(kUseAwaitable);
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) continue;
    asio::co_spawn(io_, session(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> DemoServer::session(tcp::socket socket) {
  boost::beast::flat_buffer buffer;
  asio::steady_timer timer(io_);
  for (;;) {
    http::request<http::string_body> request;
    auto [readError, readBytes] = co_await http::async_read(socket, buffer, request, kUseAwaitable);
    if (readError) co_return;
    const auto started = std::chrono::steady_clock::now();
    http::response<http::string_body> response{http::status::ok, request.version()};
    response.set(http::field::server, "demo-app");
    response.set("X-Version", options_.version);
    response.keep_alive(request.keep_alive());
    const std::string_view target = request.target();
    const std::string_view path = target.substr(0, target.find('?'));
    if (path == "/metrics") {
      response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      response.body() = metricsText();
    } else if (path == "/healthz") {
      response.set(http::field::content_type, "text/plain");
      response.body() = "ok\n";
    } else if (path == "/" && request.method() == http::verb::get) {
      // Decide at arrival, so the failed fraction is exact in arrival order even
      // though answers leave after the latency, concurrently.
      const bool fail = errors_.next();
      const auto latency =
          fail ? options_.errorLatency.value_or(options_.latency) : options_.latency;
      if (latency.count() > 0) {
        timer.expires_after(latency);
        co_await timer.async_wait(kUseAwaitable);
      }
      response.set(http::field::content_type, "text/plain");
      if (fail) {
        response.result(http::status::internal_server_error);
        response.body() = "version " + options_.version + ": injected error\n";
      } else {
        response.body() = "version " + options_.version + "\n";
      }
      requests_
          .Add({{"code", std::to_string(response.result_int())}, {"version", options_.version}})
          .Increment();
      duration_.Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    } else {
      response.result(http::status::not_found);
      response.set(http::field::content_type, "text/plain");
      response.body() = "not found\n";
    }
    response.prepare_payload();
    auto [writeError, written] = co_await http::async_write(socket, response, kUseAwaitable);
    if (writeError || !response.keep_alive()) {
      boost::system::error_code ignored;
      socket.shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
  }
}

}  // namespace canaryd::demo
