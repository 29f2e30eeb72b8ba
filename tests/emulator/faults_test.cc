// Fault injection, request accounting, protobuf bodies and TLS with a bearer token.
#include "emulator_test_fixture.h"

namespace canaryd::emulator::testing {
namespace {

const char* kConfigMaps = "/api/v1/namespaces/default/configmaps";

TEST_F(EmulatorTest, InjectedErrorsAndThrottling) {
  auto set = send(port_, "PUT", "/_emulator/faults", R"({"errorFraction":1})");
  ASSERT_EQ(set.status, 200u) << set.body;
  auto r = get(port_, kConfigMaps);
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(str(r.json(), "reason"), "InternalError");
  send(port_, "PUT", "/_emulator/faults",
       R"({"errorFraction":0,"throttleFraction":1,"retryAfterSeconds":7})");
  r = get(port_, kConfigMaps);
  EXPECT_EQ(r.status, 429u);
  EXPECT_EQ(r.retryAfter, "7");
  EXPECT_EQ(str(r.json(), "reason"), "TooManyRequests");
  EXPECT_EQ(num(r.json(), "details.retryAfterSeconds"), 7);
  send(port_, "PUT", "/_emulator/faults", R"({"throttleFraction":0})");
  EXPECT_EQ(get(port_, kConfigMaps).status, 200u);
  EXPECT_EQ(send(port_, "PUT", "/_emulator/faults", R"({"errorFraction":2})").status, 400u);
  EXPECT_EQ(send(port_, "PUT", "/_emulator/faults", R"({"nope":1})").status, 400u);
}

TEST_F(EmulatorTest, InjectedLatency) {
  send(port_, "PUT", "/_emulator/faults", R"({"latencyMs":150})");
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(get(port_, kConfigMaps).status, 200u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
  EXPECT_EQ(num(get(port_, "/_emulator/faults").json(), "latencyMs"), 150);
}

TEST_F(EmulatorTest, RequestCounters) {
  send(port_, "DELETE", "/_emulator/counters", "");
  get(port_, kConfigMaps);
  get(port_, kConfigMaps);
  get(port_, std::string(kConfigMaps) + "/missing");
  send(port_, "POST", kConfigMaps, R"({"metadata":{"name":"x"}})");
  auto c = get(port_, "/_emulator/counters").json();
  auto count = [&](const std::string& verb, const std::string& resource, int code) {
    for (const auto& r : c["requests"].GetArray())
      if (str(r, "verb") == verb && str(r, "resource") == resource && num(r, "code") == code)
        return num(r, "count");
    return 0LL;
  };
  EXPECT_EQ(count("list", "configmaps", 200), 2);
  EXPECT_EQ(count("get", "configmaps", 404), 1);
  EXPECT_EQ(count("create", "configmaps", 201), 1);
  EXPECT_EQ(num(c, "total"), 4);
}

TEST_F(EmulatorTest, RequestLogRecordsEachRequestAndFiltersByUserAgent) {
  send(port_, "DELETE", "/_emulator/requests", "");
  auto call = [](std::string method, std::string target, std::string body) {
    Call c;
    c.method = std::move(method);
    c.target = std::move(target);
    c.body = std::move(body);
    c.contentType = c.method == "PATCH" ? "application/merge-patch+json" : "application/json";
    c.userAgent = "canaryd/0.1.0";
    return c;
  };
  EXPECT_EQ(request(port_, call("POST", kConfigMaps, R"({"metadata":{"name":"logged"}})")).status,
            201u);
  EXPECT_EQ(
      request(port_,
              call("PATCH", "/apis/apps/v1/namespaces/default/deployments/missing/status", "{}"))
          .status,
      404u);
  get(port_, kConfigMaps);  // another client
  auto generated =
      request(port_, call("POST", kConfigMaps, R"({"metadata":{"generateName":"gen-"}})"));
  ASSERT_EQ(generated.status, 201u);
  EXPECT_EQ(request(port_, call("POST", kConfigMaps, R"({"metadata":{"name":"logged"}})")).status,
            409u);

  auto all = get(port_, "/_emulator/requests").json();
  ASSERT_EQ(all["requests"].Size(), 5u);
  auto mine = get(port_, "/_emulator/requests?userAgent=canaryd%2F").json();
  ASSERT_EQ(mine["requests"].Size(), 4u);
  const auto& c = mine["requests"][0];
  EXPECT_EQ(str(c, "verb"), "create");
  EXPECT_EQ(str(c, "group"), "");
  EXPECT_EQ(str(c, "resource"), "configmaps");
  EXPECT_EQ(str(c, "subresource"), "");
  EXPECT_EQ(str(c, "namespace"), "default");
  EXPECT_EQ(str(c, "name"), "logged");  // from the body: a create's path has no name
  EXPECT_EQ(str(c, "userAgent"), "canaryd/0.1.0");
  EXPECT_EQ(num(c, "code"), 201);
  EXPECT_EQ(str(c, "time").size(), std::string("2026-01-02T03:04:05.123456Z").size());
  const auto& p = mine["requests"][1];
  EXPECT_EQ(str(p, "verb"), "patch");
  EXPECT_EQ(str(p, "group"), "apps");
  EXPECT_EQ(str(p, "resource"), "deployments");
  EXPECT_EQ(str(p, "subresource"), "status");
  EXPECT_EQ(str(p, "name"), "missing");
  EXPECT_EQ(num(p, "code"), 404);
  EXPECT_GE(num(p, "timeUnixMicros"), num(c, "timeUnixMicros"));
  // generateName: the name the server chose; refused: the name asked for.
  const std::string generatedName = str(generated.json(), "metadata.name");
  EXPECT_EQ(generatedName.rfind("gen-", 0), 0u) << generatedName;
  EXPECT_EQ(str(mine["requests"][2], "name"), generatedName);
  EXPECT_EQ(str(mine["requests"][3], "name"), "logged");
  EXPECT_EQ(num(mine["requests"][3], "code"), 409);

  send(port_, "DELETE", "/_emulator/requests", "");
  EXPECT_EQ(get(port_, "/_emulator/requests").json()["requests"].Size(), 0u);
}

TEST_F(EmulatorTest, DropWatchesNowAndPeriodically) {
  WatchStream w(port_, std::string(kConfigMaps) + "?watch=1&resourceVersion=0");
  ASSERT_TRUE(
      eventually([&] { return num(get(port_, "/_emulator/stats").json(), "watches") == 1; }));
  auto r = send(port_, "POST", "/_emulator/drop-watches", "");
  EXPECT_EQ(num(r.json(), "dropped"), 1);
  EXPECT_TRUE(w.waitForEnd());
  EXPECT_TRUE(w.broken());
  send(port_, "PUT", "/_emulator/faults", R"({"dropWatchesEverySeconds":1})");
  WatchStream w2(port_, std::string(kConfigMaps) + "?watch=1&resourceVersion=0");
  EXPECT_TRUE(w2.waitForEnd(std::chrono::seconds(5)));
  EXPECT_TRUE(w2.broken());
}

// Minimal protobuf encoding for the test's envelope.
std::string varint(uint64_t v) {
  std::string s;
  while (v >= 0x80) {
    s += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  s += static_cast<char>(v);
  return s;
}
std::string field(int number, const std::string& bytes) {
  return varint(static_cast<uint64_t>(number) << 3 | 2) + varint(bytes.size()) + bytes;
}

TEST_F(EmulatorTest, ProtobufSecretAndConfigMapBodies) {
  std::string meta =
      field(1, "sh.helm.release.v1.demo.v1") + field(11, field(1, "owner") + field(2, "helm"));
  std::string secret = field(1, meta) +
                       field(2, field(1, "release") + field(2, std::string("\x00\x01hi", 4))) +
                       field(3, "helm.sh/release.v1");
  std::string body = std::string("k8s\0", 4) + field(1, field(1, "v1") + field(2, "Secret")) +
                     field(2, secret) + field(3, "") + field(4, "");
  auto r = send(port_, "POST", "/api/v1/namespaces/default/secrets", body,
                "application/vnd.kubernetes.protobuf");
  ASSERT_EQ(r.status, 201u) << r.body;
  auto s = r.json();
  EXPECT_EQ(str(s, "metadata.name"), "sh.helm.release.v1.demo.v1");
  EXPECT_EQ(str(s, "metadata.labels.owner"), "helm");
  EXPECT_EQ(str(s, "data.release"), "AAFoaQ==");
  EXPECT_EQ(str(s, "type"), "helm.sh/release.v1");
  auto list = get(port_, "/api/v1/namespaces/default/secrets?labelSelector=owner%3Dhelm").json();
  EXPECT_EQ(list["items"].Size(), 1u);

  std::string cm = field(1, field(1, "cfg")) + field(2, field(1, "k") + field(2, "v"));
  body = std::string("k8s\0", 4) + field(1, field(1, "v1") + field(2, "ConfigMap")) + field(2, cm);
  r = send(port_, "POST", kConfigMaps, body, "application/vnd.kubernetes.protobuf");
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(str(r.json(), "data.k"), "v");
  // Kinds the decoder does not know are 415, as a server without protobuf for them.
  r = send(port_, "POST", "/apis/apps/v1/namespaces/default/deployments", body,
           "application/vnd.kubernetes.protobuf");
  EXPECT_EQ(r.status, 415u);
  r = send(port_, "POST", kConfigMaps, "garbage", "application/vnd.kubernetes.protobuf");
  EXPECT_EQ(r.status, 400u);
}

class TlsEmulatorTest : public EmulatorTest {
 protected:
  EmulatorOptions options() override {
    EmulatorOptions o = EmulatorTest::options();
    o.tls = true;
    return o;
  }
};

TEST_F(TlsEmulatorTest, HttpsWithBearerToken) {
  const std::string& ca = emulator_->caCertPem();
  ASSERT_FALSE(ca.empty());
  EXPECT_EQ(emulator_->url().rfind("https://127.0.0.1:", 0), 0u);
  Call c{"GET", "/api/v1/namespaces"};
  auto r = request(port_, c, ca);
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(str(r.json(), "reason"), "Unauthorized");
  c.token = emulator_->token();
  r = request(port_, c, ca);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(str(r.json(), "kind"), "NamespaceList");
  std::string kubeconfig = emulator_->kubeconfig();
  EXPECT_NE(kubeconfig.find("certificate-authority-data: "), std::string::npos);
  EXPECT_NE(kubeconfig.find("token: " + emulator_->token()), std::string::npos);
}

}  // namespace
}  // namespace canaryd::emulator::testing
