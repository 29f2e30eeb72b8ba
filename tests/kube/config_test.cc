#include "kube/config.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>

#include "kube/base64.h"
#include "kube/exec_credential.h"
#include "temp_dir.h"

namespace canaryd::kube {
namespace {

using namespace std::chrono_literals;
using testing::replaceAll;
using testing::TempDir;
using workqueue::FakeClock;

const std::string kCaPem = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
const std::string kCertPem = "-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n";
const std::string kKeyPem = "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n";

Environment envOf(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

ConfigResult<RestConfig> loadFile(const std::string& path, ConfigOverrides overrides = {},
                                  Clock* clock = nullptr) {
  LoadOptions options;
  options.kubeconfig = path;
  options.overrides = std::move(overrides);
  options.env = envOf({});
  options.clock = clock;
  return loadRestConfig(options);
}

// ---- every way to authenticate ----

TEST(KubeconfigTest, TokenWithCaDataAndNamespace) {
  TempDir dir;
  auto path = dir.write("config", R"(apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: prod-cluster
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: )" + base64Encode(kCaPem) +
                                      R"(
    tls-server-name: kubernetes.default
contexts:
- name: prod
  context: {cluster: prod-cluster, user: deployer, namespace: shop}
users:
- name: deployer
  user:
    token: abc.def
preferences: {}
)");
  auto rest = loadFile(path);
  ASSERT_TRUE(rest.has_value()) << rest.error().toString();
  EXPECT_EQ(rest->host, "https://10.0.0.1:6443");
  EXPECT_EQ(rest->contextName, "prod");
  EXPECT_EQ(rest->clusterName, "prod-cluster");
  EXPECT_EQ(rest->userName, "deployer");
  EXPECT_EQ(rest->namespace_, "shop");
  EXPECT_EQ(rest->caData, kCaPem);
  EXPECT_EQ(rest->tlsServerName, "kubernetes.default");
  EXPECT_FALSE(rest->insecure);
  auto creds = rest->credentials();
  ASSERT_TRUE(creds.has_value());
  EXPECT_EQ(creds->bearerToken, "abc.def");
  EXPECT_TRUE(creds->clientCertificatePem.empty());
}

TEST(KubeconfigTest, ClientCertificateFilesResolvedAgainstTheFile) {
  TempDir dir;
  dir.write("pki/ca.crt", kCaPem);
  dir.write("pki/admin.crt", kCertPem);
  dir.write("pki/admin.key", kKeyPem);
  auto path = dir.write("kube/config", R"(
apiVersion: v1
kind: Config
current-context: kind
clusters:
- name: kind
  cluster: {server: "https://127.0.0.1:39999", certificate-authority: ../pki/ca.crt}
contexts:
- name: kind
  context: {cluster: kind, user: admin}
users:
- name: admin
  user:
    client-certificate: ../pki/admin.crt
    client-key: ../pki/admin.key
)");
  auto rest = loadFile(path);
  ASSERT_TRUE(rest.has_value()) << rest.error().toString();
  EXPECT_EQ(rest->caFile, dir.file("pki/ca.crt"));
  EXPECT_EQ(rest->caData, kCaPem);
  EXPECT_EQ(rest->certFile, dir.file("pki/admin.crt"));
  EXPECT_EQ(rest->keyFile, dir.file("pki/admin.key"));
  EXPECT_EQ(rest->namespace_, "default");
  auto creds = rest->credentials();
  ASSERT_TRUE(creds.has_value());
  EXPECT_EQ(creds->clientCertificatePem, kCertPem);
  EXPECT_EQ(creds->clientKeyPem, kKeyPem);
  EXPECT_TRUE(creds->bearerToken.empty());
}

TEST(KubeconfigTest, ClientCertificateData) {
  TempDir dir;
  auto path = dir.write("config", R"(
current-context: c
clusters: [{name: c, cluster: {server: "https://k:6443", insecure-skip-tls-verify: true}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
users:
- name: u
  user:
    client-certificate-data: )" + base64Encode(kCertPem) +
                                      R"(
    client-key-data: )" + base64Encode(kKeyPem) +
                                      "\n");
  auto rest = loadFile(path);
  ASSERT_TRUE(rest.has_value()) << rest.error().toString();
  EXPECT_TRUE(rest->insecure);
  EXPECT_EQ(rest->certData, kCertPem);
  EXPECT_EQ(rest->keyData, kKeyPem);
  EXPECT_TRUE(rest->certFile.empty());
}

TEST(KubeconfigTest, BasicAuth) {
  TempDir dir;
  auto path = dir.write("config", R"(
current-context: c
clusters: [{name: c, cluster: {server: "https://k"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
users: [{name: u, user: {username: admin, password: s3cret}}]
)");
  auto rest = loadFile(path);
  ASSERT_TRUE(rest.has_value()) << rest.error().toString();
  auto creds = rest->credentials();
  ASSERT_TRUE(creds.has_value());
  EXPECT_EQ(creds->username, "admin");
  EXPECT_EQ(creds->password, "s3cret");
  EXPECT_TRUE(creds->bearerToken.empty());
}

TEST(KubeconfigTest, AnonymousWhenTheContextNamesNoUser) {
  TempDir dir;
  auto path = dir.write("config", R"(
current-context: c
clusters: [{name: c, cluster: {server: "http://127.0.0.1:8080"}}]
contexts: [{name: c, context: {cluster: c}}]
)");
  auto rest = loadFile(path);
  ASSERT_TRUE(rest.has_value()) << rest.error().toString();
  EXPECT_EQ(rest->host, "http://127.0.0.1:8080");
  auto creds = rest->credentials();
  ASSERT_TRUE(creds.has_value());
  EXPECT_TRUE(creds->bearerToken.empty());
}

TEST(KubeconfigTest, TokenFileIsReadAndFollowsRotation) {
  TempDir dir;
  dir.write("token", "first-token\n");
  auto path = dir.write("config", R"(
current-context: c
clusters: [{name: c, cluster: {server: "https://k"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
users: [{name: u, user: {tokenFile: token}}]
)");
  FakeClock clock;
  auto rest = loadFile(path, {}, &clock);
  ASSERT_TRUE(rest.has_value()) << rest.error().toString();
  EXPECT_EQ(rest->bearerTokenFile, dir.file("token"));
  EXPECT_EQ(rest->credentials()->bearerToken, "first-token");
  // Rotated the way kubelet does it: a new file renamed over the old one.
  dir.write("token.new", "second-token");
  ASSERT_EQ(std::rename(dir.file("token.new").c_str(), dir.file("token").c_str()), 0);
  EXPECT_EQ(rest->credentials()->bearerToken, "second-token");
}

TEST(KubeconfigTest, TokenFileWinsOverToken) {
  TempDir dir;
  dir.write("token", "from-file");
  auto path = dir.write("config", R"(
current-context: c
clusters: [{name: c, cluster: {server: "https://k"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
users: [{name: u, user: {token: inline, tokenFile: token}}]
)");
  auto rest = loadFile(path);
  ASSERT_TRUE(rest.has_value()) << rest.error().toString();
  EXPECT_EQ(rest->bearerToken, "inline");
  EXPECT_EQ(rest->credentials()->bearerToken, "from-file");
}

TEST(KubeconfigTest, UnreadableTokenFileFallsBackToToken) {
  TempDir dir;
  auto path = dir.write("config", R"(
current-context: c
clusters: [{name: c, cluster: {server: "https://k"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
users: [{name: u, user: {token: inline, tokenFile: missing}}]
)");
  auto rest = loadFile(path);
  ASSERT_TRUE(rest.has_value()) << rest.error().toString();
  EXPECT_EQ(rest->credentials()->bearerToken, "inline");
  ASSERT_EQ(rest->warnings.size(), 1u);
  EXPECT_NE(rest->warnings[0].find("using the token field"), std::string::npos);
}

TEST(KubeconfigTest, Impersonation) {
  TempDir dir;
  auto path = dir.write("config", R"(
current-context: c
clusters: [{name: c, cluster: {server: "https://k"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
users:
- name: u
  user:
    token: t
    as: jane
    as-uid: "1234"
    as-groups: [devs, ops]
    as-user-extra: {scopes: [view, edit]}
)");
  auto rest = loadFile(path);
  ASSERT_TRUE(rest.has_value()) << rest.error().toString();
  EXPECT_EQ(rest->impersonate, "jane");
  EXPECT_EQ(rest->impersonateUid, "1234");
  EXPECT_EQ(rest->impersonateGroups, (std::vector<std::string>{"devs", "ops"}));
  EXPECT_EQ(rest->impersonateUserExtra.at("scopes"), (std::vector<std::string>{"view", "edit"}));
}

TEST(KubeconfigTest, ProxyUrlAndCompression) {
  TempDir dir;
  auto path = dir.write("config", R"(
current-context: c
clusters: [{name: c, cluster: {server: "https://k", proxy-url: "socks5://127.0.0.1:1080", disable-compression: true}}]
contexts: [{name: c, context: {cluster: c}}]
)");
  auto rest = loadFile(path);
  ASSERT_TRUE(rest.has_value()) << rest.error().toString();
  EXPECT_EQ(rest->proxyUrl, "socks5://127.0.0.1:1080");
  EXPECT_TRUE(rest->disableCompression);
}

TEST(KubeconfigTest, ServerWithoutSchemeGetsOneAsClientGo) {
  TempDir dir;
  auto plain = dir.write("plain", R"(
current-context: c
clusters: [{name: c, cluster: {server: "10.0.0.1:8080/"}}]
contexts: [{name: c, context: {cluster: c}}]
)");
  auto tls = dir.write("tls", R"(
current-context: c
clusters: [{name: c, cluster: {server: "10.0.0.1:6443", insecure-skip-tls-verify: true}}]
contexts: [{name: c, context: {cluster: c}}]
)");
  EXPECT_EQ(loadFile(plain)->host, "http://10.0.0.1:8080");
  EXPECT_EQ(loadFile(tls)->host, "https://10.0.0.1:6443");
}

TEST(KubeconfigTest, Overrides) {
  TempDir dir;
  auto path = dir.write("config", R"(
current-context: a
clusters:
- {name: one, cluster: {server: "https://one"}}
- {name: two, cluster: {server: "https://two"}}
contexts:
- {name: a, context: {cluster: one, user: ua, namespace: ns-a}}
- {name: b, context: {cluster: two, user: ub}}
users:
- {name: ua, user: {token: token-a}}
- {name: ub, user: {token: token-b}}
)");
  auto a = loadFile(path);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->host, "https://one");
  EXPECT_EQ(a->namespace_, "ns-a");

  auto b = loadFile(path, ConfigOverrides{"b", "", "", ""});
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->host, "https://two");
  EXPECT_EQ(b->credentials()->bearerToken, "token-b");
  EXPECT_EQ(b->namespace_, "default");

  auto mixed = loadFile(path, ConfigOverrides{"a", "two", "ub", "override"});
  ASSERT_TRUE(mixed.has_value());
  EXPECT_EQ(mixed->host, "https://two");
  EXPECT_EQ(mixed->credentials()->bearerToken, "token-b");
  EXPECT_EQ(mixed->namespace_, "override");
}

TEST(KubeconfigTest, ExecConfigParsing) {
  TempDir dir;
  auto path = dir.write("config", R"(
current-context: c
clusters: [{name: c, cluster: {server: "https://k"}}]
contexts: [{name: c, context: {cluster: c, user: relative}}]
users:
- name: relative
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: ./bin/get-token
      args: [--cluster, prod]
      env: [{name: REGION, value: eu-west-1}]
      installHint: install get-token
- name: bare
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: aws
      interactiveMode: Never
      provideClusterInfo: true
)");
  auto config = loadKubeconfigFile(path);
  ASSERT_TRUE(config.has_value()) << config.error().toString();
  const auto& relative = *config->users.at("relative").exec;
  EXPECT_EQ(relative.command, dir.file("bin/get-token"));
  EXPECT_EQ(relative.args, (std::vector<std::string>{"--cluster", "prod"}));
  ASSERT_EQ(relative.env.size(), 1u);
  EXPECT_EQ(relative.env[0].name, "REGION");
  EXPECT_EQ(relative.env[0].value, "eu-west-1");
  EXPECT_EQ(relative.interactiveMode, "IfAvailable");  // v1beta1 default
  EXPECT_EQ(relative.installHint, "install get-token");
  const auto& bare = *config->users.at("bare").exec;
  EXPECT_EQ(bare.command, "aws");  // looked up in PATH, not resolved
  EXPECT_TRUE(bare.provideClusterInfo);
  auto rest = buildRestConfig(*config);
  ASSERT_TRUE(rest.has_value()) << rest.error().toString();
  EXPECT_NE(rest->execProvider, nullptr);
}

TEST(KubeconfigTest, EmptyFileIsAnEmptyConfig) {
  TempDir dir;
  auto path = dir.write("config", "");
  auto config = loadKubeconfigFile(path);
  ASSERT_TRUE(config.has_value());
  EXPECT_TRUE(config->contexts.empty());
  auto rest = buildRestConfig(*config);
  ASSERT_FALSE(rest.has_value());
  EXPECT_EQ(rest.error().toString(),
            "kubeconfig " + path + ": current-context is not set and no context was given");
}

// ---- KUBECONFIG and merging ----

TEST(LoadingRulesTest, KubeconfigListSplitAndDeduplicated) {
  auto rules = defaultLoadingRules(envOf({{"KUBECONFIG", "/a:/b::/a:/c"}, {"HOME", "/home/x"}}));
  EXPECT_EQ(rules.precedence, (std::vector<std::string>{"/a", "/b", "/c"}));
  EXPECT_TRUE(rules.explicitPath.empty());
}

TEST(LoadingRulesTest, HomeWhenKubeconfigUnsetOrEmpty) {
  EXPECT_EQ(defaultLoadingRules(envOf({{"HOME", "/home/x"}})).precedence,
            std::vector<std::string>{"/home/x/.kube/config"});
  EXPECT_EQ(defaultLoadingRules(envOf({{"KUBECONFIG", ""}, {"HOME", "/home/x"}})).precedence,
            std::vector<std::string>{"/home/x/.kube/config"});
  EXPECT_TRUE(defaultLoadingRules(envOf({})).precedence.empty());
}

TEST(MergeTest, FirstFileWinsPerKeyAndCurrentContext) {
  TempDir dir;
  // The first file sets no current-context: the second file's applies.
  auto first = dir.write("first", R"(
clusters:
- {name: shared, cluster: {server: "https://from-first"}}
users:
- {name: shared-user, user: {token: first-token}}
contexts:
- {name: shared-ctx, context: {cluster: shared, user: shared-user, namespace: first-ns}}
)");
  auto second = dir.write("second", R"(
current-context: shared-ctx
clusters:
- {name: shared, cluster: {server: "https://from-second", insecure-skip-tls-verify: true}}
- {name: only-second, cluster: {server: "https://only-second"}}
users:
# Same name, other fields: the first file's entry is taken whole, nothing merged in.
- {name: shared-user, user: {username: admin, password: pw}}
contexts:
- {name: shared-ctx, context: {cluster: only-second, user: shared-user}}
- {name: second-ctx, context: {cluster: only-second}}
)");
  auto third = dir.write("third", "current-context: second-ctx\n");
  LoadingRules rules;
  rules.precedence = {first, dir.file("missing"), second, third};
  auto config = loadKubeconfig(rules);
  ASSERT_TRUE(config.has_value()) << config.error().toString();
  EXPECT_EQ(config->files, (std::vector<std::string>{first, second, third}));
  EXPECT_EQ(config->currentContext, "shared-ctx");
  EXPECT_EQ(config->currentContextOrigin, second);
  EXPECT_EQ(config->clusters.at("shared").server, "https://from-first");
  EXPECT_FALSE(config->clusters.at("shared").insecureSkipTlsVerify);
  EXPECT_EQ(config->clusters.at("shared").locationOfOrigin, first);
  EXPECT_EQ(config->clusters.at("only-second").locationOfOrigin, second);
  EXPECT_EQ(config->users.at("shared-user").token, "first-token");
  EXPECT_TRUE(config->users.at("shared-user").username.empty());
  EXPECT_EQ(config->contexts.at("shared-ctx").cluster, "shared");
  EXPECT_EQ(config->contexts.count("second-ctx"), 1u);

  auto rest = buildRestConfig(*config);
  ASSERT_TRUE(rest.has_value()) << rest.error().toString();
  EXPECT_EQ(rest->host, "https://from-first");
  EXPECT_EQ(rest->namespace_, "first-ns");
  auto creds = rest->credentials();
  EXPECT_EQ(creds->bearerToken, "first-token");
  EXPECT_TRUE(creds->username.empty());
}

TEST(MergeTest, ThroughKubeconfigEnvironment) {
  TempDir dir;
  auto a = dir.write("a", "current-context: ctx-x\n");
  auto b = dir.write("b", R"(
current-context: ctx-y
clusters: [{name: c, cluster: {server: "https://b"}}]
contexts:
- {name: ctx-x, context: {cluster: c, namespace: from-x}}
- {name: ctx-y, context: {cluster: c, namespace: from-y}}
)");
  LoadOptions options;
  options.env = envOf({{"KUBECONFIG", a + ":" + dir.file("nope") + ":" + b}});
  auto rest = loadRestConfig(options);
  ASSERT_TRUE(rest.has_value()) << rest.error().toString();
  EXPECT_EQ(rest->namespace_, "from-x");
}

TEST(MergeTest, ExplicitPathMustExist) {
  TempDir dir;
  auto rest = loadFile(dir.file("absent"));
  ASSERT_FALSE(rest.has_value());
  EXPECT_EQ(rest.error().toString(),
            "kubeconfig " + dir.file("absent") + ": cannot read: No such file or directory");
}

TEST(MergeTest, MalformedFileInTheListIsAnError) {
  TempDir dir;
  auto good = dir.write("good", "current-context: x\n");
  auto bad = dir.write("bad", "clusters: [unclosed\n");
  LoadingRules rules;
  rules.precedence = {good, bad};
  auto config = loadKubeconfig(rules);
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().file, bad);
  EXPECT_TRUE(config.error().toString().starts_with("kubeconfig " + bad + ": line "))
      << config.error().toString();
}

// ---- errors name the file, context and field ----

struct ErrorCase {
  std::string name;
  std::string yaml;      // $D is the directory
  std::string expected;  // $F is the file, $D the directory
};

class KubeconfigErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(KubeconfigErrorTest, Message) {
  TempDir dir;
  dir.write("ca.crt", kCaPem);
  dir.write("client.crt", kCertPem);
  auto path = dir.write("config", replaceAll(GetParam().yaml, "$D", dir.path()));
  auto rest = loadFile(path);
  ASSERT_FALSE(rest.has_value());
  std::string expected = replaceAll(replaceAll(GetParam().expected, "$F", path), "$D", dir.path());
  EXPECT_EQ(rest.error().toString(), expected);
}

const char kClusterHeader[] =
    "current-context: foo\ncontexts: [{name: foo, context: {cluster: bar, user: u}}]\n";

INSTANTIATE_TEST_SUITE_P(
    Kubeconfig, KubeconfigErrorTest,
    ::testing::Values(
        ErrorCase{"context_not_found", "current-context: foo\n",
                  "kubeconfig $F: context \"foo\" not found"},
        ErrorCase{"cluster_not_found",
                  std::string(kClusterHeader) + "users: [{name: u, user: {token: t}}]\n",
                  "kubeconfig $F: context \"foo\": cluster \"bar\" not found"},
        ErrorCase{"user_not_found",
                  std::string(kClusterHeader) +
                      "clusters: [{name: bar, cluster: {server: \"https://k\"}}]\n",
                  "kubeconfig $F: context \"foo\": user \"u\" not found"},
        ErrorCase{"no_server",
                  std::string(kClusterHeader) + "clusters: [{name: bar, cluster: {tls-server-name: "
                                                "x}}]\nusers: [{name: u, user: {}}]\n",
                  "kubeconfig $F: context \"foo\": cluster \"bar\": no server found for cluster"},
        ErrorCase{"bad_server",
                  std::string(kClusterHeader) + "clusters: [{name: bar, cluster: {server: "
                                                "\"https://\"}}]\nusers: [{name: u, user: {}}]\n",
                  "kubeconfig $F: context \"foo\": cluster \"bar\": server \"https://\" is not a "
                  "valid http(s) URL"},
        ErrorCase{"ca_file_and_data",
                  std::string(kClusterHeader) +
                      "clusters: [{name: bar, cluster: {server: \"https://k\", "
                      "certificate-authority: ca.crt, "
                      "certificate-authority-data: Q0E=}}]\nusers: [{name: u, user: {}}]\n",
                  "kubeconfig $F: context \"foo\": cluster \"bar\": certificate-authority-data and "
                  "certificate-authority are both specified"},
        ErrorCase{"insecure_with_ca",
                  std::string(kClusterHeader) +
                      "clusters: [{name: bar, cluster: {server: \"https://k\", "
                      "certificate-authority: ca.crt, "
                      "insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {}}]\n",
                  "kubeconfig $F: context \"foo\": cluster \"bar\": specifying a root certificates "
                  "file with the insecure flag is not allowed"},
        ErrorCase{
            "ca_file_missing",
            std::string(kClusterHeader) +
                "clusters: [{name: bar, cluster: {server: \"https://k\", certificate-authority: "
                "missing.crt}}]\nusers: [{name: u, user: {}}]\n",
            "kubeconfig $F: context \"foo\": cluster \"bar\": certificate-authority: unable to "
            "read $D/missing.crt: No such file or directory"},
        ErrorCase{
            "bad_proxy",
            std::string(kClusterHeader) + "clusters: [{name: bar, cluster: {server: \"https://k\", "
                                          "proxy-url: \"ftp://p\"}}]\n"
                                          "users: [{name: u, user: {}}]\n",
            "kubeconfig $F: context \"foo\": cluster \"bar\": proxy-url \"ftp://p\": only http, "
            "https and socks5 proxies are supported"},
        ErrorCase{
            "cert_without_key",
            std::string(kClusterHeader) +
                "clusters: [{name: bar, cluster: {server: \"https://k\"}}]\n"
                "users: [{name: u, user: {client-certificate: client.crt}}]\n",
            "kubeconfig $F: context \"foo\": user \"u\": client-key-data or client-key must be "
            "specified to use the clientCert authentication method"},
        ErrorCase{"key_without_cert",
                  std::string(kClusterHeader) +
                      "clusters: [{name: bar, cluster: {server: \"https://k\"}}]\n"
                      "users: [{name: u, user: {client-key-data: S0VZ}}]\n",
                  "kubeconfig $F: context \"foo\": user \"u\": client-certificate-data or "
                  "client-certificate must be specified with a client key"},
        ErrorCase{
            "cert_file_missing",
            std::string(kClusterHeader) +
                "clusters: [{name: bar, cluster: {server: \"https://k\"}}]\n"
                "users: [{name: u, user: {client-certificate: nope.crt, client-key-data: S0VZ}}]\n",
            "kubeconfig $F: context \"foo\": user \"u\": client-certificate: unable to read "
            "$D/nope.crt: No such file or directory"},
        ErrorCase{"token_and_basic",
                  std::string(kClusterHeader) +
                      "clusters: [{name: bar, cluster: {server: \"https://k\"}}]\n"
                      "users: [{name: u, user: {token: t, username: a, password: b}}]\n",
                  "kubeconfig $F: context \"foo\": user \"u\": more than one authentication method "
                  "found; found [token basicAuth], only one is allowed"},
        ErrorCase{
            "token_file_missing",
            std::string(kClusterHeader) +
                "clusters: [{name: bar, cluster: {server: \"https://k\"}}]\n"
                "users: [{name: u, user: {tokenFile: $D/absent}}]\n",
            "kubeconfig $F: context \"foo\": user \"u\": tokenFile: unable to use $D/absent: No "
            "such file or directory"},
        ErrorCase{
            "impersonation_without_user",
            std::string(kClusterHeader) +
                "clusters: [{name: bar, cluster: {server: \"https://k\"}}]\n"
                "users: [{name: u, user: {as-groups: [a]}}]\n",
            "kubeconfig $F: context \"foo\": user \"u\": requesting uid, groups or user-extra "
            "without impersonating a user"},
        ErrorCase{"auth_provider",
                  std::string(kClusterHeader) +
                      "clusters: [{name: bar, cluster: {server: \"https://k\"}}]\n"
                      "users: [{name: u, user: {auth-provider: {name: gcp, config: {}}}}]\n",
                  "kubeconfig $F: context \"foo\": user \"u\": auth-provider \"gcp\" is not "
                  "supported; use an exec credential plugin instead"},
        ErrorCase{
            "exec_without_command",
            std::string(kClusterHeader) +
                "clusters: [{name: bar, cluster: {server: \"https://k\"}}]\n"
                "users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, "
                "interactiveMode: Never}}}]\n",
            "kubeconfig $F: context \"foo\": user \"u\": exec: command must be specified"},
        ErrorCase{"exec_without_api_version",
                  std::string(kClusterHeader) +
                      "clusters: [{name: bar, cluster: {server: \"https://k\"}}]\n"
                      "users: [{name: u, user: {exec: {command: aws}}}]\n",
                  "kubeconfig $F: context \"foo\": user \"u\": exec: apiVersion must be specified"},
        ErrorCase{"exec_old_api_version",
                  std::string(kClusterHeader) +
                      "clusters: [{name: bar, cluster: {server: \"https://k\"}}]\n"
                      "users: [{name: u, user: {exec: {command: aws, apiVersion: "
                      "client.authentication.k8s.io/v1alpha1}}}]\n",
                  "kubeconfig $F: context \"foo\": user \"u\": exec: apiVersion "
                  "\"client.authentication.k8s.io/v1alpha1\" is not supported (want "
                  "client.authentication.k8s.io/v1 or client.authentication.k8s.io/v1beta1)"},
        ErrorCase{
            "exec_v1_without_interactive_mode",
            std::string(kClusterHeader) +
                "clusters: [{name: bar, cluster: {server: \"https://k\"}}]\n"
                "users: [{name: u, user: {exec: {command: aws, apiVersion: "
                "client.authentication.k8s.io/v1}}}]\n",
            "kubeconfig $F: context \"foo\": user \"u\": exec: interactiveMode must be specified"},
        ErrorCase{"exec_bad_interactive_mode",
                  std::string(kClusterHeader) +
                      "clusters: [{name: bar, cluster: {server: \"https://k\"}}]\n"
                      "users: [{name: u, user: {exec: {command: aws, apiVersion: "
                      "client.authentication.k8s.io/v1, interactiveMode: Sometimes}}}]\n",
                  "kubeconfig $F: context \"foo\": user \"u\": exec: invalid interactiveMode "
                  "\"Sometimes\""},
        ErrorCase{"exec_env_without_name",
                  std::string(kClusterHeader) +
                      "clusters: [{name: bar, cluster: {server: \"https://k\"}}]\n"
                      "users: [{name: u, user: {exec: {command: aws, apiVersion: "
                      "client.authentication.k8s.io/v1beta1, env: [{value: x}]}}}]\n",
                  "kubeconfig $F: context \"foo\": user \"u\": exec: env variable name must be "
                  "specified"},
        ErrorCase{
            "bad_base64",
            "clusters: [{name: bar, cluster: {server: \"https://k\", certificate-authority-data: "
            "\"not base64!\"}}]\n",
            "kubeconfig $F: clusters[0].cluster.certificate-authority-data: illegal base64 data"},
        ErrorCase{"wrong_type", "clusters: [{name: bar, cluster: {server: [https://k]}}]\n",
                  "kubeconfig $F: clusters[0].cluster.server: expected string, got array"},
        ErrorCase{"number_token", "users: [{name: u, user: {token: 12345}}]\n",
                  "kubeconfig $F: users[0].user.token: expected string, got integer"},
        ErrorCase{
            "wrong_bool",
            "clusters: [{name: bar, cluster: {server: \"https://k\", insecure-skip-tls-verify: "
            "maybe}}]\n",
            "kubeconfig $F: clusters[0].cluster.insecure-skip-tls-verify: expected boolean, got "
            "string"},
        ErrorCase{"list_not_array", "contexts: {foo: bar}\n",
                  "kubeconfig $F: contexts: expected array, got object"},
        ErrorCase{"duplicate_name",
                  "contexts:\n- {name: foo, context: {cluster: a}}\n- {name: foo, context: "
                  "{cluster: b}}\n",
                  "kubeconfig $F: contexts[1].name: duplicate name \"foo\" in contexts"},
        ErrorCase{"not_a_mapping", "- just\n- a list\n",
                  "kubeconfig $F: (root): expected object, got array"}),
    [](const auto& info) { return info.param.name; });

// ---- in-cluster ----

class InClusterTest : public ::testing::Test {
 protected:
  InClusterOptions options(std::map<std::string, std::string> env) {
    InClusterOptions o;
    o.serviceAccountDir = dir.path();
    o.env = envOf(std::move(env));
    o.clock = &clock;
    return o;
  }
  TempDir dir;
  FakeClock clock;
};

TEST_F(InClusterTest, ReadsTheServiceAccount) {
  dir.write("token", "sa-token-1\n");
  dir.write("ca.crt", kCaPem);
  dir.write("namespace", "canaryd-system");
  auto rest = inClusterConfig(
      options({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}}));
  ASSERT_TRUE(rest.has_value()) << rest.error().toString();
  EXPECT_EQ(rest->host, "https://10.96.0.1:443");
  EXPECT_EQ(rest->caFile, dir.file("ca.crt"));
  EXPECT_EQ(rest->caData, kCaPem);
  EXPECT_EQ(rest->bearerTokenFile, dir.file("token"));
  EXPECT_EQ(rest->namespace_, "canaryd-system");
  EXPECT_TRUE(rest->warnings.empty());
  EXPECT_EQ(rest->credentials()->bearerToken, "sa-token-1");
}

TEST_F(InClusterTest, Ipv6HostAndPodNamespace) {
  dir.write("token", "t");
  dir.write("ca.crt", kCaPem);
  dir.write("namespace", "from-file");
  auto rest = inClusterConfig(options({{"KUBERNETES_SERVICE_HOST", "fd00::1"},
                                       {"KUBERNETES_SERVICE_PORT", "6443"},
                                       {"POD_NAMESPACE", "from-env"}}));
  ASSERT_TRUE(rest.has_value()) << rest.error().toString();
  EXPECT_EQ(rest->host, "https://[fd00::1]:6443");
  EXPECT_EQ(rest->namespace_, "from-env");
}

TEST_F(InClusterTest, MissingCaIsAWarningAndNamespaceDefaults) {
  dir.write("token", "t");
  auto rest = inClusterConfig(
      options({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}}));
  ASSERT_TRUE(rest.has_value()) << rest.error().toString();
  EXPECT_TRUE(rest->caFile.empty());
  ASSERT_EQ(rest->warnings.size(), 1u);
  EXPECT_NE(rest->warnings[0].find(dir.file("ca.crt")), std::string::npos);
  EXPECT_EQ(rest->namespace_, "default");
}

TEST_F(InClusterTest, Errors) {
  auto noEnv = inClusterConfig(options({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}}));
  ASSERT_FALSE(noEnv.has_value());
  EXPECT_EQ(noEnv.error().toString(),
            "in-cluster config: unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST "
            "and KUBERNETES_SERVICE_PORT must be defined");
  auto env =
      options({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}});
  auto noToken = inClusterConfig(env);
  ASSERT_FALSE(noToken.has_value());
  EXPECT_EQ(noToken.error().toString(),
            "in-cluster config " + dir.file("token") + ": No such file or directory");
  dir.write("token", "  \n");
  auto emptyToken = inClusterConfig(env);
  ASSERT_FALSE(emptyToken.has_value());
  EXPECT_EQ(emptyToken.error().message, "read empty token from file");
}

TEST_F(InClusterTest, TokenRotation) {
  dir.write("token", "token-v1");
  dir.write("ca.crt", kCaPem);
  auto rest = inClusterConfig(
      options({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}}));
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(rest->credentials()->bearerToken, "token-v1");

  // kubelet swaps a new file in: picked up on the next request.
  dir.write("token.tmp", "token-v2");
  ASSERT_EQ(std::rename(dir.file("token.tmp").c_str(), dir.file("token").c_str()), 0);
  EXPECT_EQ(rest->credentials()->bearerToken, "token-v2");

  // A rewrite that stat cannot see (same inode, size and mtime) is still picked up by
  // the periodic re-read, as client-go re-reads every minute.
  struct stat before {};
  ASSERT_EQ(::stat(dir.file("token").c_str(), &before), 0);
  dir.write("token", "token-v3");
  timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, dir.file("token").c_str(), times, 0), 0);
  EXPECT_EQ(rest->credentials()->bearerToken, "token-v2");
  clock.step(FileTokenSource::kRereadPeriod);
  EXPECT_EQ(rest->credentials()->bearerToken, "token-v3");

  // The file vanishing keeps the last token rather than failing requests.
  ASSERT_EQ(std::remove(dir.file("token").c_str()), 0);
  EXPECT_EQ(rest->credentials()->bearerToken, "token-v3");
  clock.step(FileTokenSource::kRereadPeriod);
  EXPECT_EQ(rest->credentials()->bearerToken, "token-v3");
}

// ---- which configuration wins (controller-runtime's order) ----

TEST(LoadRestConfigTest, Precedence) {
  TempDir dir;
  auto clusterConfig = [](const std::string& server) {
    return "current-context: c\nclusters: [{name: c, cluster: {server: \"" + server +
           "\"}}]\ncontexts: [{name: c, context: {cluster: c}}]\n";
  };
  auto explicitPath = dir.write("explicit", clusterConfig("https://explicit"));
  auto envPath = dir.write("env", clusterConfig("https://env"));
  dir.write("home/.kube/config", clusterConfig("https://home"));
  dir.write("sa/token", "t");
  dir.write("sa/ca.crt", kCaPem);

  std::map<std::string, std::string> env{{"KUBECONFIG", envPath},
                                         {"HOME", dir.file("home")},
                                         {"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                                         {"KUBERNETES_SERVICE_PORT", "443"}};
  LoadOptions options;
  options.serviceAccountDir = dir.file("sa");
  options.kubeconfig = explicitPath;
  options.env = envOf(env);
  EXPECT_EQ(loadRestConfig(options)->host, "https://explicit");

  options.kubeconfig.clear();
  EXPECT_EQ(loadRestConfig(options)->host, "https://env");

  env.erase("KUBECONFIG");
  options.env = envOf(env);
  EXPECT_EQ(loadRestConfig(options)->host, "https://10.96.0.1:443");

  env.erase("KUBERNETES_SERVICE_HOST");
  options.env = envOf(env);
  EXPECT_EQ(loadRestConfig(options)->host, "https://home");

  env.erase("HOME");
  options.env = envOf(env);
  auto none = loadRestConfig(options);
  ASSERT_FALSE(none.has_value());
  EXPECT_NE(none.error().message.find("no configuration found"), std::string::npos);
}

TEST(LoadRestConfigTest, BrokenInClusterIsReportedWhenNothingElseExists) {
  TempDir dir;
  LoadOptions options;
  options.serviceAccountDir = dir.file("sa");
  options.env =
      envOf({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}});
  auto rest = loadRestConfig(options);
  ASSERT_FALSE(rest.has_value());
  EXPECT_EQ(rest.error().source, "in-cluster config");
}

}  // namespace
}  // namespace canaryd::kube
