// The pod-template-hash canaryd gives each ReplicaSet it creates: Kubernetes' algorithm
// (k8s.io/kubernetes/pkg/controller.ComputeHash): FNV-32a over the pod template, then the
// collision count, rendered with rand.SafeEncodeString so the result is a valid label
// value with no vowels (no words) and no look-alike characters.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace canaryd::controller {

// FNV-1a, 32 bits (Go's hash/fnv New32a), incrementally.
class Fnv32a {
 public:
  void write(std::string_view bytes);
  uint32_t sum32() const { return hash_; }

 private:
  uint32_t hash_ = 2166136261u;  // offset basis
};

// k8s.io/apimachinery/pkg/util/rand.SafeEncodeString: maps each byte b of `s` to
// "bcdfghjklmnpqrstvwxz2456789"[b % 27]. canaryd only encodes decimal digits, for which
// Kubernetes' per-rune and this per-byte mapping agree.
std::string safeEncodeString(std::string_view s);

// The pod-template-hash of a pod template, as ComputeHash: FNV-32a over the template, then,
// when `collisionCount` is set, its value as 4 little-endian bytes in an 8-byte zeroed
// buffer, then SafeEncodeString of the decimal Sum32 (at most 10 characters).
//
// Difference from Kubernetes: Kubernetes feeds the hasher the Go struct printed by
// spew (DeepHashObject); canaryd feeds it the canonical JSON text of the template
// (api::PodTemplate::json: compact, keys sorted), so equal templates hash equally
// whatever the key order of the manifest. The values therefore differ from a Deployment's
// pod-template-hash for the same template, which nothing relies on: the hash only names
// canaryd's own ReplicaSets.
std::string computePodTemplateHash(std::string_view canonicalTemplateJson,
                                   std::optional<int32_t> collisionCount);

}  // namespace canaryd::controller
