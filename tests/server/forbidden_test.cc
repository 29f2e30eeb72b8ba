// RBAC refusals seen through the kube client: the 403 is logged once per verb and
// resource however often it is retried, counted in canaryd_kube_requests_total, and named
// by /readyz's reason. The API server is a stub on HttpServer that refuses everything.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "kube/http_client.h"
#include "server/http_server.h"
#include "server/probes.h"

namespace canaryd::server {
namespace {

using ::testing::HasSubstr;

// The lines of `text` that contain `needle`.
int countLines(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
  return n;
}

TEST(ForbiddenTest, LoggedOncePerVerbAndResourceAndNamedByReadyz) {
  HttpServer apiServer;
  auto bound = apiServer.listen({"127.0.0.1", 0}, [](const HttpRequest& r) {
    return HttpResponse{
        403, "application/json",
        R"({"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,)"
        R"("message":"forbidden: cannot access )" +
            r.path + "\"}"};
  });
  ASSERT_TRUE(bound.has_value()) << bound.error();
  apiServer.start();

  std::ostringstream logs;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(
      "forbidden-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(logs));
  logger->set_level(spdlog::level::info);
  spdlog::set_default_logger(logger);

  Metrics metrics;
  KubeApiObserver api(&metrics);
  kube::RestConfig config;
  config.host = "http://127.0.0.1:" + std::to_string(bound->port);
  kube::HttpClientOptions options;
  options.qps = 0;
  options.metrics = api.hook();
  auto client = kube::HttpClient::create(config, options);
  ASSERT_TRUE(client.has_value()) << client.error().message;
  for (int i = 0; i < 3; ++i) {
    auto listed = (*client)->list(kube::resources::kRollouts, "shop");
    ASSERT_FALSE(listed.has_value());
    EXPECT_EQ(listed.error().code, 403);
  }
  // Another verb and resource: its own line. (The stub serves GET only.)
  auto got = (*client)->get(kube::resources::kServices, "shop", "web");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, 403);
  client->reset();
  spdlog::set_default_logger(previous);

  std::string text = logs.str();
  EXPECT_EQ(countLines(text,
                       "forbidden: RBAC does not allow list rollouts.canaryd.io (HTTP 403: "
                       "forbidden: cannot access /apis/canaryd.io/v1alpha1/namespaces/shop/"
                       "rollouts)"),
            1)
      << text;
  EXPECT_EQ(countLines(text, "forbidden: RBAC does not allow get services"), 1) << text;
  EXPECT_EQ(countLines(text, "HTTP 403"), 2) << text;

  EXPECT_THAT(metrics.render(),
              HasSubstr("canaryd_kube_requests_total{code=\"403\",verb=\"list\"} 3\n"));
  EXPECT_EQ(cacheSyncReason({"rollouts.canaryd.io in shop"}, &api),
            "forbidden: RBAC does not allow canaryd to list rollouts.canaryd.io; grant it to "
            "canaryd's ServiceAccount; retrying");
}

}  // namespace
}  // namespace canaryd::server
