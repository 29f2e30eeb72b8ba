// A real Prometheus for tests: Debian's /usr/bin/prometheus on a free loopback port, its
// TSDB filled from OpenMetrics text with `promtool tsdb create-blocks-from openmetrics`,
// no scraping. Started in its own process group, stopped (and waited for) by the
// destructor. Everything lives in a private temporary directory.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "analysis/prometheus/beast_transport.h"

namespace canaryd::analysis::testing {

inline constexpr const char* kPrometheus = "/usr/bin/prometheus";
inline constexpr const char* kPromtool = "/usr/bin/promtool";

// A port the kernel just handed out on 127.0.0.1 (free at the time of the call).
inline int freeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

// Runs argv to completion with output to `log`; returns the exit status (-1: not run).
inline int runCommand(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = ::fork();
  if (pid == 0) {
    FILE* out = std::freopen(log.c_str(), "a", stdout);
    (void)out;
    ::dup2(::fileno(stdout), STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    std::_Exit(127);
  }
  if (pid < 0) return -1;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class PrometheusServer {
 public:
  // Loads `openMetrics` (which must end with "# EOF") and starts Prometheus. Check ok()
  // (and error()) before use.
  explicit PrometheusServer(const std::string& openMetrics) {
    std::string pattern = ::testing::TempDir() + "canaryd-prometheus-XXXXXX";
    if (!::mkdtemp(pattern.data())) {
      error_ = "mkdtemp failed";
      return;
    }
    dir_ = pattern;
    std::ofstream(dir_ + "/data.om") << openMetrics;
    // No scrape jobs: the data comes from the blocks only.
    std::ofstream(dir_ + "/prometheus.yml") << "global:\n  scrape_interval: 1h\n";
    if (runCommand({kPromtool, "tsdb", "create-blocks-from", "openmetrics", dir_ + "/data.om",
                    dir_ + "/tsdb"},
                   dir_ + "/promtool.log") != 0) {
      error_ = "promtool failed: " + readFile(dir_ + "/promtool.log");
      return;
    }
    // The port may be taken between choosing and binding it: try a few.
    for (int attempt = 0; attempt < 3 && !ready_; ++attempt) start();
  }

  ~PrometheusServer() {
    stop();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  bool ok() const { return ready_; }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  std::string address() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return readFile(dir_ + "/prometheus.log"); }

  // Ends Prometheus' process group and waits for it (SIGTERM, then SIGKILL after 10 s).
  void stop() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(-pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
    ready_ = false;
  }

 private:
  void start() {
    port_ = freeLoopbackPort();
    std::vector<std::string> argv = {
        kPrometheus, "--config.file=" + dir_ + "/prometheus.yml",
        "--storage.tsdb.path=" + dir_ + "/tsdb",
        // Retention counts back from the newest block, so fixed 2023 data stays loaded.
        "--storage.tsdb.retention.time=100y",
        "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"};
    std::string log = dir_ + "/prometheus.log";
    pid_t pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0);
      FILE* out = std::freopen(log.c_str(), "a", stdout);
      (void)out;
      ::dup2(::fileno(stdout), STDERR_FILENO);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      std::_Exit(127);
    }
    if (pid < 0) {
      error_ = "fork failed";
      return;
    }
    ::setpgid(pid, pid);  // also from the parent, so stop() cannot race the child's call
    pid_ = pid;
    prometheus::BeastHttpTransport http;
    HttpRequest ready;
    ready.method = "GET";
    ready.url = address() + "/-/ready";
    ready.timeout = std::chrono::seconds(1);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        error_ = "prometheus exited: " + readFile(log);
        return;
      }
      auto res = http.send({ready});
      if (res[0].status == 200) {
        ready_ = true;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    error_ = "prometheus not ready within 15s: " + readFile(log);
    stop();
  }

  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  bool ready_ = false;
  std::string error_;
};

}  // namespace canaryd::analysis::testing
