// Cluster benchmarks: the real canaryd binary against an in-process kube-emulator seeded at
// bare speed, measured from outside (/proc/<pid> and the emulator's request log). Each
// scenario prints a Markdown table and JSON (--json FILE, or after a "JSON:" line).
//   canaryd_cluster_bench <scenario> --canaryd PATH --source-dir DIR [--json FILE]
//       [--ready-delay-ms MS] [--canaryd-args "FLAGS"] [scenario flags]
// Scenarios:
//   scale    --rollouts N --namespaces K --window-seconds S: RSS after sync, sync time,
//            steady-state API requests per second.
//   burst    --rollouts N --replay-threads T: a template change on every Rollout at once;
//            time to every canary ReplicaSet and first weight, against a bare client
//            issuing the same writes.
//   steps    --rollouts M: API writes per setWeight step and per promotion, by verb and
//            resource, for replica-ratio and nginx Rollouts.
//   latency  --aborts N --concurrency C: failing measurement answered -> weight-0 write.
//   cpu      --rollouts N: canaryd CPU seconds per 1,000 step transitions.
// Figures depend on the machine; nothing here asserts a time. Exit status 1 when a
// scenario could not complete (canaryd never reached the state it waits for).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <sstream>
#include <thread>

#include "cluster.h"

namespace canaryd::bench {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

const char* kCanarydAgent = "canaryd/";

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "bench: %s\n", why.c_str());
  std::exit(1);
}

struct Common {
  std::string canaryd;
  std::string sourceDir;
  std::string json;
  std::chrono::milliseconds readyDelay{100};
  std::vector<std::string> canarydArgs;
  std::string canarydArgsText;
};

Common common(const Flags& f, long readyDelayDefault, const std::string& argsDefault) {
  Common c;
  c.canaryd = f.str("canaryd", "");
  c.sourceDir = f.str("source-dir", "");
  if (c.canaryd.empty() || c.sourceDir.empty()) fail("--canaryd and --source-dir are required");
  c.json = f.str("json", "");
  c.readyDelay = std::chrono::milliseconds(f.num("ready-delay-ms", readyDelayDefault));
  c.canarydArgsText = f.str("canaryd-args", argsDefault);
  std::istringstream in(c.canarydArgsText);
  std::string a;
  while (in >> a) c.canarydArgs.push_back(a);
  return c;
}

void commonParams(Report& r, const Common& c) {
  r.param("canaryd flags",
          "run --leader-elect false --metrics-bind-address 127.0.0.1:0 "
          "--health-probe-bind-address 127.0.0.1:0" +
              (c.canarydArgsText.empty() ? "" : " " + c.canarydArgsText));
  r.param("emulator ready delay", std::to_string(c.readyDelay.count()) + " ms");
}

// `logName`: a file of its own under the work directory, whose lines waitForLog reads.
std::unique_ptr<CanarydProcess> startCanaryd(Cluster& cluster, const Common& c,
                                             const std::string& logName = "canaryd.log") {
  auto p = std::make_unique<CanarydProcess>(c.canaryd, cluster.kubeconfigPath(),
                                            cluster.workDir() + "/" + logName, c.canarydArgs);
  return p;
}

void dumpLogTail(const Cluster& cluster) {
  std::string cmd = "tail -30 " + cluster.workDir() + "/canaryd.log >&2";
  if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "(no canaryd log)\n");
}

// Waits for canaryd's caches, then for every Rollout Healthy at its generation, then for
// canaryd to go quiet. Returns {sync seconds, healthy seconds} from `start`.
std::pair<double, double> settle(Cluster& cluster, CanarydProcess& p,
                                 const std::vector<RolloutRef>& refs, Steady::time_point start) {
  if (!p.waitForLog("caches synced", 1800s)) {
    dumpLogTail(cluster);
    fail("canaryd did not sync its caches");
  }
  double sync = secondsSince(start);
  if (!cluster.waitAll(
          refs, [](const RolloutState& s) { return s.phase == "Healthy" && s.observed; }, 3600s)) {
    dumpLogTail(cluster);
    fail("the Rollouts did not all become Healthy");
  }
  double healthy = secondsSince(start);
  cluster.waitQuiet(kCanarydAgent, 2000ms, 600s);
  return {sync, healthy};
}

// Requests by verb and resource (refused ones apart, by HTTP code), divided by `divisor`.
std::vector<std::pair<std::string, double>> byKind(const std::vector<LoggedRequest>& log,
                                                   bool writesOnly, double divisor) {
  std::map<std::string, double> counts;
  for (const auto& r : log) {
    if (writesOnly && !r.isWrite()) continue;
    counts[r.kind() + (r.code >= 400 ? " (" + std::to_string(r.code) + ")" : "")] += 1;
  }
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [k, v] : counts) out.emplace_back(k, v / divisor);
  return out;
}

// ---- scale ----

int scale(const Flags& f) {
  Common c = common(f, 100, "");
  const int n = static_cast<int>(f.num("rollouts", 1000));
  const int namespaces = static_cast<int>(f.num("namespaces", 10));
  const long window = f.num("window-seconds", 60);
  FixedAnswerPrometheus prom(0.001);
  Cluster cluster({c.sourceDir, c.readyDelay});
  auto seedStart = Steady::now();
  auto refs = cluster.seed(n, analysedNginxShape(), "web", namespaces, prom.address());
  double seedSeconds = secondsSince(seedStart);
  cluster.clearRequests();

  auto start = Steady::now();
  auto p = startCanaryd(cluster, c);
  auto [sync, healthy] = settle(cluster, *p, refs, start);
  long rss = p->rssKiB(), hwm = p->hwmKiB();
  auto startup = cluster.requests(kCanarydAgent);
  double startupWrites = 0, startupReads = 0;
  for (const auto& r : startup) {
    if (r.isWrite())
      startupWrites += 1;
    else if (r.verb != "watch")
      startupReads += 1;
  }

  cluster.clearRequests();
  double cpu0 = p->cpuSeconds();
  std::this_thread::sleep_for(std::chrono::seconds(window));
  auto steady = cluster.requests(kCanarydAgent);
  double cpu1 = p->cpuSeconds();
  long rssEnd = p->rssKiB();
  double watches = 0, polling = 0, writes = 0;
  for (const auto& r : steady) {
    if (r.verb == "watch")
      watches += 1;
    else if (r.isWrite())
      writes += 1;
    else
      polling += 1;
  }
  if (!p->alive()) fail("canaryd exited during the steady-state window");

  // A restart over the same, Healthy Rollouts: what a new process (an upgrade, a new
  // leader) asks of the API server before it goes quiet again.
  p->stop();
  cluster.clearRequests();
  auto restartStart = Steady::now();
  auto restarted = startCanaryd(cluster, c, "canaryd-restart.log");
  double restartSync = settle(cluster, *restarted, refs, restartStart).first;
  auto restart = cluster.requests(kCanarydAgent);
  double restartWrites = 0, restartGets = 0;
  for (const auto& r : restart) {
    if (r.isWrite())
      restartWrites += 1;
    else if (r.verb == "get")
      restartGets += 1;
  }

  Report rep("scale: " + std::to_string(n) + " Rollouts");
  commonParams(rep, c);
  rep.param("rollouts", std::to_string(n));
  rep.param("objects", std::to_string(n) + " Rollouts (nginx, background analysis), " +
                           std::to_string(n) + " ReplicaSets, " + std::to_string(2 * n) +
                           " Services, " + std::to_string(n) + " Ingresses in " +
                           std::to_string(std::min(n, namespaces)) + " namespaces");
  std::string sizes;
  for (const auto& [kind, bytes] : cluster.seededBytesPerObject())
    sizes += (sizes.empty() ? "" : ", ") + kind + " " + std::to_string(static_cast<int>(bytes));
  rep.param("JSON bytes per object", sizes);
  rep.param("steady-state window", std::to_string(window) + " s");
  rep.add("rss_mib", "canaryd RSS, synced and all Healthy", rss / 1024.0, "MiB", 1);
  rep.add("hwm_mib", "canaryd peak RSS (VmHWM)", hwm / 1024.0, "MiB", 1);
  rep.add("rss_end_mib", "canaryd RSS after the steady-state window", rssEnd / 1024.0, "MiB", 1);
  rep.add("rss_per_rollout_kib", "RSS per Rollout", static_cast<double>(rss) / n, "KiB", 2);
  rep.add("sync_seconds", "start to caches synced", sync, "s", 2);
  rep.add("healthy_seconds", "start to every Rollout Healthy", healthy, "s", 2);
  rep.add("startup_writes", "writes at start-up (all Rollouts)", startupWrites, "requests", 0);
  rep.add("startup_reads", "get/list at start-up", startupReads, "requests", 0);
  rep.add("steady_rps", "steady state: API requests per second",
          static_cast<double>(steady.size()) / static_cast<double>(window), "req/s", 3);
  rep.add("steady_watch_requests", "steady state: watch requests (renewals)", watches, "requests",
          0);
  rep.add("steady_polling_requests", "steady state: get/list (polling)", polling, "requests", 0);
  rep.add("steady_writes", "steady state: writes", writes, "requests", 0);
  rep.add("steady_cpu_seconds", "steady state: canaryd CPU over the window", cpu1 - cpu0, "s", 2);
  rep.add("restart_sync_seconds", "restart: start to caches synced", restartSync, "s", 2);
  rep.add("restart_gets", "restart: get requests (Ingresses ...)", restartGets, "requests", 0);
  rep.add("restart_writes", "restart: writes", restartWrites, "requests", 0);
  rep.add("seed_seconds", "(emulator: seeding the objects)", seedSeconds, "s", 1);
  rep.breakdown("startup_requests", "Start-up requests by verb and resource",
                byKind(startup, false, 1), 0);
  rep.breakdown("restart_requests", "Restart requests by verb and resource",
                byKind(restart, false, 1), 0);
  rep.breakdown("steady_requests", "Steady-state requests by verb and resource",
                byKind(steady, false, 1), 0);
  rep.emit(c.json);
  return 0;
}

// ---- burst ----

std::string resourcePrefix(const LoggedRequest& r) {
  if (r.group.empty()) return "/api/v1";
  static const std::map<std::string, std::string> versions = {{"apps", "v1"},
                                                              {"networking.k8s.io", "v1"},
                                                              {"events.k8s.io", "v1"},
                                                              {"canaryd.io", "v1alpha1"},
                                                              {"coordination.k8s.io", "v1"},
                                                              {"gateway.networking.k8s.io", "v1"}};
  auto it = versions.find(r.group);
  return "/apis/" + r.group + "/" + (it == versions.end() ? "v1" : it->second);
}

struct ReplayOp {
  std::string method, target, contentType, body;
};

// The bare client's version of one of canaryd's writes: the same verb on the same
// resource (and object, for patches), with a body of a similar size. Creates make new
// objects (replay-<i>); patches and updates are JSON merge patches of an annotation (or of
// status.message on a status subresource). Deletes are not replayed (none in a burst).
std::optional<ReplayOp> replayOf(const LoggedRequest& w, size_t i,
                                 const std::vector<RolloutRef>& refs) {
  std::string base = resourcePrefix(w) + "/namespaces/" + w.ns + "/" + w.resource;
  std::string id = "replay-" + std::to_string(i);
  if (w.verb == "create") {
    const RolloutRef* owner = nullptr;
    for (const auto& r : refs)
      if (r.ns == w.ns) owner = &r;
    if (!owner) return std::nullopt;
    std::string body;
    if (w.resource == "replicasets") {
      RolloutRef fake = *owner;
      fake.stableHash = "rp" + std::to_string(i);
      body = R"({"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":")" + owner->name +
             "-" + fake.stableHash + R"(","namespace":")" + w.ns + R"(","labels":{"app":")" +
             owner->name + R"(","canaryd.io/pod-template-hash":")" + fake.stableHash +
             R"("}},"spec":{"replicas":1,"selector":{"matchLabels":{"app":")" + owner->name +
             R"(","canaryd.io/pod-template-hash":")" + fake.stableHash + R"("}},"template":)" +
             podTemplateJson(owner->name, "registry.example.com/shop/" + owner->name + ":2");
      // The template's labels must carry the hash for the selector to match.
      auto at = body.find(R"("tier":"web"})");
      body.replace(at, 13,
                   R"("tier":"web","canaryd.io/pod-template-hash":")" + fake.stableHash + R"("})");
      body += "}}";
    } else if (w.resource == "ingresses") {
      body =
          R"({"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":")" + id +
          R"(","namespace":")" + w.ns +
          R"(","annotations":{"nginx.ingress.kubernetes.io/canary":"true","nginx.ingress.kubernetes.io/canary-weight":"20"}},)"
          R"("spec":{"ingressClassName":"nginx","rules":[{"host":")" +
          owner->name +
          R"(.shop.example.com","http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":")" +
          owner->name + R"(-canary","port":{"number":80}}}}]}}]}})";
    } else if (w.resource == "events" && w.group == "events.k8s.io") {
      body =
          R"({"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":")" + id +
          R"(","namespace":")" + w.ns +
          R"("},"eventTime":"2025-01-01T00:00:00.000000Z","reportingController":"canaryd.io/rollout-controller",)"
          R"j("reportingInstance":"canaryd-bench","action":"Update","reason":"WeightChanged","note":"Canary weight 0 -> 20 (nginx)","type":"Normal",)j"
          R"("regarding":{"apiVersion":"canaryd.io/v1alpha1","kind":"Rollout","namespace":")" +
          w.ns + R"(","name":")" + owner->name + R"(","uid":")" + owner->uid + R"("}})";
    } else if (w.resource == "events") {
      body =
          R"({"apiVersion":"v1","kind":"Event","metadata":{"name":")" + id + R"(","namespace":")" +
          w.ns +
          R"j("},"reason":"WeightChanged","message":"Canary weight 0 -> 20 (nginx)","type":"Normal","count":1,)j"
          R"("firstTimestamp":"2025-01-01T00:00:00Z","lastTimestamp":"2025-01-01T00:00:00Z","source":{"component":"canaryd"},)"
          R"("involvedObject":{"apiVersion":"canaryd.io/v1alpha1","kind":"Rollout","namespace":")" +
          w.ns + R"(","name":")" + owner->name + R"(","uid":")" + owner->uid + R"("}})";
    } else {
      return std::nullopt;
    }
    return ReplayOp{"POST", base, "application/json", body};
  }
  if (w.verb == "patch" || w.verb == "update") {
    std::string target = base + "/" + w.name + (w.subresource.empty() ? "" : "/" + w.subresource);
    std::string body =
        w.subresource == "status"
            ? R"({"status":{"message":")" + id + R"("}})"
            : R"({"metadata":{"annotations":{"bench.canaryd.io/replay":")" + id + R"("}}})";
    return ReplayOp{"PATCH", target, "application/merge-patch+json", body};
  }
  return std::nullopt;
}

int burst(const Flags& f) {
  Common c = common(f, 0, "--kube-api-qps 5000 --kube-api-burst 5000 --workers 16");
  const int n = static_cast<int>(f.num("rollouts", 1000));
  const int namespaces = static_cast<int>(f.num("namespaces", 10));
  const int threads = static_cast<int>(f.num("replay-threads", 16));
  Cluster cluster({c.sourceDir, c.readyDelay});
  RolloutShape shape;
  shape.nginx = true;
  shape.steps = {R"({"setWeight":20})", R"({"pause":{}})"};
  auto refs = cluster.seed(n, shape, "burst", namespaces, "");
  auto p = startCanaryd(cluster, c);
  settle(cluster, *p, refs, Steady::now());

  cluster.clearRequests();
  int64_t t0 = realtimeMicros();
  cluster.setImage(refs, "2");
  int64_t t1 = realtimeMicros();
  if (!cluster.waitAll(
          refs, [](const RolloutState& s) { return s.weight == 20 && s.observed; }, 1800s)) {
    dumpLogTail(cluster);
    fail("the canaries did not all reach weight 20");
  }
  auto log = cluster.requests(kCanarydAgent);
  p->stop();
  std::vector<int64_t> rsCreates, ingressCreates;
  for (const auto& r : log) {
    if (r.verb != "create" || r.code != 201) continue;
    if (r.resource == "replicasets") rsCreates.push_back(r.timeMicros);
    if (r.resource == "ingresses") ingressCreates.push_back(r.timeMicros);
  }
  if (rsCreates.size() < static_cast<size_t>(n) || ingressCreates.size() < static_cast<size_t>(n))
    fail("fewer canary ReplicaSet or Ingress creates than Rollouts in the request log");
  std::sort(rsCreates.begin(), rsCreates.end());
  std::sort(ingressCreates.begin(), ingressCreates.end());
  int64_t end = std::max(rsCreates[n - 1], ingressCreates[n - 1]);
  double canarydSeconds = static_cast<double>(end - t1) / 1e6;
  std::vector<LoggedRequest> writes;
  double reads = 0;
  for (const auto& r : log) {
    if (r.timeMicros > end) continue;
    if (r.isWrite())
      writes.push_back(r);
    else if (r.verb != "watch")
      reads += 1;
  }

  // The same writes from a bare client, as fast as the emulator takes them.
  std::vector<ReplayOp> ops;
  size_t skipped = 0;
  for (size_t i = 0; i < writes.size(); ++i) {
    if (auto op = replayOf(writes[i], i, refs))
      ops.push_back(std::move(*op));
    else
      ++skipped;
  }
  std::atomic<size_t> next{0}, failures{0};
  auto replayStart = Steady::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < ops.size(); i = next++) {
        auto res =
            cluster.client().request(ops[i].method, ops[i].target, ops[i].contentType, ops[i].body);
        if (!res || res->status >= 300) ++failures;
      }
    });
  }
  for (auto& t : pool) t.join();
  double bareSeconds = secondsSince(replayStart);

  Report rep("burst: template change on " + std::to_string(n) + " Rollouts at once");
  commonParams(rep, c);
  rep.param("rollouts", std::to_string(n) + " nginx-routed, steps [setWeight 20, pause]");
  rep.param("bare client", "kube::HttpClient, no rate limit, " + std::to_string(threads) +
                               " threads, the same verbs on the same resources");
  rep.add("canaryd_seconds", "canaryd: template change to all canary RS + first weight",
          canarydSeconds, "s", 2);
  rep.add("bare_seconds", "bare client: the same writes", bareSeconds, "s", 2);
  rep.add("ratio", "ratio canaryd / bare client", canarydSeconds / bareSeconds, "x", 2);
  rep.add("writes", "writes by canaryd in the burst", static_cast<double>(writes.size()),
          "requests", 0);
  rep.add("writes_per_rollout", "writes per Rollout", static_cast<double>(writes.size()) / n,
          "requests", 2);
  rep.add("reads", "get/list by canaryd in the burst", reads, "requests", 0);
  rep.add("canaryd_write_rate", "canaryd write rate",
          static_cast<double>(writes.size()) / canarydSeconds, "req/s", 0);
  rep.add("bare_write_rate", "bare client write rate",
          static_cast<double>(ops.size()) / bareSeconds, "req/s", 0);
  rep.add("replay_failures", "bare client writes refused", static_cast<double>(failures.load()),
          "requests", 0);
  rep.add("replay_skipped", "writes not replayed (deletes, other kinds)",
          static_cast<double>(skipped), "requests", 0);
  rep.add("template_write_seconds", "(emulator: writing the 1,000 template changes)",
          static_cast<double>(t1 - t0) / 1e6, "s", 3);
  rep.breakdown("writes", "canaryd writes in the burst, by verb and resource",
                byKind(writes, true, 1), 0);
  rep.emit(c.json);
  return 0;
}

// ---- steps ----

int steps(const Flags& f) {
  Common c = common(f, 100, "");
  const int m = static_cast<int>(f.num("rollouts", 10));
  const int rounds = 3;  // setWeight 40, 60 and 80 after a promote each
  Cluster cluster({c.sourceDir, c.readyDelay});
  RolloutShape ratio;
  ratio.steps = {R"({"setWeight":20})", R"({"pause":{}})",     R"({"setWeight":40})",
                 R"({"pause":{}})",     R"({"setWeight":60})", R"({"pause":{}})",
                 R"({"setWeight":80})", R"({"pause":{}})"};
  RolloutShape nginx = ratio;
  nginx.nginx = true;
  auto ratioRefs = cluster.seed(m, ratio, "ratio", 1, "");
  auto nginxRefs = cluster.seed(m, nginx, "nginx", 1, "");
  std::vector<RolloutRef> all = ratioRefs;
  all.insert(all.end(), nginxRefs.begin(), nginxRefs.end());
  auto p = startCanaryd(cluster, c);
  settle(cluster, *p, all, Steady::now());

  // Writes (and reads) per kind of Rollout in one phase, per Rollout.
  struct Tally {
    std::vector<LoggedRequest> ratio, nginx;
  };
  auto collect = [&](const char* what) {
    if (!cluster.waitQuiet(kCanarydAgent, 1500ms, 120s)) fail(std::string(what) + ": never quiet");
    Tally t;
    for (auto& r : cluster.requests(kCanarydAgent)) {
      if (r.verb == "watch") continue;
      if (r.ns.rfind("ratio-", 0) == 0) t.ratio.push_back(r);
      if (r.ns.rfind("nginx-", 0) == 0) t.nginx.push_back(r);
    }
    return t;
  };
  auto waitState = [&](const char* what, const std::function<bool(const RolloutState&)>& pred) {
    if (!cluster.waitAll(all, pred, 300s)) {
      dumpLogTail(cluster);
      fail(std::string("steps: ") + what);
    }
  };

  cluster.clearRequests();
  cluster.setImage(all, "2");
  waitState("first pause", [](const RolloutState& s) {
    return s.observed && s.phase == "Paused" && s.stepIndex == 1 && s.weight == 20;
  });
  Tally start = collect("start");
  Tally stepTally;
  for (int k = 1; k <= rounds; ++k) {
    cluster.clearRequests();
    cluster.promote(all);
    int index = 2 * k + 1, weight = 20 * (k + 1);
    waitState("next pause", [index, weight](const RolloutState& s) {
      return s.phase == "Paused" && s.stepIndex == index && s.weight == weight;
    });
    Tally t = collect("step");
    stepTally.ratio.insert(stepTally.ratio.end(), t.ratio.begin(), t.ratio.end());
    stepTally.nginx.insert(stepTally.nginx.end(), t.nginx.begin(), t.nginx.end());
  }
  cluster.clearRequests();
  cluster.promote(all);
  waitState("promotion", [](const RolloutState& s) {
    return s.phase == "Healthy" && s.weight == 0 && !s.stableRS.empty() &&
           s.stableRS == s.currentPodHash;
  });
  Tally promotion = collect("promotion");

  auto writesOf = [](const std::vector<LoggedRequest>& v) {
    return static_cast<double>(
        std::count_if(v.begin(), v.end(), [](const LoggedRequest& r) { return r.isWrite(); }));
  };
  // Writes that changed an object canaryd manages: no Events, no refused writes (409).
  auto objectWritesOf = [](const std::vector<LoggedRequest>& v) {
    return static_cast<double>(std::count_if(v.begin(), v.end(), [](const LoggedRequest& r) {
      return r.isWrite() && r.resource != "events" && r.code < 300;
    }));
  };
  auto conflictsOf = [](const std::vector<LoggedRequest>& v) {
    return static_cast<double>(std::count_if(
        v.begin(), v.end(), [](const LoggedRequest& r) { return r.isWrite() && r.code == 409; }));
  };
  double perStep = static_cast<double>(m * rounds);
  Report rep("per step: API writes per setWeight step and per promotion");
  commonParams(rep, c);
  rep.param("rollouts", std::to_string(m) + " replica-ratio + " + std::to_string(m) +
                            " nginx-routed, steps [setWeight 20, pause, 40, pause, 60, pause, "
                            "80, pause], scaleDownDelaySeconds 0");
  rep.param("a setWeight step", "promote from a pause -> setWeight -> the next pause (" +
                                    std::to_string(rounds) + " per Rollout)");
  rep.add("ratio_step_writes", "replica ratio: writes per setWeight step",
          writesOf(stepTally.ratio) / perStep, "writes", 2);
  rep.add("nginx_step_writes", "nginx: writes per setWeight step",
          writesOf(stepTally.nginx) / perStep, "writes", 2);
  rep.add("ratio_step_object_writes",
          "replica ratio: of which successful, not Events (RS, Service, Ingress, status)",
          objectWritesOf(stepTally.ratio) / perStep, "writes", 2);
  rep.add("nginx_step_object_writes", "nginx: of which successful, not Events",
          objectWritesOf(stepTally.nginx) / perStep, "writes", 2);
  rep.add("ratio_step_conflicts", "replica ratio: of which refused 409 Conflict",
          conflictsOf(stepTally.ratio) / perStep, "writes", 2);
  rep.add("nginx_step_conflicts", "nginx: of which refused 409 Conflict",
          conflictsOf(stepTally.nginx) / perStep, "writes", 2);
  rep.add("ratio_promotion_writes", "replica ratio: writes per promotion",
          writesOf(promotion.ratio) / m, "writes", 2);
  rep.add("nginx_promotion_writes", "nginx: writes per promotion", writesOf(promotion.nginx) / m,
          "writes", 2);
  rep.add("ratio_start_writes", "replica ratio: writes from new template to first pause",
          writesOf(start.ratio) / m, "writes", 2);
  rep.add("nginx_start_writes", "nginx: writes from new template to first pause",
          writesOf(start.nginx) / m, "writes", 2);
  rep.add("ratio_step_reads", "replica ratio: get/list per setWeight step",
          (static_cast<double>(stepTally.ratio.size()) - writesOf(stepTally.ratio)) / perStep,
          "requests", 2);
  rep.add("nginx_step_reads", "nginx: get/list per setWeight step",
          (static_cast<double>(stepTally.nginx.size()) - writesOf(stepTally.nginx)) / perStep,
          "requests", 2);
  rep.breakdown("ratio_step", "replica ratio, per setWeight step",
                byKind(stepTally.ratio, false, perStep));
  rep.breakdown("nginx_step", "nginx, per setWeight step", byKind(stepTally.nginx, false, perStep));
  rep.breakdown("ratio_promotion", "replica ratio, per promotion",
                byKind(promotion.ratio, false, m));
  rep.breakdown("nginx_promotion", "nginx, per promotion", byKind(promotion.nginx, false, m));
  rep.breakdown("ratio_start", "replica ratio, new template to first pause",
                byKind(start.ratio, false, m));
  rep.breakdown("nginx_start", "nginx, new template to first pause", byKind(start.nginx, false, m));
  rep.emit(c.json);
  return 0;
}

// ---- latency ----

int latency(const Flags& f) {
  Common c = common(f, 100, "");
  const int aborts = static_cast<int>(f.num("aborts", 200));
  const int concurrency = static_cast<int>(f.num("concurrency", 10));
  FixedAnswerPrometheus prom(0.5);  // an error rate of 50%: above every max below
  Cluster cluster({c.sourceDir, c.readyDelay});
  RolloutShape shape;
  shape.nginx = true;
  shape.steps = {
      R"({"setWeight":20})",
      R"({"analysis":{"prometheus":{"address":"PROMETHEUS"},"metrics":[{"name":"error-rate",)"
      R"("query":"bench_error_rate{namespace=\"{{namespace}}\",rollout=\"{{rollout}}\"}","max":0.01}]}})",
      R"({"setWeight":50})", R"({"pause":{}})"};
  auto refs = cluster.seed(aborts, shape, "lat", std::max(1, aborts / 100), prom.address());
  auto p = startCanaryd(cluster, c);
  settle(cluster, *p, refs, Steady::now());
  cluster.clearRequests();
  for (int i = 0; i < aborts; i += concurrency) {
    std::vector<RolloutRef> wave(refs.begin() + i,
                                 refs.begin() + std::min(aborts, i + concurrency));
    cluster.setImage(wave, "2");
    if (!cluster.waitAll(
            wave, [](const RolloutState& s) { return s.phase == "Degraded" && s.weight == 0; },
            300s)) {
      dumpLogTail(cluster);
      fail("latency: the canaries were not all aborted");
    }
  }
  cluster.waitQuiet(kCanarydAgent, 1000ms, 60s);
  auto log = cluster.requests(kCanarydAgent);
  auto answers = prom.answers();
  std::vector<double> ms;
  size_t missing = 0;
  for (const auto& r : refs) {
    auto it = answers.find(r.ns + "/" + r.name);
    if (it == answers.end() || it->second.empty()) {
      ++missing;
      continue;
    }
    int64_t answered = it->second.front();
    std::string canaryIngress = r.name + "-" + r.name + "-canary";
    int64_t written = 0;
    for (const auto& q : log) {
      if (q.verb == "patch" && q.resource == "ingresses" && q.name == canaryIngress &&
          q.timeMicros >= answered) {
        written = q.timeMicros;
        break;
      }
    }
    if (!written) {
      ++missing;
      continue;
    }
    ms.push_back(static_cast<double>(written - answered) / 1000.0);
  }
  if (ms.empty()) fail("latency: no abort could be timed");
  double mean = 0;
  for (double v : ms) mean += v / static_cast<double>(ms.size());

  Report rep("decision latency: failing measurement answered -> weight-0 write");
  commonParams(rep, c);
  rep.param("aborts", std::to_string(aborts) + " nginx-routed Rollouts, " +
                          std::to_string(concurrency) + " rolling out at a time");
  rep.param(
      "measured",
      "fixed-answer Prometheus endpoint: answer written (CLOCK_REALTIME) -> the emulator logs "
      "canaryd's PATCH of the canary Ingress (canary-weight 0)");
  rep.add("p50_ms", "p50", percentile(ms, 50), "ms", 2);
  rep.add("p99_ms", "p99", percentile(ms, 99), "ms", 2);
  rep.add("max_ms", "max", percentile(ms, 100), "ms", 2);
  rep.add("mean_ms", "mean", mean, "ms", 2);
  rep.add("timed", "aborts timed", static_cast<double>(ms.size()), "aborts", 0);
  rep.add("untimed", "aborts without an answer or a weight-0 patch", static_cast<double>(missing),
          "aborts", 0);
  rep.add("queries", "Prometheus queries answered", static_cast<double>(prom.queries()), "queries",
          0);
  rep.emit(c.json);
  return 0;
}

// ---- cpu ----

int cpu(const Flags& f) {
  Common c = common(f, 50, "");
  const int n = static_cast<int>(f.num("rollouts", 100));
  const int stepCount = 10;
  Cluster cluster({c.sourceDir, c.readyDelay});
  RolloutShape shape;
  shape.replicas = 10;
  for (int w = 1; w <= stepCount; ++w)
    shape.steps.push_back(R"({"setWeight":)" + std::to_string(10 * w) + "}");
  auto refs = cluster.seed(n, shape, "cpu", std::max(1, n / 100), "");
  auto p = startCanaryd(cluster, c);
  settle(cluster, *p, refs, Steady::now());
  cluster.clearRequests();
  double cpu0 = p->cpuSeconds();
  auto start = Steady::now();
  cluster.setImage(refs, "2");
  if (!cluster.waitAll(
          refs,
          [](const RolloutState& s) {
            return s.observed && s.phase == "Healthy" && !s.stableRS.empty() &&
                   s.stableRS == s.currentPodHash;
          },
          1800s)) {
    dumpLogTail(cluster);
    fail("cpu: the rollouts did not all complete");
  }
  double wall = secondsSince(start);
  cluster.waitQuiet(kCanarydAgent, 1000ms, 120s);
  double cpu1 = p->cpuSeconds();
  auto log = cluster.requests(kCanarydAgent);
  double writes = 0, reads = 0;
  for (const auto& r : log) {
    if (r.isWrite())
      writes += 1;
    else if (r.verb != "watch")
      reads += 1;
  }
  double transitions = static_cast<double>(n) * stepCount;
  Report rep("CPU: canaryd CPU seconds per 1,000 step transitions");
  commonParams(rep, c);
  rep.param("rollouts", std::to_string(n) +
                            " replica-ratio, 10 replicas, steps setWeight 10, 20, ... 100, "
                            "then promotion");
  rep.add("cpu_per_1000_transitions", "canaryd CPU per 1,000 step transitions",
          (cpu1 - cpu0) * 1000.0 / transitions, "s", 3);
  rep.add("cpu_seconds", "canaryd CPU, template change to all promoted", cpu1 - cpu0, "s", 2);
  rep.add("transitions", "step transitions", transitions, "transitions", 0);
  rep.add("wall_seconds", "wall time, template change to all promoted", wall, "s", 2);
  rep.add("writes_per_transition", "writes per step transition (promotion included)",
          writes / transitions, "writes", 2);
  rep.add("reads", "get/list during the run", reads, "requests", 0);
  rep.breakdown("writes", "canaryd writes per step transition, by verb and resource",
                byKind(log, true, transitions));
  rep.emit(c.json);
  return 0;
}

}  // namespace
}  // namespace canaryd::bench

int main(int argc, char** argv) {
  using namespace canaryd::bench;
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: canaryd_cluster_bench scale|burst|steps|latency|cpu --canaryd PATH "
                 "--source-dir DIR [--json FILE] [flags]\n");
    return 2;
  }
  std::string scenario = argv[1];
  Flags flags(argc, argv, 2);
  spdlog::set_level(spdlog::level::warn);
  if (scenario == "scale") return scale(flags);
  if (scenario == "burst") return burst(flags);
  if (scenario == "steps") return steps(flags);
  if (scenario == "latency") return latency(flags);
  if (scenario == "cpu") return cpu(flags);
  std::fprintf(stderr, "unknown scenario %s\n", scenario.c_str());
  return 2;
}
