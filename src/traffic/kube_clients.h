// The routers' API clients over kube::Client: IngressClient on networking.k8s.io/v1
// ingresses and HttpRouteClient on gateway.networking.k8s.io/v1 httproutes, with the
// API's errors reduced to ClientError kinds. Thread-safe (kube::Client is).
#pragma once

#include <string>

#include "kube/client.h"
#include "traffic/gateway/http_route_client.h"
#include "traffic/nginx/ingress_client.h"

namespace canaryd::traffic {

class KubeTrafficClients final : public IngressClient, public HttpRouteClient {
 public:
  // `client` must outlive this object. Writes are recorded in managedFields under
  // `fieldManager`.
  explicit KubeTrafficClients(kube::Client& client, std::string fieldManager = "canaryd")
      : client_(client), fieldManager_(std::move(fieldManager)) {}

  ClientResult<JsonObject> getIngress(std::string_view ns, std::string_view name) override;
  ClientResult<JsonObject> createIngress(std::string_view ns,
                                         const rapidjson::Value& ingress) override;
  ClientResult<JsonObject> patchIngress(std::string_view ns, std::string_view name,
                                        std::string_view mergePatch) override;
  ClientResult<JsonObject> getHttpRoute(std::string_view ns, std::string_view name) override;
  ClientResult<JsonObject> patchHttpRoute(std::string_view ns, std::string_view name,
                                          std::string_view mergePatch) override;

  // NotFound (404), Conflict (409, and AlreadyExists), Forbidden (403), else Other.
  static ClientError toClientError(const kube::ApiError& e);

 private:
  kube::Client& client_;
  std::string fieldManager_;
};

}  // namespace canaryd::traffic
