// The nginx router's narrow view of the API: networking.k8s.io/v1 Ingress objects read,
// created and merge-patched as JSON (Argo Rollouts' IngressWrapper). A thin adapter maps
// it onto kube::Client; tests use an in-memory fake. Implementations must be thread-safe.
#pragma once

#include <rapidjson/document.h>

#include <string_view>

#include "traffic/client_error.h"

namespace canaryd::traffic {

class IngressClient {
 public:
  virtual ~IngressClient() = default;

  // GET /apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/{name} (a quorum read: the
  // router compares resourceVersions, so a cached copy would only cause conflicts).
  // Errors: kNotFound when there is none.
  virtual ClientResult<JsonObject> getIngress(std::string_view ns, std::string_view name) = 0;

  // POST /apis/networking.k8s.io/v1/namespaces/{ns}/ingresses with a whole Ingress.
  // Returns the stored object. Errors: kConflict when the name is taken (AlreadyExists).
  virtual ClientResult<JsonObject> createIngress(std::string_view ns,
                                                 const rapidjson::Value& ingress) = 0;

  // PATCH /apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/{name} with Content-Type
  // application/merge-patch+json (RFC 7386). As kube-apiserver: a metadata.resourceVersion
  // in the patch is a precondition, kConflict when the object changed since. Returns the
  // patched object.
  virtual ClientResult<JsonObject> patchIngress(std::string_view ns, std::string_view name,
                                                std::string_view mergePatch) = 0;
};

}  // namespace canaryd::traffic
