// The commands of the `kubectl canary` plugin over a kube::Client: reads of Rollouts
// (list, get, status with an optional watch, history) and the user controls, each the
// plain patch documented in controller/reconciler.h. Output goes to the given streams;
// every command returns the process exit code. One Plugin serves one command at a time
// (not synchronised); the client may be shared.
#pragma once

#include <chrono>
#include <ostream>
#include <string>
#include <string_view>

#include "kube/client.h"

namespace canaryd::cli {

// Exit codes. `status` uses all of them: 0 Healthy, 1 Degraded, 2 timed out or still in
// progress without --watch, or the API could not be read. Other commands: 0 or 1.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // an error; for `status`, also phase Degraded
inline constexpr int kExitPending = 2;  // `status`: not decided in time; usage errors

// -o: the table / report (kNone), or the object as JSON or YAML.
enum class OutputFormat { kNone, kJson, kYaml };

struct PluginOptions {
  std::string namespace_ = "default";  // -n, or the kubeconfig context's namespace
  bool color = false;                  // stdout is a terminal and NO_COLOR is unset
  std::ostream* out = nullptr;         // required
  std::ostream* err = nullptr;         // required
};

class Plugin {
 public:
  // The client must outlive the plugin.
  Plugin(kube::Client& client, PluginOptions options);

  // Rollouts of the namespace (every namespace with allNamespaces), sorted by namespace
  // and name. No Rollouts: "No resources found in <ns> namespace." on stderr, exit 0, as
  // kubectl get.
  int list(bool allNamespaces, OutputFormat output);
  // The report of one Rollout with its stable and canary ReplicaSets.
  int get(const std::string& name, OutputFormat output);
  // Prints "<phase> - <message>". Without watch: exit 0 Healthy, 1 Degraded, 2 otherwise.
  // With watch: follows the Rollout through a watch (re-opened as it ends, relisting on
  // 410 Gone, riding out transport errors), printing each change, until it is Healthy
  // (0) or Degraded (1) or `timeout` passes (2; zero waits for ever). Healthy needs
  // status.observedGeneration to have caught up with metadata.generation.
  int status(const std::string& name, bool watch, std::chrono::milliseconds timeout);
  // status.history as a table (or -o json|yaml: the history array).
  int history(const std::string& name, OutputFormat output);

  // Controls. promote: removes status.pauseConditions (leaving the current pause or
  // inconclusive-analysis pause) or, when the canary waits at another step, sets
  // status.currentStepIndex to the next step; full sets status.promoteFull (and removes
  // the pause conditions). A manually paused Rollout (spec.paused) is resumed too, as
  // `kubectl argo rollouts promote` does. Status writes carry the resourceVersion read, so
  // a step that moved meanwhile is not skipped by mistake (409: read again, decide again).
  int promote(const std::string& name, bool full);
  int abort(const std::string& name);   // status.abort: true
  int retry(const std::string& name);   // status.abort: false, only after an abort
  int pause(const std::string& name);   // spec.paused: true
  int resume(const std::string& name);  // spec.paused: false

 private:
  // Reads the Rollout; on failure prints the error (NotFound worded as kubectl, a missing
  // CRD with how to install it) and returns nullptr.
  kube::Object read(const std::string& name);
  // Prints an API error as kubectl does: "Error from server (<Reason>): <message>" for
  // server answers, "error: <message>" for client-side failures.
  void printError(const kube::ApiError& e);
  // True when the server does not serve rollouts.canaryd.io (the CRDs are not installed).
  bool crdMissing();
  void printCrdMissing();
  int statusPatch(const std::string& name, std::string_view patch, std::string_view verb);
  int specPatch(const std::string& name, std::string_view patch, std::string_view verb);

  kube::Client& client_;
  PluginOptions options_;
};

// "rollout.canaryd.io/<name>", as kubectl names an object in messages.
std::string objectRef(std::string_view name);

}  // namespace canaryd::cli
