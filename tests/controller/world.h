// A small cluster for reconciler tests: the fake Lister and recording Writer (writes are
// applied to the Lister at once, as an API server whose informers are always in sync), a
// FakeClock, fake routers and analysis, and helpers that play the kubelet (pods becoming
// available) and the user (kubectl apply, status patches). Single-threaded.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "api/decode.h"
#include "api/json.h"
#include "controller/pod_template_hash.h"
#include "controller/reconciler.h"
#include "fakes.h"
#include "workqueue/clock.h"

namespace canaryd::controller::testing {

inline constexpr const char* kDefaultSteps =
    R"([{"setWeight":25},{"pause":{"duration":"1m"}},{"setWeight":50},{"pause":{}}])";

struct Spec {
  int replicas = 4;
  std::string image = "web:1";
  std::string steps = kDefaultSteps;
  std::string extraCanary;  // more members of spec.strategy.canary, each followed by ","
  std::string extraSpec;    // more members of spec, each followed by ","
  bool paused = false;
};

inline std::string rolloutJson(const Spec& s) {
  return R"({"apiVersion":"canaryd.io/v1alpha1","kind":"Rollout",
    "metadata":{"name":"web","namespace":"shop","uid":"r-uid"},
    "spec":{"replicas":)" +
         std::to_string(s.replicas) + R"(,)" + s.extraSpec + R"("paused":)" +
         (s.paused ? "true" : "false") +
         R"(,"selector":{"matchLabels":{"app":"web"}},
      "template":{"metadata":{"labels":{"app":"web"}},
                  "spec":{"containers":[{"name":"web","image":")" +
         s.image + R"("}]}},
      "strategy":{"canary":{)" +
         s.extraCanary + R"("stableService":"web-stable","canaryService":"web-canary",
        "steps":)" +
         s.steps + "}}}}";
}

class World {
 public:
  World() { addServices(); }

  FakeLister lister;
  RecordingWriter writer{lister};
  workqueue::FakeClock clock;
  FakeRouterFactory routers{writer.actions};
  FakeAnalysisRunner analysis{writer.actions};
  bool useRouter = false;
  bool useAnalysis = false;
  ReconcilerOptions options;

  Result reconcile() {
    Reconciler r(lister, writer, clock, useRouter ? &routers : nullptr,
                 useAnalysis ? &analysis : nullptr, options);
    return r.reconcile("shop/web");
  }

  // kubectl apply: a new spec keeps the status, bumps generation and resourceVersion. The
  // API server's copy (writer.apiRollouts) gets the new spec at once, the cache (lister)
  // too unless `cacheLags`.
  void apply(const Spec& spec, bool cacheLags = false) {
    auto doc = api::parseJson(rolloutJson(spec));
    EXPECT_TRUE(doc) << rolloutJson(spec);
    writer.apiRollouts["shop/web"] =
        api::decodeRollout(*doc, api::DecodeOptions{.strict = false}).object;
    if (cacheLags) return;
    RolloutView view = rolloutViewFromJson(*doc);
    auto it = lister.rollouts.find("shop/web");
    if (it != lister.rollouts.end()) {
      view.status = it->second.status;
      view.metadata.generation = it->second.metadata.generation + 1;
    } else {
      view.metadata.generation = 1;
    }
    view.metadata.resourceVersion = std::to_string(++rv_);
    lister.rollouts["shop/web"] = view;
  }

  // A status patch by a user (kubectl canary abort / promote ...).
  template <class F>
  void patchStatus(F&& edit) {
    auto& r = lister.rollouts.at("shop/web");
    edit(r.status);
    r.metadata.resourceVersion = std::to_string(++rv_);
  }

  void addServices() {
    for (const char* name : {"web-stable", "web-canary"}) {
      ServiceView svc;
      svc.metadata.name = name;
      svc.metadata.namespace_ = "shop";
      svc.selector = {{"app", "web"}};
      lister.services[std::string("shop/") + name] = svc;
    }
  }

  static std::string hashOf(const std::string& image) {
    Spec s;
    s.image = image;
    auto doc = api::parseJson(rolloutJson(s));
    RolloutView view = rolloutViewFromJson(*doc);
    return podTemplateHash(*view.spec.podTemplate, std::nullopt);
  }
  static std::string rsName(const std::string& image) { return "web-" + hashOf(image); }

  ReplicaSetView& rs(const std::string& image) {
    return lister.replicaSets.at("shop/" + rsName(image));
  }
  bool hasRS(const std::string& image) const {
    return lister.replicaSets.count("shop/" + rsName(image)) > 0;
  }
  const api::RolloutStatus& status() const { return lister.rollouts.at("shop/web").status; }

  // The kubelet: every ReplicaSet's pods are created and available (or only `available`).
  void makeReady() {
    for (auto& [k, r] : lister.replicaSets) setAvailable(r, r.specReplicas);
  }
  void setAvailable(ReplicaSetView& r, int32_t available) {
    r.replicas = r.specReplicas;
    r.readyReplicas = available;
    r.availableReplicas = available;
    r.observedGeneration = r.metadata.generation;
    r.metadata.resourceVersion = std::to_string(++rv_);
  }

  // Lets pods become available and reconciles, until a pass writes nothing; returns the
  // last result.
  Result settle(int maxPasses = 20) {
    Result last;
    // Analysis runs are reads, not writes.
    auto writes = [&] {
      return std::count_if(writer.actions.begin(), writer.actions.end(),
                           [](const Action& a) { return a.resource != "analysis"; });
    };
    for (int i = 0; i < maxPasses; ++i) {
      auto before = writes();
      makeReady();
      last = reconcile();
      if (writes() == before) return last;
    }
    ADD_FAILURE() << "did not settle";
    return last;
  }

  // First apply of web:1 at full scale, ready and Healthy; actions cleared.
  void healthyAt(const Spec& spec) {
    apply(spec);
    settle();
    writer.reset();
  }

 private:
  int64_t rv_ = 1;
};

}  // namespace canaryd::controller::testing
