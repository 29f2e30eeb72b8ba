// The typed failure of a traffic router's API client (IngressClient, HttpRouteClient):
// the few metav1.Status reasons a router tells apart. Plain values; thread-safe.
#pragma once

#include <rapidjson/document.h>

#include <boost/system/result.hpp>
#include <string>
#include <string_view>

namespace canaryd::traffic {

struct ClientError {
  enum class Kind {
    kNotFound,   // 404
    kConflict,   // 409: a stale resourceVersion precondition, or AlreadyExists on create
    kForbidden,  // 403
    kOther,      // anything else: 422, 5xx, 429, network, timeouts
  };
  Kind kind = Kind::kOther;
  std::string message;
};

// "NotFound", "Conflict", "Forbidden", "Other".
std::string_view toString(ClientError::Kind kind);

template <class T>
using ClientResult = boost::system::result<T, ClientError>;

// An API object as JSON, owned by the caller.
using JsonObject = rapidjson::Document;

}  // namespace canaryd::traffic
