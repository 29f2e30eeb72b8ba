// kube_emulator_bench: load figures for kube-emulator on this machine. Starts the server
// in-process, opens W watches on ConfigMaps, creates N ConfigMaps from C keep-alive
// clients, waits until every watch has seen every event, then times full and paged
// lists and a burst of GETs. Prints rates; asserts nothing about time.
//   kube_emulator_bench [objects=50000] [watches=500] [clients=4]
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "emulator_client.h"
#include "server.h"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// A keep-alive client on one connection.
class Client {
 public:
  explicit Client(unsigned short port) : sock_(ioc_) {
    sock_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }
  unsigned call(http::verb verb, const std::string& target, const std::string& body,
                size_t* bytes = nullptr) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    http::write(sock_, req);
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    http::read(sock_, buf_, parser);
    if (bytes) *bytes = parser.get().body().size();
    return parser.get().result_int();
  }

 private:
  net::io_context ioc_;
  tcp::socket sock_;
  beast::flat_buffer buf_;
};

// Watches read on one thread; each counts the newline-terminated events it receives.
class Watchers {
 public:
  Watchers(unsigned short port, int n, const std::string& target) {
    for (int i = 0; i < n; ++i) {
      auto w = std::make_shared<Watch>(ioc_);
      w->sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
      std::string req =
          "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n";
      net::write(w->sock, net::buffer(req));
      read(w);
      watches_.push_back(w);
    }
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~Watchers() {
    for (auto& w : watches_) {
      beast::error_code ec;
      w->sock.close(ec);
    }
    thread_.join();
  }
  uint64_t events() const { return events_.load(); }

 private:
  struct Watch {
    explicit Watch(net::io_context& ioc) : sock(ioc) {}
    tcp::socket sock;
    char buf[65536];
  };
  void read(std::shared_ptr<Watch> w) {
    w->sock.async_read_some(net::buffer(w->buf), [this, w](beast::error_code ec, size_t n) {
      if (ec) return;
      uint64_t lines = 0;
      // Event lines end in "}\n"; chunk-size lines end in "\r\n".
      for (size_t i = 1; i < n; ++i)
        if (w->buf[i] == '\n' && w->buf[i - 1] == '}') ++lines;
      events_ += lines;
      read(w);
    });
  }
  net::io_context ioc_;
  std::vector<std::shared_ptr<Watch>> watches_;
  std::atomic<uint64_t> events_{0};
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  int objects = argc > 1 ? std::atoi(argv[1]) : 50000;
  int watches = argc > 2 ? std::atoi(argv[2]) : 500;
  int clients = argc > 3 ? std::atoi(argv[3]) : 4;
  canaryd::emulator::EmulatorOptions options;
  options.api.historyLimit = static_cast<size_t>(objects) + 1000;
  canaryd::emulator::Emulator emulator(options);
  emulator.start();
  unsigned short port = emulator.port();
  const std::string coll = "/api/v1/namespaces/default/configmaps";

  Watchers watchers(port, watches, coll + "?watch=1&resourceVersion=1&allowWatchBookmarks=true");
  auto start = Clock::now();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      Client client(port);
      for (int i = c; i < objects; i += clients) {
        std::string body = R"({"metadata":{"name":"cm-)" + std::to_string(i) +
                           R"(","labels":{"app":"bench","shard":")" + std::to_string(i % 10) +
                           R"("}},"data":{"key":"value-)" + std::to_string(i) + R"("}})";
        if (client.call(http::verb::post, coll, body) != 201) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  auto created = Clock::now();
  std::printf("create: %d objects from %d clients in %.2f s = %.0f requests/s (%d failed)\n",
              objects, clients, seconds(created - start), objects / seconds(created - start),
              failures.load());

  uint64_t expected = static_cast<uint64_t>(objects) * static_cast<uint64_t>(watches);
  while (watchers.events() < expected && Clock::now() - created < std::chrono::seconds(300))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto delivered = Clock::now();
  std::printf(
      "watch: %llu of %llu events delivered to %d watches, %.2f s after the last create "
      "(%.0f events/s over the whole run)\n",
      static_cast<unsigned long long>(watchers.events()), static_cast<unsigned long long>(expected),
      watches, seconds(delivered - created), watchers.events() / seconds(delivered - start));

  Client client(port);
  size_t bytes = 0;
  auto t0 = Clock::now();
  client.call(http::verb::get, coll, "", &bytes);
  auto t1 = Clock::now();
  std::printf("list: %d objects (%.1f MB) in %.3f s\n", objects, bytes / 1e6, seconds(t1 - t0));
  t0 = Clock::now();
  client.call(http::verb::get, coll + "?labelSelector=shard%3D3", "", &bytes);
  t1 = Clock::now();
  std::printf("list with labelSelector (1/10 match): %.3f s\n", seconds(t1 - t0));

  std::atomic<uint64_t> gets{0};
  threads.clear();
  t0 = Clock::now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      Client cl(port);
      for (int i = c; Clock::now() - t0 < std::chrono::seconds(3); i += clients) {
        cl.call(http::verb::get, coll + "/cm-" + std::to_string(i % objects), "");
        ++gets;
      }
    });
  }
  for (auto& t : threads) t.join();
  t1 = Clock::now();
  std::printf("get: %.0f requests/s from %d clients with %d watches open\n",
              gets / seconds(t1 - t0), clients, watches);
  std::string stats = canaryd::emulator::testing::get(port, "/_emulator/stats").body;
  std::printf("stats: %s\n", stats.c_str());
  return failures.load() == 0 && watchers.events() >= expected ? 0 : 1;
}
