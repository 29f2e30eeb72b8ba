// The Gateway API router's narrow view of the API: gateway.networking.k8s.io/v1 HTTPRoute
// objects read and merge-patched as JSON. A thin adapter maps it onto kube::Client; tests
// use an in-memory fake. Implementations must be thread-safe.
#pragma once

#include <rapidjson/document.h>

#include <string_view>

#include "traffic/client_error.h"

namespace canaryd::traffic {

class HttpRouteClient {
 public:
  virtual ~HttpRouteClient() = default;

  // GET /apis/gateway.networking.k8s.io/v1/namespaces/{ns}/httproutes/{name} (a quorum
  // read). Errors: kNotFound when there is none.
  virtual ClientResult<JsonObject> getHttpRoute(std::string_view ns, std::string_view name) = 0;

  // PATCH /apis/gateway.networking.k8s.io/v1/namespaces/{ns}/httproutes/{name} with
  // Content-Type application/merge-patch+json (RFC 7386). The router always sends
  // metadata.resourceVersion, which kube-apiserver checks as a precondition: kConflict when
  // the route changed since it was read, so a concurrent edit is never lost. Returns the
  // patched object.
  virtual ClientResult<JsonObject> patchHttpRoute(std::string_view ns, std::string_view name,
                                                  std::string_view mergePatch) = 0;
};

}  // namespace canaryd::traffic
