// Watch streams from HttpClient: against the kube-emulator (events, bookmarks, clean
// end, dropped connections, 410 Gone, stop) and against a canned raw HTTP server for
// streams the emulator never sends (cut mid-event, malformed, unknown event types).
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <thread>

#include "emulator_env.h"
#include "kube/http_client.h"
#include "kube/watch.h"

namespace canaryd::kube {
namespace {

using namespace std::chrono_literals;
using testing::configMap;
using testing::EmulatorFixture;

class WatchStreamTest : public EmulatorFixture {
 protected:
  void SetUp() override {
    EmulatorFixture::SetUp();
    ensureNamespace("w");
    ensureNamespace("elsewhere");
  }
  std::unique_ptr<Watch> open(const std::string& rv, int64_t timeoutSeconds = 0,
                              bool bookmarks = true) {
    ListOptions o;
    o.resourceVersion = rv;
    o.allowWatchBookmarks = bookmarks;
    o.timeoutSeconds = timeoutSeconds;
    auto w = client_->watch(resources::kConfigMaps, "w", o);
    EXPECT_TRUE(w.has_value()) << (w ? "" : w.error().message);
    return w ? std::move(*w) : nullptr;
  }
  // The next event that is not a bookmark.
  Result<std::optional<WatchEvent>> nextObjectEvent(Watch& w) {
    for (;;) {
      auto r = w.next();
      if (!r || !*r || (*r)->type != WatchEventType::kBookmark) return r;
    }
  }
};

TEST_P(WatchStreamTest, EventsInOrderFromTheListResourceVersion) {
  ASSERT_TRUE(client_->create(resources::kConfigMaps, "w", configMap("w", "before")));
  auto page = client_->list(resources::kConfigMaps, "w");
  ASSERT_TRUE(page.has_value());
  auto w = open(page->resourceVersion);
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(client_->create(resources::kConfigMaps, "w", configMap("w", "a")));
  ASSERT_TRUE(
      client_->patch(resources::kConfigMaps, "w", "a", PatchType::kMerge, R"({"data":{"k":"2"}})"));
  ASSERT_TRUE(client_->remove(resources::kConfigMaps, "w", "a"));

  std::vector<WatchEventType> types;
  uint64_t lastRv = std::stoull(page->resourceVersion);
  for (int i = 0; i < 3; ++i) {
    auto ev = nextObjectEvent(*w);
    ASSERT_TRUE(ev.has_value()) << ev.error().message;
    ASSERT_TRUE(ev->has_value());
    EXPECT_EQ(stringAt(*(*ev)->object, "metadata.name"), "a");
    uint64_t rv = std::stoull((*ev)->resourceVersion);
    EXPECT_GT(rv, lastRv);
    lastRv = rv;
    types.push_back((*ev)->type);
  }
  EXPECT_EQ(types, (std::vector<WatchEventType>{WatchEventType::kAdded, WatchEventType::kModified,
                                                WatchEventType::kDeleted}));
}

TEST_P(WatchStreamTest, BookmarksCarryTheLatestResourceVersion) {
  auto page = client_->list(resources::kConfigMaps, "w");
  auto w = open(page->resourceVersion);
  // A write elsewhere moves the cluster's resourceVersion; bookmarks report it.
  auto other = client_->create(resources::kConfigMaps, "elsewhere", configMap("elsewhere", "x"));
  ASSERT_TRUE(other.has_value());
  std::string otherRv(stringAt(**other, "metadata.resourceVersion"));
  for (;;) {
    auto ev = w->next();
    ASSERT_TRUE(ev.has_value()) << ev.error().message;
    ASSERT_TRUE(ev->has_value());
    ASSERT_EQ((*ev)->type, WatchEventType::kBookmark);
    if ((*ev)->resourceVersion == otherRv) break;
  }
}

TEST_P(WatchStreamTest, TimeoutSecondsEndsTheStreamCleanly) {
  auto w = open("", 1, false);
  auto start = std::chrono::steady_clock::now();
  for (;;) {
    auto ev = w->next();
    ASSERT_TRUE(ev.has_value()) << ev.error().message;
    if (!ev->has_value()) break;
  }
  EXPECT_GE(std::chrono::steady_clock::now() - start, 900ms);
  // The end is final.
  auto again = w->next();
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(again->has_value());
}

TEST_P(WatchStreamTest, DroppedConnectionIsATransportError) {
  auto page = client_->list(resources::kConfigMaps, "w");
  auto w = open(page->resourceVersion, 0, false);
  auto pending = std::async(std::launch::async, [&] { return w->next(); });
  ASSERT_TRUE(testing::eventually([&] {
    post("/_emulator/drop-watches");
    return pending.wait_for(10ms) == std::future_status::ready;
  }));
  auto r = pending.get();
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(isTransportError(r.error())) << r.error().message;
}

TEST_P(WatchStreamTest, CompactedResourceVersionIsGone) {
  auto created = client_->create(resources::kConfigMaps, "w", configMap("w", "a"));
  std::string oldRv(stringAt(**created, "metadata.resourceVersion"));
  ASSERT_TRUE(client_->create(resources::kConfigMaps, "w", configMap("w", "b")));
  post("/_emulator/compact");
  auto w = open(oldRv);
  auto r = w->next();
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(isTooOldResourceVersion(r.error())) << r.error().message;
}

TEST_P(WatchStreamTest, StopFromAnotherThreadCancels) {
  auto w = open("", 0, false);
  // Drain the initial events (none in namespace w).
  auto pending = std::async(std::launch::async, [&] { return w->next(); });
  w->stop();
  auto r = pending.get();
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(isCancelled(r.error())) << r.error().message;
}

TEST_P(WatchStreamTest, RefusedWatchIsAnApiError) {
  ListOptions o;
  o.labelSelector = "!!bad";
  auto w = client_->watch(resources::kConfigMaps, "w", o);
  ASSERT_FALSE(w.has_value());
  EXPECT_TRUE(isBadRequest(w.error())) << w.error().message;
}

INSTANTIATE_TEST_SUITE_P(Emulator, WatchStreamTest, ::testing::Bool(), testing::tlsName);

// ---- streams from a canned server ----

// Serves one connection: reads the request head, writes `response` and closes.
class CannedServer {
 public:
  explicit CannedServer(std::string response) : response_(std::move(response)) {
    acceptor_.open(boost::asio::ip::tcp::v4());
    acceptor_.bind({boost::asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] {
      boost::system::error_code ec;
      boost::asio::ip::tcp::socket sock(ioc_);
      acceptor_.accept(sock, ec);
      if (ec) return;
      boost::asio::streambuf head;
      boost::asio::read_until(sock, head, "\r\n\r\n", ec);
      boost::asio::write(sock, boost::asio::buffer(response_), ec);
      sock.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    });
  }
  ~CannedServer() { thread_.join(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_{ioc_};
  std::string response_;
  unsigned short port_ = 0;
  std::thread thread_;
};

std::string chunked(const std::vector<std::string>& chunks, bool last) {
  std::string out =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const auto& c : chunks) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", c.size());
    out += size + c + "\r\n";
  }
  if (last) out += "0\r\n\r\n";
  return out;
}

Result<std::optional<WatchEvent>> watchCanned(const std::string& response,
                                              std::vector<WatchEvent>* events) {
  CannedServer server(response);
  RestConfig config;
  config.host = server.url();
  auto options = testing::fastOptions();
  options.maxRetries = 0;
  auto client = HttpClient::create(config, options);
  EXPECT_TRUE(client.has_value());
  auto w = (*client)->watch(resources::kConfigMaps, "w", ListOptions{});
  if (!w) return w.error();
  for (;;) {
    auto ev = (*w)->next();
    if (!ev || !*ev) return ev;
    events->push_back(std::move(**ev));
  }
}

const std::string kAdded =
    R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"5"}}})";

TEST(CannedWatchTest, EventsSplitAcrossChunks) {
  std::vector<WatchEvent> events;
  auto end = watchCanned(
      chunked({kAdded.substr(0, 10), kAdded.substr(10) + "\n" + kAdded, "\n"}, true), &events);
  ASSERT_TRUE(end.has_value()) << end.error().message;
  EXPECT_FALSE(end->has_value());
  EXPECT_EQ(events.size(), 2u);
}

TEST(CannedWatchTest, StreamCutInsideAnEvent) {
  std::vector<WatchEvent> events;
  auto end = watchCanned(chunked({kAdded + "\n", kAdded.substr(0, 20)}, true), &events);
  ASSERT_FALSE(end.has_value());
  EXPECT_TRUE(isDecodeError(end.error())) << end.error().message;
  EXPECT_EQ(events.size(), 1u);
  events.clear();
  // The same without the last chunk: the connection breaks mid-event.
  end = watchCanned(chunked({kAdded + "\n", kAdded.substr(0, 20)}, false), &events);
  ASSERT_FALSE(end.has_value());
  EXPECT_TRUE(isDecodeError(end.error())) << end.error().message;
  EXPECT_EQ(events.size(), 1u);
}

TEST(CannedWatchTest, MalformedEvent) {
  std::vector<WatchEvent> events;
  auto end = watchCanned(
      chunked({kAdded + "\n{\"type\":\"ADDED\",\"object\":{\"a\":tru}}\n"}, true), &events);
  ASSERT_FALSE(end.has_value());
  EXPECT_TRUE(isDecodeError(end.error())) << end.error().message;
  EXPECT_EQ(events.size(), 1u);
}

TEST(CannedWatchTest, GarbageBetweenEvents) {
  std::vector<WatchEvent> events;
  auto end = watchCanned(chunked({kAdded + "\nnot json\n"}, true), &events);
  ASSERT_FALSE(end.has_value());
  EXPECT_TRUE(isDecodeError(end.error())) << end.error().message;
}

TEST(CannedWatchTest, UnknownEventType) {
  std::vector<WatchEvent> events;
  auto end = watchCanned(chunked({R"({"type":"SURPRISE","object":{}})"}, true), &events);
  ASSERT_FALSE(end.has_value());
  EXPECT_TRUE(isDecodeError(end.error()));
  EXPECT_NE(end.error().message.find("SURPRISE"), std::string::npos);
}

TEST(CannedWatchTest, NonChunkedErrorResponse) {
  std::string body =
      R"({"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden",)"
      R"("message":"configmaps is forbidden: User \"x\" cannot watch resource \"configmaps\"","code":403})";
  std::vector<WatchEvent> events;
  auto end = watchCanned(
      "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
          std::to_string(body.size()) + "\r\n\r\n" + body,
      &events);
  ASSERT_FALSE(end.has_value());
  EXPECT_TRUE(isForbidden(end.error())) << end.error().message;
}

}  // namespace
}  // namespace canaryd::kube
