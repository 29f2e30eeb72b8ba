// Reflector<T>: client-go's cache.Reflector. Lists a resource (paged) into a Store<T>,
// then watches from the list's resourceVersion, applying each event through the
// Transform; after a watch ends or drops it watches again from the last resourceVersion
// seen (bookmarks included), so no event is missed or applied twice; on 410 Gone
// (too old resourceVersion) it relists; failures back off exponentially with jitter.
// run() blocks its thread until stop(); stop() and the accessors are thread-safe.
#pragma once

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
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
  BackoffOptions backoff;
  // Defaults to RealClock::instance(). Times backoff waits only.
  Clock* clock = nullptr;
};

// Counters for tests and metrics. Snapshot values.
struct ReflectorStats {
  uint64_t lists = 0;             // complete lists stored (the first and every relist)
  uint64_t relistsAfterGone = 0;  // relists caused by 410 / Expired
  uint64_t watches = 0;           // watches opened
  uint64_t events = 0;            // ADDED / MODIFIED / DELETED applied
  uint64_t bookmarks = 0;
  uint64_t failures = 0;          // failed lists and watches that ended in an error
  uint64_t skipped = 0;           // objects the transform could not decode
};

// Logging shared by every Reflector<T> (one line per failure streak; see reflector.cc).
namespace detail {
void logFailure(const std::string& name, std::string_view what, const kube::ApiError& error,
                uint64_t streak);
void logRecovered(const std::string& name, uint64_t streak);
std::string describe(const ReflectorOptions& options);
}  // namespace detail

template <HasObjectMeta T>
class Reflector {
 public:
  // The client, store and clock must outlive the reflector.
  Reflector(kube::Client& client, Store<T>& store, Transform<T> transform,
            ReflectorOptions options)
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
          if (!sleepFor(backoff_.next())) return;
          continue;
        }
        needList = false;
      }
      switch (watch()) {
        case Next::kRewatch:
          break;
        case Next::kBackoff:
          if (!sleepFor(backoff_.next())) return;
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
  enum class Next { kRewatch, kBackoff, kRelist, kStop };

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

  void failed(std::string_view what, const kube::ApiError& e) {
    uint64_t streak = ++failureStreak_;
    {
      std::lock_guard lock(mu_);
      ++stats_.failures;
    }
    detail::logFailure(name_, what, e, streak);
  }

  void succeeded() {
    if (failureStreak_ > 0) detail::logRecovered(name_, failureStreak_);
    failureStreak_ = 0;
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
    succeeded();
    return true;
  }

  Next watch() {
    kube::ListOptions o;
    o.labelSelector = options_.labelSelector;
    o.fieldSelector = options_.fieldSelector;
    o.allowWatchBookmarks = true;
    o.resourceVersion = lastSyncResourceVersion();
    o.timeoutSeconds = kube::randomWatchTimeoutSeconds(rng_, options_.minWatchTimeout);
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

    auto start = clock_.now();
    uint64_t applied = 0;
    for (;;) {
      auto ev = w->next();
      if (!ev) {
        const auto& e = ev.error();
        if (stopped()) return Next::kStop;
        if (kube::isTooOldResourceVersion(e)) {
          failed("watch", e);
          return relistAfterGone();
        }
        if (kube::isTransportError(e) || kube::isDecodeError(e)) {
          // A dropped or cut stream: watch again from the last resourceVersion applied.
          if (applied > 0) {
            spdlog::debug("informer {}: watch ended: {}; resuming", name_, e.message);
            return Next::kRewatch;
          }
          failed("watch", e);
          return Next::kBackoff;
        }
        // Any other ERROR event: start over with a list, as client-go does.
        failed("watch", e);
        return Next::kRelist;
      }
      if (!ev->has_value()) {
        // The server ended the watch (timeoutSeconds): resume at once, unless it ended
        // immediately with nothing, which would spin.
        if (applied == 0 && clock_.now() - start < std::chrono::seconds(1)) return Next::kBackoff;
        return Next::kRewatch;
      }
      kube::WatchEvent& event = **ev;
      apply(event);
      ++applied;
      if (applied == 1) {
        succeeded();
        backoff_.reset();
      }
    }
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
  uint64_t failureStreak_ = 0;  // run() thread only

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  kube::Watch* current_ = nullptr;
  std::string lastResourceVersion_;
  ReflectorStats stats_;
};

}  // namespace canaryd::informer
