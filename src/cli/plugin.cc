#include "cli/plugin.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>

#include "api/decode.h"
#include "api/json.h"
#include "cli/render.h"
#include "cli/yaml_output.h"
#include "controller/names.h"
#include "controller/views.h"
#include "kube/watch.h"

namespace canaryd::cli {
namespace {

using kube::resources::kReplicaSets;
using kube::resources::kRollouts;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kFieldManager = "kubectl-canary";
// Status writes preconditioned on the resourceVersion read are retried this many times
// when the controller wrote in between (409).
constexpr int kConflictAttempts = 5;
// Pause before reading again after a failed read or watch in `status --watch`.
constexpr auto kWatchRetryDelay = std::chrono::seconds(1);
// The longest watch asked for; it is then re-opened from the last resourceVersion.
constexpr int64_t kWatchSeconds = 300;

api::Rollout decode(const rapidjson::Value& object) {
  return api::decodeRollout(object, api::DecodeOptions{.strict = false}).object;
}

// Now, to the second, for ages.
api::Time nowSeconds() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

bool canaryActive(const api::RolloutStatus& s) {
  return !s.currentPodHash.empty() && !s.stableRS.empty() && s.currentPodHash != s.stableRS;
}

// What kubectl hides unless --show-managed-fields is given.
void stripManagedFields(rapidjson::Value& object) {
  if (!object.IsObject()) return;
  auto meta = object.FindMember("metadata");
  if (meta != object.MemberEnd() && meta->value.IsObject())
    meta->value.RemoveMember("managedFields");
}

std::string quoted(std::string_view s) {
  rapidjson::Value v(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return api::toJson(v);
}

// Ends `status --watch` at its deadline: a thread that, when the time comes, marks the
// deadline expired and stops the watch in progress (Watch::stop is thread-safe), so a
// blocked Watch::next() returns at once.
class Deadline {
 public:
  explicit Deadline(std::optional<Clock::time_point> at) : at_(at) {
    if (at_) thread_ = std::thread([this] { run(); });
  }
  ~Deadline() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  bool expired() {
    std::lock_guard lock(mu_);
    return expired_;
  }
  // The watch to stop at the deadline (nullptr: none in progress).
  void attach(kube::Watch* watch) {
    std::lock_guard lock(mu_);
    watch_ = watch;
    if (expired_ && watch_) watch_->stop();
  }
  // Sleeps for `d`, or until the deadline if that comes first.
  void sleepFor(Clock::duration d) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, d, [this] { return expired_ || done_; });
  }
  // Whole seconds left, at least 1; kWatchSeconds without a deadline.
  int64_t secondsLeft() const {
    if (!at_) return kWatchSeconds;
    auto left = std::chrono::ceil<std::chrono::seconds>(*at_ - Clock::now()).count();
    return std::clamp<int64_t>(left, 1, kWatchSeconds);
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    if (cv_.wait_until(lock, *at_, [this] { return done_; })) return;
    expired_ = true;
    if (watch_) watch_->stop();
    cv_.notify_all();
  }

  const std::optional<Clock::time_point> at_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool expired_ = false;
  kube::Watch* watch_ = nullptr;
  std::thread thread_;
};

}  // namespace

std::string objectRef(std::string_view name) {
  return "rollout." + std::string(api::kGroup) + "/" + std::string(name);
}

Plugin::Plugin(kube::Client& client, PluginOptions options)
    : client_(client), options_(std::move(options)) {}

void Plugin::printError(const kube::ApiError& e) {
  std::ostream& err = *options_.err;
  if (kube::isClientError(e)) {
    err << "error: " << e.message << "\n";
    return;
  }
  std::string reason =
      e.reasonText.empty() ? std::string(kube::reasonName(e.reason)) : e.reasonText;
  if (reason.empty()) reason = "Unknown";
  err << "Error from server (" << reason << "): " << e.message << "\n";
}

void Plugin::printCrdMissing() {
  *options_.err << "error: the server doesn't have a resource type \"rollouts\" in "
                << api::kApiVersion
                << ": install canaryd's CRDs first (kubectl apply -f crds/ from the canaryd "
                   "release, or helm install canaryd charts/canaryd), then retry\n";
}

bool Plugin::crdMissing() {
  // A served resource answers a list (an empty one for an absent namespace); only a
  // resource type the server does not have answers it 404.
  kube::ListOptions options;
  options.limit = 1;
  auto page = client_.list(kRollouts, options_.namespace_, options);
  return !page && kube::isNotFound(page.error());
}

kube::Object Plugin::read(const std::string& name) {
  auto got = client_.get(kRollouts, options_.namespace_, name);
  if (got) return *got;
  if (kube::isNotFound(got.error()) && crdMissing()) {
    printCrdMissing();
    return nullptr;
  }
  printError(got.error());
  return nullptr;
}

int Plugin::list(bool allNamespaces, OutputFormat output) {
  const std::string ns = allNamespaces ? "" : options_.namespace_;
  rapidjson::Document items(rapidjson::kArrayType);
  auto& alloc = items.GetAllocator();
  kube::ListOptions options;
  options.limit = 500;  // as kubectl get's default --chunk-size
  do {
    auto page = client_.list(kRollouts, ns, options);
    if (!page) {
      if (kube::isNotFound(page.error())) {
        printCrdMissing();
      } else {
        printError(page.error());
      }
      return kExitFailure;
    }
    for (const auto& item : page->items().GetArray()) {
      rapidjson::Value copy(item, alloc);
      // Items of a list carry no apiVersion and kind; kubectl fills them in.
      if (!copy.HasMember("apiVersion"))
        copy.AddMember(
            "apiVersion",
            rapidjson::Value(api::kApiVersion.data(),
                             static_cast<rapidjson::SizeType>(api::kApiVersion.size()), alloc),
            alloc);
      if (!copy.HasMember("kind"))
        copy.AddMember(
            "kind",
            rapidjson::Value(api::kRolloutKind.data(),
                             static_cast<rapidjson::SizeType>(api::kRolloutKind.size()), alloc),
            alloc);
      stripManagedFields(copy);
      items.PushBack(copy, alloc);
    }
    options.continueToken = page->continueToken;
  } while (!options.continueToken.empty());

  if (output != OutputFormat::kNone) {
    rapidjson::Document list(rapidjson::kObjectType);
    auto& a = list.GetAllocator();
    list.AddMember("apiVersion", "v1", a);
    list.AddMember("kind", "List", a);
    list.AddMember("items", rapidjson::Value(items, a), a);
    rapidjson::Value meta(rapidjson::kObjectType);
    meta.AddMember("resourceVersion", "", a);
    list.AddMember("metadata", meta, a);
    *options_.out << (output == OutputFormat::kJson ? toJsonOutput(list) : toYamlOutput(list));
    return kExitOk;
  }
  std::vector<api::Rollout> rollouts;
  for (const auto& item : items.GetArray()) rollouts.push_back(decode(item));
  if (rollouts.empty()) {
    if (allNamespaces)
      *options_.err << "No resources found\n";
    else
      *options_.err << "No resources found in " << ns << " namespace.\n";
    return kExitOk;
  }
  std::sort(rollouts.begin(), rollouts.end(), [](const api::Rollout& a, const api::Rollout& b) {
    return std::tie(a.metadata.namespace_, a.metadata.name) <
           std::tie(b.metadata.namespace_, b.metadata.name);
  });
  *options_.out << renderList(rollouts, allNamespaces, RenderOptions{options_.color, nowSeconds()});
  return kExitOk;
}

int Plugin::get(const std::string& name, OutputFormat output) {
  kube::Object object = read(name);
  if (!object) return kExitFailure;
  if (output != OutputFormat::kNone) {
    stripManagedFields(*object);
    *options_.out << (output == OutputFormat::kJson ? toJsonOutput(*object)
                                                    : toYamlOutput(*object));
    return kExitOk;
  }
  RolloutDetails details;
  details.rollout = decode(*object);
  const auto& s = details.rollout.status;
  auto readReplicaSet = [&](const std::string& hash) -> std::optional<controller::ReplicaSetView> {
    if (hash.empty()) return std::nullopt;
    std::string rsName = controller::replicaSetName(name, hash);
    auto rs = client_.get(kReplicaSets, options_.namespace_, rsName);
    if (rs) return controller::replicaSetViewFromJson(**rs);
    if (!kube::isNotFound(rs.error()))
      *options_.err << "warning: reading ReplicaSet " << rsName << ": " << rs.error().message
                    << "\n";
    return std::nullopt;
  };
  details.stable = readReplicaSet(s.stableRS);
  if (canaryActive(s)) details.canary = readReplicaSet(s.currentPodHash);
  *options_.out << renderGet(details, RenderOptions{options_.color, nowSeconds()});
  return kExitOk;
}

int Plugin::status(const std::string& name, bool watch, std::chrono::milliseconds timeout) {
  std::string lastLine;
  std::string lastPhase;
  // Prints the line when it changed; returns the exit code once the phase is final.
  auto observe = [&](const rapidjson::Value& object) -> std::optional<int> {
    api::Rollout r = decode(object);
    std::string line = renderStatusLine(r, RenderOptions{options_.color, nowSeconds()});
    if (line != lastLine) {
      *options_.out << line << std::flush;
      lastLine = line;
    }
    lastPhase = effectivePhase(r);
    if (lastPhase == "Healthy") return kExitOk;
    if (lastPhase == "Degraded") return kExitFailure;
    return std::nullopt;
  };

  auto first = client_.get(kRollouts, options_.namespace_, name);
  if (!first) {
    bool notFound = kube::isNotFound(first.error());
    read(name);  // prints the error, worded for a missing CRD too
    return notFound ? kExitFailure : kExitPending;
  }
  if (auto code = observe(**first)) return *code;
  if (!watch) return kExitPending;

  std::optional<Clock::time_point> at;
  if (timeout.count() > 0) at = Clock::now() + timeout;
  Deadline deadline(at);
  std::string resourceVersion(kube::stringAt(**first, "metadata.resourceVersion"));
  auto timedOut = [&] {
    *options_.err << "error: timed out after " << api::formatDuration(timeout)
                  << " waiting for rollout " << quoted(name) << " to be Healthy or Degraded (last "
                  << lastPhase << ")\n";
    return kExitPending;
  };
  // Reads the Rollout again (after a 410 or a broken stream). nullopt: carry on watching.
  auto reread = [&]() -> std::optional<int> {
    auto got = client_.get(kRollouts, options_.namespace_, name);
    if (!got) {
      if (kube::isNotFound(got.error())) {
        printError(got.error());
        return kExitFailure;
      }
      deadline.sleepFor(kWatchRetryDelay);
      return std::nullopt;
    }
    resourceVersion = std::string(kube::stringAt(**got, "metadata.resourceVersion"));
    return observe(**got);
  };

  while (!deadline.expired()) {
    kube::ListOptions options;
    options.fieldSelector = "metadata.name=" + name;
    options.resourceVersion = resourceVersion;
    options.allowWatchBookmarks = true;
    options.timeoutSeconds = deadline.secondsLeft();
    auto opened = client_.watch(kRollouts, options_.namespace_, options);
    if (!opened) {
      if (kube::isTooOldResourceVersion(opened.error())) {
        if (auto code = reread()) return *code;
        continue;
      }
      deadline.sleepFor(kWatchRetryDelay);
      if (auto code = reread()) return *code;
      continue;
    }
    std::unique_ptr<kube::Watch> w = std::move(*opened);
    deadline.attach(w.get());
    std::optional<int> code;
    while (!code) {
      auto event = w->next();
      if (!event) {
        if (deadline.expired()) break;
        // 410 Gone, a cut stream or an ERROR event: read the object again, watch again.
        if (!kube::isTooOldResourceVersion(event.error())) deadline.sleepFor(kWatchRetryDelay);
        if (!deadline.expired()) code = reread();
        break;
      }
      if (!*event) break;  // the server ended the watch: re-open from resourceVersion
      const kube::WatchEvent& e = **event;
      if (!e.resourceVersion.empty()) resourceVersion = e.resourceVersion;
      if (e.type == kube::WatchEventType::kBookmark) continue;
      if (e.type == kube::WatchEventType::kDeleted) {
        *options_.err << "error: rollout " << quoted(name) << " was deleted\n";
        code = kExitFailure;
        break;
      }
      code = observe(*e.object);
    }
    deadline.attach(nullptr);
    if (code) return *code;
  }
  return timedOut();
}

int Plugin::history(const std::string& name, OutputFormat output) {
  kube::Object object = read(name);
  if (!object) return kExitFailure;
  if (output != OutputFormat::kNone) {
    rapidjson::Document history(rapidjson::kArrayType);
    auto status = object->FindMember("status");
    if (status != object->MemberEnd() && status->value.IsObject()) {
      auto h = status->value.FindMember("history");
      if (h != status->value.MemberEnd() && h->value.IsArray())
        history.CopyFrom(h->value, history.GetAllocator());
    }
    *options_.out << (output == OutputFormat::kJson ? toJsonOutput(history)
                                                    : toYamlOutput(history));
    return kExitOk;
  }
  api::Rollout r = decode(*object);
  if (r.status.history.empty()) {
    *options_.err << "No history for rollout " << quoted(name) << " in " << options_.namespace_
                  << " namespace: no canary has finished yet.\n";
    return kExitOk;
  }
  *options_.out << renderHistory(r, RenderOptions{options_.color, nowSeconds()});
  return kExitOk;
}

int Plugin::statusPatch(const std::string& name, std::string_view patch, std::string_view verb) {
  kube::WriteOptions options;
  options.fieldManager = kFieldManager;
  auto done = client_.patchStatus(kRollouts, options_.namespace_, name, kube::PatchType::kMerge,
                                  patch, options);
  if (!done) {
    printError(done.error());
    return kExitFailure;
  }
  if (!verb.empty()) *options_.out << objectRef(name) << " " << verb << "\n";
  return kExitOk;
}

int Plugin::specPatch(const std::string& name, std::string_view patch, std::string_view verb) {
  kube::WriteOptions options;
  options.fieldManager = kFieldManager;
  auto done =
      client_.patch(kRollouts, options_.namespace_, name, kube::PatchType::kMerge, patch, options);
  if (!done) {
    if (kube::isNotFound(done.error()))
      read(name);  // words a missing Rollout or CRD
    else
      printError(done.error());
    return kExitFailure;
  }
  if (!verb.empty()) *options_.out << objectRef(name) << " " << verb << "\n";
  return kExitOk;
}

int Plugin::promote(const std::string& name, bool full) {
  for (int attempt = 0; attempt < kConflictAttempts; ++attempt) {
    kube::Object object = read(name);
    if (!object) return kExitFailure;
    api::Rollout r = decode(*object);
    const auto& s = r.status;
    auto refuse = [&](const std::string& why) {
      *options_.err << "error: rollout " << quoted(name) << " " << why << "\n";
      return kExitFailure;
    };
    if (!r.spec.strategy.canary) return refuse("has no canary strategy");
    if (s.abort)
      return refuse("is aborted: `kubectl canary retry " + name + "` starts the canary over");
    if (!canaryActive(s)) return refuse("has no canary in progress: nothing to promote");

    const auto steps = static_cast<int32_t>(r.spec.strategy.canary->steps.size());
    const int32_t index = s.currentStepIndex.value_or(0);
    const std::string precondition =
        R"({"metadata":{"resourceVersion":)" + quoted(r.metadata.resourceVersion) + "},";
    std::string patch;
    std::string what;
    if (full) {
      patch = precondition + R"("status":{"promoteFull":true,"pauseConditions":null}})";
      what = "promoted (full: remaining steps skipped)";
    } else if (!s.pauseConditions.empty()) {
      patch = precondition + R"("status":{"pauseConditions":null}})";
      what = "promoted (pause at step " + std::to_string(index) + " ended)";
    } else if (r.spec.paused) {
      what = "promoted (resumed)";
    } else if (index < steps) {
      patch = precondition + R"("status":{"currentStepIndex":)" + std::to_string(index + 1) + "}}";
      what = "promoted (step " + std::to_string(index) + " skipped)";
    } else {
      return refuse(
          "has passed its last step and is promoted as soon as its canary pods are available");
    }
    if (!patch.empty()) {
      kube::WriteOptions options;
      options.fieldManager = kFieldManager;
      auto done = client_.patchStatus(kRollouts, options_.namespace_, name, kube::PatchType::kMerge,
                                      patch, options);
      if (!done && kube::isConflict(done.error())) continue;  // read again, decide again
      if (!done) {
        printError(done.error());
        return kExitFailure;
      }
    }
    // Resuming after the status write: the spec patch changes the resourceVersion the
    // status write is conditioned on.
    if (r.spec.paused && specPatch(name, R"({"spec":{"paused":false}})", "") != kExitOk)
      return kExitFailure;
    *options_.out << objectRef(name) << " " << what << "\n";
    return kExitOk;
  }
  *options_.err << "error: rollout " << quoted(name)
                << " kept changing while promoting it; try again\n";
  return kExitFailure;
}

int Plugin::abort(const std::string& name) {
  kube::Object object = read(name);
  if (!object) return kExitFailure;
  api::Rollout r = decode(*object);
  if (!canaryActive(r.status)) {
    *options_.err << "error: rollout " << quoted(name)
                  << " has no canary in progress: nothing to abort\n";
    return kExitFailure;
  }
  return statusPatch(name, R"({"status":{"abort":true}})", "aborted");
}

int Plugin::retry(const std::string& name) {
  kube::Object object = read(name);
  if (!object) return kExitFailure;
  api::Rollout r = decode(*object);
  if (!r.status.abort) {
    *options_.err << "error: rollout " << quoted(name) << " is not aborted: nothing to retry\n";
    return kExitFailure;
  }
  return statusPatch(name, R"({"status":{"abort":false}})", "retried");
}

int Plugin::pause(const std::string& name) {
  return specPatch(name, R"({"spec":{"paused":true}})", "paused");
}

int Plugin::resume(const std::string& name) {
  return specPatch(name, R"({"spec":{"paused":false}})", "resumed");
}

}  // namespace canaryd::cli
