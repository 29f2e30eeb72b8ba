#include "informer/reflector.h"

#include <algorithm>
#include <cmath>

namespace canaryd::informer {

Clock::Duration Backoff::next() {
  auto now = clock_.now();
  if (current_ != Clock::Duration::zero() && now - lastFailure_ > options_.resetAfter) {
    current_ = Clock::Duration::zero();
  }
  lastFailure_ = now;
  if (current_ == Clock::Duration::zero()) {
    current_ = options_.initial;
  } else {
    auto grown = std::chrono::duration_cast<Clock::Duration>(
        std::chrono::duration<double, Clock::Duration::period>(current_) * options_.factor);
    current_ = std::min<Clock::Duration>(grown, options_.max);
  }
  double jitter = std::uniform_real_distribution<double>(0.0, 1.0)(rng_) * options_.jitter;
  return std::chrono::duration_cast<Clock::Duration>(
      std::chrono::duration<double, Clock::Duration::period>(current_) * (1.0 + jitter));
}

namespace detail {

std::string describe(const ReflectorOptions& o) {
  std::string name = o.resource.groupResource();
  if (!o.namespace_.empty()) name += " in " + o.namespace_;
  if (!o.labelSelector.empty()) name += " (" + o.labelSelector + ")";
  return name;
}

void logFailure(const std::string& name, std::string_view what, const kube::ApiError& error,
                uint64_t streak) {
  // The first failure of a streak is worth a warning; the rest repeat it while the
  // reflector backs off, so they go to debug. A relist on 410 is routine.
  if (kube::isTooOldResourceVersion(error)) {
    spdlog::info("informer {}: {}: {}; relisting", name, what, error.message);
  } else if (streak == 1) {
    spdlog::warn("informer {}: {} failed: {}{}", name, what, error.message,
                 error.code ? " (HTTP " + std::to_string(error.code) + ")" : std::string());
  } else {
    spdlog::debug("informer {}: {} failed again ({} in a row): {}", name, what, streak,
                  error.message);
  }
}

void logRecovered(const std::string& name, uint64_t streak) {
  if (streak > 1) spdlog::info("informer {}: recovered after {} failures", name, streak);
}

void logShortWatch(const std::string& name, std::chrono::milliseconds lasted, uint64_t streak) {
  if (streak == 1) {
    spdlog::warn("informer {}: watch ended after {} ms with no event; backing off", name,
                 lasted.count());
  } else {
    spdlog::debug("informer {}: watch ended after {} ms with no event ({} in a row)", name,
                  lasted.count(), streak);
  }
}

Clock::Duration retryDelay(Backoff& backoff, const std::optional<kube::ApiError>& error) {
  Clock::Duration delay = backoff.next();
  if (error) {
    if (auto seconds = kube::suggestsClientDelay(*error)) {
      delay = std::max<Clock::Duration>(delay, std::chrono::seconds(*seconds));
    }
  }
  return delay;
}

}  // namespace detail

}  // namespace canaryd::informer
