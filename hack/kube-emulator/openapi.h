// OpenAPI v3 as kube-apiserver publishes it (/openapi/v3 and /openapi/v3/<api|apis/g>/<v>):
// enough for kubectl's default validation (the PATCH operation of each kind declares the
// `fieldValidation` query parameter, so kubectl trusts the server to validate and skips
// OpenAPI v2) and for `kubectl explain` of custom resources (their structural schemas,
// tagged x-kubernetes-group-version-kind). Built-in kinds' PATCH operations do not offer
// strategic merge patch here, so kubectl computes those patches from its compiled-in
// types. Pure functions of the type table.
#pragma once

#include <string>

#include "resource_types.h"

namespace canaryd::emulator {

// {"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=..."}, ...}}
std::string openApiIndex(const ResourceTypes& types);
// The document for "api/v1" or "apis/<group>/<version>"; empty when not served.
std::string openApiDocument(const ResourceTypes& types, const std::string& groupVersionPath);

}  // namespace canaryd::emulator
