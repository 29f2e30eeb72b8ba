// HttpClient against the in-process kube-emulator, over plain HTTP and over TLS with a
// bearer token: CRUD with typed errors, paging, retries (429 / 500 / safe verbs),
// keep-alive reuse, TLS verification, 401 and an exec credential plugin.
#include "kube/http_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "api/json.h"
#include "emulator_env.h"
#include "kube/base64.h"
#include "kube/exec_credential.h"
#include "kube/rate_limiter.h"
#include "temp_dir.h"

namespace canaryd::kube {
namespace {

using namespace std::chrono_literals;
using testing::configMap;
using testing::EmulatorFixture;

class HttpClientTest : public EmulatorFixture {};

TEST_P(HttpClientTest, CreateGetUpdatePatchDelete) {
  auto created = client_->create(resources::kConfigMaps, "default", configMap("default", "a"));
  ASSERT_TRUE(created.has_value()) << created.error().message;
  std::string rv(stringAt(**created, "metadata.resourceVersion"));
  std::string uid(stringAt(**created, "metadata.uid"));
  EXPECT_FALSE(rv.empty());

  auto again = client_->create(resources::kConfigMaps, "default", configMap("default", "a"));
  ASSERT_FALSE(again.has_value());
  EXPECT_TRUE(isAlreadyExists(again.error())) << again.error().message;

  auto got = client_->get(resources::kConfigMaps, "default", "a");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(stringAt(**got, "data.k"), "v");

  // PUT with the current resourceVersion succeeds; with the old one it is a 409.
  (**got)["data"]["k"].SetString("w");
  auto updated = client_->update(resources::kConfigMaps, "default", **got);
  ASSERT_TRUE(updated.has_value()) << updated.error().message;
  EXPECT_NE(stringAt(**updated, "metadata.resourceVersion"), rv);
  auto stale = client_->update(resources::kConfigMaps, "default", **got);
  ASSERT_FALSE(stale.has_value());
  EXPECT_TRUE(isConflict(stale.error())) << stale.error().message;
  EXPECT_EQ(stale.error().code, 409);

  auto merged = client_->patch(resources::kConfigMaps, "default", "a", PatchType::kMerge,
                               R"({"data":{"m":"1"}})");
  ASSERT_TRUE(merged.has_value()) << merged.error().message;
  EXPECT_EQ(stringAt(**merged, "data.m"), "1");
  auto jsonPatched = client_->patch(resources::kConfigMaps, "default", "a", PatchType::kJson,
                                    R"([{"op":"replace","path":"/data/m","value":"2"}])");
  ASSERT_TRUE(jsonPatched.has_value()) << jsonPatched.error().message;
  EXPECT_EQ(stringAt(**jsonPatched, "data.m"), "2");
  auto strategic = client_->patch(resources::kConfigMaps, "default", "a",
                                  PatchType::kStrategicMerge, R"({"data":{"s":"3"}})");
  ASSERT_TRUE(strategic.has_value()) << strategic.error().message;
  EXPECT_EQ(stringAt(**strategic, "data.s"), "3");

  DeleteOptions wrongUid;
  wrongUid.preconditionUid = "not-the-uid";
  auto refused = client_->remove(resources::kConfigMaps, "default", "a", wrongUid);
  ASSERT_FALSE(refused.has_value());
  EXPECT_TRUE(isConflict(refused.error())) << refused.error().message;

  DeleteOptions right;
  right.preconditionUid = uid;
  right.propagationPolicy = PropagationPolicy::kBackground;
  ASSERT_TRUE(client_->remove(resources::kConfigMaps, "default", "a", right).has_value());
  auto gone = client_->get(resources::kConfigMaps, "default", "a");
  ASSERT_FALSE(gone.has_value());
  EXPECT_TRUE(isNotFound(gone.error()));
  auto twice = client_->remove(resources::kConfigMaps, "default", "a");
  ASSERT_FALSE(twice.has_value());
  EXPECT_TRUE(isNotFound(twice.error()));
}

TEST_P(HttpClientTest, StatusSubresource) {
  auto rs = api::parseJson(R"({"apiVersion":"apps/v1","kind":"ReplicaSet",
    "metadata":{"name":"web","namespace":"default"},
    "spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},
      "template":{"metadata":{"labels":{"app":"web"}},
        "spec":{"containers":[{"name":"c","image":"nginx"}]}}}})");
  auto created = client_->create(resources::kReplicaSets, "default", *rs);
  ASSERT_TRUE(created.has_value()) << created.error().message;
  auto patched = client_->patchStatus(resources::kReplicaSets, "default", "web", PatchType::kMerge,
                                      R"({"status":{"observedGeneration":7}})");
  ASSERT_TRUE(patched.has_value()) << patched.error().message;
  // The status subresource ignores spec changes. The emulator's ReplicaSet controller
  // writes this status too, so a read-modify-write may meet a 409: retried on a fresh read
  // as client-go's retry.RetryOnConflict does.
  Result<Object> updated = clientError(kReasonCancelled, "not tried");
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto got = client_->get(resources::kReplicaSets, "default", "web");
    ASSERT_TRUE(got.has_value()) << got.error().message;
    (**got)["spec"]["replicas"].SetInt(5);
    updated = client_->updateStatus(resources::kReplicaSets, "default", **got);
    if (updated || !isConflict(updated.error())) break;
  }
  ASSERT_TRUE(updated.has_value()) << updated.error().message;
  EXPECT_EQ((**updated)["spec"]["replicas"].GetInt(), 2);
  auto scale = client_->get(resources::kReplicaSets, "default", "web", {.subresource = "scale"});
  ASSERT_TRUE(scale.has_value()) << scale.error().message;
  EXPECT_EQ(stringAt(**scale, "kind"), "Scale");
}

TEST_P(HttpClientTest, ListPagesWithLimitAndContinue) {
  ensureNamespace("paging");
  ensureNamespace("other");
  for (int i = 0; i < 25; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "cm-%02d", i);
    ASSERT_TRUE(client_->create(resources::kConfigMaps, "paging", configMap("paging", name)));
  }
  ASSERT_TRUE(client_->create(resources::kConfigMaps, "other", configMap("other", "x")));
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  std::string firstRv;
  do {
    ListOptions o;
    o.limit = 10;
    o.continueToken = token;
    auto page = client_->list(resources::kConfigMaps, "paging", o);
    ASSERT_TRUE(page.has_value()) << page.error().message;
    if (pages == 0) {
      firstRv = page->resourceVersion;
      ASSERT_TRUE(page->remainingItemCount.has_value());
      EXPECT_EQ(*page->remainingItemCount, 15);
    }
    EXPECT_EQ(page->resourceVersion, firstRv);  // one consistent snapshot
    for (const auto& item : page->items().GetArray()) {
      names.emplace_back(stringAt(item, "metadata.name"));
    }
    token = page->continueToken;
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(names.size(), 25u);
  EXPECT_EQ(names.front(), "cm-00");
  EXPECT_EQ(names.back(), "cm-24");

  ListOptions selected;
  selected.fieldSelector = "metadata.name=cm-07";
  auto one = client_->list(resources::kConfigMaps, "", selected);
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->items().Size(), 1u);
}

TEST_P(HttpClientTest, TooManyRequestsIsRetriedAfterRetryAfterForAnyVerb) {
  setFaults(R"({"throttleFraction":1.0,"retryAfterSeconds":1})");
  resetCounters();
  auto start = std::chrono::steady_clock::now();
  auto pending = std::async(std::launch::async, [&] {
    return client_->create(resources::kConfigMaps, "default", configMap("default", "throttled"));
  });
  ASSERT_TRUE(testing::eventually([&] { return counted("create", 429) >= 1; }));
  setFaults(R"({"throttleFraction":0})");
  auto created = pending.get();
  ASSERT_TRUE(created.has_value()) << created.error().message;
  // The retry waited for Retry-After (1 s) before trying again.
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(counted("create", 201), 1);
}

TEST_P(HttpClientTest, ServerErrorsAreRetriedOnlyForSafeVerbs) {
  ASSERT_TRUE(client_->create(resources::kConfigMaps, "default", configMap("default", "x")));
  setFaults(R"({"errorFraction":1.0})");
  resetCounters();
  auto got = client_->get(resources::kConfigMaps, "default", "x");
  ASSERT_FALSE(got.has_value());
  EXPECT_TRUE(isInternalError(got.error()));
  // One attempt and maxRetries retries.
  EXPECT_EQ(counted("get", 500), 1 + testing::fastOptions().maxRetries);
  auto listed = client_->list(resources::kConfigMaps, "default");
  ASSERT_FALSE(listed.has_value());
  EXPECT_EQ(counted("list", 500), 1 + testing::fastOptions().maxRetries);

  auto created = client_->create(resources::kConfigMaps, "default", configMap("default", "y"));
  ASSERT_FALSE(created.has_value());
  EXPECT_TRUE(isInternalError(created.error()));
  EXPECT_EQ(counted("create", 500), 1);
  auto updated = client_->patch(resources::kConfigMaps, "default", "x", PatchType::kMerge,
                                R"({"data":{"k":"z"}})");
  ASSERT_FALSE(updated.has_value());
  EXPECT_EQ(counted("patch", 500), 1);
  auto removed = client_->remove(resources::kConfigMaps, "default", "x");
  ASSERT_FALSE(removed.has_value());
  EXPECT_EQ(counted("delete", 500), 1);

  // A transient error is retried to success. The emulator fails requests at random, so
  // assert what holds for every call: a get fails only after all its retries, and within
  // 200 gets one succeeds after a 500 (all 200 missing that: probability below 1e-50).
  setFaults(R"({"errorFraction":0.5})");
  bool retriedToSuccess = false;
  for (int i = 0; i < 200 && !retriedToSuccess; ++i) {
    resetCounters();
    auto r = client_->get(resources::kConfigMaps, "default", "x");
    int errors = counted("get", 500);
    if (r.has_value()) {
      retriedToSuccess = errors >= 1;
    } else {
      EXPECT_EQ(errors, 1 + testing::fastOptions().maxRetries);
    }
  }
  EXPECT_TRUE(retriedToSuccess);
}

TEST_P(HttpClientTest, KeepAliveReusesOneConnection) {
  size_t before = client_->connectionsOpened();
  for (int i = 0; i < 20; ++i) {
    auto r = client_->get(resources::kNamespaces, "", "default");
    ASSERT_TRUE(r.has_value()) << r.error().message;
  }
  EXPECT_LE(client_->connectionsOpened() - before, 1u);
}

TEST_P(HttpClientTest, ConcurrentCallersFromManyThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        std::string name = "c-" + std::to_string(t) + "-" + std::to_string(i);
        if (client_->create(resources::kConfigMaps, "default", configMap("default", name)) &&
            client_->get(resources::kConfigMaps, "default", name)) {
          ++ok;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 80);
  EXPECT_LE(client_->connectionsOpened(), 16u + 1u);
}

TEST_P(HttpClientTest, RateLimiterSpacesRequests) {
  auto options = testing::fastOptions();
  options.qps = 20;
  options.burst = 1;
  auto limited = testing::clientFor(*emu_, options);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(limited->get(resources::kNamespaces, "", "default"));
  // Five waits of 50 ms after the first token.
  EXPECT_GE(std::chrono::steady_clock::now() - start, 240ms);
}

TEST_P(HttpClientTest, UrgentRequestsGoAheadOfTheRateLimiterQueue) {
  auto options = testing::fastOptions();
  options.qps = 0.01;  // a token every 100 s
  options.burst = 1;
  auto limited = testing::clientFor(*emu_, options);
  ASSERT_TRUE(limited->get(resources::kNamespaces, "", "default"));  // spends the burst
  // A routine request now waits 100 s for its token; an urgent one goes at once.
  auto urgent = std::async(std::launch::async, [&] {
    UrgentRequestScope scope;
    return limited->get(resources::kNamespaces, "", "default");
  });
  if (urgent.wait_for(30s) != std::future_status::ready) {
    limited->shutdown();
    FAIL() << "the urgent request waited in the rate limiter";
  }
  auto r = urgent.get();
  ASSERT_TRUE(r.has_value()) << r.error().message;
  // The urgent request's token is paid for by the routine request after it, which is
  // still waiting (for 200 s) when the client shuts down.
  auto routine = std::async(std::launch::async,
                            [&] { return limited->get(resources::kNamespaces, "", "default"); });
  EXPECT_EQ(routine.wait_for(200ms), std::future_status::timeout);
  limited->shutdown();
  auto cancelled = routine.get();
  ASSERT_FALSE(cancelled.has_value());
  EXPECT_TRUE(isCancelled(cancelled.error())) << cancelled.error().message;
}

TEST_P(HttpClientTest, UnreachableServerIsATransportError) {
  RestConfig config;
  config.host = "http://127.0.0.1:1";
  auto options = testing::fastOptions();
  options.maxRetries = 2;
  auto c = HttpClient::create(config, options);
  ASSERT_TRUE(c.has_value());
  auto r = (*c)->get(resources::kNamespaces, "", "default");
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(isTransportError(r.error())) << r.error().message;
}

TEST_P(HttpClientTest, RequestTimeout) {
  setFaults(R"({"latencyMs":2000})");
  auto options = testing::fastOptions();
  options.requestTimeout = 200ms;
  options.maxRetries = 0;
  auto slow = testing::clientFor(*emu_, options);
  auto r = slow->get(resources::kNamespaces, "", "default");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reasonText, kReasonClientTimeout) << r.error().message;
  setFaults(R"({"latencyMs":0})");
}

TEST_P(HttpClientTest, MetricsHookSeesEveryAttempt) {
  std::mutex mu;
  std::vector<RequestMetric> seen;
  auto options = testing::fastOptions();
  options.metrics = [&](const RequestMetric& m) {
    std::lock_guard lock(mu);
    seen.push_back(m);
  };
  auto c = testing::clientFor(*emu_, options);
  ASSERT_TRUE(c->create(resources::kConfigMaps, "default", configMap("default", "m")));
  ASSERT_FALSE(c->get(resources::kReplicaSets, "default", "missing"));
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].verb, "create");
  EXPECT_EQ(seen[0].resource, "configmaps");
  EXPECT_EQ(seen[0].code, 201);
  EXPECT_EQ(seen[1].verb, "get");
  EXPECT_EQ(seen[1].resource, "replicasets.apps");
  EXPECT_EQ(seen[1].code, 404);
}

INSTANTIATE_TEST_SUITE_P(Emulator, HttpClientTest, ::testing::Bool(), testing::tlsName);

// ---- TLS and authentication ----

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    emu_ = std::make_unique<emulator::Emulator>(testing::emulatorOptions(true));
    emu_->start();
  }
  std::unique_ptr<emulator::Emulator> emu_;
  testing::TempDir dir_;
};

TEST_F(TlsTest, VerifiesTheServerCertificate) {
  RestConfig config = testing::restConfigFor(*emu_);
  config.caData.clear();  // the system CAs do not know the emulator's CA
  auto options = testing::fastOptions();
  options.maxRetries = 0;
  auto c = HttpClient::create(config, options);
  ASSERT_TRUE(c.has_value());
  auto r = (*c)->get(resources::kNamespaces, "", "default");
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(isTransportError(r.error())) << r.error().message;

  // The name checked must match the certificate (127.0.0.1 / localhost).
  config = testing::restConfigFor(*emu_);
  config.tlsServerName = "kubernetes.default.svc";
  c = HttpClient::create(config, options);
  ASSERT_TRUE(c.has_value());
  r = (*c)->get(resources::kNamespaces, "", "default");
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(isTransportError(r.error())) << r.error().message;

  config.tlsServerName = "localhost";
  c = HttpClient::create(config, options);
  ASSERT_TRUE(c.has_value());
  r = (*c)->get(resources::kNamespaces, "", "default");
  EXPECT_TRUE(r.has_value()) << r.error().message;

  config = testing::restConfigFor(*emu_);
  config.caData.clear();
  config.insecure = true;
  c = HttpClient::create(config, options);
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE((*c)->get(resources::kNamespaces, "", "default").has_value());
}

TEST_F(TlsTest, BadCaIsAConfigurationError) {
  RestConfig config = testing::restConfigFor(*emu_);
  config.caData = "not a certificate";
  auto c = HttpClient::create(config);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().reasonText, kReasonCredentials);
}

TEST_F(TlsTest, WrongTokenIsUnauthorized) {
  RestConfig config = testing::restConfigFor(*emu_);
  config.bearerToken = "wrong";
  auto c = HttpClient::create(config, testing::fastOptions());
  ASSERT_TRUE(c.has_value());
  auto r = (*c)->get(resources::kNamespaces, "", "default");
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(isUnauthorized(r.error())) << r.error().message;
}

// An exec plugin whose first credential is rejected: the 401 drops it, the plugin runs
// again and the request is repeated once with the fresh token.
TEST_F(TlsTest, ExecCredentialPluginWithReauthenticationOn401) {
  std::string script =
      "#!/bin/sh\n"
      "n=$(cat \"$OUT/count\" 2>/dev/null || echo 0)\n"
      "n=$((n + 1))\n"
      "echo \"$n\" > \"$OUT/count\"\n"
      "if [ \"$n\" = 1 ]; then token=expired; else token=\"$GOOD\"; fi\n"
      "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\","
      "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s\"}}' \"$token\"\n";
  std::string plugin = dir_.write("bin/plugin", script, true);
  std::string kubeconfig =
      "apiVersion: v1\nkind: Config\ncurrent-context: emu\n"
      "clusters:\n- name: emu\n  cluster:\n    server: " +
      emu_->url() + "\n    certificate-authority-data: " + base64Encode(emu_->caCertPem()) +
      "\ncontexts:\n- name: emu\n  context: {cluster: emu, user: exec}\n"
      "users:\n- name: exec\n  user:\n    exec:\n      apiVersion: "
      "client.authentication.k8s.io/v1\n      command: " +
      plugin +
      "\n      interactiveMode: Never\n      env:\n      - {name: OUT, value: " + dir_.path() +
      "}\n      - {name: GOOD, value: " + emu_->token() + "}\n";
  auto kc = parseKubeconfig(kubeconfig, dir_.file("kubeconfig"));
  ASSERT_TRUE(kc.has_value()) << kc.error().toString();
  auto rc = buildRestConfig(*kc);
  ASSERT_TRUE(rc.has_value()) << rc.error().toString();
  ASSERT_NE(rc->execProvider, nullptr);
  auto c = HttpClient::create(*rc, testing::fastOptions());
  ASSERT_TRUE(c.has_value());
  auto r = (*c)->get(resources::kNamespaces, "", "default");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(rc->execProvider->runs(), 2);
  // The fresh credential is cached.
  ASSERT_TRUE((*c)->get(resources::kNamespaces, "", "default").has_value());
  EXPECT_EQ(rc->execProvider->runs(), 2);
}

TEST_F(TlsTest, ShutdownEndsCallsInFlight) {
  auto c = testing::clientFor(*emu_);
  // A watch blocked in next() ends with isCancelled when the client shuts down.
  ListOptions o;
  o.resourceVersion = "1";
  auto w = c->watch(resources::kConfigMaps, "default", o);
  ASSERT_TRUE(w.has_value()) << w.error().message;
  auto pending = std::async(std::launch::async, [&] { return (*w)->next(); });
  c->shutdown();
  auto r = pending.get();
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(isCancelled(r.error())) << r.error().message;
  auto after = c->get(resources::kNamespaces, "", "default");
  ASSERT_FALSE(after.has_value());
  EXPECT_TRUE(isCancelled(after.error()));
}

}  // namespace
}  // namespace canaryd::kube
