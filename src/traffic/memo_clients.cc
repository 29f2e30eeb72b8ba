#include "traffic/memo_clients.h"

#include "api/json.h"
#include "traffic/json_util.h"

namespace canaryd::traffic {

namespace detail {

std::optional<ClientResult<JsonObject>> ObjectMemo::lookup(std::string_view name) const {
  auto it = objects_.find(name);
  if (it == objects_.end()) return std::nullopt;
  if (!it->second.object)
    return ClientResult<JsonObject>(ClientError{ClientError::Kind::kNotFound, it->second.notFound});
  return ClientResult<JsonObject>(api::cloneDocument(*it->second.object));
}

void ObjectMemo::rememberRead(std::string_view name, const ClientResult<JsonObject>& got) {
  if (got) {
    objects_.insert_or_assign(std::string(name), Entry{api::cloneDocument(*got), ""});
  } else if (got.error().kind == ClientError::Kind::kNotFound) {
    objects_.insert_or_assign(std::string(name), Entry{std::nullopt, got.error().message});
  }
}

void ObjectMemo::rememberWrite(std::string_view name, const ClientResult<JsonObject>& written) {
  if (written) {
    objects_.insert_or_assign(std::string(name), Entry{api::cloneDocument(*written), ""});
  } else {
    // A conflict or a failure: what the API holds now is unknown.
    if (auto it = objects_.find(name); it != objects_.end()) objects_.erase(it);
  }
}

}  // namespace detail

ClientResult<JsonObject> MemoIngressClient::getIngress(std::string_view ns, std::string_view name) {
  return memo_.get(name, [&] { return api_.getIngress(ns, name); });
}

ClientResult<JsonObject> MemoIngressClient::createIngress(std::string_view ns,
                                                          const rapidjson::Value& ingress) {
  const rapidjson::Value* meta = detail::member(ingress, "metadata");
  const std::string name = meta ? detail::stringAt(*meta, "name") : "";
  auto created = api_.createIngress(ns, ingress);
  memo_.rememberWrite(name, created);
  return created;
}

ClientResult<JsonObject> MemoIngressClient::patchIngress(std::string_view ns, std::string_view name,
                                                         std::string_view mergePatch) {
  auto patched = api_.patchIngress(ns, name, mergePatch);
  memo_.rememberWrite(name, patched);
  return patched;
}

ClientResult<JsonObject> MemoHttpRouteClient::getHttpRoute(std::string_view ns,
                                                           std::string_view name) {
  return memo_.get(name, [&] { return api_.getHttpRoute(ns, name); });
}

ClientResult<JsonObject> MemoHttpRouteClient::patchHttpRoute(std::string_view ns,
                                                             std::string_view name,
                                                             std::string_view mergePatch) {
  auto patched = api_.patchHttpRoute(ns, name, mergePatch);
  memo_.rememberWrite(name, patched);
  return patched;
}

}  // namespace canaryd::traffic
