// Simulated cluster controllers that run inside the emulator on its I/O thread: the
// garbage collector (background/foreground deletion by ownerReferences), the namespace
// controller (empties a terminating namespace, then removes it), the deployment
// controller (each Deployment owns a ReplicaSet "<name>-<pod-template-hash>" per pod
// template, scaled and reported as kube-controller-manager does), ReplicaSet status
// convergence (replicas become ready after a configurable delay; a pod-template
// annotation keeps them unready) and a kubelet for bare Pods (Running and Ready after
// the same delay). Not synchronised: I/O thread only.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "api_server.h"

namespace canaryd::emulator {

struct ControllerOptions {
  // Time from a ReplicaSet spec change until its replicas report ready, and from a
  // Pod's creation until it runs.
  std::chrono::milliseconds readyDelay{500};
  // A pod template annotation with this key and value "true" keeps readyReplicas at 0
  // (and on a bare Pod keeps it Running but not Ready).
  std::string neverReadyAnnotation = "emulator.canaryd.io/never-ready";
};

class Controllers {
 public:
  Controllers(ApiServer& api, ControllerOptions options)
      : api_(api), options_(std::move(options)) {}

  // One pass of every controller; returns true if more work is pending soon (a status
  // waiting for its delay), so the caller can tick again.
  bool runOnce();
  // Something was deleted or got owners: the GC and namespace controller look again.
  void markDirty() { dirty_ = true; }
  // An object entered foreground deletion: the GC removes its finalizer once its
  // dependents are gone.
  void markForeground(const std::string& storeKey, const std::string& key) {
    foreground_.insert({storeKey, key});
    dirty_ = true;
  }
  // A ReplicaSet, Deployment or Pod changed: the workload controllers look again.
  void markWorkloadsDirty() { workloadsDirty_ = true; }
  ControllerOptions& options() { return options_; }

 private:
  void garbageCollect();
  void finalizeNamespaces();
  // Returns true if some object still waits for its ready delay.
  bool convergeWorkloads();
  // The deployment controller's sync (pkg/controller/deployment/sync.go, rolling.go,
  // recreate.go), simplified: the ReplicaSet of the current template is scaled to
  // spec.replicas at once; older ones go to 0 when it is available (RollingUpdate) or at
  // once (Recreate); old ReplicaSets beyond revisionHistoryLimit are deleted.
  void syncDeployments();
  void syncDeployment(const rapidjson::Value& deployment, std::vector<ObjectPtr> owned);
  // ReplicaSet status; returns true if one still waits for its delay.
  bool convergeReplicaSets(std::chrono::steady_clock::time_point now, std::set<std::string>& live);
  // Deployment status from its ReplicaSets (deployment controller's calculateStatus).
  void deploymentStatuses();
  // The kubelet's part for Pods: Pending -> Running with Ready conditions after the
  // delay. Returns true if one still waits.
  bool runPods(std::chrono::steady_clock::time_point now, std::set<std::string>& live);
  // Sends a request to the API server as a controller would (not counted, no faults).
  Response call(const std::string& method, const std::string& path, const std::string& body,
                const std::string& contentType = "application/merge-patch+json");

  ApiServer& api_;
  ControllerOptions options_;
  std::set<std::pair<std::string, std::string>> foreground_;  // storeKey, "ns/name"
  bool dirty_ = true;
  bool workloadsDirty_ = true;
  bool pending_ = false;
  // uid -> (generation, time that generation was first seen)
  std::map<std::string, std::pair<int64_t, std::chrono::steady_clock::time_point>> seen_;
  // Deployment uid -> status.collisionCount raised by a ReplicaSet name collision.
  std::map<std::string, int32_t> collisionCounts_;
};

}  // namespace canaryd::emulator
