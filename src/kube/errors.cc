#include "kube/errors.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <utility>

#include "api/field_error.h"
#include "api/json.h"

namespace canaryd::kube {

namespace {

constexpr std::array<std::pair<StatusReason, std::string_view>, 20> kReasons{{
    {StatusReason::kUnknown, ""},
    {StatusReason::kUnauthorized, "Unauthorized"},
    {StatusReason::kForbidden, "Forbidden"},
    {StatusReason::kNotFound, "NotFound"},
    {StatusReason::kAlreadyExists, "AlreadyExists"},
    {StatusReason::kConflict, "Conflict"},
    {StatusReason::kGone, "Gone"},
    {StatusReason::kInvalid, "Invalid"},
    {StatusReason::kServerTimeout, "ServerTimeout"},
    {StatusReason::kStoreReadError, "StorageReadError"},
    {StatusReason::kTimeout, "Timeout"},
    {StatusReason::kTooManyRequests, "TooManyRequests"},
    {StatusReason::kBadRequest, "BadRequest"},
    {StatusReason::kMethodNotAllowed, "MethodNotAllowed"},
    {StatusReason::kNotAcceptable, "NotAcceptable"},
    {StatusReason::kRequestEntityTooLarge, "RequestEntityTooLarge"},
    {StatusReason::kUnsupportedMediaType, "UnsupportedMediaType"},
    {StatusReason::kInternalError, "InternalError"},
    {StatusReason::kExpired, "Expired"},
    {StatusReason::kServiceUnavailable, "ServiceUnavailable"},
}};

// rest.maxUnstructuredResponseTextBytes.
constexpr size_t kMaxUnstructuredResponseTextBytes = 2048;
constexpr std::string_view kCauseUnexpectedServerResponse = "UnexpectedServerResponse";

std::string stringMember(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

int intMember(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsInt()) return 0;
  return it->value.GetInt();
}

std::string_view trimSpace(std::string_view s) {
  auto isSpace = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string toLower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// mime.ParseMediaType + strings.HasPrefix(media, "text/").
bool isTextResponse(std::string_view contentType) {
  auto media = toLower(trimSpace(contentType.substr(0, contentType.find(';'))));
  return media.starts_with("text/");
}

// A metav1.Status body with status Failure, as rest.Result.Error() accepts it.
std::optional<ApiError> decodeStatus(int httpCode, std::string_view body) {
  auto parsed = api::parseJson(body);
  if (!parsed || !parsed->IsObject()) return std::nullopt;
  const rapidjson::Value& status = *parsed;
  if (stringMember(status, "kind") != "Status") return std::nullopt;
  auto apiVersion = stringMember(status, "apiVersion");
  if (!apiVersion.empty() && apiVersion != "v1" && apiVersion != "meta.k8s.io/v1") {
    return std::nullopt;
  }
  if (stringMember(status, "status") != "Failure") return std::nullopt;
  ApiError error;
  error.code = intMember(status, "code");
  if (error.code == 0) error.code = httpCode;
  error.reasonText = stringMember(status, "reason");
  error.reason = parseReason(error.reasonText);
  error.message = stringMember(status, "message");
  if (auto details = status.FindMember("details");
      details != status.MemberEnd() && details->value.IsObject()) {
    const auto& d = details->value;
    error.details.name = stringMember(d, "name");
    error.details.group = stringMember(d, "group");
    error.details.kind = stringMember(d, "kind");
    error.details.uid = stringMember(d, "uid");
    error.details.retryAfterSeconds = intMember(d, "retryAfterSeconds");
    if (auto causes = d.FindMember("causes"); causes != d.MemberEnd() && causes->value.IsArray()) {
      for (const auto& c : causes->value.GetArray()) {
        if (!c.IsObject()) continue;
        error.details.causes.push_back(
            {stringMember(c, "reason"), stringMember(c, "message"), stringMember(c, "field")});
      }
    }
  }
  return error;
}

// errors.NewGenericServerResponse with isUnexpectedResponse = true.
ApiError genericServerResponse(int code, const RequestInfo& request,
                               const std::string& serverMessage, int retryAfterSeconds) {
  ApiError error;
  error.code = code;
  error.message = "the server responded with the status code " + std::to_string(code) +
                  " but did not return more information";
  switch (code) {
    case 409:
      error.reason =
          request.verb == "POST" ? StatusReason::kAlreadyExists : StatusReason::kConflict;
      error.message = "the server reported a conflict";
      break;
    case 404:
      error.reason = StatusReason::kNotFound;
      error.message = "the server could not find the requested resource";
      break;
    case 400:
      error.reason = StatusReason::kBadRequest;
      error.message = "the server rejected our request for an unknown reason";
      break;
    case 401:
      error.reason = StatusReason::kUnauthorized;
      error.message = "the server has asked for the client to provide credentials";
      break;
    case 403:
      error.reason = StatusReason::kForbidden;
      // The server's text says who may not do what.
      error.message = serverMessage;
      break;
    case 406:
      error.reason = StatusReason::kNotAcceptable;
      error.message = serverMessage.empty() || serverMessage == "unknown"
                          ? "the server was unable to respond with a content type that the "
                            "client supports"
                          : serverMessage;
      break;
    case 415:
      error.reason = StatusReason::kUnsupportedMediaType;
      error.message = serverMessage;
      break;
    case 405:
      error.reason = StatusReason::kMethodNotAllowed;
      error.message = "the server does not allow this method on the requested resource";
      break;
    case 422:
      error.reason = StatusReason::kInvalid;
      error.message = "the server rejected our request due to an error in our request";
      break;
    case 503:
      error.reason = StatusReason::kServiceUnavailable;
      error.message = "the server is currently unable to handle the request";
      break;
    case 504:
      error.reason = StatusReason::kTimeout;
      error.message =
          "the server was unable to return a response in the time allotted, but may still be "
          "processing the request";
      break;
    case 429:
      error.reason = StatusReason::kTooManyRequests;
      error.message =
          "the server has received too many requests and has asked us to try again later";
      break;
    default:
      if (code >= 500) {
        error.reason = StatusReason::kInternalError;
        error.message = "an error on the server (" + api::quoteValue(serverMessage) +
                        ") has prevented the request from succeeding";
      }
  }
  error.reasonText = std::string(reasonName(error.reason));
  if (!request.resource.empty()) {
    std::string qualified = request.resource;
    if (!request.group.empty()) qualified += "." + request.group;
    error.message += " (" + toLower(request.verb) + " " + qualified;
    if (!request.name.empty()) error.message += " " + request.name;
    error.message += ")";
  }
  error.details.group = request.group;
  error.details.kind = request.resource;
  error.details.name = request.name;
  error.details.retryAfterSeconds = retryAfterSeconds;
  error.details.causes.push_back({std::string(kCauseUnexpectedServerResponse), serverMessage, ""});
  return error;
}

bool reasonOrUnknownCode(const ApiError& e, StatusReason reason, int code) {
  return e.reason == reason || (e.reason == StatusReason::kUnknown && e.code == code);
}

}  // namespace

std::string_view reasonName(StatusReason reason) {
  for (const auto& [r, name] : kReasons) {
    if (r == reason) return name;
  }
  return "";
}

StatusReason parseReason(std::string_view name) {
  for (const auto& [r, n] : kReasons) {
    if (n == name) return r;
  }
  return StatusReason::kUnknown;
}

std::optional<int> parseRetryAfter(std::string_view header) {
  header = trimSpace(header);
  int seconds = 0;
  auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), seconds);
  if (header.empty() || ec != std::errc() || end != header.data() + header.size() || seconds < 0) {
    return std::nullopt;
  }
  return seconds;
}

ApiError decodeApiError(int httpCode, std::string_view contentType, std::string_view body,
                        std::optional<std::string_view> retryAfterHeader,
                        const RequestInfo& request) {
  int retryAfter = 0;
  if (retryAfterHeader) retryAfter = parseRetryAfter(*retryAfterHeader).value_or(0);
  if (auto status = decodeStatus(httpCode, body)) {
    if (status->details.retryAfterSeconds == 0) status->details.retryAfterSeconds = retryAfter;
    return *std::move(status);
  }
  std::string serverMessage = "unknown";
  if (isTextResponse(contentType)) {
    serverMessage = trimSpace(body.substr(0, kMaxUnstructuredResponseTextBytes));
  }
  return genericServerResponse(httpCode, request, serverMessage, retryAfter);
}

bool isNotFound(const ApiError& e) { return reasonOrUnknownCode(e, StatusReason::kNotFound, 404); }
bool isAlreadyExists(const ApiError& e) { return e.reason == StatusReason::kAlreadyExists; }
bool isConflict(const ApiError& e) { return reasonOrUnknownCode(e, StatusReason::kConflict, 409); }
bool isInvalid(const ApiError& e) { return reasonOrUnknownCode(e, StatusReason::kInvalid, 422); }
bool isGone(const ApiError& e) { return reasonOrUnknownCode(e, StatusReason::kGone, 410); }
bool isResourceExpired(const ApiError& e) { return e.reason == StatusReason::kExpired; }
bool isNotAcceptable(const ApiError& e) {
  return reasonOrUnknownCode(e, StatusReason::kNotAcceptable, 406);
}
bool isUnsupportedMediaType(const ApiError& e) {
  return reasonOrUnknownCode(e, StatusReason::kUnsupportedMediaType, 415);
}
bool isMethodNotSupported(const ApiError& e) {
  return reasonOrUnknownCode(e, StatusReason::kMethodNotAllowed, 405);
}
bool isServiceUnavailable(const ApiError& e) {
  return reasonOrUnknownCode(e, StatusReason::kServiceUnavailable, 503);
}
bool isBadRequest(const ApiError& e) {
  return reasonOrUnknownCode(e, StatusReason::kBadRequest, 400);
}
bool isUnauthorized(const ApiError& e) {
  return reasonOrUnknownCode(e, StatusReason::kUnauthorized, 401);
}
bool isForbidden(const ApiError& e) {
  return reasonOrUnknownCode(e, StatusReason::kForbidden, 403);
}
bool isTimeout(const ApiError& e) { return reasonOrUnknownCode(e, StatusReason::kTimeout, 504); }
bool isServerTimeout(const ApiError& e) { return e.reason == StatusReason::kServerTimeout; }
bool isInternalError(const ApiError& e) {
  return reasonOrUnknownCode(e, StatusReason::kInternalError, 500);
}
bool isTooManyRequests(const ApiError& e) {
  // apimachinery checks 429 whatever the reason, for backward compatibility.
  return e.reason == StatusReason::kTooManyRequests || e.code == 429;
}
bool isRequestEntityTooLarge(const ApiError& e) {
  return e.reason == StatusReason::kRequestEntityTooLarge || e.code == 413;
}

bool isUnexpectedServerError(const ApiError& e) {
  return std::any_of(e.details.causes.begin(), e.details.causes.end(),
                     [](const StatusCause& c) { return c.type == kCauseUnexpectedServerResponse; });
}

std::optional<int> suggestsClientDelay(const ApiError& e) {
  if (e.reason == StatusReason::kServerTimeout) return e.details.retryAfterSeconds;
  if (e.details.retryAfterSeconds > 0) return e.details.retryAfterSeconds;
  return std::nullopt;
}

}  // namespace canaryd::kube
