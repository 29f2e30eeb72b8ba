#include "kube/event_recorder.h"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "api/json.h"

namespace canaryd::kube {

namespace {

constexpr size_t kMaxNoteBytes = 1024;
// Bounds on the bookkeeping maps; past them, idle entries are dropped.
constexpr size_t kMaxSeries = 4096;
constexpr size_t kMaxLimiters = 4096;

std::string objectKey(const ObjectReference& r) {
  return r.uid + "\x1f" + r.namespace_ + "\x1f" + r.kind + "\x1f" + r.name;
}

// Failures that may pass if the write is tried again later (client-go's recorder retries
// transport errors; 5xx and 429 are the API server's own "not now").
bool mayPass(const ApiError& e) {
  return isTransportError(e) || e.code >= 500 || isTooManyRequests(e) || isServerTimeout(e) ||
         isTimeout(e);
}

void addString(rapidjson::Value& obj, const char* key, const std::string& value,
               rapidjson::Document::AllocatorType& a) {
  if (value.empty()) return;
  obj.AddMember(rapidjson::StringRef(key), rapidjson::Value(value.c_str(), a), a);
}

}  // namespace

EventRecorder::EventRecorder(Client& client, EventRecorderOptions options)
    : client_(client),
      options_(std::move(options)),
      clock_(options_.clock ? *options_.clock : workqueue::RealClock::instance()) {
  wake_ = clock_.onStep([this] {
    std::lock_guard lock(mu_);
    cv_.notify_all();
  });
  thread_ = std::thread([this] { run(); });
}

EventRecorder::~EventRecorder() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void EventRecorder::event(const ObjectReference& regarding, std::string_view type,
                          std::string_view reason, std::string_view action, std::string_view note) {
  std::string noteText(note.substr(0, kMaxNoteBytes));
  std::string objKey = objectKey(regarding);
  std::string key = objKey + "\x1e" + std::string(type) + "\x1f" + std::string(reason) + "\x1f" +
                    std::string(action) + "\x1f" + noteText;
  std::lock_guard lock(mu_);
  if (stopping_) return;
  auto now = clock_.now();
  auto wall = clock_.wallNow();
  auto lit = limiters_.find(objKey);
  if (lit == limiters_.end()) {
    if (limiters_.size() >= kMaxLimiters) limiters_.clear();
    lit = limiters_
              .emplace(objKey, std::make_unique<TokenBucketRateLimiter>(
                                   options_.qpsPerObject, options_.burstPerObject, clock_))
              .first;
  }
  TokenBucketRateLimiter& bucket = *lit->second;

  auto it = series_.find(key);
  if (it != series_.end() && now - it->second.first <= options_.seriesWindow) {
    // A repeat: counted now, written when the bucket allows (a later repeat, or the
    // write already queued, carries the count).
    Series& s = it->second;
    ++s.count;
    s.lastWall = wall;
    ++stats_.recorded;
    ++stats_.aggregated;
    if (!s.queued && queue_.size() + retries_.size() < options_.queueLimit && bucket.tryAccept()) {
      s.queued = true;
      queue_.push_back(key);
      cv_.notify_all();
    }
    return;
  }
  if (queue_.size() + retries_.size() >= options_.queueLimit || !bucket.tryAccept()) {
    ++stats_.dropped;
    return;
  }
  if (series_.size() >= kMaxSeries) {
    for (auto s = series_.begin(); s != series_.end();) {
      if (!s->second.queued && now - s->second.first > options_.seriesWindow) {
        s = series_.erase(s);
      } else {
        ++s;
      }
    }
  }
  Series s;
  s.ns = regarding.namespace_.empty() ? "default" : regarding.namespace_;
  s.regarding = regarding;
  s.type = std::string(type);
  s.reason = std::string(reason);
  s.action = std::string(action);
  s.note = std::move(noteText);
  s.count = 1;
  s.first = now;
  s.firstWall = s.lastWall = wall;
  s.queued = true;
  series_.insert_or_assign(key, std::move(s));
  queue_.push_back(key);
  ++stats_.recorded;
  cv_.notify_all();
}

bool EventRecorder::flush(std::chrono::steady_clock::duration timeout) {
  std::unique_lock lock(mu_);
  ++flushing_;
  cv_.notify_all();
  bool drained =
      cv_.wait_for(lock, timeout, [&] { return queue_.empty() && retries_.empty() && !inFlight_; });
  --flushing_;
  return drained;
}

EventRecorderStats EventRecorder::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void EventRecorder::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (stopping_) return;
    std::string key;
    if (!queue_.empty()) {
      key = std::move(queue_.front());
      queue_.pop_front();
    } else if (!retries_.empty() && (flushing_ > 0 || retries_.begin()->first <= clock_.now())) {
      key = std::move(retries_.begin()->second);
      retries_.erase(retries_.begin());
    } else if (!retries_.empty()) {
      clock_.waitUntil(cv_, lock, retries_.begin()->first);
      continue;
    } else {
      cv_.wait(lock);
      continue;
    }
    inFlight_ = true;
    lock.unlock();
    Outcome outcome = send(key);
    lock.lock();
    settle(key, outcome);
    inFlight_ = false;
    cv_.notify_all();
  }
}

workqueue::Clock::Duration EventRecorder::retryDelay(int attempts,
                                                     std::optional<int> retryAfterSeconds) {
  auto delay = std::chrono::duration_cast<workqueue::Clock::Duration>(options_.retryInitial);
  for (int i = 1; i < attempts && delay < options_.retryMax; ++i) delay *= 2;
  delay = std::min<workqueue::Clock::Duration>(delay, options_.retryMax);
  double factor = std::uniform_real_distribution<double>(0.5, 1.0)(rng_);
  delay = std::chrono::duration_cast<workqueue::Clock::Duration>(delay * factor);
  if (retryAfterSeconds && *retryAfterSeconds > 0)
    delay = std::max<workqueue::Clock::Duration>(delay, std::chrono::seconds(*retryAfterSeconds));
  return delay;
}

// With mu_ held: schedules a retry of a write that may pass, or gives it up.
void EventRecorder::settle(const std::string& key, const Outcome& outcome) {
  auto it = series_.find(key);
  if (it == series_.end()) return;
  Series& s = it->second;
  if (!outcome.retry) return;
  if (++s.attempts >= options_.maxAttempts) {
    spdlog::warn("event recorder: giving up {} event {} about {}/{} after {} attempts", s.type,
                 s.reason, s.ns, s.regarding.name, s.attempts);
    ++stats_.failed;
    s.attempts = 0;
    return;
  }
  // A repeat recorded meanwhile has queued the series again: that write carries it.
  if (s.queued) return;
  s.queued = true;
  retries_.emplace(clock_.now() + retryDelay(s.attempts, outcome.retryAfterSeconds), key);
  ++stats_.retried;
}

EventRecorder::Outcome EventRecorder::send(const std::string& key) {
  Series s;
  {
    std::lock_guard lock(mu_);
    auto it = series_.find(key);
    if (it == series_.end()) return {};
    it->second.queued = false;
    s = it->second;
  }
  auto failed = [&](const ApiError& e, std::string_view what, const std::string& name) {
    Outcome out;
    out.retry = mayPass(e);
    out.retryAfterSeconds = suggestsClientDelay(e);
    spdlog::debug("event recorder: {} event {}/{}: {}{}", what, s.ns, name, e.message,
                  out.retry ? "; will retry" : "");
    if (!out.retry) {
      std::lock_guard lock(mu_);
      ++stats_.failed;
      auto it = series_.find(key);
      if (it != series_.end()) it->second.attempts = 0;
    }
    return out;
  };
  const auto& events = resources::kEvents;
  std::string name = s.eventName;
  if (!name.empty()) {
    // A repeat of an Event already written: update its series. The count is absolute, so
    // a retried patch is harmless.
    std::string patch = R"({"series":{"count":)" + std::to_string(s.count) +
                        R"(,"lastObservedTime":")" + formatMicroTime(s.lastWall) + "\"}}";
    auto r = client_.patch(events, s.ns, name, PatchType::kMerge, patch);
    if (r) {
      std::lock_guard lock(mu_);
      ++stats_.patched;
      if (auto it = series_.find(key); it != series_.end()) {
        it->second.sentCount = s.count;
        it->second.attempts = 0;
      }
      return {};
    }
    if (!isNotFound(r.error())) return failed(r.error(), "updating", name);
    // The Event expired (its TTL passed): write it again.
    std::lock_guard lock(mu_);
    auto it = series_.find(key);
    if (it != series_.end()) it->second.createName.clear();
    s.createName.clear();
  }
  // A retried create keeps its name: if the failed attempt went through after all, the
  // retry answers AlreadyExists instead of writing the Event twice.
  name = s.createName;
  if (name.empty()) {
    std::lock_guard lock(mu_);
    char suffix[40];
    auto nanos =
        std::chrono::duration_cast<std::chrono::nanoseconds>(s.firstWall.time_since_epoch())
            .count();
    std::snprintf(suffix, sizeof suffix, ".%llx%llx", static_cast<unsigned long long>(nanos),
                  static_cast<unsigned long long>(++nameCounter_ & 0xfff));
    name = s.regarding.name + suffix;
    auto it = series_.find(key);
    if (it != series_.end()) it->second.createName = name;
  }
  rapidjson::Document ev(rapidjson::kObjectType);
  auto& a = ev.GetAllocator();
  ev.AddMember("apiVersion", "events.k8s.io/v1", a);
  ev.AddMember("kind", "Event", a);
  rapidjson::Value meta(rapidjson::kObjectType);
  addString(meta, "name", name, a);
  addString(meta, "namespace", s.ns, a);
  ev.AddMember("metadata", meta, a);
  addString(ev, "eventTime", formatMicroTime(s.firstWall), a);
  addString(ev, "reportingController", options_.reportingController, a);
  addString(ev, "reportingInstance", options_.reportingInstance, a);
  addString(ev, "action", s.action, a);
  addString(ev, "reason", s.reason, a);
  addString(ev, "type", s.type, a);
  addString(ev, "note", s.note, a);
  rapidjson::Value regarding(rapidjson::kObjectType);
  addString(regarding, "apiVersion", s.regarding.apiVersion, a);
  addString(regarding, "kind", s.regarding.kind, a);
  addString(regarding, "namespace", s.regarding.namespace_, a);
  addString(regarding, "name", s.regarding.name, a);
  addString(regarding, "uid", s.regarding.uid, a);
  addString(regarding, "resourceVersion", s.regarding.resourceVersion, a);
  ev.AddMember("regarding", regarding, a);
  if (s.count > 1) {
    rapidjson::Value series(rapidjson::kObjectType);
    series.AddMember("count", s.count, a);
    addString(series, "lastObservedTime", formatMicroTime(s.lastWall), a);
    ev.AddMember("series", series, a);
  }
  auto r = client_.create(events, s.ns, ev);
  if (!r && !isAlreadyExists(r.error())) return failed(r.error(), "creating", name);
  std::lock_guard lock(mu_);
  ++stats_.created;
  auto it = series_.find(key);
  if (it != series_.end()) {
    it->second.eventName = name;
    it->second.createName.clear();
    it->second.sentCount = s.count;
    it->second.attempts = 0;
  }
  return {};
}

}  // namespace canaryd::kube
