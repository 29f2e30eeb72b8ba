// The canaryd.io/v1alpha1 API: Rollout and AnalysisTemplate as C++ value types.
// Field names follow the JSON names (Argo Rollouts' where the concept is the same; see
// DESIGN.md); members carry their defaults (api/defaults.h), so a decoded object with a
// field left out holds the default. Plain values: copyable, comparable, not synchronised.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "api/defaults.h"
#include "api/duration.h"

namespace canaryd::api {

inline constexpr std::string_view kGroup = "canaryd.io";
inline constexpr std::string_view kVersion = "v1alpha1";
inline constexpr std::string_view kApiVersion = "canaryd.io/v1alpha1";
inline constexpr std::string_view kRolloutKind = "Rollout";
inline constexpr std::string_view kAnalysisTemplateKind = "AnalysisTemplate";

using StringMap = std::map<std::string, std::string>;

// ---- metadata (the subset of metav1.ObjectMeta canaryd reads and writes) ----

struct OwnerReference {
  std::string apiVersion;
  std::string kind;
  std::string name;
  std::string uid;
  bool controller = false;
  bool blockOwnerDeletion = false;
  bool operator==(const OwnerReference&) const = default;
};

struct ObjectMeta {
  std::string name;
  std::string generateName;
  std::string namespace_;  // JSON: namespace
  std::string uid;
  std::string resourceVersion;
  int64_t generation = 0;
  std::optional<Time> creationTimestamp;
  std::optional<Time> deletionTimestamp;
  StringMap labels;
  StringMap annotations;
  std::vector<OwnerReference> ownerReferences;
  std::vector<std::string> finalizers;
  bool operator==(const ObjectMeta&) const = default;
};

// metav1.LabelSelector.
struct LabelSelectorRequirement {
  std::string key;
  std::string operator_;  // JSON: operator; In, NotIn, Exists, DoesNotExist
  std::vector<std::string> values;
  bool operator==(const LabelSelectorRequirement&) const = default;
};

struct LabelSelector {
  StringMap matchLabels;
  std::vector<LabelSelectorRequirement> matchExpressions;
  bool operator==(const LabelSelector&) const = default;
};

// The pod template (core/v1 PodTemplateSpec) is passed through to ReplicaSets as it is:
// canaryd keeps its JSON, keys sorted so equal templates have equal text, with every
// field the user wrote (known to canaryd or not). `labels` is read out for validation.
// The controller's Rollout cache drops the text, the bulk of a Rollout, and keeps its hash
// state instead (controller::trimPodTemplate); the decoders always fill `json`.
struct PodTemplate {
  std::string json;  // canonical compact JSON of the PodTemplateSpec; "{}" when absent
  StringMap labels;  // metadata.labels
  // Set only once `json` has been dropped (json is then ""): the FNV-32a state after
  // hashing the text, from which the pod-template-hash is finished.
  std::optional<uint32_t> trimmedFnv32a;
  bool operator==(const PodTemplate&) const = default;
};

// ---- analysis ----

enum class NoDataPolicy { kInconclusive, kFail, kPass };

// One metric: a built-in template or a PromQL query, judged against min and/or max.
struct Metric {
  std::string name;
  std::string templateName;   // JSON: template; error-rate, success-rate, latency-p95, ...
  std::string query;          // PromQL with {{variables}}; exclusive with templateName
  std::optional<double> min;  // a measurement below min fails
  std::optional<double> max;  // a measurement above max fails
  NoDataPolicy noData = NoDataPolicy::kInconclusive;
  bool operator==(const Metric&) const = default;
};

struct SecretRef {
  std::string name;
  bool operator==(const SecretRef&) const = default;
};

struct PrometheusProvider {
  std::string address;  // http(s)://host:port[/prefix]
  Duration timeout = kDefaultPrometheusTimeout;
  bool insecureSkipVerify = false;
  StringMap headers;
  // A Secret in the Rollout's namespace with `token` (bearer) or `username`/`password`.
  std::optional<SecretRef> authSecretRef;
  bool operator==(const PrometheusProvider&) const = default;
};

struct TemplateRef {
  std::string name;  // an AnalysisTemplate in the Rollout's namespace
  bool operator==(const TemplateRef&) const = default;
};

// Analysis settings, shared by background analysis (spec.strategy.canary.analysis,
// which uses startingStep) and inline analysis steps (which use count).
struct AnalysisSpec {
  int32_t startingStep = 0;               // background only: the first step index analysed
  int32_t count = kDefaultAnalysisCount;  // inline step only: measurements to pass
  Duration interval = kDefaultAnalysisInterval;
  int32_t failureLimit = kDefaultFailureLimit;
  int32_t consecutiveErrorLimit = kDefaultConsecutiveErrorLimit;
  int32_t inconclusiveLimit = kDefaultInconclusiveLimit;
  std::optional<PrometheusProvider> prometheus;
  std::vector<Metric> metrics;
  std::vector<TemplateRef> templates;
  bool operator==(const AnalysisSpec&) const = default;
};

// ---- steps ----

struct SetWeightStep {
  int32_t weight = 0;  // percent 0-100 (or 0-maxTrafficWeight) of traffic to the canary
  bool operator==(const SetWeightStep&) const = default;
};

struct PauseStep {
  std::optional<Duration> duration;  // absent: wait for promote
  bool operator==(const PauseStep&) const = default;
};

struct AnalysisStep {
  AnalysisSpec analysis;
  bool operator==(const AnalysisStep&) const = default;
};

// kPrefix is decoded so that manifests written for Argo Rollouts get a precise
// validation error: neither nginx nor Gateway API header matches can match a prefix.
struct StringMatch {
  enum class Kind { kExact, kPrefix, kRegex };
  Kind kind = Kind::kExact;
  std::string value;
  bool operator==(const StringMatch&) const = default;
};

struct HeaderMatch {
  std::string headerName;
  StringMatch headerValue;
  bool operator==(const HeaderMatch&) const = default;
};

// Routes matching requests to the canary whatever the weight. A step with an empty
// match and no cookie removes the header route of the same name (all of canaryd's header
// routes when the name is empty); routes are also removed at promotion and abort.
struct SetHeaderRouteStep {
  std::string name;
  std::vector<HeaderMatch> match;
  std::string cookie;  // nginx only: requests with this cookie set to "always"
  bool operator==(const SetHeaderRouteStep&) const = default;
};

// Sets the canary's replica count independently of its traffic weight.
struct SetCanaryScaleStep {
  std::optional<int32_t> replicas;
  std::optional<int32_t> weight;  // percent of spec.replicas
  bool matchTrafficWeight = false;
  bool operator==(const SetCanaryScaleStep&) const = default;
};

using Step =
    std::variant<SetWeightStep, PauseStep, AnalysisStep, SetHeaderRouteStep, SetCanaryScaleStep>;

// The JSON key of the step's kind: "setWeight", "pause", "analysis", "setHeaderRoute",
// "setCanaryScale".
std::string_view stepKindName(const Step& step);

// ---- traffic routing ----

struct NginxTrafficRouting {
  std::string stableIngress;
  std::vector<std::string> stableIngresses;
  std::string annotationPrefix = std::string(kDefaultNginxAnnotationPrefix);
  StringMap additionalIngressAnnotations;  // keys without the prefix
  bool operator==(const NginxTrafficRouting&) const = default;
};

struct GatewayApiTrafficRouting {
  std::string httpRoute;
  std::vector<std::string> managedRoutes;  // rule names; empty: every rule with the backend
  bool operator==(const GatewayApiTrafficRouting&) const = default;
};

struct TrafficRouting {
  std::optional<NginxTrafficRouting> nginx;
  std::optional<GatewayApiTrafficRouting> gatewayAPI;
  // The total weights are out of (kDefaultMaxTrafficWeight when absent; nginx's
  // canary-weight-total).
  std::optional<int32_t> maxTrafficWeight;
  bool operator==(const TrafficRouting&) const = default;
};

struct CanaryStrategy {
  std::string stableService;
  std::string canaryService;
  int32_t scaleDownDelaySeconds = kDefaultScaleDownDelaySeconds;
  int32_t abortScaleDownDelaySeconds = kDefaultAbortScaleDownDelaySeconds;
  std::optional<TrafficRouting> trafficRouting;  // absent: weight = replica ratio
  std::optional<AnalysisSpec> analysis;          // background analysis
  std::vector<Step> steps;
  bool operator==(const CanaryStrategy&) const = default;
};

struct RolloutStrategy {
  std::optional<CanaryStrategy> canary;
  bool operator==(const RolloutStrategy&) const = default;
};

struct RolloutSpec {
  int32_t replicas = kDefaultReplicas;
  std::optional<LabelSelector> selector;   // required
  std::optional<PodTemplate> podTemplate;  // JSON: template; required
  int32_t revisionHistoryLimit = kDefaultRevisionHistoryLimit;
  int32_t progressDeadlineSeconds = kDefaultProgressDeadlineSeconds;
  bool paused = false;
  RolloutStrategy strategy;
  bool operator==(const RolloutSpec&) const = default;
};

// ---- status ----

enum class RolloutPhase { kNone, kHealthy, kProgressing, kPaused, kDegraded };
// Pending, Running, Successful, Failed, Error, Inconclusive: as Argo's AnalysisPhase.
enum class AnalysisPhase { kNone, kPending, kRunning, kSuccessful, kFailed, kError, kInconclusive };

struct Condition {
  std::string type;    // Ready, Progressing, Available, Paused, Aborted, InvalidSpec, Completed
  std::string status;  // "True", "False", "Unknown"
  std::string reason;  // CamelCase
  std::string message;
  std::optional<Time> lastTransitionTime;
  std::optional<Time> lastUpdateTime;
  int64_t observedGeneration = 0;
  bool operator==(const Condition&) const = default;
};

struct PauseCondition {
  std::string reason;  // PauseStep, Inconclusive, Manual
  Time startTime{};
  bool operator==(const PauseCondition&) const = default;
};

struct Measurement {
  AnalysisPhase phase = AnalysisPhase::kNone;
  std::optional<double> value;  // absent: no data or error; may be NaN or +-Inf
  std::string query;            // the rendered PromQL that produced it
  std::string message;
  std::optional<Time> startedAt;
  std::optional<Time> finishedAt;
  bool operator==(const Measurement&) const = default;
};

struct MetricResult {
  std::string name;
  AnalysisPhase phase = AnalysisPhase::kNone;
  std::optional<double> lastValue;
  std::optional<double> min;  // thresholds, copied for display
  std::optional<double> max;
  int32_t count = 0;
  int32_t successful = 0;
  int32_t failed = 0;
  int32_t inconclusive = 0;
  int32_t error = 0;
  int32_t consecutiveError = 0;
  std::vector<Measurement> measurements;  // the last kMaxMeasurementsPerMetric
  bool operator==(const MetricResult&) const = default;
};

struct AnalysisStatus {
  AnalysisPhase phase = AnalysisPhase::kNone;
  std::string message;
  std::optional<int32_t> stepIndex;  // inline analysis step being run; absent: background
  std::optional<Time> nextMeasurementAt;
  std::vector<MetricResult> metrics;
  bool operator==(const AnalysisStatus&) const = default;
};

struct HistoryEntry {
  int64_t revision = 0;
  std::string podHash;
  std::string outcome;  // Promoted, Aborted
  std::string reason;
  std::optional<Time> startedAt;
  std::optional<Time> finishedAt;
  std::string metric;  // the deciding metric, when analysis decided
  std::optional<Measurement> measurement;
  bool operator==(const HistoryEntry&) const = default;
};

struct RolloutStatus {
  RolloutPhase phase = RolloutPhase::kNone;
  std::string message;
  int64_t observedGeneration = 0;
  std::string currentPodHash;
  std::string stableRS;  // the stable pod-template-hash
  std::optional<int32_t> currentStepIndex;
  int32_t canaryWeight = 0;  // percent the data plane was told
  int32_t replicas = 0;
  int32_t updatedReplicas = 0;
  int32_t readyReplicas = 0;
  int32_t availableReplicas = 0;
  std::string selector;  // label selector string, for the scale subresource
  bool abort = false;
  std::optional<Time> abortedAt;
  bool promoteFull = false;
  std::vector<PauseCondition> pauseConditions;
  std::vector<Condition> conditions;
  std::optional<AnalysisStatus> analysis;
  std::vector<HistoryEntry> history;  // newest last, at most kMaxHistoryEntries
  std::optional<int32_t> collisionCount;
  bool operator==(const RolloutStatus&) const = default;
};

struct Rollout {
  ObjectMeta metadata;
  RolloutSpec spec;
  RolloutStatus status;
  bool operator==(const Rollout&) const = default;
};

struct AnalysisTemplateSpec {
  std::optional<PrometheusProvider> prometheus;
  std::vector<Metric> metrics;
  bool operator==(const AnalysisTemplateSpec&) const = default;
};

struct AnalysisTemplate {
  ObjectMeta metadata;
  AnalysisTemplateSpec spec;
  bool operator==(const AnalysisTemplate&) const = default;
};

// ---- enum names (the JSON spelling) ----

std::string_view toString(RolloutPhase phase);  // "" for kNone
std::string_view toString(AnalysisPhase phase);
std::string_view toString(NoDataPolicy policy);  // "inconclusive", "fail", "pass"
std::optional<RolloutPhase> parseRolloutPhase(std::string_view s);
std::optional<AnalysisPhase> parseAnalysisPhase(std::string_view s);
std::optional<NoDataPolicy> parseNoDataPolicy(std::string_view s);

// Built-in metric templates (analysis issue): error-rate and success-rate are ratios
// 0-1; latency-p95 and latency-p99 are seconds.
inline constexpr std::string_view kBuiltinMetricTemplates[] = {"error-rate", "success-rate",
                                                               "latency-p95", "latency-p99"};
// Variables a custom query may use as {{name}}.
inline constexpr std::string_view kQueryVariables[] = {
    "namespace",     "rollout",    "canaryService", "stableService",
    "canaryIngress", "canaryHash", "stableHash",    "interval"};

}  // namespace canaryd::api
