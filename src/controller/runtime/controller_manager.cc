#include "controller/runtime/controller_manager.h"

#include <spdlog/spdlog.h>

#include "controller/views.h"
#include "informer/store.h"
#include "server/probes.h"
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
      queue_(workqueue::QueueConfig{.name = "rollouts", .metrics = options_.metrics}) {
  if (options_.leaderElection) {
    auto& le = *options_.leaderElection;
    le.onStartedLeading = [this] {
      spdlog::info("leader election: leading ({}/{})", options_.leaderElection->leaseNamespace,
                   options_.leaderElection->leaseName);
      if (options_.metrics) options_.metrics->setLeader(true);
      startWorkers();
    };
    le.onStoppedLeading = [this] {
      if (options_.metrics) options_.metrics->setLeader(false);
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
  events_ = std::make_unique<kube::EventRecorder>(
      options_.eventClient ? *options_.eventClient : client, eventOptions);
  WriteFence fence;
  if (elector_) fence = [e = elector_.get()] { return e->isLeader(); };
  writer_ = std::make_unique<KubeWriter>(client, events_.get(), std::move(fence));
  writer_->writeBackTo(caches_);

  transport_ = std::make_shared<analysis::prometheus::BeastHttpTransport>();
  providers_ = std::make_unique<analysis::prometheus::PrometheusProviderFactory>(
      transport_, kubeSecretReader(client));
  analysis::RunnerOptions runnerOptions;
  runnerOptions.defaultPrometheus = options_.defaultPrometheus;
  if (options_.metrics) {
    runnerOptions.onMeasurement = [m = options_.metrics](const std::string& metric,
                                                         std::string_view phase) {
      m->analysisMeasurement(metric, phase);
    };
  }
  runner_ = std::make_unique<analysis::Runner>(*providers_, &lister_, runnerOptions);
  ReconcilerOptions reconcilerOptions;
  reconcilerOptions.invalidReferenceRequeue = options_.invalidSpecRequeue;
  reconciler_ = std::make_unique<Reconciler>(lister_, *writer_, workqueue::RealClock::instance(),
                                             &routers_, runner_.get(), reconcilerOptions);
  registerHandlers();
  if (options_.metrics) options_.metrics->setRolloutSource([this] { return rolloutSamples(); });
}

ControllerManager::~ControllerManager() {
  // First, so that no scrape reads the caches while they go away.
  if (options_.metrics) options_.metrics->setRolloutSource({});
  stop();
}

std::vector<server::RolloutSample> ControllerManager::rolloutSamples() {
  std::vector<server::RolloutSample> out;
  for (auto* c : caches_.all()) {
    for (const auto& r : c->rollouts->store().list()) {
      server::RolloutSample s;
      s.namespace_ = r->metadata.namespace_;
      s.name = r->metadata.name;
      s.phase = std::string(api::toString(r->status.phase));
      s.canaryWeight = r->status.canaryWeight;
      s.currentStepIndex = r->status.currentStepIndex;
      out.push_back(std::move(s));
    }
  }
  return out;
}

std::optional<std::string> ControllerManager::notReadyReason() const {
  auto unsynced = caches_.unsynced();
  if (unsynced.empty()) return std::nullopt;
  return server::cacheSyncReason(unsynced, options_.api);
}

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

    // An AnalysisTemplate created, changed or deleted may settle a Rollout that names it
    // (e.g. one held InvalidSpec for a missing template): enqueue the Rollouts of its
    // namespace. Templates change rarely, so no index by template name is kept.
    auto templates = std::make_shared<informer::EventHandlerFuncs<api::AnalysisTemplate>>();
    auto byNamespace = [this, c](const api::AnalysisTemplate& t) {
      std::string prefix = t.metadata.namespace_ + "/";
      for (const auto& key : c->rollouts->store().listKeys())
        if (key.rfind(prefix, 0) == 0) enqueue(key);
    };
    templates->addFunc = [byNamespace](const informer::ObjectPtr<api::AnalysisTemplate>& t, bool) {
      byNamespace(*t);
    };
    templates->updateFunc = [byNamespace](const informer::ObjectPtr<api::AnalysisTemplate>& a,
                                          const informer::ObjectPtr<api::AnalysisTemplate>& b) {
      if (a->metadata.resourceVersion != b->metadata.resourceVersion) byNamespace(*b);
    };
    templates->deleteFunc = [byNamespace](const informer::DeletedObject<api::AnalysisTemplate>& d) {
      if (const auto& t = informer::deletedObjectOf(d)) byNamespace(*t);
    };
    c->templates->addEventHandler(templates);
  }
}

bool ControllerManager::start() {
  caches_.start();
  auto begin = std::chrono::steady_clock::now();
  auto lastLog = begin;
  std::string lastReason;
  while (!caches_.hasSynced()) {
    if (stopping_.load()) return false;
    auto now = std::chrono::steady_clock::now();
    auto reason = notReadyReason();
    if (!reason) continue;
    if (options_.cacheSyncTimeout.count() > 0 && now - begin > options_.cacheSyncTimeout) {
      spdlog::error("caches did not sync in time: {}", *reason);
      return false;
    }
    // A new reason (the CRDs found missing, RBAC refusing a list) at once; the same one
    // every 30 s while it lasts. The informers keep retrying meanwhile.
    bool changed = *reason != lastReason && now - begin > std::chrono::milliseconds(500);
    if (changed || now - lastLog > std::chrono::seconds(30)) {
      lastLog = now;
      lastReason = *reason;
      spdlog::warn("not ready: {}", *reason);
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
  if (options_.metrics && !elector_) options_.metrics->setLeader(true);
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
  auto took = std::chrono::steady_clock::now() - started;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
  if (options_.metrics) options_.metrics->observeReconcile(took, r.error != Result::Error::kNone);
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
      queue_.forget(key);
      if (r.requeueAfter) {
        // Caused by an object no informer watches: looked at again after a delay.
        spdlog::info("{}: {}; looked at again in {} ms or when the Rollout changes", key, r.message,
                     r.requeueAfter->count());
        queue_.addAfter(key, *r.requeueAfter);
      } else {
        spdlog::warn("{}: {}; not retried until the Rollout changes", key, r.message);
      }
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
  if (options_.metrics) options_.metrics->setLeader(false);
  caches_.stop();
  // Only now, with no write in flight, may a standby take over.
  if (elector_) elector_->stop();
  if (events_) events_->flush(std::chrono::seconds(2));
  spdlog::info("stopped");
}

}  // namespace canaryd::controller::runtime
