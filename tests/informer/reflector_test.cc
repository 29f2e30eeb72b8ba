// Reflector retry semantics against a scripted client and a FakeClock, as client-go's
// reflector behaves: a watch that ends normally (closed by the server, connection cut) is
// reopened at once from the last resourceVersion; a watch that ends straight away with
// nothing, a failed watch request or an ERROR event backs off (honouring Retry-After); a
// 410 relists at once. A reflector parked in a backoff is seen as a FakeClock waiter, so
// no test depends on real time.
#include "informer/reflector.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <thread>

#include "api/json.h"
#include "kube/watch.h"

namespace canaryd::informer {
namespace {

using namespace std::chrono_literals;
using kube::ApiError;
using kube::StatusReason;

bool eventually(const std::function<bool()>& fn, std::chrono::milliseconds deadline = 20s) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (!fn()) {
    if (std::chrono::steady_clock::now() >= end) return fn();
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// One watch stream: the test pushes what next() returns.
class ScriptedStream {
 public:
  using Item = kube::Result<std::optional<kube::WatchEvent>>;
  void push(Item item) {
    std::lock_guard lock(mu_);
    items_.push_back(std::move(item));
    cv_.notify_all();
  }
  Item next() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return stopped_ || !items_.empty(); });
    if (stopped_) return kube::clientError(kube::kReasonCancelled, "watch stopped");
    Item item = std::move(items_.front());
    items_.pop_front();
    return item;
  }
  void stop() {
    std::lock_guard lock(mu_);
    stopped_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> items_;
  bool stopped_ = false;
};

class ScriptedWatch final : public kube::Watch {
 public:
  explicit ScriptedWatch(std::shared_ptr<ScriptedStream> s) : stream_(std::move(s)) {}
  kube::Result<std::optional<kube::WatchEvent>> next() override { return stream_->next(); }
  void stop() override { stream_->stop(); }

 private:
  std::shared_ptr<ScriptedStream> stream_;
};

// Lists answer an empty collection at resourceVersion "10"; watches open a ScriptedStream
// unless a scripted failure is queued. Everything else is refused.
class ScriptedClient final : public kube::Client {
 public:
  kube::Result<kube::Object> get(const kube::GroupVersionResource&, std::string_view,
                                 std::string_view, const kube::GetOptions&) override {
    return refused();
  }
  kube::Result<kube::ListPage> list(const kube::GroupVersionResource&, std::string_view,
                                    const kube::ListOptions&) override {
    std::lock_guard lock(mu_);
    ++lists_;
    kube::ListPage page;
    auto doc = api::parseJson(R"({"kind":"ConfigMapList","metadata":{"resourceVersion":"10"},
                                  "items":[]})");
    page.list = std::make_shared<rapidjson::Document>(std::move(*doc));
    page.resourceVersion = "10";
    return page;
  }
  kube::Result<kube::Object> create(const kube::GroupVersionResource&, std::string_view,
                                    const rapidjson::Value&, const kube::WriteOptions&) override {
    return refused();
  }
  kube::Result<kube::Object> update(const kube::GroupVersionResource&, std::string_view,
                                    const rapidjson::Value&, const kube::WriteOptions&) override {
    return refused();
  }
  kube::Result<kube::Object> patch(const kube::GroupVersionResource&, std::string_view,
                                   std::string_view, kube::PatchType, std::string_view,
                                   const kube::WriteOptions&) override {
    return refused();
  }
  kube::Result<void> remove(const kube::GroupVersionResource&, std::string_view, std::string_view,
                            const kube::DeleteOptions&) override {
    return refused();
  }
  kube::Result<std::unique_ptr<kube::Watch>> watch(const kube::GroupVersionResource&,
                                                   std::string_view,
                                                   const kube::ListOptions& options) override {
    std::lock_guard lock(mu_);
    watchVersions_.push_back(options.resourceVersion);
    if (!openFailures_.empty()) {
      ApiError e = openFailures_.front();
      openFailures_.pop_front();
      return e;
    }
    auto stream = std::make_shared<ScriptedStream>();
    streams_.push_back(stream);
    return std::unique_ptr<kube::Watch>(std::make_unique<ScriptedWatch>(stream));
  }

  void failNextWatch(ApiError e) {
    std::lock_guard lock(mu_);
    openFailures_.push_back(std::move(e));
  }
  int lists() {
    std::lock_guard lock(mu_);
    return lists_;
  }
  // Watch requests made (opened or failed), with the resourceVersion each asked for.
  std::vector<std::string> watchVersions() {
    std::lock_guard lock(mu_);
    return watchVersions_;
  }
  size_t opened() {
    std::lock_guard lock(mu_);
    return streams_.size();
  }
  std::shared_ptr<ScriptedStream> stream(size_t i) {
    std::lock_guard lock(mu_);
    return streams_.at(i);
  }

 private:
  static ApiError refused() { return kube::clientError(kube::kReasonTransport, "not scripted"); }
  std::mutex mu_;
  int lists_ = 0;
  std::vector<std::string> watchVersions_;
  std::deque<ApiError> openFailures_;
  std::vector<std::shared_ptr<ScriptedStream>> streams_;
};

kube::WatchEvent event(kube::WatchEventType type, const std::string& name, const std::string& rv) {
  kube::WatchEvent e;
  e.type = type;
  std::string meta =
      type == kube::WatchEventType::kBookmark
          ? R"({"resourceVersion":")" + rv + "\"}"
          : R"({"name":")" + name + R"(","namespace":"ns","resourceVersion":")" + rv + "\"}";
  auto doc = api::parseJson(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":)" + meta + "}");
  e.object = std::make_shared<rapidjson::Document>(std::move(*doc));
  e.resourceVersion = rv;
  return e;
}
kube::WatchEvent added(const std::string& name, const std::string& rv) {
  return event(kube::WatchEventType::kAdded, name, rv);
}
kube::WatchEvent bookmark(const std::string& rv) {
  return event(kube::WatchEventType::kBookmark, "", rv);
}
ScriptedStream::Item closed() { return std::optional<kube::WatchEvent>(); }
ScriptedStream::Item cut() {
  return kube::clientError(kube::kReasonTransport, "connection reset by peer");
}
ApiError status(int code, StatusReason reason, std::string message, int retryAfter = 0) {
  ApiError e;
  e.code = code;
  e.reason = reason;
  e.reasonText = std::string(kube::reasonName(reason));
  e.message = std::move(message);
  e.details.retryAfterSeconds = retryAfter;
  return e;
}

class ReflectorTest : public ::testing::Test {
 protected:
  void start() {
    ReflectorOptions o;
    o.resource = kube::resources::kConfigMaps;
    o.namespace_ = "ns";
    o.clock = &clock_;
    // No jitter: each backoff is exactly 1 s, 2 s, 4 s ...
    o.backoff.initial = 1s;
    o.backoff.max = 30s;
    o.backoff.jitter = 0;
    reflector_ =
        std::make_unique<Reflector<CachedObject>>(client_, store_, cachedObjectTransform(), o);
    thread_ = std::thread([this] { reflector_->run(); });
  }
  void TearDown() override {
    if (reflector_) reflector_->stop();
    if (thread_.joinable()) thread_.join();
  }

  // Waits for the n-th watch stream (1-based) to be open and returns it.
  std::shared_ptr<ScriptedStream> awaitWatch(size_t n) {
    EXPECT_TRUE(eventually([&] { return client_.opened() >= n; })) << "watch " << n;
    EXPECT_EQ(client_.opened(), n);
    return client_.opened() >= n ? client_.stream(n - 1) : std::make_shared<ScriptedStream>();
  }
  // Waits for the reflector to be parked in its n-th backoff wait; returns its length.
  std::chrono::milliseconds awaitBackoff(uint64_t n) {
    EXPECT_TRUE(eventually([&] {
      return reflector_->stats().backoffs == n && clock_.waiters() == 1;
    })) << "backoff "
        << n;
    return reflector_->stats().lastBackoff;
  }
  bool cached(const std::string& name) { return store_.getByKey("ns/" + name) != nullptr; }

  ScriptedClient client_;
  workqueue::FakeClock clock_;
  Store<CachedObject> store_;
  std::unique_ptr<Reflector<CachedObject>> reflector_;
  std::thread thread_;
};

TEST_F(ReflectorTest, AWatchClosedByTheServerIsReopenedAtOnceFromTheLastResourceVersion) {
  start();
  auto w1 = awaitWatch(1);
  w1->push(added("a", "11"));
  w1->push(bookmark("12"));
  w1->push(closed());
  // The clock never moves: a reopened watch proves there was no backoff.
  auto w2 = awaitWatch(2);
  EXPECT_TRUE(cached("a"));
  EXPECT_EQ(client_.watchVersions(), (std::vector<std::string>{"10", "12"}));
  auto stats = reflector_->stats();
  EXPECT_EQ(stats.backoffs, 0u);
  EXPECT_EQ(stats.lists, 1u);
  EXPECT_EQ(stats.bookmarks, 1u);
}

TEST_F(ReflectorTest, AQuietWatchCutOrClosedAfterItLastedIsReopenedAtOnce) {
  start();
  // No event at all, as a quiet namespace under a proxy that drops idle connections.
  auto w1 = awaitWatch(1);
  clock_.step(2s);
  w1->push(cut());
  auto w2 = awaitWatch(2);
  clock_.step(2s);
  w2->push(closed());
  awaitWatch(3);
  EXPECT_EQ(client_.watchVersions(), (std::vector<std::string>{"10", "10", "10"}));
  auto stats = reflector_->stats();
  EXPECT_EQ(stats.backoffs, 0u);
  EXPECT_EQ(stats.lists, 1u);
  EXPECT_EQ(stats.failures, 0u);
}

TEST_F(ReflectorTest, AWatchCutMidStreamResumesWithoutARelist) {
  start();
  auto w1 = awaitWatch(1);
  w1->push(added("a", "11"));
  w1->push(kube::clientError(kube::kReasonDecode, "stream ended in the middle of an object"));
  awaitWatch(2);
  EXPECT_EQ(client_.watchVersions(), (std::vector<std::string>{"10", "11"}));
  EXPECT_EQ(reflector_->stats().backoffs, 0u);
  EXPECT_EQ(client_.lists(), 1);
}

TEST_F(ReflectorTest, AWatchEndingAtOnceWithNothingBacksOffAndAWatchThatLastedResetsIt) {
  start();
  auto w1 = awaitWatch(1);
  w1->push(closed());
  EXPECT_EQ(awaitBackoff(1), 1000ms);
  EXPECT_EQ(client_.opened(), 1u);
  clock_.step(1s);
  auto w2 = awaitWatch(2);
  w2->push(cut());
  EXPECT_EQ(awaitBackoff(2), 2000ms);  // the server keeps doing it: the backoff grows
  clock_.step(2s);
  auto w3 = awaitWatch(3);
  clock_.step(2s);
  w3->push(closed());  // lasted two seconds: a normal end
  auto w4 = awaitWatch(4);
  EXPECT_EQ(reflector_->stats().backoffs, 2u);
  w4->push(closed());
  EXPECT_EQ(awaitBackoff(3), 1000ms);  // back to the initial delay
  EXPECT_EQ(reflector_->stats().shortWatches, 3u);
  EXPECT_EQ(client_.lists(), 1);
}

TEST_F(ReflectorTest, FailedWatchRequestsBackOffHonouringRetryAfterAndDoNotRelist) {
  client_.failNextWatch(status(500, StatusReason::kInternalError, "etcd unavailable"));
  client_.failNextWatch(
      status(429, StatusReason::kTooManyRequests, "too many requests", /*retryAfter=*/5));
  start();
  EXPECT_EQ(awaitBackoff(1), 1000ms);
  clock_.step(1s);
  // The backoff alone would be 2 s; the server asked for 5.
  EXPECT_EQ(awaitBackoff(2), 5000ms);
  clock_.step(5s);
  auto w = awaitWatch(1);
  w->push(added("a", "11"));
  EXPECT_TRUE(eventually([&] { return cached("a"); }));
  EXPECT_EQ(client_.watchVersions(), (std::vector<std::string>{"10", "10", "10"}));
  EXPECT_EQ(client_.lists(), 1);
}

TEST_F(ReflectorTest, GoneRelistsAtOnceAndOtherErrorEventsRelistAfterTheBackoff) {
  client_.failNextWatch(status(410, StatusReason::kGone, "too old resource version: 10"));
  start();
  // 410 on opening: relisted with no wait.
  auto w1 = awaitWatch(1);
  EXPECT_EQ(client_.lists(), 2);
  w1->push(status(410, StatusReason::kExpired, "too old resource version: 10"));
  auto w2 = awaitWatch(2);
  EXPECT_EQ(client_.lists(), 3);
  EXPECT_EQ(reflector_->stats().relistsAfterGone, 2u);
  EXPECT_EQ(reflector_->stats().backoffs, 0u);
  // Any other ERROR event: relist, after the backoff (client-go returns from ListAndWatch).
  w2->push(status(500, StatusReason::kInternalError, "internal error"));
  EXPECT_EQ(awaitBackoff(1), 1000ms);
  EXPECT_EQ(client_.lists(), 3);
  clock_.step(1s);
  auto w3 = awaitWatch(3);
  EXPECT_EQ(client_.lists(), 4);
  // Lists succeed but every watch fails at once: the backoff keeps growing across relists.
  w3->push(status(500, StatusReason::kInternalError, "internal error"));
  EXPECT_EQ(awaitBackoff(2), 2000ms);
}

TEST_F(ReflectorTest, StopEndsABackoffWait) {
  start();
  auto w1 = awaitWatch(1);
  w1->push(closed());
  awaitBackoff(1);
  reflector_->stop();
  thread_.join();
  EXPECT_EQ(client_.opened(), 1u);
}

TEST(RetryDelayTest, TheLongerOfTheBackoffAndWhatTheServerAsked) {
  workqueue::FakeClock clock;
  Backoff backoff(BackoffOptions{.initial = 1s, .max = 30s, .jitter = 0}, clock);
  EXPECT_EQ(detail::retryDelay(backoff, std::nullopt), 1s);
  EXPECT_EQ(
      detail::retryDelay(backoff, status(429, StatusReason::kTooManyRequests, "slow down", 9)), 9s);
  EXPECT_EQ(
      detail::retryDelay(backoff, status(429, StatusReason::kTooManyRequests, "slow down", 1)), 4s);
}

}  // namespace
}  // namespace canaryd::informer
