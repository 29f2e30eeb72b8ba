// demo-app: the demo's HTTP service and its load generator.
//   demo-app serve --port 0 --version v2 --error-rate 0.08 --latency-ms 300
//     [--error-latency-ms 800] [--host 127.0.0.1]
//     prints "listening on http://127.0.0.1:PORT" first, then serves GET / and
//     GET /metrics until SIGINT/SIGTERM.
//   demo-app load --target http://127.0.0.1:PORT/ --rps 50 [--header Name:Value]
//     sends steady load, one summary line per second on stderr, until the duration
//     has passed or SIGINT/SIGTERM.
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <iostream>

#include "load.h"
#include "server.h"

namespace {

int serve(const canaryd::demo::ServerOptions& options) {
  boost::asio::io_context io;
  canaryd::demo::DemoServer server(io, options);
  server.start();
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    server.stop();
    io.stop();
  });
  std::cout << "listening on " << server.url() << std::endl;
  io.run();
  return 0;
}

int load(canaryd::demo::LoadOptions options) {
  boost::asio::io_context io;
  canaryd::demo::LoadGenerator generator(io, std::move(options));
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) generator.stop();
  });
  generator.start([&] {
    std::cerr << "load: total " << generator.total().summary() << std::endl;
    signals.cancel();
  });
  io.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"demo-app: the canaryd demo's HTTP service and load generator"};
  app.require_subcommand(1);

  canaryd::demo::ServerOptions server;
  int port = 0;
  long latencyMs = 0, errorLatencyMs = -1;
  auto* serveCommand = app.add_subcommand(
      "serve", "serve GET / (\"version <v>\") and GET /metrics (Prometheus text format)");
  serveCommand->add_option("--host", server.host, "address to listen on")->capture_default_str();
  serveCommand->add_option("--port", port, "TCP port (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  serveCommand->add_option("--version", server.version, "version reported in answers and labels")
      ->capture_default_str();
  serveCommand
      ->add_option("--error-rate", server.errorRate,
                   "fraction of GET / answered 500, spread evenly (0.08: 8 of every 100)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  serveCommand->add_option("--latency-ms", latencyMs, "latency added to every GET /")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  serveCommand
      ->add_option("--error-latency-ms", errorLatencyMs,
                   "latency of the failed GET / instead (default: --latency-ms)")
      ->check(CLI::NonNegativeNumber);

  canaryd::demo::LoadOptions load;
  std::vector<std::string> headers;
  long durationSeconds = 0, timeoutMs = 10000;
  auto* loadCommand = app.add_subcommand("load", "send steady GET load to a URL");
  loadCommand->add_option("--target", load.target, "URL to GET (http://host:port/path)")
      ->required();
  loadCommand->add_option("--rps", load.rps, "requests per second")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  loadCommand->add_option("--header", headers, "extra request header Name:Value (repeatable)");
  loadCommand->add_option("--duration-seconds", durationSeconds, "stop after N seconds (0: never)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  loadCommand
      ->add_option("--connections", load.connections,
                   "keep-alive connections (0: enough for 0.5 s answers at --rps)")
      ->capture_default_str();
  loadCommand->add_option("--timeout-ms", timeoutMs, "per-request timeout")->capture_default_str();
  loadCommand->add_flag("--quiet", load.quiet, "print only the total at the end");

  CLI11_PARSE(app, argc, argv);
  try {
    if (*serveCommand) {
      server.port = static_cast<unsigned short>(port);
      server.latency = std::chrono::milliseconds(latencyMs);
      if (errorLatencyMs >= 0) server.errorLatency = std::chrono::milliseconds(errorLatencyMs);
      return serve(server);
    }
    for (const auto& header : headers) {
      const auto colon = header.find(':');
      if (colon == std::string::npos || colon == 0) {
        std::cerr << "demo-app: --header must be Name:Value, got " << header << "\n";
        return 2;
      }
      auto value = header.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      load.headers.emplace_back(header.substr(0, colon), value);
    }
    load.duration = std::chrono::seconds(durationSeconds);
    load.timeout = std::chrono::milliseconds(timeoutMs);
    return ::load(std::move(load));
  } catch (const std::exception& e) {
    std::cerr << "demo-app: " << e.what() << "\n";
    return 1;
  }
}
