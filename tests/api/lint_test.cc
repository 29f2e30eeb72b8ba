#include "api/lint.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace canaryd::api {
namespace {

std::string testdata(const char* name) {
  return std::string(CANARYD_SOURCE_DIR) + "/tests/api/testdata/" + name;
}

TEST(Lint, PrintsEveryErrorWithFileDocumentAndObject) {
  std::ostringstream out;
  LintSummary summary;
  std::string file = testdata("broken-rollouts.yaml");
  EXPECT_EQ(runLint({file}, out, &summary), 1);
  std::string expected =
      file +
      ": document 1 (Rollout shop/checkout): spec.strategy.canary.steps[1].pause.duration: "
      "Invalid value: \"5 minutes\": must be a duration such as \"30s\", \"1m30s\" or "
      "\"2h\"\n" +
      file +
      ": document 1 (Rollout shop/checkout): spec.strategy.canary.steps[2]: Forbidden: "
      "may not set more than one step kind: found setWeight, pause\n" +
      file +
      ": document 1 (Rollout shop/checkout): spec.strategy.canary.steps[0].setWeight: "
      "Invalid value: 140: must be between 0 and 100\n" +
      file +
      ": document 3 (Rollout shop/cart): spec.strategy.canary.analysis.metrics[1].query: "
      "Invalid value: \"{{service}}\": unknown variable; supported: namespace, rollout, "
      "canaryService, stableService, canaryIngress, canaryHash, stableHash, interval\n" +
      file +
      ": document 3 (Rollout shop/cart): spec.strategy.canary.analysis.metrics[1].name: "
      "Duplicate value: \"errors\"\n" +
      file +
      ": document 3 (Rollout shop/cart): spec.strategy.canary.steps[0].setHeaderRoute: "
      "Forbidden: requires spec.strategy.canary.trafficRouting\n" +
      file +
      ": document 4 (AnalysisTemplate shop/slo): spec.metrics[0]: Required value: must "
      "set min or max (or both)\n"
      "lint: 2 Rollout(s), 1 AnalysisTemplate(s) checked; 3 invalid with 7 error(s); "
      "skipped 1 other object(s): Service 1\n";
  EXPECT_EQ(out.str(), expected);
  EXPECT_EQ(summary.rollouts, 2);
  EXPECT_EQ(summary.analysisTemplates, 1);
  EXPECT_EQ(summary.invalidObjects, 3);
  EXPECT_EQ(summary.errors, 7);
  EXPECT_EQ(summary.skipped, 1);
}

TEST(Lint, UnreadableInputExits2) {
  std::ostringstream out;
  std::string file = testdata("not-yaml.yaml");
  EXPECT_EQ(runLint({file, testdata("no-such-file.yaml")}, out), 2);
  EXPECT_NE(out.str().find(file + ": line 4, column 1: "), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("no-such-file.yaml: cannot read file"), std::string::npos);
}

TEST(Lint, UnknownCanarydKindIsAnError) {
  std::string file = ::testing::TempDir() + "/kinds.yaml";
  {
    std::ofstream f(file);
    f << "apiVersion: canaryd.io/v1alpha1\nkind: Rolout\nmetadata: {name: x}\n---\n"
         "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\n---\n"
         "metadata: {name: z}\n";
  }
  std::ostringstream out;
  EXPECT_EQ(runLint({file}, out), 1);
  EXPECT_NE(out.str().find("document 1 (Rolout x): kind: Unsupported value: \"Rolout\": "
                           "supported values: \"AnalysisTemplate\", \"Rollout\""),
            std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find("document 3 (object z): apiVersion: Required value: every document "
                           "must be a Kubernetes object"),
            std::string::npos)
      << out.str();
}

}  // namespace
}  // namespace canaryd::api
