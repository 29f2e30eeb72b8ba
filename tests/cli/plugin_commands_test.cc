// cli::Plugin's decisions over a recording fake kube::Client: which patch each control
// sends (controller/reconciler.h), the resourceVersion precondition and its retry on 409,
// kubectl-worded errors (NotFound, a missing CRD) and exit codes.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "api/json.h"
#include "cli/plugin.h"
#include "kube/watch.h"

namespace canaryd::cli {
namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

kube::ApiError statusError(int code, kube::StatusReason reason, std::string message) {
  kube::ApiError e;
  e.code = code;
  e.reason = reason;
  e.reasonText = std::string(kube::reasonName(reason));
  e.message = std::move(message);
  return e;
}

struct Patch {
  std::string name;
  std::string subresource;
  std::string body;
};

// Serves Rollouts from memory (none at all when crdInstalled is false) and records
// patches. `conflicts` status patches fail with 409 before one succeeds.
class FakeClient final : public kube::Client {
 public:
  std::map<std::string, rapidjson::Document> rollouts;  // by name, namespace "shop"
  bool crdInstalled = true;
  int conflicts = 0;
  int gets = 0;
  std::vector<Patch> patches;

  kube::Result<kube::Object> get(const kube::GroupVersionResource& gvr, std::string_view ns,
                                 std::string_view name, const kube::GetOptions&) override {
    ++gets;
    if (gvr == kube::resources::kRollouts && crdInstalled && ns == "shop") {
      auto it = rollouts.find(std::string(name));
      if (it != rollouts.end())
        return std::make_shared<rapidjson::Document>(api::cloneDocument(it->second));
    }
    if (gvr == kube::resources::kRollouts && !crdInstalled)
      return statusError(404, kube::StatusReason::kNotFound,
                         "the server could not find the requested resource");
    return statusError(404, kube::StatusReason::kNotFound,
                       gvr.groupResource() + " \"" + std::string(name) + "\" not found");
  }
  kube::Result<kube::ListPage> list(const kube::GroupVersionResource&, std::string_view ns,
                                    const kube::ListOptions&) override {
    if (!crdInstalled)
      return statusError(404, kube::StatusReason::kNotFound,
                         "the server could not find the requested resource");
    kube::ListPage page;
    page.list = std::make_shared<rapidjson::Document>(rapidjson::kObjectType);
    auto& a = page.list->GetAllocator();
    rapidjson::Value items(rapidjson::kArrayType);
    for (const auto& [name, doc] : rollouts)
      if (ns.empty() || ns == "shop") items.PushBack(rapidjson::Value(doc, a), a);
    page.list->AddMember("items", items, a);
    return page;
  }
  kube::Result<kube::Object> create(const kube::GroupVersionResource&, std::string_view,
                                    const rapidjson::Value&, const kube::WriteOptions&) override {
    ADD_FAILURE() << "create";
    return statusError(405, kube::StatusReason::kMethodNotAllowed, "create");
  }
  kube::Result<kube::Object> update(const kube::GroupVersionResource&, std::string_view,
                                    const rapidjson::Value&, const kube::WriteOptions&) override {
    ADD_FAILURE() << "update";
    return statusError(405, kube::StatusReason::kMethodNotAllowed, "update");
  }
  kube::Result<kube::Object> patch(const kube::GroupVersionResource& gvr, std::string_view ns,
                                   std::string_view name, kube::PatchType type,
                                   std::string_view body,
                                   const kube::WriteOptions& options) override {
    EXPECT_EQ(gvr, kube::resources::kRollouts);
    EXPECT_EQ(ns, "shop");
    EXPECT_EQ(type, kube::PatchType::kMerge);
    EXPECT_EQ(options.fieldManager, "kubectl-canary");
    if (options.subresource == "status" && conflicts > 0) {
      --conflicts;
      // The controller wrote meanwhile: a newer resourceVersion.
      auto& meta = rollouts.at(std::string(name))["metadata"];
      meta["resourceVersion"].SetString("813");
      return statusError(409, kube::StatusReason::kConflict, "the object has been modified");
    }
    patches.push_back({std::string(name), options.subresource, std::string(body)});
    return std::make_shared<rapidjson::Document>(
        api::cloneDocument(rollouts.at(std::string(name))));
  }
  kube::Result<void> remove(const kube::GroupVersionResource&, std::string_view, std::string_view,
                            const kube::DeleteOptions&) override {
    ADD_FAILURE() << "remove";
    return statusError(405, kube::StatusReason::kMethodNotAllowed, "delete");
  }
  kube::Result<std::unique_ptr<kube::Watch>> watch(const kube::GroupVersionResource&,
                                                   std::string_view,
                                                   const kube::ListOptions&) override {
    ADD_FAILURE() << "watch";
    return statusError(405, kube::StatusReason::kMethodNotAllowed, "watch");
  }
};

class PluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto docs = api::parseYamlDocuments(
        readFile(std::string(CANARYD_SOURCE_DIR) + "/tests/cli/testdata/paused-analysis.yaml"));
    ASSERT_TRUE(docs);
    client_.rollouts.emplace("podinfo", std::move((*docs)[0]));
  }
  rapidjson::Value& status() { return client_.rollouts.at("podinfo")["status"]; }
  void setAbort(bool abort) {
    auto& doc = client_.rollouts.at("podinfo");
    status().RemoveMember("abort");
    status().AddMember("abort", abort, doc.GetAllocator());
  }
  Plugin plugin() { return Plugin(client_, {"shop", false, &out_, &err_}); }

  FakeClient client_;
  std::ostringstream out_, err_;
};

TEST_F(PluginTest, PromoteEndsThePauseWithAPrecondition) {
  EXPECT_EQ(plugin().promote("podinfo", false), kExitOk);
  ASSERT_EQ(client_.patches.size(), 1u);
  EXPECT_EQ(client_.patches[0].subresource, "status");
  EXPECT_EQ(client_.patches[0].body,
            R"({"metadata":{"resourceVersion":"812"},"status":{"pauseConditions":null}})");
  EXPECT_EQ(out_.str(), "rollout.canaryd.io/podinfo promoted (pause at step 4 ended)\n");
}

TEST_F(PluginTest, PromoteReadsAgainAfterAConflict) {
  client_.conflicts = 2;
  EXPECT_EQ(plugin().promote("podinfo", false), kExitOk);
  ASSERT_EQ(client_.patches.size(), 1u);
  EXPECT_EQ(client_.patches[0].body,
            R"({"metadata":{"resourceVersion":"813"},"status":{"pauseConditions":null}})");
  EXPECT_EQ(client_.gets, 3);
}

TEST_F(PluginTest, PromoteGivesUpWhenTheRolloutKeepsChanging) {
  client_.conflicts = 100;
  EXPECT_EQ(plugin().promote("podinfo", false), kExitFailure);
  EXPECT_TRUE(client_.patches.empty());
  EXPECT_EQ(err_.str(), "error: rollout \"podinfo\" kept changing while promoting it; try again\n");
}

TEST_F(PluginTest, PromoteSkipsAStepThatIsNotAPause) {
  status().RemoveMember("pauseConditions");
  status()["currentStepIndex"].SetInt(2);
  EXPECT_EQ(plugin().promote("podinfo", false), kExitOk);
  ASSERT_EQ(client_.patches.size(), 1u);
  EXPECT_EQ(client_.patches[0].body,
            R"({"metadata":{"resourceVersion":"812"},"status":{"currentStepIndex":3}})");
  EXPECT_EQ(out_.str(), "rollout.canaryd.io/podinfo promoted (step 2 skipped)\n");
}

TEST_F(PluginTest, PromoteFullSetsPromoteFull) {
  EXPECT_EQ(plugin().promote("podinfo", true), kExitOk);
  ASSERT_EQ(client_.patches.size(), 1u);
  EXPECT_EQ(client_.patches[0].body, R"({"metadata":{"resourceVersion":"812"},)"
                                     R"("status":{"promoteFull":true,"pauseConditions":null}})");
}

TEST_F(PluginTest, PromoteOfAManuallyPausedRolloutResumesItAfterTheStatusWrite) {
  auto& doc = client_.rollouts.at("podinfo");
  doc["spec"].AddMember("paused", true, doc.GetAllocator());
  EXPECT_EQ(plugin().promote("podinfo", false), kExitOk);
  ASSERT_EQ(client_.patches.size(), 2u);
  EXPECT_EQ(client_.patches[0].subresource, "status");
  EXPECT_EQ(client_.patches[1].subresource, "");
  EXPECT_EQ(client_.patches[1].body, R"({"spec":{"paused":false}})");
}

TEST_F(PluginTest, PromoteRefusesWithoutACanaryOrWhenAborted) {
  setAbort(true);
  EXPECT_EQ(plugin().promote("podinfo", false), kExitFailure);
  EXPECT_EQ(err_.str(),
            "error: rollout \"podinfo\" is aborted: `kubectl canary retry podinfo` starts the "
            "canary over\n");
  setAbort(false);
  status()["currentPodHash"].SetString("5d8b7f9c4");  // the stable one: nothing in flight
  err_.str("");
  EXPECT_EQ(plugin().promote("podinfo", false), kExitFailure);
  EXPECT_EQ(err_.str(),
            "error: rollout \"podinfo\" has no canary in progress: nothing to promote\n");
  EXPECT_TRUE(client_.patches.empty());
}

TEST_F(PluginTest, AbortRetryPauseResumePatches) {
  EXPECT_EQ(plugin().abort("podinfo"), kExitOk);
  EXPECT_EQ(plugin().retry("podinfo"), kExitFailure);  // not aborted
  setAbort(true);
  EXPECT_EQ(plugin().retry("podinfo"), kExitOk);
  EXPECT_EQ(plugin().pause("podinfo"), kExitOk);
  EXPECT_EQ(plugin().resume("podinfo"), kExitOk);
  ASSERT_EQ(client_.patches.size(), 4u);
  EXPECT_EQ(client_.patches[0].subresource, "status");
  EXPECT_EQ(client_.patches[0].body, R"({"status":{"abort":true}})");
  EXPECT_EQ(client_.patches[1].subresource, "status");
  EXPECT_EQ(client_.patches[1].body, R"({"status":{"abort":false}})");
  EXPECT_EQ(client_.patches[2].subresource, "");
  EXPECT_EQ(client_.patches[2].body, R"({"spec":{"paused":true}})");
  EXPECT_EQ(client_.patches[3].body, R"({"spec":{"paused":false}})");
  EXPECT_EQ(out_.str(),
            "rollout.canaryd.io/podinfo aborted\n"
            "rollout.canaryd.io/podinfo retried\n"
            "rollout.canaryd.io/podinfo paused\n"
            "rollout.canaryd.io/podinfo resumed\n");
  EXPECT_EQ(err_.str(), "error: rollout \"podinfo\" is not aborted: nothing to retry\n");
}

TEST_F(PluginTest, MissingRolloutIsWordedAsKubectl) {
  EXPECT_EQ(plugin().get("nope", OutputFormat::kNone), kExitFailure);
  EXPECT_EQ(err_.str(), "Error from server (NotFound): rollouts.canaryd.io \"nope\" not found\n");
  EXPECT_EQ(out_.str(), "");
  err_.str("");
  EXPECT_EQ(plugin().status("nope", false, {}), kExitFailure);
  EXPECT_EQ(err_.str(), "Error from server (NotFound): rollouts.canaryd.io \"nope\" not found\n");
}

TEST_F(PluginTest, MissingCrdSaysToInstallIt) {
  client_.crdInstalled = false;
  const std::string want =
      "error: the server doesn't have a resource type \"rollouts\" in canaryd.io/v1alpha1: "
      "install canaryd's CRDs first (kubectl apply -f crds/ from the canaryd release, or helm "
      "install canaryd charts/canaryd), then retry\n";
  EXPECT_EQ(plugin().get("podinfo", OutputFormat::kNone), kExitFailure);
  EXPECT_EQ(err_.str(), want);
  err_.str("");
  EXPECT_EQ(plugin().list(false, OutputFormat::kNone), kExitFailure);
  EXPECT_EQ(err_.str(), want);
  err_.str("");
  EXPECT_EQ(plugin().abort("podinfo"), kExitFailure);
  EXPECT_EQ(err_.str(), want);
}

TEST_F(PluginTest, StatusExitCodesWithoutWatch) {
  EXPECT_EQ(plugin().status("podinfo", false, {}), kExitPending);  // Paused
  status()["phase"].SetString("Degraded");
  EXPECT_EQ(plugin().status("podinfo", false, {}), kExitFailure);
  status()["phase"].SetString("Healthy");
  EXPECT_EQ(plugin().status("podinfo", false, {}), kExitOk);
  // Healthy, but for a generation canaryd has not observed yet.
  client_.rollouts.at("podinfo")["metadata"]["generation"].SetInt(4);
  EXPECT_EQ(plugin().status("podinfo", false, {}), kExitPending);
  EXPECT_EQ(out_.str(),
            "Paused - Paused at step 4 (pause)\n"
            "Degraded - Paused at step 4 (pause)\n"
            "Healthy - Paused at step 4 (pause)\n"
            "Progressing - waiting for canaryd to observe generation 4 (observed 3)\n");
}

TEST_F(PluginTest, ListEmptyNamespace) {
  client_.rollouts.clear();
  EXPECT_EQ(plugin().list(false, OutputFormat::kNone), kExitOk);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), "No resources found in shop namespace.\n");
}

TEST_F(PluginTest, HistoryAsJson) {
  EXPECT_EQ(plugin().history("podinfo", OutputFormat::kJson), kExitOk);
  auto doc = api::parseJson(out_.str());
  ASSERT_TRUE(doc) << out_.str();
  ASSERT_TRUE(doc->IsArray());
  ASSERT_EQ(doc->Size(), 2u);
  EXPECT_STREQ((*doc)[1]["outcome"].GetString(), "Aborted");
}

}  // namespace
}  // namespace canaryd::cli
