// The reconciler's Lister and Writer mapped onto the cluster: CacheLister reads the shared
// informers' stores (Rollouts, canaryd's ReplicaSets, Services, AnalysisTemplates), one
// set per watched namespace, and doubles as the analysis TemplateResolver; KubeWriter
// writes through kube::Client and records Events through the EventRecorder, and writes
// nothing once its fence (the leader election's isLeader) says this process may not.
// Thread-safe: the stores, the client and the recorder are.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/prometheus/client.h"
#include "analysis/runner.h"
#include "api/types.h"
#include "controller/cluster.h"
#include "controller/views.h"
#include "informer/informer.h"
#include "kube/client.h"
#include "kube/event_recorder.h"

namespace canaryd::controller::runtime {

// Index of Rollouts by the Services they name: "namespace/service" for
// spec.strategy.canary.stableService and canaryService, so that a changed Service
// finds the Rollouts to reconcile.
inline constexpr std::string_view kServiceIndex = "service";

// The label every ReplicaSet canaryd manages carries; the ReplicaSet informer watches
// only those (label selector: the key exists).
inline constexpr std::string_view kPodTemplateHashLabel = "canaryd.io/pod-template-hash";

// The informers of one namespace ("" for every namespace).
struct NamespaceCaches {
  std::string namespace_;
  std::unique_ptr<informer::SharedInformer<RolloutView>> rollouts;
  std::unique_ptr<informer::SharedInformer<ReplicaSetView>> replicaSets;
  std::unique_ptr<informer::SharedInformer<ServiceView>> services;
  std::unique_ptr<informer::SharedInformer<api::AnalysisTemplate>> templates;
};

// The informers canaryd runs: for every namespace watched, or one set for all of them.
class Caches {
 public:
  // `namespaces` empty: every namespace. The client must outlive the caches.
  Caches(kube::Client& client, const std::vector<std::string>& namespaces);
  ~Caches();
  Caches(const Caches&) = delete;
  Caches& operator=(const Caches&) = delete;

  void start();
  // Stops every reflector; the stores stay readable.
  void stop();
  bool hasSynced() const;
  // The informers that have not synced yet, named by resource and namespace (for logs).
  std::vector<std::string> unsynced() const;

  // The caches holding namespace `ns`, or nullptr when it is not watched.
  const NamespaceCaches* forNamespace(std::string_view ns) const;
  std::vector<NamespaceCaches*> all();

 private:
  std::vector<std::unique_ptr<NamespaceCaches>> caches_;
  bool allNamespaces_ = false;
};

// The transforms from API JSON into what the caches keep.
informer::Transform<RolloutView> rolloutTransform();
informer::Transform<ReplicaSetView> replicaSetTransform();
informer::Transform<ServiceView> serviceTransform();
informer::Transform<api::AnalysisTemplate> analysisTemplateTransform();

class CacheLister final : public Lister, public analysis::TemplateResolver {
 public:
  explicit CacheLister(const Caches& caches) : caches_(caches) {}

  Ptr<RolloutView> getRollout(std::string_view ns, std::string_view name) const override;
  std::vector<Ptr<ReplicaSetView>> replicaSetsOwnedBy(std::string_view ns,
                                                      std::string_view ownerUid) const override;
  std::vector<Ptr<ReplicaSetView>> replicaSetsMatching(
      std::string_view ns, const api::LabelSelector& selector) const override;
  Ptr<ReplicaSetView> getReplicaSet(std::string_view ns, std::string_view name) const override;
  Ptr<ServiceView> getService(std::string_view ns, std::string_view name) const override;

  std::optional<api::AnalysisTemplateSpec> find(std::string_view ns,
                                                std::string_view name) const override;

 private:
  const Caches& caches_;
};

// True while this process may write (it leads, or leader election is off).
using WriteFence = std::function<bool()>;

class KubeWriter final : public Writer {
 public:
  // `events` may be null (events are then only logged). All must outlive the writer.
  KubeWriter(kube::Client& client, kube::EventRecorder* events, WriteFence fence,
             std::string fieldManager = "canaryd");

  WriteResult<ReplicaSetView> createReplicaSet(std::string_view ns,
                                               const std::string& body) override;
  // Not fenced: a read changes nothing.
  WriteResult<LiveReplicaSet> readReplicaSet(std::string_view ns, std::string_view name) override;
  // Not fenced either.
  WriteResult<api::Rollout> readRollout(std::string_view ns, std::string_view name) override;
  WriteResult<ReplicaSetView> patchReplicaSet(std::string_view ns, std::string_view name,
                                              const std::string& mergePatch) override;
  WriteResult<void> deleteReplicaSet(std::string_view ns, std::string_view name,
                                     std::string_view uid) override;
  WriteResult<void> patchService(std::string_view ns, std::string_view name,
                                 const std::string& mergePatch) override;
  WriteResult<void> updateRolloutStatus(std::string_view ns, std::string_view name,
                                        std::string_view resourceVersion,
                                        const std::string& statusJson) override;
  void recordEvent(const api::Rollout& rollout, EventType type, std::string_view reason,
                   std::string_view message) override;

  // An API error as the reconciler's WriteError (AlreadyExists before Conflict: both 409).
  static WriteError toWriteError(const kube::ApiError& e);

  // From now on, the Rollout a status update returns is written back into the Rollout
  // informer's store of `caches` when it is newer than the one there (Store::updateIfNewer;
  // Argo Rollouts' writeBackToInformer), so that the next reconcile of that Rollout does not
  // read the status it replaced and get a 409 Conflict. The watch event of the write still
  // reaches the handlers. Call before the first write; `caches` must outlive the writer.
  void writeBackTo(Caches& caches) { writeBack_ = &caches; }

 private:
  // A kOther error when the fence is down; nullopt when the write may go ahead.
  std::optional<WriteError> fenced(std::string_view what) const;

  kube::Client& client_;
  kube::EventRecorder* events_;
  WriteFence fence_;
  kube::WriteOptions options_;
  Caches* writeBack_ = nullptr;
};

// Reads a Secret's data (base64-decoded) through the client, for Prometheus credentials.
analysis::prometheus::SecretReader kubeSecretReader(kube::Client& client);

}  // namespace canaryd::controller::runtime
