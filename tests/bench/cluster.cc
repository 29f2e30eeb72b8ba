#include "cluster.h"

#include <fcntl.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "api/decode.h"
#include "api/json.h"
#include "controller/pod_template_hash.h"
#include "kube/config.h"

namespace canaryd::bench {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

int64_t realtimeMicros() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

[[noreturn]] static void die(const std::string& why) {
  std::fprintf(stderr, "bench: %s\n", why.c_str());
  std::exit(1);
}

// ---- Flags ----

Flags::Flags(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) die("unexpected argument " + a);
    auto eq = a.find('=');
    if (eq != std::string::npos) {
      values_[a.substr(2, eq - 2)] = a.substr(eq + 1);
    } else if (i + 1 < argc) {
      values_[a.substr(2)] = argv[++i];
    } else {
      die("flag " + a + " needs a value");
    }
  }
}

std::string Flags::str(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}
long Flags::num(const std::string& name, long fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : std::stol(it->second);
}
double Flags::real(const std::string& name, double fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : std::stod(it->second);
}

// ---- objects ----

std::string podTemplateJson(const std::string& name, const std::string& image) {
  std::string env;
  for (int e = 0; e < 16; ++e) {
    env += std::string(e ? "," : "") + R"({"name":"SETTING_)" + std::to_string(e) +
           R"(","value":"value-of-setting-number-)" + std::to_string(e) + R"("})";
  }
  env +=
      R"(,{"name":"DB_PASSWORD","valueFrom":{"secretKeyRef":{"name":")" + name +
      R"(-db","key":"password"}}},{"name":"POD_NAME","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}})";
  return R"({"metadata":{"labels":{"app":")" + name +
         R"(","team":"shop","tier":"web"},"annotations":{"prometheus.io/scrape":"true","prometheus.io/port":"9090"}},)"
         R"("spec":{"serviceAccountName":")" +
         name +
         R"(","terminationGracePeriodSeconds":30,"securityContext":{"runAsNonRoot":true,"runAsUser":10001,"fsGroup":10001},)"
         R"("containers":[{"name":"app","image":")" +
         image +
         R"(","imagePullPolicy":"IfNotPresent","ports":[{"name":"http","containerPort":8080,"protocol":"TCP"},{"name":"metrics","containerPort":9090,"protocol":"TCP"}],)"
         R"("env":[)" +
         env +
         R"(],"resources":{"requests":{"cpu":"250m","memory":"256Mi"},"limits":{"cpu":"1","memory":"512Mi"}},)"
         R"("readinessProbe":{"httpGet":{"path":"/readyz","port":"http"},"initialDelaySeconds":5,"periodSeconds":10,"failureThreshold":3},)"
         R"("livenessProbe":{"httpGet":{"path":"/healthz","port":"http"},"initialDelaySeconds":15,"periodSeconds":20},)"
         R"("startupProbe":{"httpGet":{"path":"/healthz","port":"http"},"failureThreshold":30,"periodSeconds":2},)"
         R"("volumeMounts":[{"name":"config","mountPath":"/etc/app"},{"name":"cache","mountPath":"/var/cache/app"}]},)"
         R"({"name":"proxy","image":"registry.example.com/envoy:1.29.1","args":["--config-path","/etc/envoy/envoy.yaml","--log-level","info"],)"
         R"("ports":[{"name":"admin","containerPort":9901}],"resources":{"requests":{"cpu":"100m","memory":"64Mi"},"limits":{"memory":"128Mi"}},)"
         R"("readinessProbe":{"httpGet":{"path":"/ready","port":"admin"},"periodSeconds":5}},)"
         R"({"name":"log-shipper","image":"registry.example.com/fluent-bit:3.0","resources":{"requests":{"cpu":"20m","memory":"32Mi"}},)"
         R"("volumeMounts":[{"name":"logs","mountPath":"/var/log/app","readOnly":true}]}],)"
         R"("volumes":[{"name":"config","configMap":{"name":")" +
         name +
         R"(-config"}},{"name":"cache","emptyDir":{"sizeLimit":"1Gi"}},{"name":"logs","emptyDir":{}}],)"
         R"("affinity":{"podAntiAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":100,"podAffinityTerm":{"labelSelector":{"matchLabels":{"app":")" +
         name + R"("}},"topologyKey":"kubernetes.io/hostname"}}]}}}})";
}

static std::string imageFor(const std::string& name, const std::string& tag) {
  return "registry.example.com/shop/" + name + ":" + tag;
}

RolloutShape analysedNginxShape() {
  RolloutShape shape;
  shape.nginx = true;
  shape.steps = {R"({"setWeight":10})", R"({"pause":{"duration":"1m"}})", R"({"setWeight":50})",
                 R"({"pause":{}})"};
  shape.backgroundAnalysis =
      R"({"startingStep":1,"interval":"30s","prometheus":{"address":"PROMETHEUS"},"metrics":[)"
      R"({"name":"error-rate","template":"error-rate","max":0.01},)"
      R"({"name":"latency-p95","template":"latency-p95","max":0.3}]})";
  return shape;
}

std::string rolloutJson(const std::string& ns, const std::string& name, const RolloutShape& shape,
                        const std::string& prometheusAddress) {
  std::string steps;
  for (const auto& s : shape.steps) steps += (steps.empty() ? "" : ",") + s;
  std::string canary = R"({"stableService":")" + name + R"(-stable","canaryService":")" + name +
                       R"(-canary","scaleDownDelaySeconds":0,"abortScaleDownDelaySeconds":0)";
  if (shape.nginx) canary += R"(,"trafficRouting":{"nginx":{"stableIngress":")" + name + R"("}})";
  if (!shape.backgroundAnalysis.empty()) canary += R"(,"analysis":)" + shape.backgroundAnalysis;
  canary += R"(,"steps":[)" + steps + "]}";
  std::string base =
      R"({"apiVersion":"canaryd.io/v1alpha1","kind":"Rollout","metadata":{"name":")" + name +
      R"(","namespace":")" + ns + R"(","labels":{"app":")" + name +
      R"(","team":"shop"}},"spec":{"replicas":)" + std::to_string(shape.replicas) +
      R"(,"revisionHistoryLimit":2,"progressDeadlineSeconds":600,"selector":{"matchLabels":{"app":")" +
      name + R"("}},"template":)" + podTemplateJson(name, imageFor(name, "1")) +
      R"(,"strategy":{"canary":)" + canary + "}}}";
  // Analyses name the Prometheus as PROMETHEUS.
  for (auto at = base.find("PROMETHEUS"); at != std::string::npos; at = base.find("PROMETHEUS"))
    base.replace(at, 10, prometheusAddress);
  // As `kubectl apply` leaves it: the whole manifest again in an annotation.
  auto doc = api::parseJson(base);
  if (!doc) die("rollout JSON does not parse: " + base);
  auto& a = doc->GetAllocator();
  rapidjson::Value ann(rapidjson::kObjectType);
  ann.AddMember("kubectl.kubernetes.io/last-applied-configuration",
                rapidjson::Value(base.c_str(), static_cast<rapidjson::SizeType>(base.size()), a),
                a);
  (*doc)["metadata"].AddMember("annotations", ann, a);
  return api::toJson(*doc);
}

// A Service as canaryd leaves it: selector pinned to `hash`, managed-by the Rollout `app`.
static std::string serviceJson(const std::string& ns, const std::string& name,
                               const std::string& app, const std::string& hash) {
  return R"({"apiVersion":"v1","kind":"Service","metadata":{"name":")" + name +
         R"(","namespace":")" + ns + R"(","labels":{"app":")" + app +
         R"("},"annotations":{"canaryd.io/managed-by":")" + app +
         R"("}},"spec":{"type":"ClusterIP","selector":{"app":")" + app +
         R"(","canaryd.io/pod-template-hash":")" + hash +
         R"("},"ports":[{"name":"http","port":80,"targetPort":"http","protocol":"TCP"}]}})";
}

static std::string ingressJson(const std::string& ns, const std::string& name) {
  return R"({"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":")" + name +
         R"(","namespace":")" + ns +
         R"(","annotations":{"nginx.ingress.kubernetes.io/proxy-body-size":"8m"}},"spec":{"ingressClassName":"nginx",)"
         R"("tls":[{"hosts":[")" +
         name + R"(.shop.example.com"],"secretName":")" + name + R"(-tls"}],"rules":[{"host":")" +
         name +
         R"(.shop.example.com","http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":")" +
         name + R"(-stable","port":{"number":80}}}}]}}]}})";
}

static std::string replicaSetJson(const RolloutRef& r, const std::string& templateJson,
                                  int replicas) {
  // The template with the hash label added, as canaryd writes it.
  auto tpl = api::parseJson(templateJson);
  if (!tpl) die("template JSON does not parse");
  auto& a = tpl->GetAllocator();
  (*tpl)["metadata"]["labels"].AddMember("canaryd.io/pod-template-hash",
                                         rapidjson::Value(r.stableHash.c_str(), a), a);
  return R"({"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":")" + r.name + "-" +
         r.stableHash + R"(","namespace":")" + r.ns +
         R"(","annotations":{"canaryd.io/revision":"1"},"labels":{"app":")" + r.name +
         R"(","canaryd.io/pod-template-hash":")" + r.stableHash +
         R"(","team":"shop","tier":"web"},"ownerReferences":[{"apiVersion":"canaryd.io/v1alpha1","kind":"Rollout","name":")" +
         r.name + R"(","uid":")" + r.uid +
         R"(","controller":true,"blockOwnerDeletion":true}]},"spec":{"replicas":)" +
         std::to_string(replicas) + R"(,"selector":{"matchLabels":{"app":")" + r.name +
         R"(","canaryd.io/pod-template-hash":")" + r.stableHash + R"("}},"template":)" +
         api::toJson(*tpl) + "}}";
}

// ---- Cluster ----

Cluster::Cluster(ClusterOptions options) : options_(std::move(options)) {
  char dir[] = "/tmp/canaryd-bench-XXXXXX";
  if (!mkdtemp(dir)) die("mkdtemp failed");
  workDir_ = dir;
  emulator::EmulatorOptions eo;
  // Long enough that no watch of the run is ever answered 410 Gone.
  eo.api.historyLimit = 2'000'000;
  eo.controllers.readyDelay = options_.readyDelay;
  emu_ = std::make_unique<emulator::Emulator>(eo);
  emu_->start();
  kubeconfigPath_ = workDir_ + "/kubeconfig";
  std::ofstream(kubeconfigPath_) << emu_->kubeconfig();

  auto kc = kube::parseKubeconfig(emu_->kubeconfig(), kubeconfigPath_);
  if (!kc) die("kubeconfig");
  auto rc = kube::buildRestConfig(*kc);
  if (!rc) die("rest config");
  kube::HttpClientOptions co;
  co.qps = 0;
  co.maxIdleConnections = 128;
  co.userAgent = "bench-client/1";
  auto client = kube::HttpClient::create(*rc, co);
  if (!client) die("client: " + client.error().message);
  client_ = std::move(*client);

  for (const auto& entry : fs::directory_iterator(options_.sourceDir + "/crds")) {
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    auto docs = api::parseYamlDocuments(text.str());
    if (!docs) die("cannot parse " + entry.path().string());
    for (const auto& d : *docs) {
      auto [code, body] =
          handle("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", api::toJson(d));
      if (code != 201) die("CRD not created: " + body);
    }
  }
}

Cluster::~Cluster() {
  client_->shutdown();
  client_.reset();
  emu_->stop();
  emu_.reset();
  if (!std::getenv("BENCH_KEEP")) fs::remove_all(workDir_);
}

std::pair<unsigned, std::string> Cluster::handle(const std::string& method, const std::string& path,
                                                 const std::string& body,
                                                 const std::string& contentType) {
  std::pair<unsigned, std::string> out;
  emu_->invoke([&](emulator::ApiServer& api) {
    emulator::Request r;
    r.method = method;
    r.path = path;
    r.contentType = contentType;
    r.accept = "application/json";
    r.body = body;
    auto res = api.handle(r);
    if (auto* rr = std::get_if<emulator::Response>(&res)) out = {rr->status, rr->body};
  });
  return out;
}

std::vector<RolloutRef> Cluster::seed(int n, const RolloutShape& shape, const std::string& prefix,
                                      int namespaces, const std::string& prometheusAddress) {
  namespaces = std::max(1, std::min(namespaces, n));
  std::vector<std::string> nsNames;
  for (int k = 0; k < namespaces; ++k) {
    nsNames.push_back(prefix + "-ns-" + std::to_string(k));
    handle("POST", "/api/v1/namespaces",
           R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":")" + nsNames.back() +
               R"("}})");
  }
  auto count = [this](const std::string& kind, const std::string& body) {
    bytes_[kind].first += static_cast<double>(body.size());
    bytes_[kind].second += 1;
  };
  std::vector<RolloutRef> refs;
  refs.reserve(n);
  // Many Rollouts per call on the emulator's thread: its simulated controllers run between
  // calls, and each of their passes looks at every ReplicaSet.
  constexpr int kBatch = 250;
  for (int first = 0; first < n; first += kBatch) {
    emu_->invoke([&](emulator::ApiServer& api) {
      auto call = [&api](const std::string& path, const std::string& body) {
        emulator::Request q;
        q.method = "POST";
        q.path = path;
        q.contentType = "application/json";
        q.accept = "application/json";
        q.body = body;
        auto res = api.handle(q);
        auto* rr = std::get_if<emulator::Response>(&res);
        if (!rr || rr->status != 201) die("seeding " + path + ": " + (rr ? rr->body : ""));
        return rr->body;
      };
      for (int i = first; i < std::min(n, first + kBatch); ++i) {
        RolloutRef r;
        r.ns = nsNames[i % namespaces];
        r.name = prefix + "-" + std::to_string(i);
        std::string body = rolloutJson(r.ns, r.name, shape, prometheusAddress);
        auto parsed = api::parseJson(body);
        auto decoded = api::decodeRollout(*parsed);
        if (!decoded.errors.empty() || !decoded.object.spec.podTemplate)
          die("the bench Rollout does not decode: " + body);
        r.stableHash =
            controller::computePodTemplateHash(decoded.object.spec.podTemplate->json, std::nullopt);
        count("Rollout", body);
        auto created = call("/apis/canaryd.io/v1alpha1/namespaces/" + r.ns + "/rollouts", body);
        auto doc = api::parseJson(created);
        r.uid = (*doc)["metadata"]["uid"].GetString();
        for (const char* suffix : {"-stable", "-canary"}) {
          std::string svc = serviceJson(r.ns, r.name + suffix, r.name, r.stableHash);
          count("Service", svc);
          call("/api/v1/namespaces/" + r.ns + "/services", svc);
        }
        if (shape.nginx) {
          std::string ing = ingressJson(r.ns, r.name);
          count("Ingress", ing);
          call("/apis/networking.k8s.io/v1/namespaces/" + r.ns + "/ingresses", ing);
        }
        std::string rs = replicaSetJson(r, decoded.object.spec.podTemplate->json, shape.replicas);
        count("ReplicaSet", rs);
        call("/apis/apps/v1/namespaces/" + r.ns + "/replicasets", rs);
        refs.push_back(std::move(r));
      }
    });
  }
  // The emulator marks the ReplicaSets ready after its ready delay.
  auto deadline = std::chrono::steady_clock::now() + 1200s;
  for (;;) {
    size_t ready = 0;
    emu_->invoke([&](emulator::ApiServer& api) {
      for (const auto& r : refs) {
        auto obj = api.store().get("apps/replicasets", r.ns, r.name + "-" + r.stableHash);
        if (!obj || !obj->HasMember("status")) continue;
        const auto& st = (*obj)["status"];
        if (st.HasMember("readyReplicas") && st["readyReplicas"].IsInt() &&
            st["readyReplicas"].GetInt() == shape.replicas)
          ++ready;
      }
    });
    if (ready == refs.size()) break;
    if (std::chrono::steady_clock::now() > deadline) die("seeded ReplicaSets never became ready");
    std::this_thread::sleep_for(250ms);
  }
  return refs;
}

std::map<std::string, double> Cluster::seededBytesPerObject() const {
  std::map<std::string, double> out;
  for (const auto& [kind, v] : bytes_) out[kind] = v.first / std::max(1, v.second);
  return out;
}

void Cluster::setImage(const std::vector<RolloutRef>& rollouts, const std::string& tag) {
  emu_->invoke([&](emulator::ApiServer& api) {
    for (const auto& r : rollouts) {
      emulator::Request q;
      q.method = "PATCH";
      q.path = "/apis/canaryd.io/v1alpha1/namespaces/" + r.ns + "/rollouts/" + r.name;
      q.contentType = "application/json-patch+json";
      q.accept = "application/json";
      q.body = R"([{"op":"replace","path":"/spec/template/spec/containers/0/image","value":")" +
               imageFor(r.name, tag) + R"("}])";
      auto res = api.handle(q);
      auto* rr = std::get_if<emulator::Response>(&res);
      if (!rr || rr->status != 200) die("template change refused: " + (rr ? rr->body : ""));
    }
  });
}

void Cluster::promote(const std::vector<RolloutRef>& rollouts) {
  emu_->invoke([&](emulator::ApiServer& api) {
    for (const auto& r : rollouts) {
      emulator::Request q;
      q.method = "PATCH";
      q.path = "/apis/canaryd.io/v1alpha1/namespaces/" + r.ns + "/rollouts/" + r.name + "/status";
      q.contentType = "application/merge-patch+json";
      q.accept = "application/json";
      q.body = R"({"status":{"pauseConditions":null}})";
      auto res = api.handle(q);
      auto* rr = std::get_if<emulator::Response>(&res);
      if (!rr || rr->status != 200) die("promote refused: " + (rr ? rr->body : ""));
    }
  });
}

static int64_t intMember(const rapidjson::Value& obj, const char* key, int64_t fallback) {
  if (!obj.IsObject() || !obj.HasMember(key)) return fallback;
  const auto& v = obj[key];
  if (v.IsInt64()) return v.GetInt64();
  if (v.IsString()) return std::atoll(v.GetString());
  return fallback;
}
static std::string strMember(const rapidjson::Value& obj, const char* key) {
  if (!obj.IsObject() || !obj.HasMember(key) || !obj[key].IsString()) return {};
  return obj[key].GetString();
}

std::vector<RolloutState> Cluster::states(const std::vector<RolloutRef>& rollouts) {
  std::vector<RolloutState> out(rollouts.size());
  emu_->invoke([&](emulator::ApiServer& api) {
    for (size_t i = 0; i < rollouts.size(); ++i) {
      auto obj = api.store().get("canaryd.io/rollouts", rollouts[i].ns, rollouts[i].name);
      if (!obj || !obj->HasMember("status")) continue;
      const auto& st = (*obj)["status"];
      auto& s = out[i];
      s.phase = strMember(st, "phase");
      s.stepIndex = static_cast<int>(intMember(st, "currentStepIndex", -1));
      s.weight = static_cast<int>(intMember(st, "canaryWeight", 0));
      s.observed = intMember(st, "observedGeneration", -1) ==
                   intMember((*obj)["metadata"], "generation", -2);
      s.abort = st.HasMember("abort") && st["abort"].IsBool() && st["abort"].GetBool();
      s.currentPodHash = strMember(st, "currentPodHash");
      s.stableRS = strMember(st, "stableRS");
    }
  });
  return out;
}

bool Cluster::waitAll(const std::vector<RolloutRef>& rollouts,
                      const std::function<bool(const RolloutState&)>& pred,
                      std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto st = states(rollouts);
    if (std::all_of(st.begin(), st.end(), pred)) return true;
    if (std::chrono::steady_clock::now() > deadline) {
      size_t done = std::count_if(st.begin(), st.end(), pred);
      for (size_t i = 0; i < st.size(); ++i) {
        if (pred(st[i])) continue;
        std::fprintf(stderr, "bench: %zu of %zu done; e.g. %s/%s: phase %s step %d weight %d\n",
                     done, st.size(), rollouts[i].ns.c_str(), rollouts[i].name.c_str(),
                     st[i].phase.c_str(), st[i].stepIndex, st[i].weight);
        break;
      }
      return false;
    }
    std::this_thread::sleep_for(200ms);
  }
}

std::vector<LoggedRequest> Cluster::requests(const std::string& userAgentPrefix) {
  auto res = client_->request("GET", "/_emulator/requests?userAgent=" + userAgentPrefix);
  if (!res || res->status != 200)
    die("GET /_emulator/requests failed" + (res ? ": " + res->body : ""));
  auto doc = api::parseJson(res->body);
  if (!doc || !doc->IsObject() || !doc->HasMember("requests")) die("bad request log");
  if (intMember(*doc, "dropped", 0) > 0) die("the emulator's request log dropped entries");
  std::vector<LoggedRequest> out;
  const auto& arr = (*doc)["requests"];
  out.reserve(arr.Size());
  for (const auto& e : arr.GetArray()) {
    LoggedRequest r;
    r.timeMicros = intMember(e, "timeUnixMicros", 0);
    r.verb = strMember(e, "verb");
    r.group = strMember(e, "group");
    r.resource = strMember(e, "resource");
    r.subresource = strMember(e, "subresource");
    r.ns = strMember(e, "namespace");
    r.name = strMember(e, "name");
    r.code = static_cast<unsigned>(intMember(e, "code", 0));
    out.push_back(std::move(r));
  }
  return out;
}

void Cluster::clearRequests() {
  auto res = client_->request("DELETE", "/_emulator/requests");
  if (!res || res->status != 200) die("DELETE /_emulator/requests failed");
}

bool Cluster::waitQuiet(const std::string& userAgentPrefix, std::chrono::milliseconds quiet,
                        std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int64_t newest = 0;
    for (const auto& r : requests(userAgentPrefix))
      if (r.verb != "watch") newest = std::max(newest, r.timeMicros);
    if (realtimeMicros() - newest >= quiet.count() * 1000) return true;
    std::this_thread::sleep_for(250ms);
  }
  return false;
}

// ---- CanarydProcess ----

CanarydProcess::CanarydProcess(const std::string& binary, const std::string& kubeconfig,
                               const std::string& logPath, const std::vector<std::string>& args)
    : logPath_(logPath) {
  // /metrics and the probes on loopback ports of their own, as a pod serves them.
  std::vector<std::string> argv = {binary,
                                   "run",
                                   "--kubeconfig",
                                   kubeconfig,
                                   "--leader-elect",
                                   "false",
                                   "--metrics-bind-address",
                                   "127.0.0.1:0",
                                   "--health-probe-bind-address",
                                   "127.0.0.1:0"};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_ = fork();
  if (pid_ < 0) die("fork failed");
  if (pid_ == 0) {
    int fd = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      ::close(fd);
    }
    ::setenv("POD_NAME", "canaryd-bench", 1);
    std::vector<char*> cargs;
    for (auto& a : argv) cargs.push_back(a.data());
    cargs.push_back(nullptr);
    ::execv(cargs[0], cargs.data());
    std::_Exit(127);
  }
}

CanarydProcess::~CanarydProcess() { stop(); }

bool CanarydProcess::alive() const {
  if (pid_ <= 0) return false;
  int status = 0;
  return ::waitpid(pid_, &status, WNOHANG) == 0;
}

void CanarydProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + 15s;
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  pid_ = -1;
}

bool CanarydProcess::waitForLog(const std::string& needle, std::chrono::seconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(logPath_);
    std::string line;
    while (std::getline(in, line))
      if (line.find(needle) != std::string::npos) return true;
    if (!alive()) return false;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

long CanarydProcess::statusField(const char* field) const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  size_t len = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, len, field) == 0 && line.size() > len && line[len] == ':')
      return std::atol(line.c_str() + len + 1);
  }
  return -1;
}
long CanarydProcess::rssKiB() const { return statusField("VmRSS"); }
long CanarydProcess::hwmKiB() const { return statusField("VmHWM"); }

double CanarydProcess::cpuSeconds() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = all.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(all.substr(close + 2));
  std::vector<std::string> f;
  std::string tok;
  while (rest >> tok) f.push_back(tok);
  // Fields after the command: state(3) ... utime(14) stime(15).
  if (f.size() < 13) return -1;
  double ticks = static_cast<double>(std::stoll(f[11]) + std::stoll(f[12]));
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// ---- FixedAnswerPrometheus ----

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

struct FixedAnswerPrometheus::Impl {
  double value;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  unsigned short port = 0;
  std::atomic<bool> stopping{false};
  std::thread acceptThread;
  mutable std::mutex mu;
  std::vector<std::thread> connections;
  std::vector<int> fds;
  std::map<std::string, std::vector<int64_t>> answers;
  size_t queries = 0;

  static std::string formDecode(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        out += ' ';
      } else if (s[i] == '%' && i + 2 < s.size()) {
        out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        out += s[i];
      }
    }
    return out;
  }
  static std::string label(const std::string& q, const std::string& name) {
    auto at = q.find(name + "=\"");
    if (at == std::string::npos) return {};
    at += name.size() + 2;
    return q.substr(at, q.find('"', at) - at);
  }

  void serve(tcp::socket socket) {
    boost::beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      boost::system::error_code ec;
      http::read(socket, buffer, req, ec);
      if (ec) return;
      std::string form = req.method() == http::verb::post ? req.body() : "";
      std::string target(req.target());
      if (auto q = target.find('?'); q != std::string::npos) form += "&" + target.substr(q + 1);
      std::string query;
      size_t start = 0;
      while (start <= form.size()) {
        size_t end = form.find('&', start);
        if (end == std::string::npos) end = form.size();
        std::string_view kv(form.data() + start, end - start);
        if (kv.rfind("query=", 0) == 0) query = formDecode(kv.substr(6));
        start = end + 1;
      }
      http::response<http::string_body> res{http::status::ok, req.version()};
      res.set(http::field::content_type, "application/json");
      char body[256];
      std::snprintf(
          body, sizeof body,
          R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%.3f,"%g"]}]}})",
          static_cast<double>(realtimeMicros()) / 1e6, value);
      res.body() = body;
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::write(socket, res, ec);
      int64_t answered = realtimeMicros();
      {
        std::lock_guard lock(mu);
        ++queries;
        answers[label(query, "namespace") + "/" + label(query, "rollout")].push_back(answered);
      }
      if (ec || !req.keep_alive()) return;
    }
  }
};

FixedAnswerPrometheus::FixedAnswerPrometheus(double value) : impl_(std::make_unique<Impl>()) {
  impl_->value = value;
  tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(net::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->acceptThread = std::thread([impl = impl_.get()] {
    for (;;) {
      tcp::socket socket(impl->ioc);
      boost::system::error_code ec;
      impl->acceptor.accept(socket, ec);
      if (impl->stopping.load()) return;
      if (ec) continue;
      std::lock_guard lock(impl->mu);
      impl->fds.push_back(socket.native_handle());
      impl->connections.emplace_back(
          [impl, s = std::move(socket)]() mutable { impl->serve(std::move(s)); });
    }
  });
}

FixedAnswerPrometheus::~FixedAnswerPrometheus() {
  impl_->stopping = true;
  // Wake the accept with a connection of our own, then end every connection's read.
  {
    tcp::socket poke(impl_->ioc);
    boost::system::error_code ec;
    poke.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), impl_->port), ec);
  }
  impl_->acceptThread.join();
  std::vector<std::thread> connections;
  {
    std::lock_guard lock(impl_->mu);
    for (int fd : impl_->fds) ::shutdown(fd, SHUT_RDWR);
    connections.swap(impl_->connections);
  }
  for (auto& t : connections) t.join();
}

std::string FixedAnswerPrometheus::address() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port);
}

std::map<std::string, std::vector<int64_t>> FixedAnswerPrometheus::answers() const {
  std::lock_guard lock(impl_->mu);
  return impl_->answers;
}

size_t FixedAnswerPrometheus::queries() const {
  std::lock_guard lock(impl_->mu);
  return impl_->queries;
}

// ---- statistics and reports ----

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::min(values.size(), std::max<size_t>(rank, 1)) - 1];
}

void Report::param(const std::string& key, const std::string& value) {
  params_.emplace_back(key, value);
}

void Report::add(const std::string& key, const std::string& label, double value,
                 const std::string& unit, int decimals) {
  rows_.push_back(Row{key, label, unit, value, decimals});
}

void Report::breakdown(const std::string& key, const std::string& title,
                       const std::vector<std::pair<std::string, double>>& rows, int decimals) {
  breakdowns_.push_back(Breakdown{key, title, rows, decimals});
}

void Report::emit(const std::string& jsonPath) const {
  std::printf("\n## %s\n\n", name_.c_str());
  for (const auto& [k, v] : params_) std::printf("- %s: %s\n", k.c_str(), v.c_str());
  std::printf("\n| measure | value | unit |\n|---|---:|---|\n");
  for (const auto& r : rows_)
    std::printf("| %s | %.*f | %s |\n", r.label.c_str(), r.decimals, r.value, r.unit.c_str());
  for (const auto& b : breakdowns_) {
    std::printf("\n%s\n\n| what | value |\n|---|---:|\n", b.title.c_str());
    for (const auto& [label, v] : b.rows)
      std::printf("| %s | %.*f |\n", label.c_str(), b.decimals, v);
  }
  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("benchmark");
  w.String(name_.c_str());
  w.Key("parameters");
  w.StartObject();
  for (const auto& [k, v] : params_) {
    w.Key(k.c_str());
    w.String(v.c_str());
  }
  w.EndObject();
  w.Key("results");
  w.StartObject();
  for (const auto& r : rows_) {
    w.Key(r.key.c_str());
    w.StartObject();
    w.Key("value");
    w.Double(std::isfinite(r.value) ? r.value : 0);
    w.Key("unit");
    w.String(r.unit.c_str());
    w.Key("label");
    w.String(r.label.c_str());
    w.EndObject();
  }
  w.EndObject();
  w.Key("breakdown");
  w.StartObject();
  for (const auto& b : breakdowns_) {
    w.Key(b.key.c_str());
    w.StartObject();
    for (const auto& [label, v] : b.rows) {
      w.Key(label.c_str());
      w.Double(v);
    }
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  if (jsonPath.empty()) {
    std::printf("\nJSON:\n%s\n", buf.GetString());
  } else {
    std::ofstream(jsonPath) << buf.GetString() << "\n";
    std::printf("\n(JSON written to %s)\n", jsonPath.c_str());
  }
  std::fflush(stdout);
}

}  // namespace canaryd::bench
