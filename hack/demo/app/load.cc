#include "load.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <cmath>
#include <iostream>
#include <optional>
#include <stdexcept>

namespace canaryd::demo {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {
constexpr auto kUseAwaitable = asio::as_tuple(asio::use_awaitable);

void add(LoadCounts& into, const LoadCounts& from) {
  into.sent += from.sent;
  into.ok += from.ok;
  into.serverErrors += from.serverErrors;
  into.otherCodes += from.otherCodes;
  into.transportErrors += from.transportErrors;
  for (const auto& [version, count] : from.versions) into.versions[version] += count;
}
}  // namespace

std::string LoadCounts::summary() const {
  std::string out = "sent=" + std::to_string(sent) + " 2xx=" + std::to_string(ok) +
                    " 5xx=" + std::to_string(serverErrors) +
                    " other=" + std::to_string(otherCodes) +
                    " err=" + std::to_string(transportErrors);
  for (const auto& [version, count] : versions) out += " " + version + "=" + std::to_string(count);
  return out;
}

LoadGenerator::LoadGenerator(asio::io_context& io, LoadOptions options)
    : io_(io), options_(std::move(options)), reportTimer_(io) {
  auto url = boost::urls::parse_uri(options_.target);
  if (!url || url->scheme() != "http" || url->host().empty()) {
    throw std::invalid_argument("--target must be an http:// URL, got " + options_.target);
  }
  if (!(options_.rps > 0)) throw std::invalid_argument("--rps must be above 0");
  host_ = url->host();
  port_ = url->has_port() ? std::string(url->port()) : "80";
  path_ = url->encoded_path().empty() ? "/" : std::string(url->encoded_path());
  if (url->has_query()) path_ += "?" + std::string(url->encoded_query());
  if (options_.connections <= 0) {
    options_.connections = std::clamp(static_cast<int>(std::ceil(options_.rps / 2)), 4, 64);
  }
}

void LoadGenerator::start(std::function<void()> done) {
  done_ = std::move(done);
  start_ = std::chrono::steady_clock::now();
  running_ = options_.connections;
  for (int i = 0; i < options_.connections; ++i) {
    asio::co_spawn(io_, worker(), asio::detached);
  }
  if (!options_.quiet) asio::co_spawn(io_, reporter(), asio::detached);
}

void LoadGenerator::stop() { stopping_ = true; }

void LoadGenerator::record(unsigned status, const std::string& body, bool transportError) {
  ++second_.sent;
  if (transportError) {
    ++second_.transportErrors;
    return;
  }
  if (status >= 200 && status < 300) {
    ++second_.ok;
  } else if (status >= 500) {
    ++second_.serverErrors;
  } else {
    ++second_.otherCodes;
  }
  // The demo app answers "version <v>\n" (or "version <v>: injected error\n").
  if (body.rfind("version ", 0) == 0) {
    const auto end = body.find_first_of(":\n", 8);
    ++second_.versions[body.substr(8, end == std::string::npos ? end : end - 8)];
  }
}

void LoadGenerator::workerEnded() {
  if (--running_ > 0) return;
  reportTimer_.cancel();
  add(total_, second_);
  second_ = {};
  if (done_) {
    auto done = std::move(done_);
    done();
  }
}

asio::awaitable<void> LoadGenerator::reporter() {
  for (int second = 1;; ++second) {
    reportTimer_.expires_at(start_ + std::chrono::seconds(second));
    auto [ec] = co_await reportTimer_.async_wait(kUseAwaitable);
    if (ec || running_ == 0) co_return;
    std::cerr << "load: " << second << "s " << second_.summary() << std::endl;
    add(total_, second_);
    second_ = {};
  }
}

asio::awaitable<void> LoadGenerator::worker() {
  tcp::resolver resolver(io_);
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  asio::steady_timer pacer(io_);
  const auto interval = std::chrono::duration<double>(1.0 / options_.rps);
  for (;;) {
    // Slots are shared by all workers: whichever connection is free takes the next one,
    // so slow answers on one connection do not lower the rate.
    const auto due = start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                  interval * static_cast<double>(nextSlot_++));
    if (stopping_ || (options_.duration.count() > 0 && due >= start_ + options_.duration)) break;
    pacer.expires_at(due);
    co_await pacer.async_wait(kUseAwaitable);
    if (stopping_) break;

    http::request<http::empty_body> request{http::verb::get, path_, 11};
    request.set(http::field::host, host_ + ":" + port_);
    request.set(http::field::user_agent, "demo-app-load");
    for (const auto& [name, value] : options_.headers) request.set(name, value);
    request.keep_alive(true);

    // A kept-alive connection may have been closed by the server in between (nginx
    // closes idle ones on reload): such a request is sent once more on a new connection.
    bool answered = false;
    unsigned status = 0;
    std::string body;
    for (int attempt = 0; attempt < 2 && !answered; ++attempt) {
      const bool reused = stream.has_value();
      if (!stream) {
        stream.emplace(io_);
        stream->expires_after(options_.timeout);
        auto [resolveError, endpoints] =
            co_await resolver.async_resolve(host_, port_, kUseAwaitable);
        if (resolveError) {
          stream.reset();
          break;
        }
        auto [connectError, endpoint] = co_await stream->async_connect(endpoints, kUseAwaitable);
        if (connectError) {
          stream.reset();
          break;
        }
      }
      stream->expires_after(options_.timeout);
      auto [writeError, written] = co_await http::async_write(*stream, request, kUseAwaitable);
      http::response<http::string_body> response;
      boost::system::error_code readError = writeError;
      if (!writeError) {
        buffer.clear();
        auto [error, read] = co_await http::async_read(*stream, buffer, response, kUseAwaitable);
        readError = error;
      }
      if (readError) {
        stream.reset();
        if (!reused || readError == beast::error::timeout) break;
        continue;
      }
      answered = true;
      status = response.result_int();
      body = std::move(response.body());
      if (!response.keep_alive()) stream.reset();
    }
    record(status, body, !answered);
  }
  if (stream) {
    boost::system::error_code ignored;
    stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
  }
  workerEnded();
}

}  // namespace canaryd::demo
