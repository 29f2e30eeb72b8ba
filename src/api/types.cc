#include "api/types.h"

namespace canaryd::api {
namespace {

template <class Enum, size_t N>
std::optional<Enum> lookup(const std::pair<Enum, std::string_view> (&table)[N],
                           std::string_view s) {
  for (const auto& [e, name] : table)
    if (name == s && !name.empty()) return e;
  return std::nullopt;
}

template <class Enum, size_t N>
std::string_view nameOf(const std::pair<Enum, std::string_view> (&table)[N], Enum e) {
  for (const auto& [v, name] : table)
    if (v == e) return name;
  return {};
}

constexpr std::pair<RolloutPhase, std::string_view> kRolloutPhases[] = {
    {RolloutPhase::kNone, ""},
    {RolloutPhase::kHealthy, "Healthy"},
    {RolloutPhase::kProgressing, "Progressing"},
    {RolloutPhase::kPaused, "Paused"},
    {RolloutPhase::kDegraded, "Degraded"},
};

constexpr std::pair<AnalysisPhase, std::string_view> kAnalysisPhases[] = {
    {AnalysisPhase::kNone, ""},
    {AnalysisPhase::kPending, "Pending"},
    {AnalysisPhase::kRunning, "Running"},
    {AnalysisPhase::kSuccessful, "Successful"},
    {AnalysisPhase::kFailed, "Failed"},
    {AnalysisPhase::kError, "Error"},
    {AnalysisPhase::kInconclusive, "Inconclusive"},
};

constexpr std::pair<NoDataPolicy, std::string_view> kNoDataPolicies[] = {
    {NoDataPolicy::kInconclusive, "inconclusive"},
    {NoDataPolicy::kFail, "fail"},
    {NoDataPolicy::kPass, "pass"},
};

}  // namespace

std::string_view stepKindName(const Step& step) {
  struct Visitor {
    std::string_view operator()(const SetWeightStep&) const { return "setWeight"; }
    std::string_view operator()(const PauseStep&) const { return "pause"; }
    std::string_view operator()(const AnalysisStep&) const { return "analysis"; }
    std::string_view operator()(const SetHeaderRouteStep&) const { return "setHeaderRoute"; }
    std::string_view operator()(const SetCanaryScaleStep&) const { return "setCanaryScale"; }
  };
  return std::visit(Visitor{}, step);
}

std::string_view toString(RolloutPhase phase) { return nameOf(kRolloutPhases, phase); }
std::string_view toString(AnalysisPhase phase) { return nameOf(kAnalysisPhases, phase); }
std::string_view toString(NoDataPolicy policy) { return nameOf(kNoDataPolicies, policy); }

std::optional<RolloutPhase> parseRolloutPhase(std::string_view s) {
  return lookup(kRolloutPhases, s);
}
std::optional<AnalysisPhase> parseAnalysisPhase(std::string_view s) {
  return lookup(kAnalysisPhases, s);
}
std::optional<NoDataPolicy> parseNoDataPolicy(std::string_view s) {
  return lookup(kNoDataPolicies, s);
}

}  // namespace canaryd::api
