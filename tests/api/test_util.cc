#include "test_util.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "api/json.h"

namespace canaryd::api::testing {

const char* const kBaseRolloutYaml = R"(
apiVersion: canaryd.io/v1alpha1
kind: Rollout
metadata:
  name: podinfo
  namespace: shop
spec:
  replicas: 4
  selector:
    matchLabels: {app: podinfo}
  template:
    metadata:
      labels: {app: podinfo}
    spec:
      containers:
      - name: podinfo
        image: ghcr.io/stefanprodan/podinfo:6.5.0
        ports: [{containerPort: 9898}]
  strategy:
    canary:
      stableService: podinfo-stable
      canaryService: podinfo-canary
      trafficRouting:
        nginx: {stableIngress: podinfo}
      analysis:
        interval: 30s
        prometheus: {address: "http://prometheus.monitoring:9090"}
        metrics:
        - {name: error-rate, template: error-rate, max: 0.01}
        - {name: latency-p95, template: latency-p95, max: 0.3}
      steps:
      - setWeight: 5
      - pause: {duration: 2m}
      - analysis:
          count: 3
          interval: 20s
          metrics:
          - name: saturation
            query: 'max(rate(cpu{service="{{canaryService}}"}[{{interval}}]))'
            max: 0.8
      - setHeaderRoute:
          match: [{headerName: X-Canary, headerValue: {exact: always}}]
      - setCanaryScale: {replicas: 2}
      - setWeight: 50
      - pause: {}
)";

rapidjson::Document yaml(std::string_view text) {
  auto docs = parseYamlDocuments(text);
  if (!docs) {
    ADD_FAILURE() << "YAML: " << docs.error().toString();
    return rapidjson::Document();
  }
  if (docs->size() != 1) {
    ADD_FAILURE() << "expected one YAML document, got " << docs->size();
    return rapidjson::Document();
  }
  return std::move(docs->front());
}

rapidjson::Document mergePatched(std::string_view baseYaml, std::string_view patchYaml) {
  rapidjson::Document base = yaml(baseYaml);
  rapidjson::Document patch = yaml(patchYaml);
  applyMergePatch(base, patch, base.GetAllocator());
  return base;
}

std::string readSourceFile(const std::string& relativePath) {
  std::ifstream in(std::string(CANARYD_SOURCE_DIR) + "/" + relativePath, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read " << relativePath;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace canaryd::api::testing
