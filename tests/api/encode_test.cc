#include "api/encode.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "api/decode.h"
#include "api/json.h"
#include "test_util.h"

namespace canaryd::api {
namespace {

Rollout decodeOrFail(const rapidjson::Value& v) {
  auto d = decodeRollout(v);
  EXPECT_TRUE(d.errors.empty()) << joinErrors(d.errors);
  return d.object;
}

Time at(const char* text) { return *parseTime(text); }

RolloutStatus fullStatus() {
  RolloutStatus s;
  s.phase = RolloutPhase::kDegraded;
  s.message = "analysis failed: error-rate 0.08 > 0.01";
  s.observedGeneration = 7;
  s.currentPodHash = "7d9c8b5f4";
  s.stableRS = "6b7d9f8c5";
  s.currentStepIndex = 3;
  s.canaryWeight = 0;
  s.replicas = 5;
  s.updatedReplicas = 1;
  s.readyReplicas = 5;
  s.availableReplicas = 5;
  s.selector = "app=podinfo";
  s.abort = true;
  s.abortedAt = at("2026-11-21T10:05:00Z");
  s.pauseConditions = {{"PauseStep", at("2026-11-21T10:00:00Z")}};
  s.conditions = {{"Ready", "False", "Aborted", "aborted by analysis", at("2026-11-21T10:05:00Z"),
                   at("2026-11-21T10:05:01Z"), 7}};
  AnalysisStatus a;
  a.phase = AnalysisPhase::kFailed;
  a.stepIndex = 2;
  a.nextMeasurementAt = at("2026-11-21T10:05:30Z");
  MetricResult m;
  m.name = "error-rate";
  m.phase = AnalysisPhase::kFailed;
  m.lastValue = 0.08;
  m.max = 0.01;
  m.count = 2;
  m.successful = 1;
  m.failed = 1;
  m.measurements = {{AnalysisPhase::kSuccessful, 0.001, "sum(rate(x[1m]))", "",
                     at("2026-11-21T10:04:00Z"), at("2026-11-21T10:04:01Z")},
                    {AnalysisPhase::kFailed, 0.08, "sum(rate(x[1m]))", "0.08 > 0.01",
                     at("2026-11-21T10:05:00Z"), at("2026-11-21T10:05:00Z")}};
  a.metrics = {m};
  s.analysis = a;
  s.history = {{2, "7d9c8b5f4", "Aborted", "error-rate 0.08 > 0.01", at("2026-11-21T10:00:00Z"),
                at("2026-11-21T10:05:00Z"), "error-rate", m.measurements[1]}};
  s.collisionCount = 1;
  return s;
}

TEST(Encode, RolloutRoundTrips) {
  Rollout original = decodeOrFail(testing::yaml(testing::kBaseRolloutYaml));
  original.status = fullStatus();
  std::string json = encodeRolloutJson(original);
  auto doc = parseJson(json);
  ASSERT_TRUE(doc) << json;
  auto again = decodeRollout(*doc);
  ASSERT_TRUE(again.errors.empty()) << joinErrors(again.errors) << "\n" << json;
  EXPECT_EQ(again.object, original) << json;
  // And the text is stable: encoding the decoded object gives the same bytes.
  EXPECT_EQ(encodeRolloutJson(again.object), json);
}

TEST(Encode, DefaultsAreWrittenOut) {
  auto doc = testing::yaml(R"(
apiVersion: canaryd.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: nginx}]}}
  strategy: {canary: {steps: [{setWeight: 20}, {pause: {duration: 90}}]}}
)");
  std::string json = encodeRolloutJson(decodeOrFail(doc));
  EXPECT_EQ(json,
            R"({"apiVersion":"canaryd.io/v1alpha1","kind":"Rollout","metadata":{"name":"web"},)"
            R"("spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},)"
            R"("template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":)"
            R"([{"image":"nginx","name":"web"}]}},"revisionHistoryLimit":10,)"
            R"("progressDeadlineSeconds":600,"strategy":{"canary":{"scaleDownDelaySeconds":30,)"
            R"("abortScaleDownDelaySeconds":30,"steps":[{"setWeight":20},)"
            R"({"pause":{"duration":"1m30s"}}]}}}})");
}

TEST(Encode, StatusUsesStringsForNonFiniteValues) {
  RolloutStatus s;
  s.phase = RolloutPhase::kPaused;
  AnalysisStatus a;
  MetricResult m;
  m.name = "p95";
  m.lastValue = std::numeric_limits<double>::quiet_NaN();
  m.measurements = {{AnalysisPhase::kInconclusive, std::numeric_limits<double>::infinity()},
                    {AnalysisPhase::kSuccessful, 0.1}};
  a.metrics = {m};
  s.analysis = a;
  rapidjson::Document doc;
  encodeRolloutStatus(s, doc, doc.GetAllocator());
  std::string json = toJson(doc);
  EXPECT_NE(json.find(R"("lastValue":"NaN")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("value":"+Inf")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("value":"0.1")"), std::string::npos) << json;
  auto back = decodeRolloutStatus(doc);
  ASSERT_TRUE(back.errors.empty()) << joinErrors(back.errors);
  EXPECT_TRUE(std::isnan(*back.object.analysis->metrics[0].lastValue));
  EXPECT_EQ(back.object.analysis->metrics[0].measurements[1].value, 0.1);
}

TEST(Encode, EmptyStatusIsOmitted) {
  Rollout r = decodeOrFail(testing::yaml(testing::kBaseRolloutYaml));
  EXPECT_EQ(encodeRolloutJson(r).find("\"status\""), std::string::npos);
}

TEST(Encode, AnalysisTemplateRoundTrips) {
  auto decoded = decodeAnalysisTemplate(testing::yaml(R"(
apiVersion: canaryd.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: http-slo, namespace: shop}
spec:
  prometheus: {address: "http://prometheus:9090", headers: {X-Org: a}, authSecretRef: {name: s}}
  metrics:
  - {name: e, template: error-rate, max: 0.02}
  - {name: q, query: 'sum(up{service="{{canaryService}}"})', min: 1, noData: fail}
)"));
  ASSERT_TRUE(decoded.errors.empty()) << joinErrors(decoded.errors);
  auto doc = parseJson(encodeAnalysisTemplateJson(decoded.object));
  ASSERT_TRUE(doc);
  auto again = decodeAnalysisTemplate(*doc);
  ASSERT_TRUE(again.errors.empty()) << joinErrors(again.errors);
  EXPECT_EQ(again.object, decoded.object);
}

}  // namespace
}  // namespace canaryd::api
