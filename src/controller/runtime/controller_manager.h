// ControllerManager: runs the Rollout controller in a process (controller-runtime's
// manager + controller): starts the informers, waits for their caches, turns informer
// events into `namespace/name` keys on a rate-limited workqueue (an owned ReplicaSet
// enqueues its controller Rollout, a Service the Rollouts that name it, an
// AnalysisTemplate the Rollouts of its namespace), and runs N
// workers calling Reconciler::reconcile. With leader election, workers start only once
// this process leads, and writes are fenced by isLeader(). stop() stops taking work,
// lets in-flight reconciles finish, and releases the Lease. With server::Metrics it feeds
// the reconcile, workqueue, leader and Rollout metrics; notReadyReason() backs /readyz.
// Thread-safe: start/stop from one thread; notReadyReason from any; the rest is internal.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "analysis/prometheus/beast_transport.h"
#include "analysis/prometheus/client.h"
#include "analysis/runner.h"
#include "controller/reconciler.h"
#include "controller/runtime/kube_adapter.h"
#include "kube/client.h"
#include "kube/event_recorder.h"
#include "leader/leader_election.h"
#include "server/kube_api_observer.h"
#include "server/metrics.h"
#include "traffic/factory.h"
#include "traffic/kube_clients.h"
#include "workqueue/queue.h"

namespace canaryd::controller::runtime {

struct ManagerOptions {
  std::vector<std::string> namespaces;  // empty: every namespace
  int workers = 4;
  // nullopt: no leader election (this process always writes).
  std::optional<leader::LeaderElectionConfig> leaderElection;
  // The Prometheus analyses use when neither they nor their templates name one.
  std::optional<api::PrometheusProvider> defaultPrometheus;
  // How long start() waits for the caches before giving up (0: forever).
  std::chrono::milliseconds cacheSyncTimeout{0};
  std::string identity;  // reportingInstance of Events
  // How long an InvalidSpec caused by an unwatched object (a missing stable Ingress or
  // HTTPRoute ...) waits before the Rollout is looked at again
  // (ReconcilerOptions::invalidReferenceRequeue).
  std::chrono::milliseconds invalidSpecRequeue{std::chrono::seconds(30)};
  // Optional, must outlive the manager: reconcile, workqueue, leader and Rollout metrics.
  server::Metrics* metrics = nullptr;
  // Optional, must outlive the manager: which resources the API server does not serve or
  // RBAC refuses, for notReadyReason().
  const server::KubeApiObserver* api = nullptr;
  // Optional, must outlive the manager: the client Events are written with. A client of
  // their own (with its own rate limiter, as controller-runtime's event recorder has)
  // keeps a burst of Events from delaying ReplicaSet, route and status writes; null:
  // the main client.
  kube::Client* eventClient = nullptr;
};

class ControllerManager {
 public:
  // The client must outlive the manager.
  ControllerManager(kube::Client& client, ManagerOptions options);
  ~ControllerManager();
  ControllerManager(const ControllerManager&) = delete;
  ControllerManager& operator=(const ControllerManager&) = delete;

  // Starts the informers, waits for their caches (logging what is missing, e.g. CRDs not
  // installed), then campaigns for leadership (or starts the workers at once). Returns
  // false when stop() was called or the caches did not sync in cacheSyncTimeout.
  bool start();

  // Stop taking work, finish the reconciles in flight, stop the informers, release the
  // Lease and flush Events. Idempotent; returns when done.
  void stop();

  // True once leadership was held and then lost (not through stop()): the process should
  // exit and restart clean, as client-go's leader election expects.
  bool lostLeadership() const { return lostLeadership_.load(); }

  // True while workers run (leading, or no leader election).
  bool running() const { return running_.load(); }

  // Enqueues every cached Rollout (used after a leadership change).
  void enqueueAll();

  // nullopt once the informer caches synced (leading or standby, as controller-runtime's
  // readyz); before, why not: the CRDs to install, RBAC refusals, or the caches waiting.
  std::optional<std::string> notReadyReason() const;

 private:
  void registerHandlers();
  void startWorkers();
  void worker();
  void processItem(const std::string& key);
  void enqueue(const std::string& key);
  std::vector<server::RolloutSample> rolloutSamples();

  kube::Client& client_;
  ManagerOptions options_;

  Caches caches_;
  CacheLister lister_;
  std::unique_ptr<leader::LeaderElector> elector_;
  std::unique_ptr<kube::EventRecorder> events_;
  std::unique_ptr<KubeWriter> writer_;
  traffic::KubeTrafficClients trafficClients_;
  traffic::RouterFactory routers_;
  std::shared_ptr<analysis::prometheus::BeastHttpTransport> transport_;
  std::unique_ptr<analysis::prometheus::PrometheusProviderFactory> providers_;
  std::unique_ptr<analysis::Runner> runner_;
  std::unique_ptr<Reconciler> reconciler_;
  workqueue::RateLimitingQueue queue_;

  std::mutex mu_;
  std::vector<std::thread> workers_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> running_{false};
  std::atomic<bool> lostLeadership_{false};
  bool stopped_ = false;
};

}  // namespace canaryd::controller::runtime
