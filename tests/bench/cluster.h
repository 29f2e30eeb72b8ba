// The benchmarks' cluster: an in-process kube-emulator seeded at bare speed (requests
// handled on the emulator's thread, not over HTTP, so they are not in its request log),
// Rollouts of a realistic size with their Services, Ingresses and stable ReplicaSets, the
// real canaryd binary as a child process (RSS and CPU read from /proc), a fixed-answer Prometheus
// endpoint that answers instant queries with a fixed value and records when each answer left, and
// the emulator's request log (GET /_emulator/requests) parsed.
// Not thread-safe except where noted: one benchmark thread drives it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kube/http_client.h"
#include "server.h"

namespace canaryd::bench {

// CLOCK_REALTIME in microseconds since the Unix epoch: the clock of the request log.
int64_t realtimeMicros();
double secondsSince(std::chrono::steady_clock::time_point start);

// --name value flags; a flag given twice keeps the last value.
class Flags {
 public:
  Flags(int argc, char** argv, int first);
  std::string str(const std::string& name, const std::string& fallback) const;
  long num(const std::string& name, long fallback) const;
  double real(const std::string& name, double fallback) const;
  bool has(const std::string& name) const { return values_.count(name) > 0; }

 private:
  std::map<std::string, std::string> values_;
};

// How the seeded Rollouts look. Steps and analysis are JSON fragments.
struct RolloutShape {
  bool nginx = false;              // trafficRouting.nginx with a stable Ingress
  std::vector<std::string> steps;  // each a JSON object, e.g. {"setWeight":20}
  std::string backgroundAnalysis;  // JSON object for strategy.canary.analysis; "" none
  // Analyses (background or steps) name their Prometheus as "PROMETHEUS".
  int replicas = 4;
};

// The benchmarks' usual Rollout: nginx-routed, steps setWeight 10, pause 1m, setWeight 50,
// pause, with background analysis of error-rate (max 0.01) and latency-p95 (max 0.3 s)
// from the Prometheus named "PROMETHEUS".
RolloutShape analysedNginxShape();

struct RolloutRef {
  std::string ns;
  std::string name;
  std::string uid;
  std::string stableHash;
};

// What the bench reads of a Rollout's status.
struct RolloutState {
  std::string phase;
  int stepIndex = -1;
  int weight = 0;
  bool observed = false;  // status.observedGeneration == metadata.generation
  bool abort = false;
  std::string currentPodHash;
  std::string stableRS;
};

// One entry of the emulator's request log.
struct LoggedRequest {
  int64_t timeMicros = 0;
  std::string verb, group, resource, subresource, ns, name;
  unsigned code = 0;
  bool isWrite() const {
    return verb == "create" || verb == "update" || verb == "patch" || verb == "delete";
  }
  // "patch replicasets", "update rollouts/status".
  std::string kind() const {
    return verb + " " + resource + (subresource.empty() ? "" : "/" + subresource);
  }
};

struct ClusterOptions {
  std::string sourceDir;  // the canaryd tree (for crds/)
  std::chrono::milliseconds readyDelay{100};
};

class Cluster {
 public:
  explicit Cluster(ClusterOptions options);
  ~Cluster();

  const std::string& kubeconfigPath() const { return kubeconfigPath_; }
  const std::string& workDir() const { return workDir_; }
  emulator::Emulator& emulator() { return *emu_; }

  // Creates n Rollouts named <prefix>-<i> spread over `namespaces` namespaces
  // (<prefix>-ns-<k>), each with its stable and canary Services (selectors pinned to the
  // stable hash and annotated canaryd.io/managed-by), its stable Ingress when shape.nginx,
  // and its stable ReplicaSet (`<name>-<hash>`, owned by the Rollout, as canaryd creates
  // it), then waits until the emulator reports every ReplicaSet ready. The Rollouts have no
  // status: canaryd adopts them. `prometheusAddress` replaces PROMETHEUS in the shape.
  std::vector<RolloutRef> seed(int n, const RolloutShape& shape, const std::string& prefix,
                               int namespaces, const std::string& prometheusAddress);
  // Average JSON bytes per seeded object, by kind.
  std::map<std::string, double> seededBytesPerObject() const;

  // A new image on every Rollout given (a JSON patch of containers[0].image), at once.
  void setImage(const std::vector<RolloutRef>& rollouts, const std::string& tag);
  // `kubectl canary promote`: status.pauseConditions null, through the status subresource.
  void promote(const std::vector<RolloutRef>& rollouts);
  std::vector<RolloutState> states(const std::vector<RolloutRef>& rollouts);
  // Polls states() every 200 ms until pred holds for all of them; false after `timeout`.
  bool waitAll(const std::vector<RolloutRef>& rollouts,
               const std::function<bool(const RolloutState&)>& pred, std::chrono::seconds timeout);

  // The request log entries whose User-Agent starts with the prefix (over HTTP).
  std::vector<LoggedRequest> requests(const std::string& userAgentPrefix);
  void clearRequests();
  // Waits until the newest non-watch request of `userAgentPrefix` is `quiet` old.
  bool waitQuiet(const std::string& userAgentPrefix, std::chrono::milliseconds quiet,
                 std::chrono::seconds timeout);

  // A bare client (User-Agent "bench-client/1", no client-side rate limit).
  kube::HttpClient& client() { return *client_; }

  // Runs a request on the emulator thread; returns the status and body.
  std::pair<unsigned, std::string> handle(const std::string& method, const std::string& path,
                                          const std::string& body,
                                          const std::string& contentType = "application/json");

 private:
  ClusterOptions options_;
  std::string workDir_;
  std::string kubeconfigPath_;
  std::unique_ptr<emulator::Emulator> emu_;
  std::unique_ptr<kube::HttpClient> client_;
  std::map<std::string, std::pair<double, int>> bytes_;  // kind -> total bytes, count
};

// The JSON of the objects the bench seeds (exposed for the micro-benchmarks).
std::string rolloutJson(const std::string& ns, const std::string& name, const RolloutShape& shape,
                        const std::string& prometheusAddress);
std::string podTemplateJson(const std::string& name, const std::string& image);

// canaryd as a child process: `canaryd run --kubeconfig K --leader-elect false
// --metrics-bind-address 127.0.0.1:0 --health-probe-bind-address 127.0.0.1:0 <args>`, its
// output in <workDir>/canaryd.log. The destructor stops it (SIGTERM, then SIGKILL).
class CanarydProcess {
 public:
  CanarydProcess(const std::string& binary, const std::string& kubeconfig,
                 const std::string& logPath, const std::vector<std::string>& args);
  ~CanarydProcess();
  pid_t pid() const { return pid_; }
  bool alive() const;
  // Polls the log until a line contains `needle`; false after timeout or if it exited.
  bool waitForLog(const std::string& needle, std::chrono::seconds timeout) const;
  // /proc/<pid>/status VmRSS and VmHWM in KiB.
  long rssKiB() const;
  long hwmKiB() const;
  // utime + stime from /proc/<pid>/stat, in seconds.
  double cpuSeconds() const;
  void stop();

 private:
  long statusField(const char* field) const;
  pid_t pid_ = -1;
  std::string logPath_;
};

// An endpoint speaking Prometheus' instant-query API that answers every POST/GET
// /api/v1/query with one sample of `value`: the benchmarks need the moment each answer is
// written, which a real Prometheus cannot report (the analysis tests use a real one). For
// each query it records the key `namespace/rollout` (read from the labels namespace="..." and
// rollout="..." in the query) and the CLOCK_REALTIME microseconds after the answer was
// written. Thread-safe.
class FixedAnswerPrometheus {
 public:
  explicit FixedAnswerPrometheus(double value);
  ~FixedAnswerPrometheus();
  std::string address() const;
  // key -> times of the answers, in order.
  std::map<std::string, std::vector<int64_t>> answers() const;
  size_t queries() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// p-th percentile (0-100) by nearest rank of unsorted values; 0 when empty.
double percentile(std::vector<double> values, double p);

// A benchmark's report: a titled table of measures, printed as Markdown, and the same as
// JSON {"benchmark":..,"parameters":{..},"results":{name:{"value":..,"unit":..}},
// "breakdown":{..}}.
class Report {
 public:
  explicit Report(std::string name) : name_(std::move(name)) {}
  void param(const std::string& key, const std::string& value);
  void add(const std::string& key, const std::string& label, double value, const std::string& unit,
           int decimals = 2);
  // A breakdown table (e.g. writes by verb and resource): rows of label -> value.
  void breakdown(const std::string& key, const std::string& title,
                 const std::vector<std::pair<std::string, double>>& rows, int decimals = 2);
  // Prints the tables; writes the JSON to `jsonPath`, or after a "JSON:" line when empty.
  void emit(const std::string& jsonPath) const;

 private:
  struct Row {
    std::string key, label, unit;
    double value;
    int decimals;
  };
  struct Breakdown {
    std::string key, title;
    std::vector<std::pair<std::string, double>> rows;
    int decimals;
  };
  std::string name_;
  std::vector<std::pair<std::string, std::string>> params_;
  std::vector<Row> rows_;
  std::vector<Breakdown> breakdowns_;
};

}  // namespace canaryd::bench
