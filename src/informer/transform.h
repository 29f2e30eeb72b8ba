// Transforms: what an informer caches of each object. A Transform turns the JSON the API
// server sent into the trimmed projection T kept in Store<T> (client-go's
// cache.TransformFunc), so that the cache grows with what canaryd reads, not with object
// size: managedFields and the last-applied annotation go, and a ReplicaSet keeps only the
// hash label of its pod template. CachedObject is a generic projection: the metadata as
// api::ObjectMeta plus the rest of the trimmed object as compact JSON text.
// Pure functions; thread-safe.
#pragma once

#include <rapidjson/document.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "api/types.h"
#include "informer/store.h"

namespace canaryd::informer {

// Turns an API object into its cached form; may modify `object` (trim it, move parts out).
// Returns null when the object cannot be decoded (it is then left out of the cache and
// the reflector logs it).
template <class T>
using Transform = std::function<ObjectPtr<T>(rapidjson::Value& object)>;

inline constexpr std::string_view kLastAppliedAnnotation =
    "kubectl.kubernetes.io/last-applied-configuration";
// The hash labels a ReplicaSet's pod template keeps after trimming.
inline constexpr std::string_view kPodTemplateHashLabel = "pod-template-hash";
inline constexpr std::string_view kCanarydPodTemplateHashLabel = "canaryd.io/pod-template-hash";

// Removes metadata.managedFields and the kubectl last-applied-configuration annotation
// (and the annotations object when that leaves it empty). Any object.
void trimObject(rapidjson::Value& object);

// trimObject, then reduces spec.template to {metadata: {labels: {<hash labels>}}}: the pod
// template's hash labels are all canaryd reads of a ReplicaSet's template (it compares
// hashes, not templates).
void trimReplicaSet(rapidjson::Value& object);

// A generic cached object: the metadata decoded, everything else (apiVersion, kind, spec,
// status, ...) as compact JSON text without metadata.
struct CachedObject {
  api::ObjectMeta metadata;
  std::string json;  // the object without "metadata", compact

  // Parses json (a fresh document each call).
  rapidjson::Document body() const;
  // Approximate heap bytes held, for memory accounting.
  size_t bytes() const;
};

// Decodes metadata and serialises the rest. Null when the object is not a JSON object or
// has no metadata.name.
ObjectPtr<CachedObject> toCachedObject(rapidjson::Value& object);

// A Transform to CachedObject after `trim` (trimObject by default; trimReplicaSet for
// ReplicaSets).
Transform<CachedObject> cachedObjectTransform(
    std::function<void(rapidjson::Value&)> trim = &trimObject);

}  // namespace canaryd::informer
