// The three patch formats kube-apiserver accepts on PATCH: JSON merge patch (RFC 7386),
// JSON patch (RFC 6902) and strategic merge patch (k8s.io/apimachinery/pkg/util/
// strategicpatch) with the merge keys of the built-in types. Pure functions over
// RapidJSON values.
#pragma once

#include <rapidjson/document.h>

#include <boost/system/result.hpp>
#include <string>

namespace canaryd::emulator {

// A patch that cannot apply. kube-apiserver answers 422 for a JSON patch whose
// operations fail and 400 for a malformed patch document; `unprocessable` tells which.
struct PatchError {
  std::string message;
  bool unprocessable = false;
};
using PatchResult = boost::system::result<void, PatchError>;

// RFC 7386 (api::applyMergePatch): objects merge recursively, null deletes, anything else
// replaces. Never fails.
PatchResult applyMergePatch(rapidjson::Document& target, const rapidjson::Value& patch);

// RFC 6902 add/remove/replace/move/copy/test with RFC 6901 pointers. The patch must be
// an array of operation objects.
PatchResult applyJsonPatch(rapidjson::Document& target, const rapidjson::Value& patch);

// Strategic merge patch for built-in kinds: lists with a patch merge key (containers by
// name, container ports by containerPort, service ports by port, env, volumes,
// volumeMounts by mountPath, ownerReferences by uid, conditions by type, ...) merge by
// key, finalizers merge as a set, other lists are replaced; `$patch: replace|delete|merge`,
// `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>` and `$retainKeys` act as in
// strategicpatch.StrategicMergePatch.
PatchResult applyStrategicMergePatch(rapidjson::Document& target, const rapidjson::Value& patch);

}  // namespace canaryd::emulator
