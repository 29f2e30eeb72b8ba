// The canary Ingress against a real nginx (Debian's /usr/sbin/nginx): the annotations the
// nginx router wrote are turned into an nginx configuration the way ingress-nginx applies
// them (header first, then cookie, then a weighted split), nginx runs on loopback with two
// upstream servers that answer with their name, and 10,000 requests check the canary's
// share and that every request with the header reaches the canary.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "fake_clients.h"
#include "golden.h"
#include "test_rollouts.h"
#include "traffic/nginx/nginx_router.h"

namespace canaryd::traffic::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr const char* kNginx = "/usr/sbin/nginx";
constexpr const char* kPrefix = "nginx.ingress.kubernetes.io/";

// What ingress-nginx reads from a canary Ingress (its canary annotations).
struct CanaryRules {
  int weight = 0;
  int total = 100;
  std::string header;         // canary-by-header
  std::string headerValue;    // canary-by-header-value
  std::string headerPattern;  // canary-by-header-pattern
  std::string cookie;         // canary-by-cookie
};

std::string annotationOf(const rapidjson::Value& ingress, const std::string& key) {
  const auto& a = ingress["metadata"]["annotations"];
  auto it = a.FindMember(key.c_str());
  return it == a.MemberEnd() ? "" : it->value.GetString();
}

CanaryRules rulesOf(const rapidjson::Value& ingress) {
  CanaryRules r;
  EXPECT_EQ(annotationOf(ingress, std::string(kPrefix) + "canary"), "true");
  r.weight = std::stoi(annotationOf(ingress, std::string(kPrefix) + "canary-weight"));
  if (auto total = annotationOf(ingress, std::string(kPrefix) + "canary-weight-total");
      !total.empty())
    r.total = std::stoi(total);
  r.header = annotationOf(ingress, std::string(kPrefix) + "canary-by-header");
  r.headerValue = annotationOf(ingress, std::string(kPrefix) + "canary-by-header-value");
  r.headerPattern = annotationOf(ingress, std::string(kPrefix) + "canary-by-header-pattern");
  r.cookie = annotationOf(ingress, std::string(kPrefix) + "canary-by-cookie");
  return r;
}

// An nginx string literal (a map key: `$` is literal there, variables are not expanded).
std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The nginx variable of a request header: $http_ + lower case with '-' as '_'.
std::string headerVariable(const std::string& name) {
  std::string v = "$http_";
  for (char c : name)
    v += c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v;
}

// The configuration: `front` proxies to upstream `stable` or `canary`, chosen as
// ingress-nginx's balancer chooses (header, then cookie, then weight; "always"/"never" for
// a header without value or pattern and for the cookie). split_clients (MurmurHash2 of
// the key) does the weighted split; the key is the X-Request-Id the client numbers its
// requests with, so the split is the same on every run (ingress-nginx draws a random
// number per request instead: the same share, but not reproducible).
std::string renderConfig(const CanaryRules& r, const std::string& dir, int front, int stable,
                         int canary) {
  std::ostringstream c;
  c << "daemon off;\nmaster_process off;\nworker_processes 1;\n"
    << "pid " << dir << "/nginx.pid;\nerror_log " << dir << "/error.log warn;\n"
    << "events { worker_connections 256; }\n"
    << "http {\n"
    << "  access_log off;\n";
  for (const char* t : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
    c << "  " << t << "_temp_path " << dir << "/" << t << ";\n";
  c << "  keepalive_requests 100000;\n";
  c << "  split_clients \"${http_x_request_id}\" $by_weight {\n";
  if (r.weight >= r.total) {
    c << "    * canary;\n";
  } else {
    if (r.weight > 0) {
      char percent[32];
      std::snprintf(percent, sizeof percent, "%.2f%%", 100.0 * r.weight / r.total);
      c << "    " << percent << " canary;\n";
    }
    c << "    * stable;\n";
  }
  c << "  }\n";
  std::string next = "$by_weight";
  if (!r.cookie.empty()) {
    c << "  map $cookie_" << r.cookie << " $by_cookie {\n    default " << next
      << ";\n    always canary;\n    never stable;\n  }\n";
    next = "$by_cookie";
  }
  if (!r.header.empty()) {
    c << "  map " << headerVariable(r.header) << " $target {\n    default " << next << ";\n";
    if (!r.headerValue.empty())
      c << "    " << quote(r.headerValue) << " canary;\n";
    else if (!r.headerPattern.empty())
      c << "    " << quote("~" + r.headerPattern) << " canary;\n";
    else
      c << "    always canary;\n    never stable;\n";
    c << "  }\n";
  } else {
    c << "  map $request_id $target { default " << next << "; }\n";
  }
  c << "  upstream stable { server 127.0.0.1:" << stable << "; keepalive 4; }\n"
    << "  upstream canary { server 127.0.0.1:" << canary << "; keepalive 4; }\n"
    << "  server {\n    listen 127.0.0.1:" << front << ";\n"
    << "    location / {\n      proxy_pass http://$target;\n      proxy_http_version 1.1;\n"
    << "      proxy_set_header Connection \"\";\n    }\n  }\n"
    << "  server { listen 127.0.0.1:" << stable << "; location / { return 200 stable; } }\n"
    << "  server { listen 127.0.0.1:" << canary << "; location / { return 200 canary; } }\n"
    << "}\n";
  return c.str();
}

// A loopback port free at the time of the call (bound to port 0, then released).
int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool canConnect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// nginx in the foreground (daemon off, master_process off) in its own process group,
// with everything it writes inside a temporary prefix. Stopped by the destructor.
class Nginx {
 public:
  explicit Nginx(const CanaryRules& rules) {
    char tmpl[] = "/tmp/canaryd-nginx-XXXXXX";
    const char* dir = ::mkdtemp(tmpl);
    EXPECT_NE(dir, nullptr);
    dir_ = dir ? dir : "";
    // A port taken between freePort() and nginx's bind makes nginx exit: try again.
    for (int attempt = 0; attempt < 5 && !running_; ++attempt) start(rules);
  }
  ~Nginx() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  bool running() const { return running_; }
  int port() const { return front_; }
  std::string errorLog() const { return readFile(dir_ + "/error.log"); }

 private:
  void start(const CanaryRules& rules) {
    front_ = freePort();
    int stable = freePort();
    int canary = freePort();
    const std::string conf = dir_ + "/nginx.conf";
    {
      std::ofstream out(conf);
      out << renderConfig(rules, dir_, front_, stable, canary);
    }
    const std::string log = dir_ + "/error.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      std::string out = dir_ + "/stdout.log";
      FILE* f = std::freopen(out.c_str(), "w", stdout);
      FILE* g = std::freopen(out.c_str(), "a", stderr);
      (void)f;
      (void)g;
      ::execl(kNginx, "nginx", "-p", dir_.c_str(), "-c", conf.c_str(), "-e", log.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ASSERT_GT(pid_, 0);
    ::setpgid(pid_, pid_);
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (Clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;  // exited: most likely a port in use
      }
      if (canConnect(front_) && canConnect(stable) && canConnect(canary)) {
        running_ = true;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGTERM);
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() > deadline) {
        ::kill(-pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
    running_ = false;
  }

  std::string dir_;
  pid_t pid_ = -1;
  int front_ = 0;
  bool running_ = false;
};

// A keep-alive HTTP/1.1 client counting which upstream answered.
class Client {
 public:
  explicit Client(int port) : stream_(io_) {
    stream_.expires_after(std::chrono::seconds(5));
    stream_.connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  }

  // Sends `n` GET / requests with `headers`; returns how many the canary answered. Every
  // answer must be 200 "stable" or "canary".
  int canaryAnswers(int n, const std::vector<std::pair<std::string, std::string>>& headers) {
    int canary = 0;
    beast::flat_buffer buffer;
    for (int i = 0; i < n; ++i) {
      http::request<http::empty_body> req(http::verb::get, "/", 11);
      req.set(http::field::host, "web.example.com");
      req.set("X-Request-Id", "request-" + std::to_string(sent_++));
      for (const auto& [k, v] : headers) req.set(k, v);
      stream_.expires_after(std::chrono::seconds(5));
      http::write(stream_, req);
      http::response<http::string_body> res;
      http::read(stream_, buffer, res);
      EXPECT_EQ(res.result_int(), 200u);
      if (res.body() == "canary") {
        ++canary;
      } else if (res.body() != "stable") {
        ADD_FAILURE() << "unexpected answer: " << res.body();
        return -1;
      }
    }
    return canary;
  }

 private:
  asio::io_context io_;
  beast::tcp_stream stream_;
  int sent_ = 0;
};

// The canary Ingress the nginx router writes for `weight` with a header route.
rapidjson::Document canaryIngress(int weight, const api::SetHeaderRouteStep& header) {
  FakeApi api;
  api.seed(readTestdata("nginx-stable-ingress.yaml"));
  api::Rollout rollout = nginxRollout();
  NginxRouter router(RouterTarget{rollout, "", ""}, api);
  EXPECT_TRUE(router.setWeight(weight));
  EXPECT_TRUE(router.setHeaderRoute(header));
  auto doc = api.object("Ingress", "shop", "web-web-canary");
  EXPECT_TRUE(doc);
  return doc ? std::move(*doc) : rapidjson::Document(rapidjson::kObjectType);
}

class NginxDataPlaneTest : public ::testing::TestWithParam<int> {};

TEST_P(NginxDataPlaneTest, CanaryShareIsTheWeightAndTheHeaderAlwaysReachesTheCanary) {
  ASSERT_TRUE(std::filesystem::exists(kNginx)) << kNginx << " is needed (hack/install-deps.sh)";
  const int weight = GetParam();
  CanaryRules rules = rulesOf(canaryIngress(weight, headerRoute("beta", "X-Canary", "always")));
  ASSERT_EQ(rules.weight, weight);
  ASSERT_EQ(rules.header, "X-Canary");
  ASSERT_EQ(rules.headerValue, "always");

  Nginx nginx(rules);
  ASSERT_TRUE(nginx.running()) << nginx.errorLog();
  Client client(nginx.port());
  constexpr int kRequests = 10000;
  int canary = client.canaryAnswers(kRequests, {});
  ASSERT_GE(canary, 0) << nginx.errorLog();
  double share = 100.0 * canary / kRequests;
  EXPECT_NEAR(share, 100.0 * weight / rules.total, 1.5)
      << canary << " of " << kRequests << " requests reached the canary";
  RecordProperty("canaryShare", std::to_string(share));

  EXPECT_EQ(client.canaryAnswers(1000, {{"X-Canary", "always"}}), 1000);
  // Another value of the header falls through to the weight.
  int other = client.canaryAnswers(1000, {{"X-Canary", "sometimes"}});
  if (weight == 0) {
    EXPECT_EQ(other, 0);
  } else {
    EXPECT_LT(other, 1000);
  }
}

INSTANTIATE_TEST_SUITE_P(Weights, NginxDataPlaneTest, ::testing::Values(0, 5, 50),
                         [](const auto& info) { return "weight" + std::to_string(info.param); });

TEST(NginxDataPlaneRegexTest, PatternAndCookieRoutesSendMatchingRequestsToTheCanary) {
  ASSERT_TRUE(std::filesystem::exists(kNginx));
  api::SetHeaderRouteStep step =
      headerRoute("staff", "X-User", "^staff-[a-z]+$", api::StringMatch::Kind::kRegex);
  step.cookie = "canary";
  CanaryRules rules = rulesOf(canaryIngress(0, step));
  ASSERT_EQ(rules.headerPattern, "^staff-[a-z]+$");
  ASSERT_EQ(rules.cookie, "canary");
  Nginx nginx(rules);
  ASSERT_TRUE(nginx.running()) << nginx.errorLog();
  Client client(nginx.port());
  EXPECT_EQ(client.canaryAnswers(200, {{"X-User", "staff-alice"}}), 200);
  EXPECT_EQ(client.canaryAnswers(200, {{"X-User", "guest-bob"}}), 0);
  EXPECT_EQ(client.canaryAnswers(200, {}), 0);
  EXPECT_EQ(client.canaryAnswers(200, {{"Cookie", "canary=always"}}), 200);
  EXPECT_EQ(client.canaryAnswers(200, {{"Cookie", "canary=never"}}), 0);
}

}  // namespace
}  // namespace canaryd::traffic::testing
