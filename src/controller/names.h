// The label and annotation keys canaryd writes on the objects it manages, and the
// names it gives them. Compile-time constants; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace canaryd::controller {

// On every ReplicaSet canaryd creates (and its pods, and its selector): the hash of the pod
// template (controller/pod_template_hash.h). Services are pinned to it.
inline constexpr std::string_view kPodTemplateHashLabel = "canaryd.io/pod-template-hash";

// On a ReplicaSet: the rollout revision it was created for (1, 2, ...), as Argo Rollouts'
// rollout.argoproj.io/revision. Orders old ReplicaSets for revisionHistoryLimit.
inline constexpr std::string_view kRevisionAnnotation = "canaryd.io/revision";

// On an old stable ReplicaSet: when (RFC 3339) it is to be scaled to zero, as Argo Rollouts'
// scale-down-deadline annotation, so that a restart keeps the scaleDownDelaySeconds window.
inline constexpr std::string_view kScaleDownDeadlineAnnotation = "canaryd.io/scale-down-deadline";

// On a Service: the name of the Rollout that manages its selector.
inline constexpr std::string_view kManagedByAnnotation = "canaryd.io/managed-by";

// The ownerReference canaryd puts on what it owns.
inline constexpr std::string_view kOwnerApiVersion = "canaryd.io/v1alpha1";
inline constexpr std::string_view kOwnerKind = "Rollout";

// `<rollout>-<hash>`, the name of a Rollout's ReplicaSet (as a Deployment's).
inline std::string replicaSetName(std::string_view rollout, std::string_view hash) {
  std::string name(rollout);
  name += '-';
  name += hash;
  return name;
}

}  // namespace canaryd::controller
