// The trimmed projections of cluster objects that the controller caches, and the
// transforms that build them from API JSON (an informer's transform function). They
// keep only what canaryd reads, so memory grows with what canaryd must remember, not with
// the size of the watched objects: a ReplicaSet is cached without its pod template, a
// Rollout with the hash state of its pod template instead of the text.
// Plain values: copyable, comparable, not synchronised (share them as
// shared_ptr<const T>, never mutate one that is cached).
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <string>

#include "api/field_error.h"
#include "api/types.h"

namespace canaryd::controller {

// A Rollout as cached: the object decoded non-strictly (the API server's schema has pruned
// unknown fields), plus every decode and validation error of its metadata and spec
// (api::checkRollout), found once per object version rather than once per reconcile.
// spec.template is trimmed (controller::trimPodTemplate): its labels and hash state stay,
// its text is read from the API server when a ReplicaSet is created (Writer::readRollout).
struct RolloutView : api::Rollout {
  api::ErrorList specErrors;  // empty when the spec is valid; status errors excluded
  bool operator==(const RolloutView&) const = default;
};

// apps/v1 ReplicaSet, without its pod template.
struct ReplicaSetView {
  // name, namespace, uid, resourceVersion, generation, labels, annotations,
  // ownerReferences, creationTimestamp, deletionTimestamp (finalizers, generateName unset).
  api::ObjectMeta metadata;
  int32_t specReplicas = 1;     // spec.replicas; 1 when absent, as the API server defaults it
  std::string podTemplateHash;  // the canaryd.io/pod-template-hash label; "" when absent
  int32_t replicas = 0;         // status.replicas
  int32_t readyReplicas = 0;
  int32_t availableReplicas = 0;
  int64_t observedGeneration = 0;
  bool operator==(const ReplicaSetView&) const = default;
};

// core/v1 Service: metadata and spec.selector.
struct ServiceView {
  api::ObjectMeta metadata;
  api::StringMap selector;  // spec.selector
  bool operator==(const ServiceView&) const = default;
};

// Transforms from API JSON. Fields of the wrong type are left at their defaults; these
// never fail, as an informer must cache whatever the server holds.
RolloutView rolloutViewFromJson(const rapidjson::Value& object);
ReplicaSetView replicaSetViewFromJson(const rapidjson::Value& object);
ServiceView serviceViewFromJson(const rapidjson::Value& object);

// The controller ownerReference of `meta`, or nullptr (metav1.GetControllerOf).
const api::OwnerReference* controllerOf(const api::ObjectMeta& meta);

}  // namespace canaryd::controller
