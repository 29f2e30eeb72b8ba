// ApiError: an HTTP error answered as a meta/v1 Status object, with kube-apiserver's
// reasons, messages and details (k8s.io/apimachinery/pkg/api/errors). Plain values; not
// synchronised.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/field_error.h"

namespace canaryd::emulator {

struct ApiError {
  struct Cause {
    std::string reason;
    std::string message;
    std::string field;
  };
  unsigned code = 500;
  std::string reason;  // NotFound, AlreadyExists, Conflict, Invalid, BadRequest, ...
  std::string message;
  std::string name;   // details.name
  std::string group;  // details.group
  std::string kind;   // details.kind (resource for NotFound/Conflict, Kind for Invalid)
  std::vector<Cause> causes;
  int retryAfterSeconds = 0;  // details.retryAfterSeconds and the Retry-After header

  // The Status object: {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",...}.
  std::string toStatusJson() const;
};

// `deployments.apps "web" not found`; details.kind is the plural resource, as
// errors.NewNotFound(qualifiedResource, name).
ApiError notFound(std::string_view group, std::string_view resource, std::string_view name);
// 404 for a path that names no resource: "the server could not find the requested resource".
ApiError pathNotFound();
ApiError alreadyExists(std::string_view group, std::string_view resource, std::string_view name);
// "Operation cannot be fulfilled on <resource> "<name>": <detail>" (errors.NewConflict).
ApiError conflict(std::string_view group, std::string_view resource, std::string_view name,
                  std::string_view detail);
// 422 `Kind.group "name" is invalid: <errors>` with one cause per field error
// (errors.NewInvalid).
ApiError invalid(std::string_view group, std::string_view kind, std::string_view name,
                 const api::ErrorList& errors);
ApiError badRequest(std::string message);
ApiError methodNotAllowed();
// 415 naming the accepted media types (handlers/patch.go).
ApiError unsupportedMediaType(std::string_view accepted);
// 410 Expired: "too old resource version: <requested> (<oldest>)" (etcd3 watcher).
ApiError tooOldResourceVersion(unsigned long long requested, unsigned long long oldest);
ApiError expired(std::string message);
ApiError tooManyRequests(int retryAfterSeconds);
ApiError internalError(std::string message);
ApiError notAcceptable(std::string message);
ApiError forbidden(std::string message);
ApiError unauthorized();

// "Kind.group" or "Kind" for the core group: the qualified kind in Invalid messages.
std::string qualifiedName(std::string_view first, std::string_view group);

}  // namespace canaryd::emulator
