// In-memory IngressClient and HttpRouteClient for the router tests: objects keyed by
// kind/namespace/name, resourceVersion bumped on every write, merge patches applied with
// the kube-emulator's RFC 7386 implementation and a metadata.resourceVersion in a patch
// checked as kube-apiserver checks it (409 Conflict when stale). Every read and write is
// recorded.
// Single-threaded use only.
#pragma once

#include <rapidjson/document.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "traffic/gateway/http_route_client.h"
#include "traffic/nginx/ingress_client.h"

namespace canaryd::traffic::testing {

struct Write {
  std::string verb;  // create, patch
  std::string kind;  // Ingress, HTTPRoute
  std::string name;
  std::string body;  // the request body (compact JSON)
};

class FakeApi : public IngressClient, public HttpRouteClient {
 public:
  ClientResult<JsonObject> getIngress(std::string_view ns, std::string_view name) override;
  ClientResult<JsonObject> createIngress(std::string_view ns,
                                         const rapidjson::Value& ingress) override;
  ClientResult<JsonObject> patchIngress(std::string_view ns, std::string_view name,
                                        std::string_view mergePatch) override;
  ClientResult<JsonObject> getHttpRoute(std::string_view ns, std::string_view name) override;
  ClientResult<JsonObject> patchHttpRoute(std::string_view ns, std::string_view name,
                                          std::string_view mergePatch) override;

  // Stores `yamlOrJson` (one object) as if created by someone else, with a fresh
  // resourceVersion and uid.
  void seed(std::string_view yamlOrJson);
  // The stored object, or nullopt.
  std::optional<rapidjson::Document> object(std::string_view kind, std::string_view ns,
                                            std::string_view name) const;
  // Applies a merge patch as another client would (bumps resourceVersion).
  void externalPatch(std::string_view kind, std::string_view ns, std::string_view name,
                     std::string_view mergePatchJson);

  std::vector<Write> writes;
  // Every GET, as "<kind> <name>" (Ingress web), in order.
  std::vector<std::string> reads;
  // Called before a patch is applied (to simulate a concurrent edit).
  std::function<void()> beforePatch;
  // When set, the next call of any kind fails with it.
  std::optional<ClientError> failNext;

 private:
  ClientResult<JsonObject> get(std::string_view kind, std::string_view ns, std::string_view name);
  ClientResult<JsonObject> patch(std::string_view kind, std::string_view ns, std::string_view name,
                                 std::string_view mergePatch);
  void store(rapidjson::Document& object);

  std::map<std::string, std::string> objects_;  // kind/ns/name -> JSON
  int64_t nextVersion_ = 100;
  int64_t nextUid_ = 1;
};

}  // namespace canaryd::traffic::testing
