#include "api_error.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace canaryd::emulator {

std::string qualifiedName(std::string_view first, std::string_view group) {
  std::string s(first);
  if (!group.empty()) {
    s += '.';
    s += group;
  }
  return s;
}

std::string ApiError::toStatusJson() const {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("kind");
  w.String("Status");
  w.Key("apiVersion");
  w.String("v1");
  w.Key("metadata");
  w.StartObject();
  w.EndObject();
  w.Key("status");
  w.String("Failure");
  w.Key("message");
  w.String(message);
  w.Key("reason");
  w.String(reason);
  if (!name.empty() || !group.empty() || !kind.empty() || !causes.empty() ||
      retryAfterSeconds > 0) {
    w.Key("details");
    w.StartObject();
    if (!name.empty()) {
      w.Key("name");
      w.String(name);
    }
    if (!group.empty()) {
      w.Key("group");
      w.String(group);
    }
    if (!kind.empty()) {
      w.Key("kind");
      w.String(kind);
    }
    if (!causes.empty()) {
      w.Key("causes");
      w.StartArray();
      for (const auto& c : causes) {
        w.StartObject();
        w.Key("reason");
        w.String(c.reason);
        w.Key("message");
        w.String(c.message);
        if (!c.field.empty()) {
          w.Key("field");
          w.String(c.field);
        }
        w.EndObject();
      }
      w.EndArray();
    }
    if (retryAfterSeconds > 0) {
      w.Key("retryAfterSeconds");
      w.Int(retryAfterSeconds);
    }
    w.EndObject();
  }
  w.Key("code");
  w.Uint(code);
  w.EndObject();
  return buf.GetString();
}

ApiError notFound(std::string_view group, std::string_view resource, std::string_view name) {
  ApiError e{404, "NotFound",
             qualifiedName(resource, group) + " \"" + std::string(name) + "\" not found"};
  e.name = name;
  e.group = group;
  e.kind = resource;
  return e;
}

ApiError pathNotFound() {
  return ApiError{404, "NotFound", "the server could not find the requested resource"};
}

ApiError alreadyExists(std::string_view group, std::string_view resource, std::string_view name) {
  ApiError e{409, "AlreadyExists",
             qualifiedName(resource, group) + " \"" + std::string(name) + "\" already exists"};
  e.name = name;
  e.group = group;
  e.kind = resource;
  return e;
}

ApiError conflict(std::string_view group, std::string_view resource, std::string_view name,
                  std::string_view detail) {
  ApiError e{409, "Conflict",
             "Operation cannot be fulfilled on " + qualifiedName(resource, group) + " \"" +
                 std::string(name) + "\": " + std::string(detail)};
  e.name = name;
  e.group = group;
  e.kind = resource;
  return e;
}

namespace {
// field.ErrorType -> metav1.CauseType (apimachinery/pkg/util/validation/field/errors.go).
std::string causeReason(api::FieldError::Type t) {
  switch (t) {
    case api::FieldError::Type::kRequired:
      return "FieldValueRequired";
    case api::FieldError::Type::kInvalid:
      return "FieldValueInvalid";
    case api::FieldError::Type::kNotSupported:
      return "FieldValueNotSupported";
    case api::FieldError::Type::kDuplicate:
      return "FieldValueDuplicate";
    case api::FieldError::Type::kForbidden:
      return "FieldValueForbidden";
    case api::FieldError::Type::kTooMany:
      return "FieldValueTooMany";
    case api::FieldError::Type::kUnknownField:
      return "FieldValueInvalid";
  }
  return "FieldValueInvalid";
}
}  // namespace

ApiError invalid(std::string_view group, std::string_view kind, std::string_view name,
                 const api::ErrorList& errors) {
  // errors.NewInvalid: a single error is shown bare, several in brackets joined by ", ".
  std::string list;
  for (size_t i = 0; i < errors.size(); ++i) {
    if (i) list += ", ";
    list += errors[i].toString();
  }
  if (errors.size() > 1) list = "[" + list + "]";
  ApiError e{422, "Invalid",
             qualifiedName(kind, group) + " \"" + std::string(name) + "\" is invalid: " + list};
  e.name = name;
  e.group = group;
  e.kind = kind;
  for (const auto& fe : errors) {
    std::string full = fe.toString();
    std::string prefix = fe.field + ": ";
    std::string msg =
        !fe.field.empty() && full.rfind(prefix, 0) == 0 ? full.substr(prefix.size()) : full;
    e.causes.push_back({causeReason(fe.type), msg, fe.field});
  }
  return e;
}

ApiError badRequest(std::string message) { return ApiError{400, "BadRequest", std::move(message)}; }

ApiError methodNotAllowed() {
  return ApiError{405, "MethodNotAllowed",
                  "the server does not allow this method on the requested resource"};
}

ApiError unsupportedMediaType(std::string_view accepted) {
  return ApiError{415, "UnsupportedMediaType",
                  "the body of the request was in an unknown format - accepted media types "
                  "include: " +
                      std::string(accepted)};
}

ApiError tooOldResourceVersion(unsigned long long requested, unsigned long long oldest) {
  return ApiError{410, "Expired",
                  "too old resource version: " + std::to_string(requested) + " (" +
                      std::to_string(oldest) + ")"};
}

ApiError expired(std::string message) { return ApiError{410, "Expired", std::move(message)}; }

ApiError tooManyRequests(int retryAfterSeconds) {
  ApiError e{429, "TooManyRequests", "Too many requests, please try again later."};
  e.retryAfterSeconds = retryAfterSeconds;
  return e;
}

ApiError internalError(std::string message) {
  return ApiError{500, "InternalError", "Internal error occurred: " + message};
}

ApiError notAcceptable(std::string message) {
  return ApiError{406, "NotAcceptable", std::move(message)};
}

ApiError forbidden(std::string message) { return ApiError{403, "Forbidden", std::move(message)}; }

ApiError unauthorized() { return ApiError{401, "Unauthorized", "Unauthorized"}; }

}  // namespace canaryd::emulator
