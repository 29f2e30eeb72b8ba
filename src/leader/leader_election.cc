#include "leader/leader_election.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <ctime>

#include "api/json.h"

namespace canaryd::leader {

namespace {

using kube::formatMicroTime;

int64_t wholeSeconds(Clock::Duration d) {
  return static_cast<int64_t>(std::ceil(std::chrono::duration<double>(d).count()));
}

}  // namespace

std::string defaultIdentity() {
  if (const char* pod = std::getenv("POD_NAME"); pod && *pod) return pod;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "unknown");
  return std::string(host) + "_" + std::to_string(getpid());
}

std::optional<std::string> validate(const LeaderElectionConfig& c) {
  if (c.leaseName.empty() || c.leaseNamespace.empty()) {
    return "leader election needs a lease name and namespace";
  }
  if (c.identity.empty()) return "leader election needs an identity";
  if (c.retryPeriod <= Clock::Duration::zero()) return "retryPeriod must be positive";
  if (c.renewDeadline <= c.retryPeriod) {
    return "renewDeadline must be longer than retryPeriod";
  }
  if (c.leaseDuration <= c.renewDeadline) {
    return "leaseDuration must be longer than renewDeadline";
  }
  return std::nullopt;
}

LeaderElector::LeaderElector(kube::Client& client, LeaderElectionConfig config)
    : client_(client),
      config_(std::move(config)),
      clock_(config_.clock ? *config_.clock : workqueue::RealClock::instance()) {}

LeaderElector::~LeaderElector() { stop(); }

void LeaderElector::start() {
  std::lock_guard lock(threadMu_);
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void LeaderElector::stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
  std::lock_guard lock(threadMu_);
  if (thread_.joinable()) thread_.join();
}

bool LeaderElector::stopped() const {
  std::lock_guard lock(mu_);
  return stopped_;
}

bool LeaderElector::isLeader() const {
  std::lock_guard lock(mu_);
  return leading_ && clock_.now() - lastRenew_ < config_.renewDeadline;
}

std::string LeaderElector::leader() const {
  std::lock_guard lock(mu_);
  return observedHolder_;
}

bool LeaderElector::sleepFor(Clock::Duration d) {
  workqueue::Subscription wake = clock_.onStep([this] {
    std::lock_guard lock(mu_);
    cv_.notify_all();
  });
  std::unique_lock lock(mu_);
  auto deadline = clock_.now() + d;
  while (!stopped_ && clock_.now() < deadline) clock_.waitUntil(cv_, lock, deadline);
  return !stopped_;
}

Clock::Duration LeaderElector::jittered(Clock::Duration d) {
  // wait.JitterUntil(..., 1.2): up to 20% longer.
  double f;
  {
    std::lock_guard lock(mu_);
    f = std::uniform_real_distribution<double>(0.0, 0.2)(rng_);
  }
  return std::chrono::duration_cast<Clock::Duration>(
      std::chrono::duration<double, Clock::Duration::period>(d) * (1.0 + f));
}

void LeaderElector::run() {
  const std::string lease = config_.leaseNamespace + "/" + config_.leaseName;
  // Campaign.
  for (;;) {
    if (stopped()) return;
    auto attempt = clock_.now();
    if (tryAcquireOrRenew()) {
      std::lock_guard lock(mu_);
      if (stopped_) {
        // Won while stopping: give the lease back rather than lead.
        break;
      }
      leading_ = true;
      lastRenew_ = attempt;
      break;
    }
    if (!sleepFor(jittered(config_.retryPeriod))) return;
  }
  if (stopped()) {
    if (config_.releaseOnCancel) release();
    return;
  }
  spdlog::info("leader election: {} acquired lease {}", config_.identity, lease);
  if (config_.onStartedLeading) config_.onStartedLeading();

  // Renew until stopped or until renewals have failed for renewDeadline.
  bool lost = false;
  for (;;) {
    if (!sleepFor(config_.retryPeriod)) break;
    auto attempt = clock_.now();
    if (tryAcquireOrRenew()) {
      std::lock_guard lock(mu_);
      // Renewed as of the request's start: others count from when they saw it, later.
      lastRenew_ = attempt;
      continue;
    }
    Clock::TimePoint last;
    {
      std::lock_guard lock(mu_);
      last = lastRenew_;
    }
    if (clock_.now() - last >= config_.renewDeadline) {
      lost = true;
      break;
    }
  }
  {
    std::lock_guard lock(mu_);
    leading_ = false;
  }
  if (lost) {
    spdlog::warn("leader election: {} lost lease {} (not renewed within the renew deadline)",
                 config_.identity, lease);
  } else if (config_.releaseOnCancel) {
    release();
  }
  if (config_.onStoppedLeading) config_.onStoppedLeading();
}

void LeaderElector::observe(const Record& r) {
  std::string raw = r.holderIdentity + "\n" + std::to_string(r.leaseDurationSeconds) + "\n" +
                    r.acquireTime + "\n" + r.renewTime + "\n" + std::to_string(r.leaseTransitions);
  bool newLeader = false;
  {
    std::lock_guard lock(mu_);
    if (raw != observedRaw_) {
      observedRaw_ = std::move(raw);
      observedTime_ = clock_.now();
    }
    if (r.holderIdentity != observedHolder_) {
      observedHolder_ = r.holderIdentity;
      newLeader = true;
    }
  }
  if (newLeader && config_.onNewLeader && !r.holderIdentity.empty()) {
    config_.onNewLeader(r.holderIdentity);
  }
}

namespace {

void setSpec(rapidjson::Document& lease, const std::string& holder, int64_t durationSeconds,
             const std::string& acquireTime, const std::string& renewTime, int64_t transitions) {
  auto& a = lease.GetAllocator();
  rapidjson::Value spec(rapidjson::kObjectType);
  spec.AddMember("holderIdentity", rapidjson::Value(holder.c_str(), a), a);
  spec.AddMember("leaseDurationSeconds", durationSeconds, a);
  if (!acquireTime.empty())
    spec.AddMember("acquireTime", rapidjson::Value(acquireTime.c_str(), a), a);
  spec.AddMember("renewTime", rapidjson::Value(renewTime.c_str(), a), a);
  spec.AddMember("leaseTransitions", transitions, a);
  lease.RemoveMember("spec");
  lease.AddMember("spec", spec, a);
}

int64_t intAt(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject()) return 0;
  auto it = v.FindMember(key);
  return it != v.MemberEnd() && it->value.IsInt64() ? it->value.GetInt64() : 0;
}

}  // namespace

bool LeaderElector::tryAcquireOrRenew() {
  const auto& leases = kube::resources::kLeases;
  auto now = clock_.now();
  std::string nowText = formatMicroTime(clock_.wallNow());
  int64_t duration = wholeSeconds(config_.leaseDuration);

  auto got = client_.get(leases, config_.leaseNamespace, config_.leaseName);
  if (!got) {
    if (!kube::isNotFound(got.error())) {
      spdlog::debug("leader election: reading lease {}/{}: {}", config_.leaseNamespace,
                    config_.leaseName, got.error().message);
      return false;
    }
    rapidjson::Document lease(rapidjson::kObjectType);
    auto& a = lease.GetAllocator();
    lease.AddMember("apiVersion", "coordination.k8s.io/v1", a);
    lease.AddMember("kind", "Lease", a);
    rapidjson::Value meta(rapidjson::kObjectType);
    meta.AddMember("name", rapidjson::Value(config_.leaseName.c_str(), a), a);
    meta.AddMember("namespace", rapidjson::Value(config_.leaseNamespace.c_str(), a), a);
    lease.AddMember("metadata", meta, a);
    setSpec(lease, config_.identity, duration, nowText, nowText, 0);
    auto created = client_.create(leases, config_.leaseNamespace, lease);
    if (!created) return false;  // AlreadyExists: another candidate was faster
    observe(Record{config_.identity, duration, nowText, nowText, 0});
    return true;
  }

  rapidjson::Document& lease = **got;
  const rapidjson::Value* spec = nullptr;
  if (auto it = lease.FindMember("spec"); it != lease.MemberEnd() && it->value.IsObject()) {
    spec = &it->value;
  }
  Record old;
  if (spec) {
    old.holderIdentity = std::string(kube::stringAt(*spec, "holderIdentity"));
    old.leaseDurationSeconds = intAt(*spec, "leaseDurationSeconds");
    old.acquireTime = std::string(kube::stringAt(*spec, "acquireTime"));
    old.renewTime = std::string(kube::stringAt(*spec, "renewTime"));
    old.leaseTransitions = intAt(*spec, "leaseTransitions");
  }
  observe(old);
  bool mine = old.holderIdentity == config_.identity;
  if (!old.holderIdentity.empty() && !mine) {
    Clock::TimePoint observedAt;
    {
      std::lock_guard lock(mu_);
      observedAt = observedTime_;
    }
    // Valid until leaseDurationSeconds after we saw it change (our clock, not the
    // holder's timestamps, so clock skew between nodes does not matter).
    if (observedAt + std::chrono::seconds(old.leaseDurationSeconds) > now) return false;
  }
  Record next{config_.identity, duration, mine ? old.acquireTime : nowText, nowText,
              mine ? old.leaseTransitions : old.leaseTransitions + 1};
  setSpec(lease, next.holderIdentity, next.leaseDurationSeconds, next.acquireTime, next.renewTime,
          next.leaseTransitions);
  // The GET's resourceVersion stays in metadata: a concurrent writer makes this a 409.
  auto updated = client_.update(leases, config_.leaseNamespace, lease);
  if (!updated) {
    spdlog::debug("leader election: updating lease {}/{}: {}", config_.leaseNamespace,
                  config_.leaseName, updated.error().message);
    return false;
  }
  observe(next);
  return true;
}

void LeaderElector::release() {
  const auto& leases = kube::resources::kLeases;
  auto got = client_.get(leases, config_.leaseNamespace, config_.leaseName);
  if (!got) return;
  if (kube::stringAt(**got, "spec.holderIdentity") != config_.identity) return;
  int64_t transitions = 0;
  if (auto it = (*got)->FindMember("spec"); it != (*got)->MemberEnd()) {
    transitions = intAt(it->value, "leaseTransitions");
  }
  // As client-go's release: no holder, a one-second lease, renewed now.
  setSpec(**got, "", 1, "", formatMicroTime(clock_.wallNow()), transitions);
  auto updated = client_.update(leases, config_.leaseNamespace, **got);
  if (updated) {
    spdlog::info("leader election: {} released lease {}/{}", config_.identity,
                 config_.leaseNamespace, config_.leaseName);
  } else {
    spdlog::warn("leader election: {} could not release lease {}/{}: {}", config_.identity,
                 config_.leaseNamespace, config_.leaseName, updated.error().message);
  }
}

}  // namespace canaryd::leader
