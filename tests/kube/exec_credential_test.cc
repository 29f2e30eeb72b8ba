#include "kube/exec_credential.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "api/json.h"
#include "kube/base64.h"
#include "temp_dir.h"

namespace canaryd::kube {
namespace {

using namespace std::chrono_literals;
using testing::replaceAll;
using testing::TempDir;
using workqueue::FakeClock;

// A credential plugin as a shell script: records what it was given in $OUT and prints
// an ExecCredential whose token counts the runs. The FakeClock's wall time starts at
// 2024-01-01T00:00:00Z.
const char kPlugin[] = R"(#!/bin/sh
printf '%s' "$KUBERNETES_EXEC_INFO" > "$OUT/info.json"
printf '%s\n' "$@" > "$OUT/args"
printf '%s' "$PLUGIN_REGION" > "$OUT/region"
n=$(cat "$OUT/count" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$OUT/count"
cat <<JSON
{"apiVersion": "$API_VERSION", "kind": "ExecCredential",
 "status": {"token": "token-$n", "expirationTimestamp": "2024-01-01T01:00:00Z"}}
JSON
)";

class ExecCredentialTest : public ::testing::Test {
 protected:
  ExecConfig config(std::string apiVersion = std::string(kExecApiVersionV1)) {
    ExecConfig c;
    c.command = dir.write("bin/plugin", kPlugin, true);
    c.args = {"--region", "eu west"};
    c.env = {{"OUT", dir.path()}, {"PLUGIN_REGION", "eu-west-1"}, {"API_VERSION", apiVersion}};
    c.apiVersion = std::move(apiVersion);
    c.interactiveMode = "Never";
    return c;
  }
  // A plugin running `script`.
  ExecConfig scripted(const std::string& script) {
    ExecConfig c;
    c.command = dir.write("bin/scripted", "#!/bin/sh\n" + script, true);
    c.apiVersion = std::string(kExecApiVersionV1);
    c.interactiveMode = "IfAvailable";
    return c;
  }

  TempDir dir;
  FakeClock clock;
};

TEST_F(ExecCredentialTest, RunsThePluginAndCachesUntilExpiry) {
  ExecCredentialProvider provider(config(), "deployer", std::nullopt, clock);
  auto first = provider.credential();
  ASSERT_TRUE(first.has_value()) << first.error().toString();
  EXPECT_EQ(first->token, "token-1");
  ASSERT_TRUE(first->expirationTimestamp.has_value());
  EXPECT_EQ(*first->expirationTimestamp, clock.wallNow() + 1h);
  EXPECT_EQ(provider.credential()->token, "token-1");
  EXPECT_EQ(provider.runs(), 1);

  clock.step(1h);  // at the expiry instant the credential is still good
  EXPECT_EQ(provider.credential()->token, "token-1");
  clock.step(1s);
  EXPECT_EQ(provider.credential()->token, "token-2");
  EXPECT_EQ(provider.runs(), 2);
}

TEST_F(ExecCredentialTest, InvalidateRunsThePluginAgain) {
  ExecCredentialProvider provider(config(), "deployer", std::nullopt, clock);
  EXPECT_EQ(provider.credential()->token, "token-1");
  provider.invalidate();
  EXPECT_EQ(provider.credential()->token, "token-2");
}

TEST_F(ExecCredentialTest, PassesArgsEnvAndExecInfo) {
  ExecClusterInfo cluster;
  cluster.server = "https://10.0.0.1:6443";
  cluster.tlsServerName = "kubernetes";
  cluster.certificateAuthorityData = "CA-PEM";
  cluster.config = R"({"audience":"canaryd"})";
  auto c = config();
  c.provideClusterInfo = true;
  ExecCredentialProvider provider(c, "deployer", cluster, clock);
  ASSERT_TRUE(provider.credential().has_value());
  EXPECT_EQ(dir.read("args"), "--region\neu west\n");
  EXPECT_EQ(dir.read("region"), "eu-west-1");

  auto info = api::parseJson(dir.read("info.json"));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(api::toJson(*info),
            R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{)"
            R"("cluster":{"server":"https://10.0.0.1:6443","tls-server-name":"kubernetes",)"
            R"("certificate-authority-data":")" +
                base64Encode("CA-PEM") +
                R"(","config":{"audience":"canaryd"}},"interactive":false}})");
}

TEST_F(ExecCredentialTest, ClusterInfoOnlyWhenAskedFor) {
  ExecClusterInfo cluster;
  cluster.server = "https://k";
  ExecCredentialProvider provider(config(), "deployer", cluster, clock);
  EXPECT_EQ(provider.execInfo(),
            R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1",)"
            R"("spec":{"interactive":false}})");
}

TEST_F(ExecCredentialTest, V1beta1) {
  ExecCredentialProvider provider(config(std::string(kExecApiVersionV1beta1)), "u", std::nullopt,
                                  clock);
  auto cred = provider.credential();
  ASSERT_TRUE(cred.has_value()) << cred.error().toString();
  EXPECT_EQ(cred->token, "token-1");
  EXPECT_NE(dir.read("info.json").find("client.authentication.k8s.io/v1beta1"), std::string::npos);
}

TEST_F(ExecCredentialTest, ClientCertificateWithoutExpiryIsCachedForever) {
  ExecCredentialProvider provider(
      scripted(R"(echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",)"
               R"("status":{"clientCertificateData":"CERT","clientKeyData":"KEY"}}')"),
      "u", std::nullopt, clock);
  auto cred = provider.credential();
  ASSERT_TRUE(cred.has_value()) << cred.error().toString();
  EXPECT_EQ(cred->clientCertificateData, "CERT");
  EXPECT_EQ(cred->clientKeyData, "KEY");
  EXPECT_TRUE(cred->token.empty());
  EXPECT_FALSE(cred->expirationTimestamp.has_value());
  clock.step(24h * 365);
  ASSERT_TRUE(provider.credential().has_value());
  EXPECT_EQ(provider.runs(), 1);
}

TEST_F(ExecCredentialTest, ConcurrentCallersShareOneRun) {
  ExecCredentialProvider provider(config(), "u", std::nullopt, clock);
  std::vector<std::future<std::string>> callers;
  for (int i = 0; i < 4; ++i) {
    callers.push_back(std::async(std::launch::async, [&] { return provider.credential()->token; }));
  }
  for (auto& c : callers) EXPECT_EQ(c.get(), "token-1");
  EXPECT_EQ(provider.runs(), 1);
}

TEST_F(ExecCredentialTest, ThroughKubeconfigAndRestConfig) {
  dir.write("bin/plugin", kPlugin, true);
  auto path = dir.write("config", replaceAll(R"(
current-context: c
clusters:
- name: c
  cluster:
    server: https://10.0.0.1:6443
    insecure-skip-tls-verify: true
    extensions:
    - name: client.authentication.k8s.io/exec
      extension: {audience: canaryd}
contexts: [{name: c, context: {cluster: c, user: u}}]
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/plugin
      interactiveMode: IfAvailable
      provideClusterInfo: true
      env:
      - {name: OUT, value: "$D"}
      - {name: API_VERSION, value: client.authentication.k8s.io/v1}
)",
                                             "$D", dir.path()));
  auto config = loadKubeconfigFile(path);
  ASSERT_TRUE(config.has_value()) << config.error().toString();
  auto rest = buildRestConfig(*config, {}, clock);
  ASSERT_TRUE(rest.has_value()) << rest.error().toString();
  auto creds = rest->credentials();
  ASSERT_TRUE(creds.has_value()) << creds.error().toString();
  EXPECT_EQ(creds->bearerToken, "token-1");
  EXPECT_EQ(rest->credentials()->bearerToken, "token-1");
  EXPECT_EQ(rest->execProvider->runs(), 1);
  EXPECT_EQ(dir.read("info.json"),
            R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{)"
            R"("cluster":{"server":"https://10.0.0.1:6443","insecure-skip-tls-verify":true,)"
            R"("config":{"audience":"canaryd"}},"interactive":false}})");
}

struct FailureCase {
  std::string name;
  std::string script;    // body of the plugin script
  std::string expected;  // $CMD is the plugin's path
};

class ExecFailureTest : public ExecCredentialTest,
                        public ::testing::WithParamInterface<FailureCase> {};

TEST_P(ExecFailureTest, Message) {
  auto c = scripted(GetParam().script);
  ExecCredentialProvider provider(c, "deployer", std::nullopt, clock);
  auto cred = provider.credential();
  ASSERT_FALSE(cred.has_value());
  EXPECT_EQ(cred.error().toString(), replaceAll(GetParam().expected, "$CMD", c.command));
  // Failures are not cached: the next call runs the plugin again.
  EXPECT_FALSE(provider.credential().has_value());
  EXPECT_EQ(provider.runs(), 2);
}

INSTANTIATE_TEST_SUITE_P(
    Exec, ExecFailureTest,
    ::testing::Values(
        FailureCase{"exit_code", "echo 'token expired, run login' >&2\nexit 3\n",
                    "exec plugin $CMD: user \"deployer\": exec: executable $CMD failed with exit "
                    "code 3: token expired, run login"},
        FailureCase{"killed", "kill -9 $$\n",
                    "exec plugin $CMD: user \"deployer\": exec: executable $CMD was killed by "
                    "signal 9"},
        FailureCase{"not_json", "echo hello\n",
                    "exec plugin $CMD: user \"deployer\": decoding stdout: line 1, column 1: "
                    "Invalid value."},
        FailureCase{
            "wrong_api_version",
            R"(echo '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"t"}}')",
            "exec plugin $CMD: user \"deployer\": exec plugin is configured to use API "
            "version client.authentication.k8s.io/v1, plugin returned version "
            "client.authentication.k8s.io/v1beta1"},
        FailureCase{
            "wrong_kind",
            R"(echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"Secret","status":{"token":"t"}}')",
            "exec plugin $CMD: user \"deployer\": decoding stdout: kind is \"Secret\", "
            "want ExecCredential"},
        FailureCase{
            "no_status",
            R"(echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential"}')",
            "exec plugin $CMD: user \"deployer\": exec plugin didn't return a status "
            "field"},
        FailureCase{
            "no_token",
            R"(echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{}}')",
            "exec plugin $CMD: user \"deployer\": exec plugin didn't return a token or "
            "cert/key pair"},
        FailureCase{
            "cert_only",
            R"(echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"clientCertificateData":"C"}}')",
            "exec plugin $CMD: user \"deployer\": exec plugin returned only certificate "
            "or key, not both"},
        FailureCase{
            "bad_expiry",
            R"(echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t","expirationTimestamp":"tomorrow"}}')",
            "exec plugin $CMD: user \"deployer\": status.expirationTimestamp: invalid "
            "time \"tomorrow\""}),
    [](const auto& info) { return info.param.name; });

TEST_F(ExecCredentialTest, CommandNotFoundShowsInstallHint) {
  ExecConfig c;
  c.command = "canaryd-no-such-credential-plugin";
  c.apiVersion = std::string(kExecApiVersionV1);
  c.interactiveMode = "Never";
  c.installHint = "Install it with: apt-get install canaryd-auth";
  ExecCredentialProvider provider(c, "deployer", std::nullopt, clock);
  auto cred = provider.credential();
  ASSERT_FALSE(cred.has_value());
  EXPECT_EQ(cred.error().toString(),
            "exec plugin canaryd-no-such-credential-plugin: user \"deployer\": exec: executable "
            "canaryd-no-such-credential-plugin not found\n\nInstall it with: apt-get install "
            "canaryd-auth");
}

TEST_F(ExecCredentialTest, AlwaysInteractiveCannotRunInADaemon) {
  auto c = config();
  c.interactiveMode = "Always";
  ExecCredentialProvider provider(c, "deployer", std::nullopt, clock);
  auto cred = provider.credential();
  ASSERT_FALSE(cred.has_value());
  EXPECT_NE(cred.error().message.find("standard input is not a terminal"), std::string::npos);
  EXPECT_EQ(provider.runs(), 0);
}

}  // namespace
}  // namespace canaryd::kube
