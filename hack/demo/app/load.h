// LoadGenerator: steady HTTP GET load at a fixed rate over several keep-alive
// connections, paced by one shared schedule (request k is due at start + k / rps), with a
// one-line summary per second on stderr. Runs on the caller's io_context; not
// thread-safe (all state is touched from that context's one thread).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace canaryd::demo {

struct LoadOptions {
  std::string target;  // http://host:port/path
  double rps = 50;     // requests per second, > 0
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::seconds duration{0};          // 0: until stop()
  int connections = 0;                       // 0: enough for half a second of latency at rps
  std::chrono::milliseconds timeout{10000};  // per request, connect included
  bool quiet = false;                        // no per-second summary
};

// Answers counted by class; versions counts the "version <v>" bodies of the demo app.
struct LoadCounts {
  uint64_t sent = 0;
  uint64_t ok = 0;            // 2xx
  uint64_t serverErrors = 0;  // 5xx
  uint64_t otherCodes = 0;
  uint64_t transportErrors = 0;  // no HTTP answer: refused, reset, timed out
  std::map<std::string, uint64_t> versions;
  std::string summary() const;  // "sent=50 2xx=46 5xx=4 other=0 err=0 v1=45 v2=5"
};

class LoadGenerator {
 public:
  // Throws std::invalid_argument for a target that is not an http:// URL.
  LoadGenerator(boost::asio::io_context& io, LoadOptions options);

  // Starts the workers; done is called once, on the io_context, when the duration has
  // passed (or after stop()) and every in-flight request has ended.
  void start(std::function<void()> done);
  void stop();

  const LoadCounts& total() const { return total_; }

 private:
  boost::asio::awaitable<void> worker();
  boost::asio::awaitable<void> reporter();
  void record(unsigned status, const std::string& body, bool transportError);
  void workerEnded();

  boost::asio::io_context& io_;
  LoadOptions options_;
  std::string host_;
  std::string port_;
  std::string path_;
  std::chrono::steady_clock::time_point start_;
  uint64_t nextSlot_ = 0;
  bool stopping_ = false;
  int running_ = 0;
  LoadCounts total_;
  LoadCounts second_;
  boost::asio::steady_timer reportTimer_;
  std::function<void()> done_;
};

}  // namespace canaryd::demo
