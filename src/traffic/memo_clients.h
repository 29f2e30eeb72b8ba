// Read memos for one router (one reconcile): every GET of an Ingress or HTTPRoute goes to
// the API once, and later reads return the object as last read or written, so that the
// reference check and the writes that follow share their reads (as client-go's listers
// spare the API server, for objects no informer watches). A write's answer replaces the
// memo; a failed write drops it, so that a retry reads again. Not thread-safe: a router
// and its memos serve one reconcile.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "traffic/gateway/http_route_client.h"
#include "traffic/nginx/ingress_client.h"

namespace canaryd::traffic {

namespace detail {

// Objects by name, as last read or written (or the NotFound the API answered).
class ObjectMemo {
 public:
  // A GET of `name`: the remembered answer, else fetch()'s (one API GET), remembered when it
  // is an object or NotFound (other errors are not, so that a retry reads again).
  template <class Fetch>
  ClientResult<JsonObject> get(std::string_view name, Fetch&& fetch) {
    if (auto known = lookup(name)) return std::move(*known);
    ++apiReads_;
    auto got = fetch();
    rememberRead(name, got);
    return got;
  }
  // Remembers a write's answer (the stored object), or forgets `name` when it failed.
  void rememberWrite(std::string_view name, const ClientResult<JsonObject>& written);
  // GETs that went to the API.
  size_t apiReads() const { return apiReads_; }

 private:
  std::optional<ClientResult<JsonObject>> lookup(std::string_view name) const;
  void rememberRead(std::string_view name, const ClientResult<JsonObject>& got);

  struct Entry {
    std::optional<JsonObject> object;  // nullopt: NotFound
    std::string notFound;              // the API's message then
  };
  std::map<std::string, Entry, std::less<>> objects_;
  size_t apiReads_ = 0;
};

}  // namespace detail

// An IngressClient that remembers, in front of another one. `api` must outlive it.
class MemoIngressClient final : public IngressClient {
 public:
  explicit MemoIngressClient(IngressClient& api) : api_(api) {}

  // The namespace is not part of the memo's key: a router acts in one namespace.
  ClientResult<JsonObject> getIngress(std::string_view ns, std::string_view name) override;
  ClientResult<JsonObject> createIngress(std::string_view ns,
                                         const rapidjson::Value& ingress) override;
  ClientResult<JsonObject> patchIngress(std::string_view ns, std::string_view name,
                                        std::string_view mergePatch) override;

  // GETs that went to the API.
  size_t apiReads() const { return memo_.apiReads(); }

 private:
  IngressClient& api_;
  detail::ObjectMemo memo_;
};

// An HttpRouteClient that remembers, in front of another one. `api` must outlive it.
class MemoHttpRouteClient final : public HttpRouteClient {
 public:
  explicit MemoHttpRouteClient(HttpRouteClient& api) : api_(api) {}

  // The namespace is not part of the memo's key: a router acts in one namespace.
  ClientResult<JsonObject> getHttpRoute(std::string_view ns, std::string_view name) override;
  ClientResult<JsonObject> patchHttpRoute(std::string_view ns, std::string_view name,
                                          std::string_view mergePatch) override;

  // GETs that went to the API.
  size_t apiReads() const { return memo_.apiReads(); }

 private:
  HttpRouteClient& api_;
  detail::ObjectMemo memo_;
};

}  // namespace canaryd::traffic
