// The pod-template-hash canaryd gives each ReplicaSet it creates: Kubernetes' algorithm
// (k8s.io/kubernetes/pkg/controller.ComputeHash): FNV-32a over the pod template, then the
// collision count, rendered with rand.SafeEncodeString so the result is a valid label
// value with no vowels (no words) and no look-alike characters.
// The hash can be computed from the template's text or finished from the FNV state after the
// text (kept instead of the text by the Rollout cache). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/types.h"

namespace canaryd::controller {

// FNV-1a, 32 bits (Go's hash/fnv New32a), incrementally.
class Fnv32a {
 public:
  Fnv32a() = default;
  // Resumes from a state another hasher reached (its sum32()).
  explicit Fnv32a(uint32_t state) : hash_(state) {}
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

// The same hash finished from `templateState`, the FNV-32a state after the canonical
// template text (Fnv32a over the text, sum32()): equal to computePodTemplateHash(text,
// collisionCount) for every collisionCount.
std::string finishPodTemplateHash(uint32_t templateState, std::optional<int32_t> collisionCount);

// The FNV-32a state after `tpl`'s canonical text: tpl.trimmedFnv32a when the text was
// dropped, else computed from tpl.json.
uint32_t podTemplateState(const api::PodTemplate& tpl);

// The pod-template-hash of `tpl` (text or trimmed) with `collisionCount`.
std::string podTemplateHash(const api::PodTemplate& tpl, std::optional<int32_t> collisionCount);

// Drops `tpl.json` (freeing it) and keeps its FNV-32a state in tpl.trimmedFnv32a, so that the
// hash is still known; the labels stay. What the controller's Rollout cache keeps: the text
// is read from the API server only to create a ReplicaSet. Idempotent.
void trimPodTemplate(api::PodTemplate& tpl);

}  // namespace canaryd::controller
