// What `kubectl canary` prints: kubectl-style tables, ages and the views of a Rollout
// (list rows, the `get` report, the `status` line, history). Pure functions of the objects
// and a fixed `now`, so tests compare them with golden text. Thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.h"
#include "controller/views.h"

namespace canaryd::cli {

// How to print: colour (ANSI SGR) only when stdout is a terminal and NO_COLOR is unset
// (https://no-color.org), and the instant ages are measured from.
struct RenderOptions {
  bool color = false;
  api::Time now{};
};

// The colours used, as SGR parameters.
inline constexpr std::string_view kGreen = "32";
inline constexpr std::string_view kRed = "31";
inline constexpr std::string_view kYellow = "33";
inline constexpr std::string_view kBlue = "34";
inline constexpr std::string_view kBold = "1";

// One table cell: its text and, optionally, an SGR colour applied when colour is on.
struct Cell {
  Cell(std::string t) : text(std::move(t)) {}  // NOLINT: implicit, for brace lists of text
  Cell(const char* t) : text(t) {}             // NOLINT
  Cell(std::string t, std::string_view c) : text(std::move(t)), sgr(c) {}
  std::string text;
  std::string_view sgr;
};
using Row = std::vector<Cell>;

// Rows as kubectl's table printer lays them out (text/tabwriter, minimum width 6,
// padding 3): every column but the last padded to its widest cell plus three spaces,
// left aligned; lines end with the last cell. `indent` spaces start every line.
std::string formatTable(const std::vector<Row>& rows, bool color, int indent = 0);

// `text` wrapped in the SGR colour when `color` is set.
std::string colorize(std::string_view text, std::string_view sgr, bool color);

// A duration as kubectl's AGE column shows it (apimachinery duration.HumanDuration):
// "45s", "5m30s", "42m", "5h10m", "2d3h", "1y20d"; "<invalid>" for more than a second
// into the future.
std::string humanDuration(std::chrono::seconds d);
// The age of a timestamp at `now`; "<unknown>" when absent, as kubectl.
std::string age(const std::optional<api::Time>& t, api::Time now);

// A metric value as canaryd stores it, in at most 4 significant digits: "0.0123", "250",
// "NaN", "+Inf".
std::string formatValue(double v);
// A step in words: "setWeight: 25", "pause: 2s", "pause: until promoted",
// "analysis: 3 x 20s (error-rate, latency-p95)", "setHeaderRoute: X-Canary=always".
std::string describeStep(const api::Step& step);
// "3/4": status.currentStepIndex over the number of steps; "-" before the controller set it
// or when the Rollout has no canary strategy.
std::string stepProgress(const api::Rollout& rollout);
// The phase kubectl canary reports: status.phase, but "Progressing" while the controller
// has not observed the latest generation (kstatus: observedGeneration < generation), and
// "Unknown" before it wrote any status.
std::string effectivePhase(const api::Rollout& rollout);
// The colour of a Rollout or analysis phase name.
std::string_view phaseColor(std::string_view phase);

// `kubectl canary list`: NAMESPACE (when allNamespaces), NAME, PHASE, STEP, WEIGHT, AGE.
std::string renderList(const std::vector<api::Rollout>& rollouts, bool allNamespaces,
                       const RenderOptions& options);

// What `get` shows beside the Rollout: its stable and canary ReplicaSets as read from the
// API (absent when not found or when the Rollout names none).
struct RolloutDetails {
  api::Rollout rollout;
  std::optional<controller::ReplicaSetView> stable;
  std::optional<controller::ReplicaSetView> canary;
};

// `kubectl canary get ROLLOUT`: summary, steps with the current one marked, ReplicaSets,
// analysis metrics (last values against thresholds), the last history entries and the
// conditions.
std::string renderGet(const RolloutDetails& details, const RenderOptions& options);

// `kubectl canary status`: "<phase> - <message>" (just the phase when there is no
// message), one line.
std::string renderStatusLine(const api::Rollout& rollout, const RenderOptions& options);

// `kubectl canary history`: every status.history entry, oldest first; `limit` > 0 keeps
// only the newest `limit`.
std::string renderHistory(const api::Rollout& rollout, const RenderOptions& options,
                          size_t limit = 0);

}  // namespace canaryd::cli
