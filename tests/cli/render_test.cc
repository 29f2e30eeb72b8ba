// The plugin's views of fixed Rollouts (tests/cli/testdata/*.yaml) against golden text
// (tests/cli/testdata/*.txt). CANARYD_UPDATE_GOLDEN=1 rewrites the golden files from the
// actual output; review the diff before keeping it.
#include "cli/render.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "api/decode.h"
#include "api/json.h"

namespace canaryd::cli {
namespace {

std::string testdata(const std::string& file) {
  return std::string(CANARYD_SOURCE_DIR) + "/tests/cli/testdata/" + file;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

api::Rollout load(const std::string& file) {
  auto docs = api::parseYamlDocuments(readFile(testdata(file)));
  EXPECT_TRUE(docs) << file;
  if (!docs || docs->empty()) return {};
  auto decoded = api::decodeRollout((*docs)[0]);
  EXPECT_TRUE(decoded.errors.empty())
      << file << ": " << decoded.errors.size() << " errors, first "
      << (decoded.errors.empty() ? "" : decoded.errors[0].toString());
  return decoded.object;
}

void expectGolden(const std::string& actual, const std::string& file) {
  const char* update = std::getenv("CANARYD_UPDATE_GOLDEN");
  if (update && std::string(update) == "1") {
    std::ofstream out(testdata(file));
    out << actual;
  }
  EXPECT_EQ(actual, readFile(testdata(file))) << "output differs from tests/cli/testdata/" << file;
}

// Every age in the goldens is measured from here.
const api::Time kNow = *api::parseTime("2026-03-02T12:00:00Z");

controller::ReplicaSetView replicaSet(const std::string& name, int32_t spec, int32_t ready) {
  controller::ReplicaSetView rs;
  rs.metadata.name = name;
  rs.specReplicas = spec;
  rs.replicas = spec;
  rs.readyReplicas = ready;
  rs.availableReplicas = ready;
  return rs;
}

TEST(HumanDuration, MatchesKubectlAges) {
  using std::chrono::seconds;
  EXPECT_EQ(humanDuration(seconds(-5)), "<invalid>");
  EXPECT_EQ(humanDuration(seconds(-1)), "0s");
  EXPECT_EQ(humanDuration(seconds(0)), "0s");
  EXPECT_EQ(humanDuration(seconds(119)), "119s");
  EXPECT_EQ(humanDuration(seconds(120)), "2m");
  EXPECT_EQ(humanDuration(seconds(330)), "5m30s");
  EXPECT_EQ(humanDuration(seconds(42 * 60 + 10)), "42m");
  EXPECT_EQ(humanDuration(seconds(5 * 3600 + 10 * 60)), "5h10m");
  EXPECT_EQ(humanDuration(seconds(5 * 3600)), "5h");
  EXPECT_EQ(humanDuration(seconds(30 * 3600)), "30h");
  EXPECT_EQ(humanDuration(seconds(51 * 3600)), "2d3h");
  EXPECT_EQ(humanDuration(seconds(400 * 86400)), "400d");
  EXPECT_EQ(humanDuration(seconds((365 * 2 + 5) * 86400)), "2y5d");
  EXPECT_EQ(humanDuration(seconds(3650 * 86400)), "10y");
  EXPECT_EQ(age(std::nullopt, kNow), "<unknown>");
}

TEST(FormatTable, PadsColumnsLikeKubectl) {
  std::vector<Row> rows{{"NAME", "PHASE", "AGE"}, {"a", "Healthy", "5s"}, {"longer-name", "", ""}};
  EXPECT_EQ(formatTable(rows, false),
            "NAME          PHASE     AGE\n"
            "a             Healthy   5s\n"
            "longer-name\n");
  // Columns narrower than three characters still take six.
  EXPECT_EQ(formatTable({{"A", "B"}, {"x", "y"}}, false), "A     B\nx     y\n");
}

TEST(FormatTable, ColourDoesNotShiftColumns) {
  std::vector<Row> rows{{"PHASE", "AGE"}, {Cell("Healthy", kGreen), "5s"}};
  EXPECT_EQ(formatTable(rows, true), "PHASE     AGE\n\x1b[32mHealthy\x1b[0m   5s\n");
  EXPECT_EQ(formatTable(rows, false), "PHASE     AGE\nHealthy   5s\n");
}

TEST(FormatValue, FourSignificantDigits) {
  EXPECT_EQ(formatValue(0.00213), "0.00213");
  EXPECT_EQ(formatValue(0.123456), "0.1235");
  EXPECT_EQ(formatValue(250), "250");
  EXPECT_EQ(formatValue(std::nan("")), "NaN");
  EXPECT_EQ(formatValue(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(DescribeStep, EveryKind) {
  api::Rollout r = load("paused-analysis.yaml");
  const auto& steps = r.spec.strategy.canary->steps;
  ASSERT_EQ(steps.size(), 6u);
  EXPECT_EQ(describeStep(steps[0]), "setWeight: 5");
  EXPECT_EQ(describeStep(steps[1]), "pause: 2m0s");
  EXPECT_EQ(describeStep(steps[2]), "analysis: 3 x 20s (errors)");
  EXPECT_EQ(describeStep(steps[3]), "setHeaderRoute: beta X-Canary=always");
  EXPECT_EQ(describeStep(steps[4]), "pause: until promoted");
  EXPECT_EQ(describeStep(api::SetCanaryScaleStep{.replicas = 2}), "setCanaryScale: 2 replicas");
  EXPECT_EQ(describeStep(api::SetCanaryScaleStep{.weight = 20}), "setCanaryScale: 20% of replicas");
}

TEST(EffectivePhase, StaleObservedGenerationIsProgressing) {
  api::Rollout r = load("aborted.yaml");
  EXPECT_EQ(effectivePhase(r), "Degraded");
  r.metadata.generation = 3;
  EXPECT_EQ(effectivePhase(r), "Progressing");
  EXPECT_EQ(renderStatusLine(r, {false, kNow}),
            "Progressing - waiting for canaryd to observe generation 3 (observed 2)\n");
  r.status = {};
  EXPECT_EQ(effectivePhase(r), "Unknown");
  EXPECT_EQ(renderStatusLine(r, {false, kNow}),
            "Unknown - canaryd has not reported a status yet\n");
}

TEST(RenderStatusLine, PhaseAndMessage) {
  EXPECT_EQ(renderStatusLine(load("paused-analysis.yaml"), {false, kNow}),
            "Paused - Paused at step 4 (pause)\n");
  EXPECT_EQ(renderStatusLine(load("aborted.yaml"), {false, kNow}),
            "Degraded - Aborted: status.abort was set\n");
  EXPECT_EQ(renderStatusLine(load("aborted.yaml"), {true, kNow}),
            "\x1b[31mDegraded\x1b[0m - Aborted: status.abort was set\n");
}

TEST(RenderList, OneNamespace) {
  std::vector<api::Rollout> rollouts{load("paused-analysis.yaml"), load("aborted.yaml")};
  expectGolden(renderList(rollouts, false, {false, kNow}), "list.txt");
}

TEST(RenderList, AllNamespaces) {
  std::vector<api::Rollout> rollouts{load("aborted.yaml"), load("paused-analysis.yaml")};
  expectGolden(renderList(rollouts, true, {false, kNow}), "list-all-namespaces.txt");
}

TEST(RenderGet, PausedWithAnalysisAndHistory) {
  RolloutDetails d;
  d.rollout = load("paused-analysis.yaml");
  d.stable = replicaSet("podinfo-5d8b7f9c4", 4, 4);
  d.canary = replicaSet("podinfo-7c9f4d6b8", 1, 1);
  expectGolden(renderGet(d, {false, kNow}), "get-paused-analysis.txt");
}

TEST(RenderGet, AbortedWithMissingCanaryReplicaSet) {
  RolloutDetails d;
  d.rollout = load("aborted.yaml");
  d.stable = replicaSet("web-54d9f6c8b", 4, 4);
  expectGolden(renderGet(d, {false, kNow}), "get-aborted.txt");
}

TEST(RenderGet, ColourOnlyWhenAsked) {
  RolloutDetails d;
  d.rollout = load("aborted.yaml");
  EXPECT_EQ(renderGet(d, {false, kNow}).find('\x1b'), std::string::npos);
  std::string colored = renderGet(d, {true, kNow});
  EXPECT_NE(colored.find("\x1b[31mDegraded\x1b[0m"), std::string::npos);
  // The current step of an aborted canary is red.
  EXPECT_NE(colored.find("\x1b[31m[>] 1  pause: 2s\x1b[0m"), std::string::npos);
}

TEST(RenderHistory, OldestFirstAndLimit) {
  api::Rollout r = load("paused-analysis.yaml");
  expectGolden(renderHistory(r, {false, kNow}), "history.txt");
  std::string last = renderHistory(r, {false, kNow}, 1);
  EXPECT_EQ(last.find("StepsCompleted"), std::string::npos);
  EXPECT_NE(last.find("AnalysisFailed"), std::string::npos);
  EXPECT_EQ(renderHistory(load("aborted.yaml"), {false, kNow}), "");
}

}  // namespace
}  // namespace canaryd::cli
