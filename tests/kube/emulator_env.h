// Test support: an in-process kube-emulator (plain HTTP, or TLS with a bearer token) on a
// free port and an HttpClient configured for it through its kubeconfig, as canaryd
// would be; fault and counter helpers over the emulator's /_emulator/ admin endpoints.
// For tests only; not synchronised.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "api/json.h"
#include "kube/config.h"
#include "kube/http_client.h"
#include "server.h"

namespace canaryd::kube::testing {

// Polls fn every 5 ms until it returns true or `deadline` passes.
inline bool eventually(const std::function<bool()>& fn,
                       std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  auto end = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    if (fn()) return true;
    if (std::chrono::steady_clock::now() >= end) return fn();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

inline emulator::EmulatorOptions emulatorOptions(bool tls) {
  emulator::EmulatorOptions o;
  o.tls = tls;
  o.controllers.readyDelay = std::chrono::milliseconds(50);
  o.bookmarkInterval = std::chrono::milliseconds(200);
  return o;
}

// The RestConfig canaryd would build from the emulator's kubeconfig.
inline RestConfig restConfigFor(const emulator::Emulator& emu) {
  auto kc = parseKubeconfig(emu.kubeconfig(), "/kube-emulator/kubeconfig");
  EXPECT_TRUE(kc.has_value()) << (kc ? "" : kc.error().toString());
  auto rc = buildRestConfig(*kc);
  EXPECT_TRUE(rc.has_value()) << (rc ? "" : rc.error().toString());
  return rc ? *rc : RestConfig{};
}

// Fast retries and no client-side rate limit, so that tests are quick.
inline HttpClientOptions fastOptions() {
  HttpClientOptions o;
  o.qps = 0;
  o.retryBaseDelay = std::chrono::milliseconds(5);
  o.retryMaxDelay = std::chrono::milliseconds(50);
  o.requestTimeout = std::chrono::seconds(10);
  return o;
}

inline std::unique_ptr<HttpClient> clientFor(const emulator::Emulator& emu,
                                             HttpClientOptions options = fastOptions()) {
  auto c = HttpClient::create(restConfigFor(emu), std::move(options));
  EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message);
  return c ? std::move(*c) : nullptr;
}

// A fixture parameterised on TLS: false = plain HTTP, true = HTTPS with a bearer token.
class EmulatorFixture : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    auto o = emulatorOptions(GetParam());
    customize(o);
    emu_ = std::make_unique<emulator::Emulator>(o);
    emu_->start();
    client_ = clientFor(*emu_, clientOptions());
    ASSERT_NE(client_, nullptr);
  }
  void TearDown() override {
    client_.reset();
    emu_.reset();
  }
  virtual void customize(emulator::EmulatorOptions&) {}
  virtual HttpClientOptions clientOptions() { return fastOptions(); }

  // PUT /_emulator/faults with a JSON object ({"errorFraction":0.05, ...}).
  void setFaults(const std::string& json) {
    auto r = client_->request("PUT", "/_emulator/faults", "application/json", json);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->status, 200) << r->body;
  }
  void resetCounters() {
    auto r = client_->request("DELETE", "/_emulator/counters");
    ASSERT_TRUE(r.has_value());
  }
  // Requests the emulator counted with this verb and code (any resource).
  long long counted(const std::string& verb, int code) {
    auto r = client_->request("GET", "/_emulator/counters");
    if (!r) return -1;
    auto doc = api::parseJson(r->body);
    if (!doc || !doc->IsObject() || !doc->HasMember("requests")) return -1;
    long long n = 0;
    for (const auto& e : (*doc)["requests"].GetArray()) {
      if (e["verb"].GetString() == verb && e["code"].GetInt() == code) n += e["count"].GetInt64();
    }
    return n;
  }
  void ensureNamespace(const std::string& name) {
    auto ns = api::parseJson(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":")" +
                             name + "\"}}");
    auto r = client_->create(resources::kNamespaces, "", *ns);
    ASSERT_TRUE(r || isAlreadyExists(r.error())) << r.error().message;
  }
  void post(const std::string& path) {
    auto r = client_->request("POST", path);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->status, 200) << r->body;
  }

  std::unique_ptr<emulator::Emulator> emu_;
  std::unique_ptr<HttpClient> client_;
};

inline std::string tlsName(const ::testing::TestParamInfo<bool>& info) {
  return info.param ? "Tls" : "Plain";
}

// A ConfigMap document.
inline rapidjson::Document configMap(const std::string& ns, const std::string& name,
                                     const std::string& value = "v") {
  auto doc = api::parseJson(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":")" + name +
                            R"(","namespace":")" + ns + R"("},"data":{"k":")" + value + R"("}})");
  return std::move(*doc);
}

}  // namespace canaryd::kube::testing
