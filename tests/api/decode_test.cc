#include "api/decode.h"

#include <gtest/gtest.h>

#include <cmath>

#include "api/json.h"
#include "test_util.h"

namespace canaryd::api {
namespace {

const char* const kMinimal = R"(
apiVersion: canaryd.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
  strategy:
    canary:
      analysis:
        metrics: [{name: e, template: error-rate, max: 0.01}]
      steps:
      - analysis: {templates: [{name: slo}]}
)";

TEST(Defaults, AppliedToFieldsLeftOut) {
  auto decoded = decodeRollout(testing::yaml(kMinimal));
  ASSERT_TRUE(decoded.errors.empty()) << joinErrors(decoded.errors);
  const auto& spec = decoded.object.spec;
  EXPECT_EQ(spec.replicas, 1);
  EXPECT_EQ(spec.revisionHistoryLimit, 10);
  EXPECT_EQ(spec.progressDeadlineSeconds, 600);
  EXPECT_FALSE(spec.paused);
  ASSERT_TRUE(spec.strategy.canary);
  const auto& canary = *spec.strategy.canary;
  EXPECT_EQ(canary.scaleDownDelaySeconds, 30);
  EXPECT_EQ(canary.abortScaleDownDelaySeconds, 30);
  EXPECT_FALSE(canary.trafficRouting);
  ASSERT_TRUE(canary.analysis);
  EXPECT_EQ(canary.analysis->startingStep, 0);
  EXPECT_EQ(canary.analysis->interval, std::chrono::seconds(30));
  EXPECT_EQ(canary.analysis->failureLimit, 0);
  EXPECT_EQ(canary.analysis->consecutiveErrorLimit, 4);
  EXPECT_EQ(canary.analysis->inconclusiveLimit, 0);
  EXPECT_EQ(canary.analysis->metrics.at(0).noData, NoDataPolicy::kInconclusive);
  ASSERT_EQ(canary.steps.size(), 1u);
  const auto& step = std::get<AnalysisStep>(canary.steps[0]).analysis;
  EXPECT_EQ(step.count, 1);
  EXPECT_EQ(step.interval, std::chrono::seconds(30));
  EXPECT_EQ(step.consecutiveErrorLimit, 4);
}

TEST(Defaults, NginxPrefixAndPrometheusTimeout) {
  auto doc = testing::mergePatched(testing::kBaseRolloutYaml, "{}");
  auto decoded = decodeRollout(doc);
  ASSERT_TRUE(decoded.errors.empty()) << joinErrors(decoded.errors);
  const auto& canary = *decoded.object.spec.strategy.canary;
  EXPECT_EQ(canary.trafficRouting->nginx->annotationPrefix, "nginx.ingress.kubernetes.io");
  EXPECT_EQ(canary.analysis->prometheus->timeout, std::chrono::seconds(10));
}

TEST(Decode, ReadsEveryStepKind) {
  auto decoded = decodeRollout(testing::yaml(testing::kBaseRolloutYaml));
  ASSERT_TRUE(decoded.errors.empty()) << joinErrors(decoded.errors);
  const auto& steps = decoded.object.spec.strategy.canary->steps;
  ASSERT_EQ(steps.size(), 7u);
  EXPECT_EQ(std::get<SetWeightStep>(steps[0]).weight, 5);
  EXPECT_EQ(std::get<PauseStep>(steps[1]).duration, std::chrono::minutes(2));
  const auto& analysis = std::get<AnalysisStep>(steps[2]).analysis;
  EXPECT_EQ(analysis.count, 3);
  EXPECT_EQ(analysis.interval, std::chrono::seconds(20));
  EXPECT_EQ(analysis.metrics.at(0).max, 0.8);
  const auto& route = std::get<SetHeaderRouteStep>(steps[3]);
  ASSERT_EQ(route.match.size(), 1u);
  EXPECT_EQ(route.match[0].headerName, "X-Canary");
  EXPECT_EQ(route.match[0].headerValue.kind, StringMatch::Kind::kExact);
  EXPECT_EQ(route.match[0].headerValue.value, "always");
  EXPECT_EQ(std::get<SetCanaryScaleStep>(steps[4]).replicas, 2);
  EXPECT_EQ(std::get<SetWeightStep>(steps[5]).weight, 50);
  EXPECT_FALSE(std::get<PauseStep>(steps[6]).duration.has_value());
  for (size_t i = 0; i < steps.size(); ++i) EXPECT_FALSE(stepKindName(steps[i]).empty());
}

TEST(Decode, PauseDurationAcceptsIntegerSeconds) {
  auto doc = testing::mergePatched(
      testing::kBaseRolloutYaml, "spec: {strategy: {canary: {steps: [{pause: {duration: 45}}]}}}");
  auto decoded = decodeRollout(doc);
  ASSERT_TRUE(decoded.errors.empty()) << joinErrors(decoded.errors);
  EXPECT_EQ(std::get<PauseStep>(decoded.object.spec.strategy.canary->steps[0]).duration,
            std::chrono::seconds(45));
}

TEST(Decode, PodTemplateKeepsUnknownFieldsWithSortedKeys) {
  auto doc = testing::mergePatched(testing::kBaseRolloutYaml, R"(
spec:
  template:
    metadata: {annotations: {z: "1", a: "2"}}
    spec:
      futureField: {enabled: true}
      containers: [{name: podinfo, image: x, someNewField: 3}]
)");
  auto decoded = decodeRollout(doc);
  ASSERT_TRUE(decoded.errors.empty()) << joinErrors(decoded.errors);
  const auto& tpl = *decoded.object.spec.podTemplate;
  EXPECT_EQ(tpl.json, R"({"metadata":{"annotations":{"a":"2","z":"1"},"labels":{"app":"podinfo"}},)"
                      R"("spec":{"containers":[{"image":"x","name":"podinfo","someNewField":3}],)"
                      R"("futureField":{"enabled":true}}})");
  EXPECT_EQ(tpl.labels, (StringMap{{"app", "podinfo"}}));
}

TEST(Decode, EqualTemplatesHaveEqualJsonWhateverTheKeyOrder) {
  auto a = decodeRollout(testing::mergePatched(
      testing::kBaseRolloutYaml,
      "spec: {template: {spec: {containers: [{name: podinfo, image: x, args: [a]}]}}}"));
  auto b = decodeRollout(testing::mergePatched(
      testing::kBaseRolloutYaml,
      "spec: {template: {spec: {containers: [{args: [a], image: x, name: podinfo}]}}}"));
  EXPECT_EQ(a.object.spec.podTemplate, b.object.spec.podTemplate);
}

TEST(Decode, MetadataAndOwnerReferences) {
  auto doc = testing::mergePatched(testing::kBaseRolloutYaml, R"(
metadata:
  uid: 1f6c
  resourceVersion: "42"
  generation: 3
  creationTimestamp: "2026-11-21T10:00:00Z"
  labels: {team: shop}
  annotations: {note: x}
  managedFields: [{manager: kubectl}]
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: u1, controller: true}]
)");
  auto decoded = decodeRollout(doc);
  ASSERT_TRUE(decoded.errors.empty()) << joinErrors(decoded.errors);
  const auto& m = decoded.object.metadata;
  EXPECT_EQ(m.name, "podinfo");
  EXPECT_EQ(m.namespace_, "shop");
  EXPECT_EQ(m.uid, "1f6c");
  EXPECT_EQ(m.resourceVersion, "42");
  EXPECT_EQ(m.generation, 3);
  EXPECT_EQ(formatTime(*m.creationTimestamp), "2026-11-21T10:00:00Z");
  EXPECT_EQ(m.labels.at("team"), "shop");
  ASSERT_EQ(m.ownerReferences.size(), 1u);
  EXPECT_TRUE(m.ownerReferences[0].controller);
  EXPECT_EQ(m.ownerReferences[0].uid, "u1");
}

TEST(Decode, StatusMeasurementsReadNonFiniteValues) {
  auto doc = parseJson(R"({"phase":"Paused","currentStepIndex":2,"canaryWeight":5,
    "analysis":{"phase":"Inconclusive","metrics":[{"name":"e","phase":"Inconclusive",
    "lastValue":"NaN","measurements":[{"phase":"Successful","value":"+Inf"},
    {"phase":"Failed","value":"0.25","startedAt":"2026-11-21T10:00:00Z"}]}]}})");
  ASSERT_TRUE(doc);
  auto decoded = decodeRolloutStatus(*doc);
  ASSERT_TRUE(decoded.errors.empty()) << joinErrors(decoded.errors);
  const auto& s = decoded.object;
  EXPECT_EQ(s.phase, RolloutPhase::kPaused);
  EXPECT_EQ(s.currentStepIndex, 2);
  const auto& metric = s.analysis->metrics.at(0);
  EXPECT_TRUE(std::isnan(*metric.lastValue));
  EXPECT_TRUE(std::isinf(*metric.measurements.at(0).value));
  EXPECT_EQ(metric.measurements.at(1).value, 0.25);
  EXPECT_EQ(metric.measurements.at(1).phase, AnalysisPhase::kFailed);
}

TEST(Decode, StatusErrorsNameTheField) {
  auto doc = parseJson(R"({"phase":"Exploded","canaryWeight":"five",
    "analysis":{"metrics":[{"lastValue":"lots"}]}})");
  ASSERT_TRUE(doc);
  auto decoded = decodeRolloutStatus(*doc);
  ASSERT_EQ(decoded.errors.size(), 3u);
  EXPECT_EQ(decoded.errors[0].toString(),
            "status.phase: Unsupported value: \"Exploded\": supported values: \"Healthy\", "
            "\"Progressing\", \"Paused\", \"Degraded\"");
  EXPECT_EQ(decoded.errors[1].toString(),
            "status.canaryWeight: Invalid value: \"five\": must be of type integer");
  EXPECT_EQ(decoded.errors[2].toString(),
            "status.analysis.metrics[0].lastValue: Invalid value: \"lots\": must be a number");
}

TEST(Decode, NonObjectInputIsOneError) {
  auto doc = parseJson("[1,2]");
  ASSERT_TRUE(doc);
  auto decoded = decodeRollout(*doc);
  ASSERT_EQ(decoded.errors.size(), 1u);
  EXPECT_EQ(decoded.errors[0].toString(), "Invalid value: [1,2]: must be of type object");
}

TEST(Decode, AnalysisTemplate) {
  auto decoded = decodeAnalysisTemplate(testing::yaml(R"(
apiVersion: canaryd.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: http-slo}
spec:
  prometheus:
    address: http://prometheus:9090
    timeout: 3s
    insecureSkipVerify: true
    headers: {X-Scope-OrgID: shop}
    authSecretRef: {name: prom-auth}
  metrics:
  - {name: p99, template: latency-p99, max: 0.5, noData: pass}
)"));
  ASSERT_TRUE(decoded.errors.empty()) << joinErrors(decoded.errors);
  const auto& spec = decoded.object.spec;
  EXPECT_EQ(spec.prometheus->timeout, std::chrono::seconds(3));
  EXPECT_TRUE(spec.prometheus->insecureSkipVerify);
  EXPECT_EQ(spec.prometheus->headers.at("X-Scope-OrgID"), "shop");
  EXPECT_EQ(spec.prometheus->authSecretRef->name, "prom-auth");
  EXPECT_EQ(spec.metrics.at(0).noData, NoDataPolicy::kPass);
  EXPECT_EQ(spec.metrics.at(0).templateName, "latency-p99");
}

}  // namespace
}  // namespace canaryd::api
