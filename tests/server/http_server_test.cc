#include "server/http_server.h"

#include <gtest/gtest.h>

#include <atomic>

#include "http_get.h"

namespace canaryd::server {
namespace {

using testing::httpGet;

HttpHandler echo(std::atomic<int>* calls = nullptr) {
  return [calls](const HttpRequest& r) {
    if (calls) ++*calls;
    if (r.path == "/missing") return HttpResponse{404, "text/plain", "no\n"};
    return HttpResponse{200, "text/plain", r.method + " " + r.path + " " + r.target};
  };
}

TEST(HttpServerTest, ServesEachListenerWithItsHandler) {
  HttpServer server;
  auto a = server.listen({"127.0.0.1", 0}, echo());
  ASSERT_TRUE(a.has_value()) << a.error();
  auto b = server.listen({"127.0.0.1", 0}, [](const HttpRequest&) {
    return HttpResponse{200, "text/x-b", "b"};
  });
  ASSERT_TRUE(b.has_value()) << b.error();
  ASSERT_NE(a->port, 0);
  ASSERT_NE(a->port, b->port);
  EXPECT_EQ(a->host, "127.0.0.1");
  server.start();

  auto got = httpGet(a->port, "/readyz?verbose=1");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.contentType, "text/plain");
  EXPECT_EQ(got.body, "GET /readyz /readyz?verbose=1");
  EXPECT_EQ(httpGet(a->port, "/missing").status, 404);
  auto other = httpGet(b->port, "/");
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(other.contentType, "text/x-b");
  EXPECT_EQ(other.body, "b");
}

TEST(HttpServerTest, OnlyGetIsAllowed) {
  std::atomic<int> calls{0};
  HttpServer server;
  auto a = server.listen({"127.0.0.1", 0}, echo(&calls));
  ASSERT_TRUE(a.has_value()) << a.error();
  server.start();
  EXPECT_EQ(httpGet(a->port, "/metrics", "POST").status, 405);
  EXPECT_EQ(httpGet(a->port, "/metrics", "DELETE").status, 405);
  EXPECT_EQ(calls.load(), 0);
}

TEST(HttpServerTest, KeepsConnectionsAlive) {
  namespace net = boost::asio;
  namespace http = boost::beast::http;
  HttpServer server;
  auto a = server.listen({"127.0.0.1", 0}, echo());
  ASSERT_TRUE(a.has_value()) << a.error();
  server.start();
  net::io_context ioc;
  boost::beast::tcp_stream stream(ioc);
  stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), a->port));
  boost::beast::flat_buffer buffer;
  for (int i = 0; i < 3; ++i) {
    http::request<http::empty_body> req{http::verb::get, "/n" + std::to_string(i), 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(stream, req);
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    EXPECT_EQ(res.body(), "GET /n" + std::to_string(i) + " /n" + std::to_string(i));
    EXPECT_TRUE(res.keep_alive());
  }
}

TEST(HttpServerTest, AHandlerThatThrowsAnswers500) {
  HttpServer server;
  auto a = server.listen({"127.0.0.1", 0}, [](const HttpRequest&) -> HttpResponse {
    throw std::runtime_error("boom");
  });
  ASSERT_TRUE(a.has_value()) << a.error();
  server.start();
  EXPECT_EQ(httpGet(a->port, "/").status, 500);
  EXPECT_EQ(httpGet(a->port, "/").status, 500);
}

TEST(HttpServerTest, PortInUseIsAnError) {
  HttpServer first;
  auto a = first.listen({"127.0.0.1", 0}, echo());
  ASSERT_TRUE(a.has_value()) << a.error();
  first.start();
  HttpServer second;
  auto b = second.listen({"127.0.0.1", a->port}, echo());
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error(),
            "listen on 127.0.0.1:" + std::to_string(a->port) + ": Address already in use");
  // The first server is unaffected.
  EXPECT_EQ(httpGet(a->port, "/x").status, 200);
}

TEST(HttpServerTest, AnAddressNotOfThisHostIsAnError) {
  HttpServer server;
  // TEST-NET-1 (RFC 5737): never assigned to a local interface.
  auto b = server.listen({"192.0.2.1", 0}, echo());
  ASSERT_FALSE(b.has_value());
  EXPECT_NE(b.error().find("listen on 192.0.2.1:0: "), std::string::npos) << b.error();
  auto c = server.listen({"not-an-ip", 0}, echo());
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().find("bad host"), std::string::npos) << c.error();
}

TEST(HttpServerTest, StopClosesTheListenerAndIsIdempotent) {
  HttpServer server;
  auto a = server.listen({"127.0.0.1", 0}, echo());
  ASSERT_TRUE(a.has_value()) << a.error();
  server.start();
  ASSERT_EQ(httpGet(a->port, "/").status, 200);
  server.stop();
  server.stop();
  EXPECT_EQ(httpGet(a->port, "/").status, 0);
}

TEST(HttpServerTest, StopsWithAnIdleConnectionOpen) {
  namespace net = boost::asio;
  HttpServer server;
  auto a = server.listen({"127.0.0.1", 0}, echo());
  ASSERT_TRUE(a.has_value()) << a.error();
  server.start();
  net::io_context ioc;
  boost::beast::tcp_stream stream(ioc);
  stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), a->port));
  ASSERT_EQ(httpGet(a->port, "/").status, 200);
  server.stop();
}

}  // namespace
}  // namespace canaryd::server
