#include "traffic/kube_clients.h"

namespace canaryd::traffic {

namespace {

ClientResult<JsonObject> unwrap(kube::Result<kube::Object> r) {
  if (!r) return KubeTrafficClients::toClientError(r.error());
  if (!*r) return ClientError{ClientError::Kind::kOther, "empty response"};
  return std::move(**r);
}

}  // namespace

ClientError KubeTrafficClients::toClientError(const kube::ApiError& e) {
  ClientError::Kind kind = ClientError::Kind::kOther;
  if (kube::isNotFound(e)) {
    kind = ClientError::Kind::kNotFound;
  } else if (kube::isConflict(e) || kube::isAlreadyExists(e)) {
    kind = ClientError::Kind::kConflict;
  } else if (kube::isForbidden(e)) {
    kind = ClientError::Kind::kForbidden;
  }
  return ClientError{kind, e.message};
}

ClientResult<JsonObject> KubeTrafficClients::getIngress(std::string_view ns,
                                                        std::string_view name) {
  return unwrap(client_.get(kube::resources::kIngresses, ns, name));
}

ClientResult<JsonObject> KubeTrafficClients::createIngress(std::string_view ns,
                                                           const rapidjson::Value& ingress) {
  kube::WriteOptions options;
  options.fieldManager = fieldManager_;
  return unwrap(client_.create(kube::resources::kIngresses, ns, ingress, options));
}

ClientResult<JsonObject> KubeTrafficClients::patchIngress(std::string_view ns,
                                                          std::string_view name,
                                                          std::string_view mergePatch) {
  kube::WriteOptions options;
  options.fieldManager = fieldManager_;
  return unwrap(client_.patch(kube::resources::kIngresses, ns, name, kube::PatchType::kMerge,
                              mergePatch, options));
}

ClientResult<JsonObject> KubeTrafficClients::getHttpRoute(std::string_view ns,
                                                          std::string_view name) {
  return unwrap(client_.get(kube::resources::kHttpRoutes, ns, name));
}

ClientResult<JsonObject> KubeTrafficClients::patchHttpRoute(std::string_view ns,
                                                            std::string_view name,
                                                            std::string_view mergePatch) {
  kube::WriteOptions options;
  options.fieldManager = fieldManager_;
  return unwrap(client_.patch(kube::resources::kHttpRoutes, ns, name, kube::PatchType::kMerge,
                              mergePatch, options));
}

}  // namespace canaryd::traffic
