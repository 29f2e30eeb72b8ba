// Simulated cluster controllers that run inside the emulator on its I/O thread: the
// garbage collector (background/foreground deletion by ownerReferences), the namespace
// controller (empties a terminating namespace, then removes it), and ReplicaSet /
// Deployment status convergence (replicas become ready after a configurable delay; a
// pod-template annotation keeps them unready). Not synchronised: I/O thread only.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>

#include "api_server.h"

namespace canaryd::emulator {

struct ControllerOptions {
  // Time from a ReplicaSet/Deployment spec change until its replicas report ready.
  std::chrono::milliseconds readyDelay{500};
  // A pod template annotation with this key and value "true" keeps readyReplicas at 0.
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
  // A ReplicaSet or Deployment changed: the status simulation looks again.
  void markWorkloadsDirty() { workloadsDirty_ = true; }
  ControllerOptions& options() { return options_; }

 private:
  void garbageCollect();
  void finalizeNamespaces();
  // Returns true if some object still waits for its ready delay.
  bool convergeWorkloads();

  ApiServer& api_;
  ControllerOptions options_;
  std::set<std::pair<std::string, std::string>> foreground_;  // storeKey, "ns/name"
  bool dirty_ = true;
  bool workloadsDirty_ = true;
  bool pending_ = false;
  // uid -> (generation, time that generation was first seen)
  std::map<std::string, std::pair<int64_t, std::chrono::steady_clock::time_point>> seen_;
};

}  // namespace canaryd::emulator
