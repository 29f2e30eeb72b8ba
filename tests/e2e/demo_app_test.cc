// The demo app's behaviour: the exact error fraction, metrics that count what was
// answered, and latency that does not serialize concurrent requests. Server and load
// generator run in-process on one io_context thread, bound to 127.0.0.1 port 0.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <sstream>

#include "error_schedule.h"
#include "load.h"
#include "server.h"

namespace canaryd::demo {
namespace {

TEST(ErrorSchedule, EveryPrefixHoldsExactlyFloorOfRateTimesLength) {
  for (double rate : {0.0, 0.01, 0.08, 0.25, 1.0 / 3, 0.5, 0.999, 1.0}) {
    ErrorSchedule schedule(rate);
    uint64_t failures = 0;
    for (uint64_t n = 1; n <= 5000; ++n) {
      failures += schedule.next() ? 1 : 0;
      ASSERT_EQ(failures, n * schedule.ratePpm() / 1'000'000) << "rate " << rate << " n " << n;
    }
  }
}

TEST(ErrorSchedule, FailuresAreSpreadEvenly) {
  // 8% means one failure in every 12 or 13 requests, never two close together.
  ErrorSchedule schedule(0.08);
  int64_t last = -100;
  for (int64_t n = 0; n < 1000; ++n) {
    if (!schedule.next()) continue;
    EXPECT_GE(n - last, 12) << "failure at " << n << " after " << last;
    last = n;
  }
}

// The value of one sample line of the text format, or -1 if absent.
double sample(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

struct LoadRun {
  LoadCounts counts;
  std::string metrics;
  std::chrono::steady_clock::duration elapsed;
};

LoadRun runLoad(ServerOptions serverOptions, LoadOptions loadOptions) {
  boost::asio::io_context io;
  DemoServer server(io, std::move(serverOptions));
  server.start();
  loadOptions.target = server.url() + "/";
  loadOptions.quiet = true;
  LoadGenerator load(io, std::move(loadOptions));
  const auto started = std::chrono::steady_clock::now();
  LoadRun run;
  load.start([&] {
    run.elapsed = std::chrono::steady_clock::now() - started;
    server.stop();
    io.stop();
  });
  io.run();
  run.counts = load.total();
  run.metrics = server.metricsText();
  return run;
}

TEST(DemoApp, ErrorFractionIsExactOver1000RequestsAndMetricsCountThem) {
  ServerOptions serverOptions;
  serverOptions.version = "v3";
  serverOptions.errorRate = 0.08;
  LoadOptions loadOptions;
  loadOptions.rps = 1000;  // slots 0..999 fall inside the one second
  loadOptions.duration = std::chrono::seconds(1);
  loadOptions.connections = 8;
  const LoadRun run = runLoad(serverOptions, loadOptions);

  EXPECT_EQ(run.counts.sent, 1000u);
  EXPECT_EQ(run.counts.transportErrors, 0u);
  EXPECT_EQ(run.counts.serverErrors, 80u);
  EXPECT_EQ(run.counts.ok, 920u);
  EXPECT_EQ(run.counts.versions.at("v3"), 1000u);
  EXPECT_EQ(sample(run.metrics, R"(http_requests_total{code="500",version="v3"})"), 80);
  EXPECT_EQ(sample(run.metrics, R"(http_requests_total{code="200",version="v3"})"), 920);
  EXPECT_EQ(sample(run.metrics, R"(http_request_duration_seconds_count{version="v3"})"), 1000);
  EXPECT_EQ(sample(run.metrics, R"(http_request_duration_seconds_bucket{version="v3",le="+Inf"})"),
            1000);
  EXPECT_NE(run.metrics.find("# TYPE http_requests_total counter"), std::string::npos);
  EXPECT_NE(run.metrics.find("# TYPE http_request_duration_seconds histogram"), std::string::npos);
}

TEST(DemoApp, HealthyVersionAnswersEverythingAndExportsZeroFailures) {
  ServerOptions serverOptions;
  serverOptions.version = "v2";
  LoadOptions loadOptions;
  loadOptions.rps = 200;
  loadOptions.duration = std::chrono::seconds(1);
  const LoadRun run = runLoad(serverOptions, loadOptions);
  EXPECT_EQ(run.counts.sent, 200u);
  EXPECT_EQ(run.counts.ok, 200u);
  // The 500 series exists at 0, so that rate() over it is 0 rather than no data.
  EXPECT_EQ(sample(run.metrics, R"(http_requests_total{code="500",version="v2"})"), 0);
  EXPECT_EQ(sample(run.metrics, R"(http_requests_total{code="200",version="v2"})"), 200);
}

TEST(DemoApp, LatencyIsAddedPerRequestWithoutSerializingConnections) {
  ServerOptions serverOptions;
  serverOptions.latency = std::chrono::milliseconds(500);
  LoadOptions loadOptions;
  loadOptions.rps = 10;  // 10 requests over one second, one per connection
  loadOptions.connections = 10;
  loadOptions.duration = std::chrono::seconds(1);
  const LoadRun run = runLoad(serverOptions, loadOptions);
  EXPECT_EQ(run.counts.ok, 10u);
  // Every answer took at least the latency: nothing in the buckets below 0.5 s.
  EXPECT_EQ(sample(run.metrics, R"(http_request_duration_seconds_bucket{version="v1",le="0.4"})"),
            0);
  // Ten 0.5 s answers one after another would take 5 s; paced over 1 s and answered
  // concurrently they end after about 1.4 s. The bound leaves room for a loaded machine.
  EXPECT_LT(run.elapsed, std::chrono::milliseconds(4000));
}

TEST(DemoApp, FailedRequestsCanBeSlowerThanTheOthers) {
  ServerOptions serverOptions;
  serverOptions.errorRate = 0.5;
  serverOptions.latency = std::chrono::milliseconds(0);
  serverOptions.errorLatency = std::chrono::milliseconds(300);
  LoadOptions loadOptions;
  loadOptions.rps = 20;
  loadOptions.connections = 20;
  loadOptions.duration = std::chrono::seconds(1);
  const LoadRun run = runLoad(serverOptions, loadOptions);
  EXPECT_EQ(run.counts.serverErrors, 10u);
  // The 10 answers that passed took no added time, the 10 failed ones at least 0.3 s.
  EXPECT_EQ(sample(run.metrics, R"(http_request_duration_seconds_bucket{version="v1",le="0.25"})"),
            10);
  EXPECT_EQ(sample(run.metrics, R"(http_request_duration_seconds_bucket{version="v1",le="+Inf"})"),
            20);
}

}  // namespace
}  // namespace canaryd::demo
