// The outcome of one reconcile, as controller-runtime's reconcile.Result plus its error
// kinds: requeue after a delay, and success, a transient error (the workqueue retries
// with rate-limited backoff) or a terminal error (recorded on the object as a condition;
// not retried until the object changes). Plain value.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace canaryd::controller {

struct Result {
  enum class Error { kNone, kTransient, kTerminal };

  // Reconcile again after this delay (pause durations, scale-down delays, analysis
  // intervals, the progress deadline; with kTerminal, a look at an object outside the
  // Rollout that no informer watches). Ignored when `error` is kTransient.
  std::optional<std::chrono::milliseconds> requeueAfter;
  Error error = Error::kNone;
  std::string message;  // what went wrong, when error != kNone

  static Result transient(std::string message) {
    return Result{std::nullopt, Error::kTransient, std::move(message)};
  }
  static Result terminal(std::string message) {
    return Result{std::nullopt, Error::kTerminal, std::move(message)};
  }
  bool operator==(const Result&) const = default;
};

}  // namespace canaryd::controller
