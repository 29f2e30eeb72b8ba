// Validation of Rollouts and AnalysisTemplates: each row patches a valid Rollout and
// states the exact errors, in kube-apiserver's wording, that canaryd must report.
#include "api/validate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/json.h"
#include "test_util.h"

namespace canaryd::api {
namespace {

using ::testing::ElementsAreArray;
using testing::kBaseRolloutYaml;
using testing::mergePatched;

std::vector<std::string> messages(const ErrorList& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.toString());
  return out;
}

TEST(ValidateRollout, BaseRolloutIsValid) {
  auto doc = testing::yaml(kBaseRolloutYaml);
  auto checked = checkRollout(doc);
  EXPECT_THAT(messages(checked.errors), ::testing::IsEmpty());
}

struct InvalidCase {
  const char* name;
  const char* patch;  // a JSON merge patch, in YAML, against kBaseRolloutYaml
  std::vector<std::string> expected;
};

void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.name; }

class InvalidRollout : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidRollout, ReportsExactErrors) {
  const auto& c = GetParam();
  auto doc = mergePatched(kBaseRolloutYaml, c.patch);
  auto checked = checkRollout(doc);
  EXPECT_THAT(messages(checked.errors), ElementsAreArray(c.expected)) << c.patch;
}

const char* const kCanary = "spec.strategy.canary";

std::string at(const std::string& suffix) { return std::string(kCanary) + suffix; }

const InvalidCase kInvalidCases[] = {
    {"NegativeReplicas",
     "spec: {replicas: -1}",
     {"spec.replicas: Invalid value: -1: must be greater than or equal to 0"}},
    {"ReplicasString",
     "spec: {replicas: three}",
     {"spec.replicas: Invalid value: \"three\": must be of type integer"}},
    {"ReplicasFraction",
     "spec: {replicas: 1.5}",
     {"spec.replicas: Invalid value: 1.5: must be of type integer"}},
    {"ReplicasOverflow",
     "spec: {replicas: 4294967296}",
     {"spec.replicas: Invalid value: 4294967296: must fit in a 32-bit integer"}},
    {"MissingSelector", "spec: {selector: null}", {"spec.selector: Required value"}},
    {"EmptySelector",
     "spec: {selector: {matchLabels: null}}",
     {"spec.selector: Invalid value: {}: empty selector is invalid for a Rollout"}},
    {"SelectorOperator",
     "spec: {selector: {matchExpressions: [{key: app, operator: Equals, values: [x]}]}}",
     {"spec.selector.matchExpressions[0].operator: Unsupported value: \"Equals\": supported "
      "values: \"DoesNotExist\", \"Exists\", \"In\", \"NotIn\""}},
    {"SelectorDoesNotMatchTemplate",
     "spec: {template: {metadata: {labels: {app: other}}}}",
     {"spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"other\"}: "
      "`selector` does not match template `labels`"}},
    {"NoContainers",
     "spec: {template: {spec: {containers: []}}}",
     {"spec.template.spec.containers: Required value"}},
    {"ContainerWithoutImage",
     "spec: {template: {spec: {containers: [{name: podinfo}]}}}",
     {"spec.template.spec.containers[0].image: Required value"}},
    {"NegativeRevisionHistoryLimit",
     "spec: {revisionHistoryLimit: -1}",
     {"spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0"}},
    {"ZeroProgressDeadline",
     "spec: {progressDeadlineSeconds: 0}",
     {"spec.progressDeadlineSeconds: Invalid value: 0: must be greater than 0"}},
    {"NoCanaryStrategy",
     "spec: {strategy: {canary: null}}",
     {"spec.strategy.canary: Required value: the canary strategy is required"}},
    {"SetWeightAbove100",
     "spec: {strategy: {canary: {steps: [{setWeight: 140}]}}}",
     {at(".steps[0].setWeight: Invalid value: 140: must be between 0 and 100")}},
    {"SetWeightNegative",
     "spec: {strategy: {canary: {steps: [{setWeight: -5}]}}}",
     {at(".steps[0].setWeight: Invalid value: -5: must be between 0 and 100")}},
    {"SetWeightAboveMaxTrafficWeight",
     "spec: {strategy: {canary: {trafficRouting: {maxTrafficWeight: 50}, steps: [{setWeight: "
     "60}]}}}",
     {at(".steps[0].setWeight: Invalid value: 60: must be between 0 and 50")}},
    {"BadPauseDuration",
     "spec: {strategy: {canary: {steps: [{pause: {duration: 2 minutes}}]}}}",
     {at(".steps[0].pause.duration: Invalid value: \"2 minutes\": must be a duration such as "
         "\"30s\", \"1m30s\" or \"2h\"")}},
    {"NegativePauseDuration",
     "spec: {strategy: {canary: {steps: [{pause: {duration: -5s}}]}}}",
     {at(".steps[0].pause.duration: Invalid value: \"-5s\": must be greater than or equal to "
         "0")}},
    {"TwoStepKinds",
     "spec: {strategy: {canary: {steps: [{setWeight: 5, pause: {}}]}}}",
     {at(".steps[0]: Forbidden: may not set more than one step kind: found setWeight, pause")}},
    {"EmptyStep",
     "spec: {strategy: {canary: {steps: [{}]}}}",
     {at(".steps[0]: Required value: must set one of setWeight, pause, analysis, "
         "setHeaderRoute, setCanaryScale")}},
    {"UnknownStepKind",
     "spec: {strategy: {canary: {steps: [{setWieght: 5}]}}}",
     {at(".steps[0]: Required value: must set one of setWeight, pause, analysis, "
         "setHeaderRoute, setCanaryScale"),
      "unknown field \"spec.strategy.canary.steps[0].setWieght\""}},
    {"UnknownCanaryField",
     "spec: {strategy: {canary: {stpes: []}}}",
     {"unknown field \"spec.strategy.canary.stpes\""}},
    {"StableServiceWithoutCanary",
     "spec: {strategy: {canary: {trafficRouting: null, canaryService: null, steps: "
     "[{setWeight: 5}]}}}",
     {at(".canaryService: Required value: required with stableService")}},
    {"SameServices",
     "spec: {strategy: {canary: {canaryService: podinfo-stable}}}",
     {at(".canaryService: Invalid value: \"podinfo-stable\": must differ from stableService")}},
    {"ServiceNameNotDns1035",
     "spec: {strategy: {canary: {stableService: 1-stable}}}",
     {at(".stableService: Invalid value: \"1-stable\": a DNS-1035 label must consist of lower "
         "case alphanumeric characters or '-', start with an alphabetic character, and end with "
         "an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation "
         "is '[a-z]([-a-z0-9]*[a-z0-9])?')")}},
    {"TrafficRoutingWithoutServices",
     "spec: {strategy: {canary: {stableService: null, canaryService: null}}}",
     {at(".stableService: Required value: required when trafficRouting is set"),
      at(".canaryService: Required value: required when trafficRouting is set")}},
    {"TrafficRoutingEmpty",
     "spec: {strategy: {canary: {trafficRouting: {nginx: null}}}}",
     {at(".trafficRouting: Required value: must set nginx or gatewayAPI")}},
    {"NginxWithoutIngress",
     "spec: {strategy: {canary: {trafficRouting: {nginx: {stableIngress: null}}}}}",
     {at(".trafficRouting.nginx.stableIngress: Required value: one of stableIngress or "
         "stableIngresses is required")}},
    {"NginxManagedAnnotation",
     "spec: {strategy: {canary: {trafficRouting: {nginx: {additionalIngressAnnotations: "
     "{canary-weight: '5'}}}}}}",
     {at(".trafficRouting.nginx.additionalIngressAnnotations[canary-weight]: Forbidden: "
         "managed by canaryd")}},
    {"GatewayWithoutRoute",
     "spec: {strategy: {canary: {trafficRouting: {nginx: null, gatewayAPI: {managedRoutes: "
     "[]}}}}}",
     {at(".trafficRouting.gatewayAPI.httpRoute: Required value")}},
    {"HeaderRouteWithoutTrafficRouting",
     "spec: {strategy: {canary: {trafficRouting: null, steps: [{setHeaderRoute: {match: "
     "[{headerName: X-Canary, headerValue: {exact: always}}]}}]}}}",
     {at(".steps[0].setHeaderRoute: Forbidden: requires spec.strategy.canary.trafficRouting")}},
    {"HeaderRoutePrefix",
     "spec: {strategy: {canary: {steps: [{setHeaderRoute: {match: [{headerName: X-Canary, "
     "headerValue: {prefix: al}}]}}]}}}",
     {at(".steps[0].setHeaderRoute.match[0].headerValue: Unsupported value: \"prefix\": "
         "supported values: \"exact\", \"regex\"")}},
    {"HeaderRouteBadRegex",
     "spec: {strategy: {canary: {steps: [{setHeaderRoute: {match: [{headerName: X-Canary, "
     "headerValue: {regex: '(always'}}]}}]}}}",
     {at(".steps[0].setHeaderRoute.match[0].headerValue.regex: Invalid value: \"(always\": "
         "must be a valid regular expression: missing )")}},
    {"HeaderRouteTwoMatchesOnNginx",
     "spec: {strategy: {canary: {steps: [{setHeaderRoute: {match: [{headerName: A, "
     "headerValue: {exact: x}}, {headerName: B, headerValue: {exact: beta}}]}}]}}}",
     {at(".steps[0].setHeaderRoute.match: Too many: 2: must have at most 1 items")}},
    {"HeaderValueTwoKinds",
     "spec: {strategy: {canary: {steps: [{setHeaderRoute: {match: [{headerName: A, "
     "headerValue: {exact: x, regex: '^b'}}]}}]}}}",
     {at(".steps[0].setHeaderRoute.match[0].headerValue: Forbidden: may not set more than one "
         "of exact, prefix, regex")}},
    {"CanaryScaleTwoKinds",
     "spec: {strategy: {canary: {steps: [{setCanaryScale: {replicas: 1, weight: 10}}]}}}",
     {at(".steps[0].setCanaryScale: Forbidden: may not set more than one of replicas, weight, "
         "matchTrafficWeight")}},
    {"AnalysisZeroInterval",
     "spec: {strategy: {canary: {analysis: {interval: 0s}}}}",
     {at(".analysis.interval: Invalid value: \"0s\": must be greater than 0")}},
    {"AnalysisStartingStepOutOfRange",
     "spec: {strategy: {canary: {analysis: {startingStep: 9}}}}",
     {at(".analysis.startingStep: Invalid value: 9: must be between 0 and 6 (an index into "
         "steps)")}},
    {"AnalysisNegativeFailureLimit",
     "spec: {strategy: {canary: {analysis: {failureLimit: -1}}}}",
     {at(".analysis.failureLimit: Invalid value: -1: must be greater than or equal to 0")}},
    {"AnalysisWithoutMetrics",
     "spec: {strategy: {canary: {analysis: {metrics: []}}}}",
     {at(".analysis.metrics: Required value: must list metrics or templates")}},
    {"AnalysisStepZeroCount",
     "spec: {strategy: {canary: {steps: [{analysis: {count: 0, templates: [{name: "
     "http-slo}]}}]}}}",
     {at(".steps[0].analysis.count: Invalid value: 0: must be greater than 0")}},
    {"DuplicateMetricNames",
     "spec: {strategy: {canary: {analysis: {metrics: [{name: m, template: error-rate, max: "
     "0.1}, {name: m, template: latency-p95, max: 1}]}}}}",
     {at(".analysis.metrics[1].name: Duplicate value: \"m\"")}},
    {"MetricTemplateAndQuery",
     "spec: {strategy: {canary: {analysis: {metrics: [{name: m, template: error-rate, query: "
     "up, max: 0.1}]}}}}",
     {at(".analysis.metrics[0].query: Forbidden: may not be set with template")}},
    {"MetricWithoutTemplateOrQuery",
     "spec: {strategy: {canary: {analysis: {metrics: [{name: m, max: 0.1}]}}}}",
     {at(".analysis.metrics[0]: Required value: must set template or query")}},
    {"MetricUnknownTemplate",
     "spec: {strategy: {canary: {analysis: {metrics: [{name: m, template: error_rate, max: "
     "0.1}]}}}}",
     {at(".analysis.metrics[0].template: Unsupported value: \"error_rate\": supported values: "
         "\"error-rate\", \"success-rate\", \"latency-p95\", \"latency-p99\"")}},
    {"MetricWithoutThreshold",
     "spec: {strategy: {canary: {analysis: {metrics: [{name: m, template: latency-p95}]}}}}",
     {at(".analysis.metrics[0]: Required value: must set min or max (or both)")}},
    {"MetricMinAboveMax",
     "spec: {strategy: {canary: {analysis: {metrics: [{name: m, query: up, min: 2, max: "
     "1}]}}}}",
     {at(".analysis.metrics[0].min: Invalid value: 2: must not be greater than max (1)")}},
    {"ErrorRateAsPercent",
     "spec: {strategy: {canary: {analysis: {metrics: [{name: m, template: error-rate, max: "
     "5}]}}}}",
     {at(".analysis.metrics[0].max: Invalid value: 5: must be between 0 and 1: error-rate is a "
         "ratio (0.01 is 1%)")}},
    {"MetricUnknownVariable",
     "spec: {strategy: {canary: {analysis: {metrics: [{name: m, query: 'sum({{service}})', "
     "max: 1}]}}}}",
     {at(".analysis.metrics[0].query: Invalid value: \"{{service}}\": unknown variable; "
         "supported: namespace, rollout, canaryService, stableService, canaryIngress, "
         "canaryHash, stableHash, interval")}},
    {"MetricBadNoData",
     "spec: {strategy: {canary: {analysis: {metrics: [{name: m, query: up, max: 1, noData: "
     "maybe}]}}}}",
     {at(".analysis.metrics[0].noData: Unsupported value: \"maybe\": supported values: "
         "\"inconclusive\", \"fail\", \"pass\"")}},
    {"PrometheusAddressNotUrl",
     "spec: {strategy: {canary: {analysis: {prometheus: {address: 'prometheus:9090'}}}}}",
     {at(".analysis.prometheus.address: Invalid value: \"prometheus:9090\": must be an "
         "http:// or https:// URL with a host")}},
    {"WrongApiVersion",
     "apiVersion: canaryd.io/v1",
     {"apiVersion: Unsupported value: \"canaryd.io/v1\": supported values: "
      "\"canaryd.io/v1alpha1\""}},
    {"NameNotDnsSubdomain",
     "metadata: {name: Podinfo}",
     {"metadata.name: Invalid value: \"Podinfo\": a lowercase RFC 1123 subdomain must consist "
      "of lower case alphanumeric characters, '-' or '.', and must start and end with an "
      "alphanumeric character (e.g. 'example.com', regex used for validation is "
      "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"}},
    {"MissingName",
     "metadata: {name: null}",
     {"metadata.name: Required value: name or generateName is required"}},
    {"StrategyNotObject",
     "spec: {strategy: {canary: [1]}}",
     {"spec.strategy.canary: Invalid value: [1]: must be of type object"}},
};

INSTANTIATE_TEST_SUITE_P(Table, InvalidRollout, ::testing::ValuesIn(kInvalidCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ValidateRollout, ReportsEveryErrorAtOnce) {
  auto doc = mergePatched(kBaseRolloutYaml,
                          "spec: {replicas: -2, strategy: {canary: {steps: [{setWeight: 101}, "
                          "{pause: {duration: soon}}]}}}");
  auto checked = checkRollout(doc);
  EXPECT_EQ(checked.errors.size(), 3u) << joinErrors(checked.errors);
}

TEST(ValidateRollout, TypeErrorIsNotReportedTwice) {
  // A selector of the wrong type is one error, not also "Required value".
  auto doc = mergePatched(kBaseRolloutYaml, "spec: {selector: [app]}");
  auto checked = checkRollout(doc);
  EXPECT_THAT(messages(checked.errors),
              ElementsAreArray({"spec.selector: Invalid value: [\"app\"]: must be of type "
                                "object"}));
}

TEST(ValidateRollout, LenientDecodingIgnoresUnknownFields) {
  auto doc = mergePatched(kBaseRolloutYaml, "spec: {strategy: {canary: {future: 1}}}");
  EXPECT_FALSE(checkRollout(doc).errors.empty());
  EXPECT_TRUE(checkRollout(doc, DecodeOptions{.strict = false}).errors.empty());
}

TEST(ValidateAnalysisTemplate, ValidAndInvalid) {
  auto good = testing::yaml(R"(
apiVersion: canaryd.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: http-slo, namespace: shop}
spec:
  prometheus: {address: "https://prometheus.example:9090/prom", timeout: 5s}
  metrics:
  - {name: error-rate, template: error-rate, max: 0.02}
  - {name: success, template: success-rate, min: 0.98, noData: fail}
)");
  EXPECT_TRUE(checkAnalysisTemplate(good).errors.empty())
      << joinErrors(checkAnalysisTemplate(good).errors);

  auto bad = testing::yaml(R"(
apiVersion: canaryd.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: http-slo}
spec:
  prometheus: {timeout: 0s}
  metrics: []
)");
  EXPECT_THAT(messages(checkAnalysisTemplate(bad).errors),
              ElementsAreArray({"spec.prometheus.address: Required value",
                                "spec.prometheus.timeout: Invalid value: \"0s\": must be greater "
                                "than 0",
                                "spec.metrics: Required value"}));
}

TEST(NameRules, MatchApimachinery) {
  EXPECT_TRUE(isDns1123Label("podinfo-1").empty());
  EXPECT_FALSE(isDns1123Label("-podinfo").empty());
  EXPECT_FALSE(isDns1123Label(std::string(64, 'a')).empty());
  EXPECT_TRUE(isDns1123Subdomain("a.b-c.d").empty());
  EXPECT_FALSE(isDns1123Subdomain("a..b").empty());
  EXPECT_TRUE(isDns1035Label("podinfo").empty());
  EXPECT_FALSE(isDns1035Label("1podinfo").empty());
  EXPECT_TRUE(isQualifiedName("app.kubernetes.io/name").empty());
  EXPECT_TRUE(isQualifiedName("My_Key.1").empty());
  EXPECT_FALSE(isQualifiedName("/name").empty());
  EXPECT_FALSE(isQualifiedName("a/b/c").empty());
  EXPECT_TRUE(isValidLabelValue("").empty());
  EXPECT_FALSE(isValidLabelValue("-x").empty());
}

}  // namespace
}  // namespace canaryd::api
