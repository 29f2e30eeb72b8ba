// Reflector<T>: client-go's cache.Reflector. Lists a resource (paged) into a Store<T>,
// then watches from the list's resourceVersion, applying each event through the
// Transform. A watch that ends normally (the server's timeoutSeconds, or the connection
// closed or cut) is reopened at once from the last resourceVersion seen (bookmarks
// included), so no event is missed or applied twice; on 410 Gone (too old
// resourceVersion) it relists at once; failed requests, other ERROR events and watches
// that end within a second having carried nothing back off exponentially with jitter
// (at least the Retry-After a 429 asks for).
// run() blocks its thread until stop(); stop() and the accessors are thread-safe.
#pragma once

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "informer/store.h"
#include "informer/transform.h"
#include "kube/client.h"
#include "kube/watch.h"
#include "workqueue/clock.h"

namespace canaryd::informer {

using workqueue::Clock;

// Jittered exponential backoff with reset (wait.NewExponentialBackoffManager as the
// reflector configures it: 800 ms doubling to 30 s, up to 100% jitter, back to the
// start after 2 min without a failure). Not synchronised.
struct BackoffOptions {
  std::chrono::milliseconds initial{800};
  std::chrono::milliseconds max{std::chrono::seconds(30)};
  std::chrono::milliseconds resetAfter{std::chrono::minutes(2)};
  double factor = 2.0;
  double jitter = 1.0;  // each delay is d * (1 + jitter * rand[0,1))
};

class Backoff {
 public:
  explicit Backoff(BackoffOptions options, Clock& clock, uint64_t seed = std::random_device{}())
      : options_(options), clock_(clock), rng_(seed) {}
  // The delay before the next attempt after a failure.
  Clock::Duration next();
  // A success: the next failure starts from the initial delay.
  void reset() { current_ = Clock::Duration::zero(); }

 private:
  BackoffOptions options_;
  Clock& clock_;
  std::mt19937_64 rng_;
  Clock::Duration current_{};
  Clock::TimePoint lastFailure_{};
};

struct ReflectorOptions {
  kube::GroupVersionResource resource;
  std::string namespace_;  // "" for every namespace
  std::string labelSelector;
  std::string fieldSelector;
  // Page size of lists (client-go's reflector pages by 500).
  int64_t pageSize = 500;
  // Watches ask the server to end after minWatchTimeout * (1 + rand) (client-go).
  std::chrono::seconds minWatchTimeout{std::chrono::minutes(5)};
  // A watch that ends sooner than this after it was requested, having carried no event or
  // bookmark, counts as a failure and is retried after the backoff rather than at once,
  // so that a server closing every watch straight away is not hammered (client-go's
  // "very short watch": one second, timed on the clock below).
  std::chrono::milliseconds minWatchDuration{std::chrono::seconds(1)};
  BackoffOptions backoff;
  // Defaults to RealClock::instance(). Times backoff waits and watch durations.
  Clock* clock = nullptr;
};

// Counters for tests and metrics. Snapshot values.
struct ReflectorStats {
  uint64_t lists = 0;             // complete lists stored (the first and every relist)
  uint64_t relistsAfterGone = 0;  // relists caused by 410 / Expired
  uint64_t watches = 0;           // watches opened
  uint64_t events = 0;            // ADDED / MODIFIED / DELETED applied
  uint64_t bookmarks = 0;
  uint64_t failures = 0;                     // failed lists and watches that ended in an error
  uint64_t shortWatches = 0;                 // watches that ended within minWatchDuration, empty
  uint64_t backoffs = 0;                     // waits before a retry
  std::chrono::milliseconds lastBackoff{0};  // the length of the latest of those waits
  uint64_t skipped = 0;                      // objects the transform could not decode
};

// Logging shared by every Reflector<T> (one line per failure streak; see reflector.cc).
namespace detail {
void logFailure(const std::string& name, std::string_view what, const kube::ApiError& error,
                uint64_t streak);
void logRecovered(const std::string& name, uint64_t streak);
void logShortWatch(const std::string& name, std::chrono::milliseconds lasted, uint64_t streak);
// The wait before retrying after `error`: the backoff's next delay, or longer when the
// server asked for one (Retry-After on a 429, a ServerTimeout's retryAfterSeconds).
Clock::Duration retryDelay(Backoff& backoff, const std::optional<kube::ApiError>& error);
std::string describe(const ReflectorOptions& options);
}  // namespace detail

template <HasObjectMeta T>
class Reflector {
 public:
  // The client, store and clock must outlive the reflector.
  Reflector(kube::Client& client, Store<T>& store, Transform<T> transform, ReflectorOptions options)
      : client_(client),
        store_(store),
        transform_(std::move(transform)),
        options_(std::move(options)),
        clock_(options_.clock ? *options_.clock : workqueue::RealClock::instance()),
        backoff_(options_.backoff, clock_),
        name_(detail::describe(options_)) {}

  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  // Lists and watches until stop() (client-go's Reflector.Run).
  void run() {
    bool needList = true;
    while (!stopped()) {
      if (needList) {
        if (!list()) {
          if (!backOff()) return;
          continue;
        }
        needList = false;
      }
      switch (watch()) {
        case Next::kRewatch:
          break;
        case Next::kBackoff:
          if (!backOff()) return;
          break;
        case Next::kBackoffRelist:
          if (!backOff()) return;
          needList = true;
          break;
        case Next::kRelist:
          needList = true;
          break;
        case Next::kStop:
          return;
      }
    }
  }

  // Ends run(): stops the open watch and any backoff wait. A list in flight completes
  // first (bounded by the client's request timeout). Thread-safe; idempotent.
  void stop() {
    std::lock_guard lock(mu_);
    stopped_ = true;
    if (current_) current_->stop();
    cv_.notify_all();
  }

  // The resourceVersion of the last list, event or bookmark applied.
  std::string lastSyncResourceVersion() const {
    std::lock_guard lock(mu_);
    return lastResourceVersion_;
  }

  ReflectorStats stats() const {
    std::lock_guard lock(mu_);
    return stats_;
  }

  const std::string& name() const { return name_; }

 private:
  // What run() does after a watch: watch again at once (it ended normally), back off and
  // watch again (opening it failed, or it ended straight away with nothing), back off and
  // relist (an ERROR event other than 410), relist at once (410 Gone), or return.
  enum class Next { kRewatch, kBackoff, kBackoffRelist, kRelist, kStop };

  bool stopped() const {
    std::lock_guard lock(mu_);
    return stopped_;
  }

  // Waits on the clock; false when stopped meanwhile.
  bool sleepFor(Clock::Duration d) {
    workqueue::Subscription wake = clock_.onStep([this] {
      std::lock_guard lock(mu_);
      cv_.notify_all();
    });
    std::unique_lock lock(mu_);
    auto deadline = clock_.now() + d;
    while (!stopped_ && clock_.now() < deadline) clock_.waitUntil(cv_, lock, deadline);
    return !stopped_;
  }

  // Waits out the backoff after the last failure; false when stopped meanwhile.
  bool backOff() {
    Clock::Duration delay = detail::retryDelay(backoff_, lastError_);
    {
      std::lock_guard lock(mu_);
      ++stats_.backoffs;
      stats_.lastBackoff = std::chrono::duration_cast<std::chrono::milliseconds>(delay);
    }
    return sleepFor(delay);
  }

  void failed(std::string_view what, const kube::ApiError& e) {
    uint64_t streak = ++failureStreak_;
    lastError_ = e;
    {
      std::lock_guard lock(mu_);
      ++stats_.failures;
    }
    detail::logFailure(name_, what, e, streak);
  }

  // A list stored, or a watch that carried something or lasted. Only a working watch
  // resets the backoff: a server that lists fine but fails every watch at once is still
  // backed off more and more (client-go keeps its backoff across relists too).
  void succeeded(bool watchWorked) {
    if (failureStreak_ > 0) detail::logRecovered(name_, failureStreak_);
    failureStreak_ = 0;
    lastError_.reset();
    if (watchWorked) backoff_.reset();
  }

  ObjectPtr<T> transform(rapidjson::Value& object) {
    ObjectPtr<T> out = transform_(object);
    if (!out) {
      spdlog::warn("informer {}: cannot decode {} {}; left out of the cache", name_,
                   kube::stringAt(object, "kind"), kube::stringAt(object, "metadata.name"));
      std::lock_guard lock(mu_);
      ++stats_.skipped;
    }
    return out;
  }

  // A consistent, paged list (resourceVersion ""), stored with replace(). A continue
  // token that expires mid-list restarts the list, as client-go's pager falls back.
  bool list() {
    std::vector<ObjectPtr<T>> objects;
    kube::ListOptions o;
    o.labelSelector = options_.labelSelector;
    o.fieldSelector = options_.fieldSelector;
    o.limit = options_.pageSize;
    std::string resourceVersion;
    for (;;) {
      if (stopped()) return false;
      auto page = client_.list(options_.resource, options_.namespace_, o);
      if (!page) {
        if (!o.continueToken.empty() && kube::isTooOldResourceVersion(page.error())) {
          objects.clear();
          o.continueToken.clear();
          continue;
        }
        failed("list", page.error());
        return false;
      }
      if (resourceVersion.empty()) resourceVersion = page->resourceVersion;
      auto& items = page->list->operator[]("items");
      if (items.IsArray()) {
        objects.reserve(objects.size() + items.Size());
        for (auto& item : items.GetArray()) {
          if (auto obj = transform(item)) objects.push_back(std::move(obj));
        }
      }
      if (page->continueToken.empty()) break;
      o.continueToken = page->continueToken;
    }
    store_.replace(std::move(objects), resourceVersion);
    {
      std::lock_guard lock(mu_);
      lastResourceVersion_ = resourceVersion;
      ++stats_.lists;
    }
    succeeded(false);
    return true;
  }

  Next watch() {
    kube::ListOptions o;
    o.labelSelector = options_.labelSelector;
    o.fieldSelector = options_.fieldSelector;
    o.allowWatchBookmarks = true;
    o.resourceVersion = lastSyncResourceVersion();
    o.timeoutSeconds = kube::randomWatchTimeoutSeconds(rng_, options_.minWatchTimeout);
    // Timed from the request, as client-go does: some proxies hold the response head back
    // until the first event.
    const auto start = clock_.now();
    auto opened = client_.watch(options_.resource, options_.namespace_, o);
    if (!opened) {
      if (kube::isCancelled(opened.error())) return Next::kStop;
      failed("watch", opened.error());
      return kube::isTooOldResourceVersion(opened.error()) ? relistAfterGone() : Next::kBackoff;
    }
    std::unique_ptr<kube::Watch> w = std::move(*opened);
    {
      std::lock_guard lock(mu_);
      if (stopped_) return Next::kStop;
      current_ = w.get();
      ++stats_.watches;
    }
    struct Clear {
      Reflector* r;
      ~Clear() {
        std::lock_guard lock(r->mu_);
        r->current_ = nullptr;
      }
    } clear{this};

    uint64_t applied = 0;
    for (;;) {
      auto ev = w->next();
      if (ev && ev->has_value()) {
        apply(**ev);
        if (++applied == 1) succeeded(true);
        continue;
      }
      if (stopped() || (!ev && kube::isCancelled(ev.error()))) return Next::kStop;
      if (!ev && !kube::isTransportError(ev.error()) && !kube::isDecodeError(ev.error())) {
        const auto& e = ev.error();
        failed("watch", e);
        if (kube::isTooOldResourceVersion(e)) return relistAfterGone();
        // Any other ERROR event: start over with a list after the backoff, as client-go.
        return Next::kBackoffRelist;
      }
      // The watch ended normally: the server closed it (timeoutSeconds, or at an event
      // boundary), or the connection dropped or was cut mid-event (client-go's stream
      // watcher takes a probable EOF as a close too). Nothing was lost: resume from the
      // last resourceVersion applied, at once.
      auto lasted = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - start);
      if (applied == 0 && lasted < options_.minWatchDuration) {
        shortWatch(lasted, ev ? std::string("closed by the server") : ev.error().message);
        return Next::kBackoff;
      }
      if (applied == 0) succeeded(true);
      spdlog::debug("informer {}: watch ended after {} ms and {} events ({}); resuming", name_,
                    lasted.count(), applied,
                    ev ? std::string("closed by the server") : ev.error().message);
      return Next::kRewatch;
    }
  }

  // A watch that ended straight away with nothing: backed off, or a server (or proxy)
  // closing every watch at once would have the reflector spin.
  void shortWatch(std::chrono::milliseconds lasted, const std::string& why) {
    uint64_t streak = ++failureStreak_;
    lastError_ = kube::clientError(kube::kReasonTransport, why);
    {
      std::lock_guard lock(mu_);
      ++stats_.shortWatches;
    }
    detail::logShortWatch(name_, lasted, streak);
  }

  Next relistAfterGone() {
    std::lock_guard lock(mu_);
    ++stats_.relistsAfterGone;
    return Next::kRelist;
  }

  void apply(kube::WatchEvent& event) {
    switch (event.type) {
      case kube::WatchEventType::kAdded:
      case kube::WatchEventType::kModified:
        if (auto obj = transform(*event.object)) store_.update(std::move(obj));
        break;
      case kube::WatchEventType::kDeleted:
        if (auto obj = transform(*event.object)) store_.remove(obj);
        break;
      case kube::WatchEventType::kBookmark:
      case kube::WatchEventType::kError:
        break;
    }
    std::lock_guard lock(mu_);
    if (!event.resourceVersion.empty()) lastResourceVersion_ = event.resourceVersion;
    if (event.type == kube::WatchEventType::kBookmark) {
      ++stats_.bookmarks;
    } else {
      ++stats_.events;
    }
  }

  kube::Client& client_;
  Store<T>& store_;
  Transform<T> transform_;
  const ReflectorOptions options_;
  Clock& clock_;
  Backoff backoff_;
  const std::string name_;
  std::mt19937_64 rng_{std::random_device{}()};
  uint64_t failureStreak_ = 0;               // run() thread only
  std::optional<kube::ApiError> lastError_;  // run() thread only: the failure backed off

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  kube::Watch* current_ = nullptr;
  std::string lastResourceVersion_;
  ReflectorStats stats_;
};

}  // namespace canaryd::informer
