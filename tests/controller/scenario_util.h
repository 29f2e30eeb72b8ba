// Set-up shared by the analysis table tests: a Healthy web:1 moved to web:2 with the fake
// analysis answering as the test says, at a time the test knows. Single-threaded, as World.
#pragma once

#include <chrono>
#include <functional>

#include "world.h"

namespace canaryd::controller::testing {

// The World's wall clock in whole seconds, as status timestamps are written.
inline api::Time nowOf(const World& w) {
  return std::chrono::floor<std::chrono::seconds>(w.clock.wallNow());
}

// With analysis on: web:1 Healthy under `spec`, then web:2 applied (not reconciled yet)
// with the analysis answering `answer(now)` on every run. The clock does not move: returns
// that `now`.
inline api::Time applyWeb2WithAnalysis(World& w, Spec spec,
                                       const std::function<AnalysisResult(api::Time)>& answer) {
  w.useAnalysis = true;
  w.healthyAt(spec);
  const api::Time now = nowOf(w);
  w.analysis.script = {answer(now)};
  spec.image = "web:2";
  w.apply(spec);
  return now;
}

}  // namespace canaryd::controller::testing
