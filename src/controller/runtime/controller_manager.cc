#include "controller/runtime/controller_manager.h"

#include <spdlog/spdlog.h>

#include "controller/views.h"
#include "informer/store.h"
#include "workqueue/clock.h"

namespace canaryd::controller::runtime {

namespace {

template <class T>
std::string keyOf(const T& obj) {
  return informer::metaNamespaceKey(obj.metadata.namespace_, obj.metadata.name);
}

// The key of the Rollout controlling a ReplicaSet, or "" when a Rollout does not.
std::string ownerRolloutKey(const ReplicaSetView& rs) {
  const auto* ref = controllerOf(rs.metadata);
  if (!ref || ref->kind != api::kRolloutKind || ref->apiVersion.rfind(api::kGroup, 0) != 0)
    return {};
  return informer::metaNamespaceKey(rs.metadata.namespace_, ref->name);
}

}  // namespace

ControllerManager::ControllerManager(kube::Client& client, ManagerOptions options)
    : client_(client),
      options_(std::move(options)),
      caches_(client, options_.namespaces),
      lister_(caches_),
      trafficClients_(client),
      routers_(trafficClients_, trafficClients_),
      queue_(workqueue::QueueConfig{.name = "rollouts"}) {
  if (options_.leaderElection) {
    auto& le = *options_.leaderElection;
    le.onStartedLeading = [this] {
      spdlog::info("leader election: leading ({}/{})", options_.leaderElection->leaseNamespace,
                   options_.leaderElection->leaseName);
      startWorkers();
    };
    le.onStoppedLeading = [this] {
      if (stopping_.load()) return;
      spdlog::error("leader election: leadership lost; stopping");
      lostLeadership_ = true;
      // No more reconciles: the writes are fenced already, and the new leader owns the work.
      queue_.shutDown();
    };
    le.onNewLeader = [](const std::string& identity) {
      if (!identity.empty()) spdlog::info("leader election: the leader is {}", identity);
    };
    elector_ = std::make_unique<leader::LeaderElector>(client, le);
  }
  kube::EventRecorderOptions eventOptions;
  eventOptions.reportingInstance = options_.identity;
  events_ = std::make_unique<kube::EventRecorder>(client, eventOptions);
  WriteFence fence;
  if (elector_) fence = [e = elector_.get()] { return e->isLeader(); };
  writer_ = std::make_unique<KubeWriter>(client, events_.get(), std::move(fence));

  transport_ = std::make_shared<analysis::prometheus::BeastHttpTransport>();
  providers_ = std::make_unique<analysis::prometheus::PrometheusProviderFactory>(
      transport_, kubeSecretReader(client));
  analysis::RunnerOptions runnerOptions;
  runnerOptions.defaultPrometheus = options_.defaultPrometheus;
  runner_ = std::make_unique<analysis::Runner>(*providers_, &lister_, runnerOptions);
  reconciler_ = std::make_unique<Reconciler>(lister_, *writer_, workqueue::RealClock::instance(),
                                             &routers_, runner_.get());
  registerHandlers();
}

ControllerManager::~ControllerManager() { stop(); }

void ControllerManager::enqueue(const std::string& key) {
  if (!key.empty()) queue_.add(key);
}

void ControllerManager::enqueueAll() {
  for (auto* c : caches_.all()) {
    for (const auto& key : c->rollouts->store().listKeys()) enqueue(key);
  }
}

void ControllerManager::registerHandlers() {
  for (auto* c : caches_.all()) {
    auto rollouts = std::make_shared<informer::EventHandlerFuncs<RolloutView>>();
    rollouts->addFunc = [this](const informer::ObjectPtr<RolloutView>& r, bool) {
      enqueue(keyOf(*r));
    };
    rollouts->updateFunc = [this](const informer::ObjectPtr<RolloutView>&,
                                  const informer::ObjectPtr<RolloutView>& r) {
      enqueue(keyOf(*r));
    };
    rollouts->deleteFunc = [this](const informer::DeletedObject<RolloutView>& d) {
      if (const auto& r = informer::deletedObjectOf(d)) enqueue(keyOf(*r));
    };
    c->rollouts->addEventHandler(rollouts);

    auto replicaSets = std::make_shared<informer::EventHandlerFuncs<ReplicaSetView>>();
    replicaSets->addFunc = [this](const informer::ObjectPtr<ReplicaSetView>& rs, bool) {
      enqueue(ownerRolloutKey(*rs));
    };
    replicaSets->updateFunc = [this](const informer::ObjectPtr<ReplicaSetView>& before,
                                     const informer::ObjectPtr<ReplicaSetView>& after) {
      if (before->metadata.resourceVersion == after->metadata.resourceVersion) return;
      std::string oldOwner = ownerRolloutKey(*before), newOwner = ownerRolloutKey(*after);
      enqueue(newOwner);
      if (oldOwner != newOwner) enqueue(oldOwner);
    };
    replicaSets->deleteFunc = [this](const informer::DeletedObject<ReplicaSetView>& d) {
      if (const auto& rs = informer::deletedObjectOf(d)) enqueue(ownerRolloutKey(*rs));
    };
    c->replicaSets->addEventHandler(replicaSets);

    // A Service enqueues the Rollouts that name it (the Rollout informer's service index).
    auto services = std::make_shared<informer::EventHandlerFuncs<ServiceView>>();
    auto byService = [this, c](const ServiceView& svc) {
      auto rs = c->rollouts->store().indexKeys(kServiceIndex, keyOf(svc));
      if (!rs) return;
      for (const auto& key : *rs) enqueue(key);
    };
    services->addFunc = [byService](const informer::ObjectPtr<ServiceView>& s, bool) {
      byService(*s);
    };
    services->updateFunc = [byService](const informer::ObjectPtr<ServiceView>& before,
                                       const informer::ObjectPtr<ServiceView>& after) {
      if (before->metadata.resourceVersion != after->metadata.resourceVersion) byService(*after);
    };
    services->deleteFunc = [byService](const informer::DeletedObject<ServiceView>& d) {
      if (const auto& s = informer::deletedObjectOf(d)) byService(*s);
    };
    c->services->addEventHandler(services);
  }
}

bool ControllerManager::start() {
  caches_.start();
  auto lastLog = std::chrono::steady_clock::now();
  auto begin = lastLog;
  while (!caches_.hasSynced()) {
    if (stopping_.load()) return false;
    auto now = std::chrono::steady_clock::now();
    if (options_.cacheSyncTimeout.count() > 0 && now - begin > options_.cacheSyncTimeout) {
      std::string missing;
      for (const auto& m : caches_.unsynced()) missing += (missing.empty() ? "" : ", ") + m;
      spdlog::error("caches did not sync in time: {}", missing);
      return false;
    }
    if (now - lastLog > std::chrono::seconds(10)) {
      lastLog = now;
      std::string missing;
      for (const auto& m : caches_.unsynced()) missing += (missing.empty() ? "" : ", ") + m;
      spdlog::warn(
          "waiting for caches to sync: {} (are the canaryd CRDs installed? kubectl apply -f "
          "crds/)",
          missing);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  spdlog::info("caches synced");
  if (elector_) {
    spdlog::info("leader election: campaigning for {}/{} as {}",
                 options_.leaderElection->leaseNamespace, options_.leaderElection->leaseName,
                 options_.leaderElection->identity);
    elector_->start();
  } else {
    startWorkers();
  }
  return true;
}

void ControllerManager::startWorkers() {
  std::lock_guard lock(mu_);
  if (stopping_.load() || !workers_.empty()) return;
  enqueueAll();
  int n = std::max(1, options_.workers);
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { worker(); });
  running_ = true;
  spdlog::info("started {} workers", n);
}

void ControllerManager::worker() {
  for (;;) {
    auto item = queue_.get();
    if (item.shutdown) return;
    // Stopping or deposed: hand the key back without working on it.
    if (stopping_.load() || lostLeadership_.load()) {
      queue_.done(item.item);
      continue;
    }
    processItem(item.item);
    queue_.done(item.item);
  }
}

void ControllerManager::processItem(const std::string& key) {
  auto started = std::chrono::steady_clock::now();
  Result r = reconciler_->reconcile(key);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count();
  switch (r.error) {
    case Result::Error::kNone:
      queue_.forget(key);
      if (r.requeueAfter) {
        spdlog::debug("{}: reconciled in {} ms; again in {} ms", key, ms, r.requeueAfter->count());
        queue_.addAfter(key, *r.requeueAfter);
      } else {
        spdlog::debug("{}: reconciled in {} ms", key, ms);
      }
      break;
    case Result::Error::kTransient:
      spdlog::info("{}: {}; retrying (attempt {})", key, r.message, queue_.numRequeues(key) + 1);
      queue_.addRateLimited(key);
      break;
    case Result::Error::kTerminal:
      spdlog::warn("{}: {}; not retried until the Rollout changes", key, r.message);
      queue_.forget(key);
      break;
  }
}

void ControllerManager::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
  }
  spdlog::info("stopping: finishing reconciles in flight");
  queue_.shutDown();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mu_);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
  running_ = false;
  caches_.stop();
  // Only now, with no write in flight, may a standby take over.
  if (elector_) elector_->stop();
  if (events_) events_->flush(std::chrono::seconds(2));
  spdlog::info("stopped");
}

}  // namespace canaryd::controller::runtime
