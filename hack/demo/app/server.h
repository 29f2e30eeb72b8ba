// DemoServer: the demo's HTTP service. GET / answers "version <v>\n" after a fixed
// latency, failing a configured fraction of requests with 500; GET /metrics serves the
// Prometheus text format. Runs on the caller's io_context; all methods must be called
// from that context's thread (or before it runs).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "error_schedule.h"

namespace canaryd::demo {

struct ServerOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 0;  // 0: any free port
  std::string version = "v1";
  double errorRate = 0;                  // fraction of GET / answered 500, 0..1
  std::chrono::milliseconds latency{0};  // added before every GET / answer
  // Added before the failed ones instead (errors that are timeouts upstream are slow);
  // unset: latency.
  std::optional<std::chrono::milliseconds> errorLatency;
};

// The histogram buckets of http_request_duration_seconds, in seconds: fine enough
// between 5 ms and 1 s that histogram_quantile's linear interpolation lands near the
// real latency, up to 10 s.
const std::vector<double>& durationBuckets();

class DemoServer {
 public:
  // Binds and listens at once (throws boost::system::system_error when the address is
  // taken), so port() is known before start().
  DemoServer(boost::asio::io_context& io, ServerOptions options);

  unsigned short port() const { return port_; }
  std::string url() const;

  // Starts accepting connections on the io_context.
  void start();
  // Stops accepting; open connections end with the io_context.
  void stop();

  // The registry in the Prometheus text exposition format (version 0.0.4).
  std::string metricsText() const;

 private:
  boost::asio::awaitable<void> acceptLoop();
  boost::asio::awaitable<void> session(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_;
  ServerOptions options_;
  boost::asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  ErrorSchedule errors_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Histogram& duration_;
};

}  // namespace canaryd::demo
