// Informer benchmark: ReplicaSets of a realistic size (a full pod template, managedFields,
// last-applied annotation; ~5 KB of JSON each) served by an in-process kube-emulator,
// cached by a SharedInformer with the ReplicaSet trimming transform. Prints a table:
// informer memory per object (RSS delta after the sync, and the bytes the cache accounts
// for), list + sync time, and watch events processed per second.
//   canaryd_informer_bench [--objects N] [--updates M] [--page-size P]
// Figures depend on the machine; nothing here asserts a time.
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "api/json.h"
#include "informer/informer.h"
#include "informer/transform.h"
#include "kube/config.h"
#include "kube/http_client.h"
#include "server.h"

namespace {

using namespace std::chrono_literals;
using canaryd::emulator::ApiServer;
using canaryd::emulator::Emulator;
using canaryd::emulator::EmulatorOptions;
using canaryd::emulator::Request;
using canaryd::emulator::Response;
using Steady = std::chrono::steady_clock;

long rssBytes() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

long settledRss() {
  malloc_trim(0);
  return rssBytes();
}

std::string replicaSet(int i, const std::string& ownerUid) {
  std::string n = std::to_string(i);
  std::string hash = "h" + std::to_string(100000 + i);
  std::string env;
  for (int e = 0; e < 30; ++e) {
    env += std::string(e ? "," : "") + R"({"name":"SETTING_)" + std::to_string(e) +
           R"(","value":"value-of-setting-number-)" + std::to_string(e) + R"("})";
  }
  std::string lastApplied =
      R"({\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{\"name\":\"web-)" + n +
      R"(\"},\"spec\":{\"replicas\":3,\"template\":{\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"registry.example.com/shop/web:1.2.3\"}]}}}})";
  return R"({"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web-)" + n +
         R"(","namespace":"bench","labels":{"app":"web","team":"shop","canaryd.io/pod-template-hash":")" +
         hash + R"("},"annotations":{"kubectl.kubernetes.io/last-applied-configuration":")" +
         lastApplied +
         R"(","deployment.kubernetes.io/revision":"7"},"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"web","uid":")" +
         ownerUid +
         R"(","controller":true,"blockOwnerDeletion":true}],)"
         R"("managedFields":[{"manager":"canaryd","operation":"Update","apiVersion":"apps/v1","time":"2024-01-01T00:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{".":{},"f:app":{},"f:team":{}},"f:ownerReferences":{".":{},"k:{\"uid\":\"6c1f\"}":{}}},"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:env":{},"f:image":{},"f:name":{},"f:ports":{},"f:resources":{}}}}}}}}]},)"
         R"("spec":{"replicas":3,"selector":{"matchLabels":{"app":"web","canaryd.io/pod-template-hash":")" +
         hash +
         R"("}},"template":{"metadata":{"labels":{"app":"web","team":"shop","canaryd.io/pod-template-hash":")" +
         hash +
         R"("},"annotations":{"prometheus.io/scrape":"true","prometheus.io/port":"9090"}},"spec":{"serviceAccountName":"web","terminationGracePeriodSeconds":30,)"
         R"("containers":[{"name":"app","image":"registry.example.com/shop/web:1.2.3","imagePullPolicy":"IfNotPresent","ports":[{"name":"http","containerPort":8080,"protocol":"TCP"},{"name":"metrics","containerPort":9090,"protocol":"TCP"}],)"
         R"("env":[)" +
         env +
         R"(],"resources":{"requests":{"cpu":"250m","memory":"256Mi"},"limits":{"cpu":"1","memory":"512Mi"}},)"
         R"("readinessProbe":{"httpGet":{"path":"/readyz","port":"http"},"initialDelaySeconds":5,"periodSeconds":10},"livenessProbe":{"httpGet":{"path":"/healthz","port":"http"},"initialDelaySeconds":15,"periodSeconds":20},)"
         R"("volumeMounts":[{"name":"config","mountPath":"/etc/web"},{"name":"cache","mountPath":"/var/cache/web"}]},)"
         R"({"name":"proxy","image":"registry.example.com/envoy:1.29","args":["--config-path","/etc/envoy/envoy.yaml","--log-level","info"],"ports":[{"name":"admin","containerPort":9901}],"resources":{"requests":{"cpu":"100m","memory":"64Mi"}}}],)"
         R"("volumes":[{"name":"config","configMap":{"name":"web-config"}},{"name":"cache","emptyDir":{"sizeLimit":"1Gi"}}],)"
         R"("affinity":{"podAntiAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":100,"podAffinityTerm":{"labelSelector":{"matchLabels":{"app":"web"}},"topologyKey":"kubernetes.io/hostname"}}]}}}}}})";
}

long argValue(int argc, char** argv, const char* flag, long fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], flag) == 0) return std::atol(argv[i + 1]);
  }
  return fallback;
}

// A request to the emulator's ApiServer (members by name: the struct grows).
Request apiRequest(std::string method, std::string path, std::string contentType,
                   std::string body) {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.contentType = std::move(contentType);
  r.accept = "application/json";
  r.body = std::move(body);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const long objects = argValue(argc, argv, "--objects", 10000);
  const long updates = argValue(argc, argv, "--updates", 20000);
  const long pageSize = argValue(argc, argv, "--page-size", 500);
  spdlog::set_level(spdlog::level::warn);

  EmulatorOptions eo;
  eo.api.historyLimit = static_cast<size_t>(objects + updates + 100);
  eo.controllers.readyDelay = std::chrono::hours(1);  // no status churn during the run
  Emulator emu(eo);
  emu.start();

  size_t jsonBytes = 0;
  auto seedStart = Steady::now();
  emu.invoke([&](ApiServer& api) {
    Request ns =
        apiRequest("POST", "/api/v1/namespaces", "application/json",
                   R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"bench"}})");
    api.handle(ns);
    // The owner must exist, or the emulator's garbage collector removes the ReplicaSets.
    Request owner =
        apiRequest("POST", "/api/v1/namespaces/bench/configmaps", "application/json",
                   R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"web"}})");
    auto created = api.handle(owner);
    auto doc = canaryd::api::parseJson(std::get<Response>(created).body);
    std::string ownerUid = (*doc)["metadata"]["uid"].GetString();
    for (long i = 0; i < objects; ++i) {
      Request r = apiRequest("POST", "/apis/apps/v1/namespaces/bench/replicasets",
                             "application/json", replicaSet(static_cast<int>(i), ownerUid));
      jsonBytes += r.body.size();
      auto out = api.handle(r);
      auto* res = std::get_if<Response>(&out);
      if (!res || res->status != 201) {
        std::fprintf(stderr, "seeding failed: %s\n", res ? res->body.c_str() : "watch");
        std::exit(1);
      }
    }
  });
  double seedSeconds = std::chrono::duration<double>(Steady::now() - seedStart).count();

  auto kc = canaryd::kube::parseKubeconfig(emu.kubeconfig(), "/bench/kubeconfig");
  auto rc = canaryd::kube::buildRestConfig(*kc);
  canaryd::kube::HttpClientOptions co;
  co.qps = 0;
  auto client = canaryd::kube::HttpClient::create(*rc, co);
  if (!client) {
    std::fprintf(stderr, "client: %s\n", client.error().message.c_str());
    return 1;
  }

  canaryd::informer::ReflectorOptions ro;
  ro.resource = canaryd::kube::resources::kReplicaSets;
  ro.namespace_ = "bench";
  ro.pageSize = pageSize;
  // Warm the emulator's list path first (in this process too), so that the RSS delta
  // below is the informer's, not the server's buffers.
  {
    canaryd::kube::ListOptions lo;
    lo.limit = pageSize;
    do {
      auto page = (*client)->list(canaryd::kube::resources::kReplicaSets, "bench", lo);
      if (!page) break;
      lo.continueToken = page->continueToken;
    } while (!lo.continueToken.empty());
  }
  long rssBefore = settledRss();
  auto informer =
      std::make_unique<canaryd::informer::SharedInformer<canaryd::informer::CachedObject>>(
          **client, ro,
          canaryd::informer::cachedObjectTransform(&canaryd::informer::trimReplicaSet),
          canaryd::informer::defaultIndexers<canaryd::informer::CachedObject>());
  auto syncStart = Steady::now();
  informer->start();
  if (!informer->waitForCacheSync(600s)) {
    std::fprintf(stderr, "the informer did not sync\n");
    return 1;
  }
  double syncSeconds = std::chrono::duration<double>(Steady::now() - syncStart).count();
  long rssAfter = settledRss();
  size_t cachedBytes = 0;
  for (const auto& obj : informer->store().list()) cachedBytes += obj->bytes();
  size_t cached = informer->store().size();

  // Watch throughput: the emulator queues `updates` MODIFIED events at once (written
  // on its thread, so they are streamed only after the batch), then the informer
  // decodes, transforms and stores them.
  uint64_t eventsBefore = informer->stats().events;
  auto writeStart = Steady::now();
  emu.invoke([&](ApiServer& api) {
    for (long i = 0; i < updates; ++i) {
      Request r = apiRequest(
          "PATCH", "/apis/apps/v1/namespaces/bench/replicasets/web-" + std::to_string(i % objects),
          "application/merge-patch+json",
          R"({"metadata":{"labels":{"round":")" + std::to_string(i / objects) + "\"}}}");
      api.handle(r);
    }
  });
  auto streamStart = Steady::now();
  double writeSeconds = std::chrono::duration<double>(streamStart - writeStart).count();
  while (informer->stats().events - eventsBefore < static_cast<uint64_t>(updates)) {
    if (Steady::now() - streamStart > 600s) {
      std::fprintf(stderr, "the informer did not see every event\n");
      return 1;
    }
    std::this_thread::sleep_for(1ms);
  }
  double streamSeconds = std::chrono::duration<double>(Steady::now() - streamStart).count();
  informer->stop();

  std::printf(
      "informer benchmark: %ld ReplicaSets, %.1f KB of JSON each (%.1f MB), page size %ld\n",
      objects, static_cast<double>(jsonBytes) / objects / 1024.0,
      static_cast<double>(jsonBytes) / 1e6, pageSize);
  std::printf("| %-44s | %14s |\n", "measure", "value");
  std::printf("|%s|%s|\n", std::string(46, '-').c_str(), std::string(16, '-').c_str());
  std::printf("| %-44s | %14zu |\n", "objects cached", cached);
  std::printf("| %-44s | %11.0f B  |\n", "informer RSS delta per object",
              static_cast<double>(rssAfter - rssBefore) / static_cast<double>(objects));
  std::printf("| %-44s | %11.0f B  |\n", "cached bytes per object (accounted)",
              static_cast<double>(cachedBytes) / static_cast<double>(cached ? cached : 1));
  std::printf("| %-44s | %11.0f MB |\n", "informer RSS delta total",
              static_cast<double>(rssAfter - rssBefore) / 1e6);
  std::printf("| %-44s | %12.3f s |\n", "list + sync time", syncSeconds);
  std::printf("| %-44s | %12.0f /s |\n", "objects listed per second",
              static_cast<double>(objects) / syncSeconds);
  std::printf("| %-44s | %12ld   |\n", "watch events (MODIFIED)", updates);
  std::printf("| %-44s | %12.0f /s |\n", "watch events processed per second",
              static_cast<double>(updates) / streamSeconds);
  std::printf("| %-44s | %12.3f s |\n", "(emulator: seeding the objects)", seedSeconds);
  std::printf("| %-44s | %12.3f s |\n", "(emulator: writing the updates)", writeSeconds);
  return 0;
}
