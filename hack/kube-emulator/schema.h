// Structural-schema handling of custom resources, in kube-apiserver's order: prune
// unknown fields (apiextensions-apiserver pkg/apiserver/schema/pruning), apply defaults
// (schema/defaulting), then validate (kube-openapi validate, as wrapped by
// apiextensions-apiserver's validation), with kube-apiserver's field error texts.
// Pure functions.
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <vector>

#include "api/field_error.h"

namespace canaryd::emulator {

struct SchemaOutcome {
  api::ErrorList errors;
  // Paths of pruned fields ("spec.foo", "spec.steps[0].bar"), for fieldValidation=Strict.
  std::vector<std::string> unknownFields;
};

// Prunes, defaults and validates a custom object (the whole object, root schema given)
// in place. apiVersion, kind and metadata at the root are left to the generic checks.
SchemaOutcome applyStructuralSchema(rapidjson::Value& object, const rapidjson::Value& schema,
                                    rapidjson::Document::AllocatorType& alloc);

}  // namespace canaryd::emulator
