// PrometheusClient and BeastHttpTransport against canned HTTP(S) servers on loopback: the
// request canaryd sends, authentication, TLS verification, and broken answers (cut short,
// too slow, HTML from a proxy).
#include "analysis/prometheus/client.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "analysis/prometheus/beast_transport.h"
#include "prometheus_server.h"

namespace canaryd::analysis::prometheus {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using Kind = QueryResult::Kind;

const api::Time kAt{std::chrono::seconds(1700000300)};
constexpr const char* kVectorBody =
    R"({"status":"success","data":{"resultType":"vector","result":[)"
    R"({"metric":{},"value":[1700000300,"0.25"]}]}})";

std::string httpResponse(int status, const std::string& contentType, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + contentType +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         body;
}

// Serves one connection on 127.0.0.1 (a free port): records the request, then writes
// `response` and closes; or, when `response` is empty, waits for the client to give up.
class CannedServer {
 public:
  explicit CannedServer(std::string response, net::ssl::context* tls = nullptr)
      : acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this, response = std::move(response), tls] {
      tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec) return;
      if (tls) {
        net::ssl::stream<tcp::socket> stream(std::move(socket), *tls);
        stream.handshake(net::ssl::stream_base::server, ec);
        if (!ec) serve(stream, response);
      } else {
        serve(socket, response);
      }
    });
  }
  ~CannedServer() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return acceptor_.local_endpoint().port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }
  // The raw request; call after the client has its answer.
  std::string request() {
    if (thread_.joinable()) thread_.join();
    return request_;
  }

 private:
  template <class Stream>
  void serve(Stream& stream, const std::string& response) {
    boost::system::error_code ec;
    net::streambuf buf;
    size_t n = net::read_until(stream, buf, "\r\n\r\n", ec);
    if (ec) return;
    std::string head(net::buffers_begin(buf.data()), net::buffers_begin(buf.data()) + n);
    buf.consume(n);
    size_t length = 0;
    if (auto at = head.find("Content-Length: "); at != std::string::npos)
      length = std::stoul(head.substr(at + 16));
    if (buf.size() < length) net::read(stream, buf, net::transfer_exactly(length - buf.size()), ec);
    request_ = head + std::string(net::buffers_begin(buf.data()), net::buffers_end(buf.data()));
    if (response.empty()) {
      // Never answer: read until the client closes the connection.
      char c;
      while (!ec) stream.read_some(net::buffer(&c, 1), ec);
      return;
    }
    net::write(stream, net::buffer(response), ec);
  }

  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::string request_;
};

api::PrometheusProvider specFor(const std::string& address) {
  api::PrometheusProvider p;
  p.address = address;
  p.timeout = 5s;
  return p;
}

class ClientTest : public ::testing::Test {
 protected:
  std::shared_ptr<BeastHttpTransport> transport_ = std::make_shared<BeastHttpTransport>();
};

TEST_F(ClientTest, SendsTheInstantQueryForm) {
  CannedServer server(httpResponse(200, "application/json", kVectorBody));
  auto spec = specFor(server.url() + "/prom/");
  spec.headers = {{"X-Scope-OrgID", "tenant-1"}};
  PrometheusClient client(transport_, spec, Credentials{.bearerToken = "s3cret"});
  QueryResult r = client.measure("sum(rate(x{a=\"b c\"}[30s]))", kAt);
  ASSERT_EQ(r.kind, Kind::kValue) << r.message;
  EXPECT_EQ(r.value, 0.25);
  std::string req = server.request();
  EXPECT_EQ(req.rfind("POST /prom/api/v1/query HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("Content-Type: application/x-www-form-urlencoded\r\n"), std::string::npos);
  EXPECT_NE(req.find("X-Scope-OrgID: tenant-1\r\n"), std::string::npos);
  EXPECT_NE(req.find("Authorization: Bearer s3cret\r\n"), std::string::npos);
  EXPECT_NE(req.find("\r\n\r\nquery=sum%28rate%28x%7Ba%3D%22b+c%22%7D%5B30s%5D%29%29"
                     "&time=1700000300&timeout=5.000"),
            std::string::npos)
      << req;
}

TEST_F(ClientTest, BasicAuth) {
  CannedServer server(httpResponse(200, "application/json", kVectorBody));
  PrometheusClient client(transport_, specFor(server.url()),
                          Credentials{.username = "user", .password = "pass"});
  EXPECT_EQ(client.measure("up", kAt).kind, Kind::kValue);
  EXPECT_NE(server.request().find("Authorization: Basic dXNlcjpwYXNz\r\n"), std::string::npos);
}

TEST_F(ClientTest, CredentialsFromSecret) {
  Credentials c;
  std::string error;
  EXPECT_TRUE(credentialsFromSecret({{"token", "t"}}, "shop/auth", c, error));
  EXPECT_EQ(c.bearerToken, "t");
  EXPECT_FALSE(credentialsFromSecret({{"username", "u"}}, "shop/auth", c, error));
  EXPECT_EQ(error, "Secret shop/auth has username but no password");
  EXPECT_FALSE(credentialsFromSecret({{"other", "x"}}, "shop/auth", c, error));
  EXPECT_EQ(error, "Secret shop/auth has none of the keys token, username/password, ca.crt");
}

TEST_F(ClientTest, SecretReadThroughTheFactory) {
  CannedServer server(httpResponse(200, "application/json", kVectorBody));
  std::string askedFor;
  PrometheusProviderFactory factory(
      transport_, [&](std::string_view ns, const std::string& name,
                      std::map<std::string, std::string>& data, std::string& error) {
        askedFor = std::string(ns) + "/" + name;
        if (name != "prom-auth") {
          error = "secrets \"" + name + "\" not found";
          return false;
        }
        data = {{"token", "from-secret"}};
        return true;
      });
  auto spec = specFor(server.url());
  spec.authSecretRef = api::SecretRef{"missing"};
  ProviderOrError missing = factory.provider("shop", spec);
  EXPECT_EQ(missing.provider, nullptr);
  EXPECT_EQ(missing.error,
            "prometheus.authSecretRef: Secret shop/missing: secrets \"missing\" not found");
  spec.authSecretRef = api::SecretRef{"prom-auth"};
  ProviderOrError p = factory.provider("shop", spec);
  ASSERT_NE(p.provider, nullptr) << p.error;
  EXPECT_EQ(p.provider->measure("up", kAt).kind, Kind::kValue);
  EXPECT_EQ(askedFor, "shop/prom-auth");
  EXPECT_NE(server.request().find("Authorization: Bearer from-secret\r\n"), std::string::npos);
}

TEST_F(ClientTest, BodyCutShort) {
  CannedServer server(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
      "{\"status\":\"succ");
  PrometheusClient client(transport_, specFor(server.url()));
  QueryResult r = client.measure("up", kAt);
  ASSERT_EQ(r.kind, Kind::kError);
  EXPECT_EQ(r.message, "Prometheus " + server.url() + ": reading the response from 127.0.0.1:" +
                           std::to_string(server.port()) +
                           " (HTTP 200, body cut short after 15 bytes: \"{\"status\":\"succ\"): "
                           "partial message");
}

TEST_F(ClientTest, TooSlowTimesOut) {
  CannedServer server("");
  auto spec = specFor(server.url());
  spec.timeout = 300ms;
  PrometheusClient client(transport_, spec);
  auto start = std::chrono::steady_clock::now();
  QueryResult r = client.measure("up", kAt);
  ASSERT_EQ(r.kind, Kind::kError);
  EXPECT_EQ(r.message, "Prometheus " + server.url() + ": reading the response from 127.0.0.1:" +
                           std::to_string(server.port()) + ": timed out after 300ms");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
}

TEST_F(ClientTest, HtmlFromAProxy) {
  CannedServer server(
      httpResponse(502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>"));
  PrometheusClient client(transport_, specFor(server.url()));
  QueryResult r = client.measure("up", kAt);
  ASSERT_EQ(r.kind, Kind::kError);
  EXPECT_EQ(
      r.message.rfind("Prometheus answered HTTP 502 text/html with a body that is not JSON", 0), 0u)
      << r.message;
  EXPECT_NE(r.message.find("<h1>502 Bad Gateway</h1>"), std::string::npos);
}

TEST_F(ClientTest, QueriesRunConcurrently) {
  // Two servers that never answer: both time out together, not one after the other.
  CannedServer a(""), b("");
  std::vector<HttpRequest> requests(2);
  requests[0].url = a.url() + "/api/v1/query";
  requests[1].url = b.url() + "/api/v1/query";
  for (auto& r : requests) r.timeout = 500ms;
  auto start = std::chrono::steady_clock::now();
  auto responses = transport_->send(requests);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_NE(responses[0].error.find("timed out after 500ms"), std::string::npos);
  EXPECT_NE(responses[1].error.find("timed out after 500ms"), std::string::npos);
  EXPECT_LT(took, 1000ms);
}

TEST_F(ClientTest, BadUrl) {
  HttpRequest r;
  r.url = "ftp://x";
  EXPECT_EQ(transport_->send({r})[0].error,
            "not an http:// or https:// URL with a host: \"ftp://x\"");
}

// A self-signed certificate for 127.0.0.1 made with the openssl command.
class TlsTest : public ClientTest {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "canaryd-tls-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    ASSERT_EQ(
        testing::runCommand({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", dir_ + "/key.pem",
                             "-out", dir_ + "/cert.pem", "-days", "1", "-subj", "/CN=canaryd-test",
                             "-addext", "subjectAltName=IP:127.0.0.1"},
                            dir_ + "/openssl.log"),
        0)
        << testing::readFile(dir_ + "/openssl.log");
    certPem_ = testing::readFile(dir_ + "/cert.pem");
    tls_.use_certificate_chain_file(dir_ + "/cert.pem");
    tls_.use_private_key_file(dir_ + "/key.pem", net::ssl::context::pem);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string httpsUrl(const CannedServer& s) const {
    return "https://127.0.0.1:" + std::to_string(s.port());
  }

  std::string dir_;
  std::string certPem_;
  net::ssl::context tls_{net::ssl::context::tls_server};
};

TEST_F(TlsTest, TrustsTheGivenCA) {
  CannedServer server(httpResponse(200, "application/json", kVectorBody), &tls_);
  PrometheusClient client(transport_, specFor(httpsUrl(server)), Credentials{.caPem = certPem_});
  QueryResult r = client.measure("up", kAt);
  ASSERT_EQ(r.kind, Kind::kValue) << r.message;
}

TEST_F(TlsTest, RefusesAnUnknownCertificate) {
  CannedServer server(httpResponse(200, "application/json", kVectorBody), &tls_);
  PrometheusClient client(transport_, specFor(httpsUrl(server)));
  QueryResult r = client.measure("up", kAt);
  ASSERT_EQ(r.kind, Kind::kError);
  EXPECT_NE(r.message.find("TLS handshake with 127.0.0.1:" + std::to_string(server.port())),
            std::string::npos)
      << r.message;
  EXPECT_NE(r.message.find("certificate verify failed"), std::string::npos) << r.message;
}

TEST_F(TlsTest, InsecureSkipVerify) {
  CannedServer server(httpResponse(200, "application/json", kVectorBody), &tls_);
  auto spec = specFor(httpsUrl(server));
  spec.insecureSkipVerify = true;
  PrometheusClient client(transport_, spec);
  QueryResult r = client.measure("up", kAt);
  ASSERT_EQ(r.kind, Kind::kValue) << r.message;
}

}  // namespace
}  // namespace canaryd::analysis::prometheus
