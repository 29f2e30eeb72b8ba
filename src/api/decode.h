// Decoding canaryd.io/v1alpha1 objects from RapidJSON values (JSON, or YAML converted
// by api/json.h) into the types of api/types.h. Decoding never stops at the first
// problem: it collects every type error with its field path and keeps going, so that
// `canaryd lint` and the InvalidSpec condition can show all of them at once.
// Pure functions; thread-compatible.
#pragma once

#include <rapidjson/document.h>

#include "api/field_error.h"
#include "api/types.h"

namespace canaryd::api {

struct DecodeOptions {
  // Strict: fields canaryd does not know are errors (`unknown field "spec.foo"`), as
  // kube-apiserver's fieldValidation=Strict. Off for objects read back from the API
  // server, whose schema has pruned unknown fields already. Unknown fields inside the
  // pod template are always kept, never reported.
  bool strict = true;
};

template <class T>
struct Decoded {
  T object;          // every field that decoded; the defaults elsewhere
  ErrorList errors;  // type errors (wrong JSON type, bad duration, unknown field ...)
};

// Decodes a whole Rollout object (apiVersion, kind, metadata, spec, status).
// Errors: apiVersion other than canaryd.io/v1alpha1 and kind other than Rollout are
// reported at `apiVersion` / `kind`; a value that is not an object is one error at "".
Decoded<Rollout> decodeRollout(const rapidjson::Value& value, DecodeOptions options = {});

// Decodes only a status object (as found at .status), with paths under "status".
Decoded<RolloutStatus> decodeRolloutStatus(const rapidjson::Value& value);

// Decodes a whole AnalysisTemplate object.
Decoded<AnalysisTemplate> decodeAnalysisTemplate(const rapidjson::Value& value,
                                                 DecodeOptions options = {});

// Decodes metadata (name, namespace, uid, resourceVersion, generation, labels,
// annotations, ownerReferences, finalizers, timestamps); other metadata fields
// (managedFields ...) are ignored, not errors.
ObjectMeta decodeObjectMeta(const rapidjson::Value& value, const FieldPath& path,
                            ErrorList& errors);

}  // namespace canaryd::api
