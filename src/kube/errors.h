// Typed Kubernetes API errors: a failed response decoded into ApiError, from its
// metav1.Status body when there is one and from the HTTP code otherwise, with the
// predicates of k8s.io/apimachinery/pkg/api/errors (isNotFound, isConflict, ...).
// Plain values and pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace canaryd::kube {

// metav1.StatusReason.
enum class StatusReason {
  kUnknown,  // "" (or a reason this client does not know; see ApiError::reasonText)
  kUnauthorized,
  kForbidden,
  kNotFound,
  kAlreadyExists,
  kConflict,
  kGone,
  kInvalid,
  kServerTimeout,
  kStoreReadError,
  kTimeout,
  kTooManyRequests,
  kBadRequest,
  kMethodNotAllowed,
  kNotAcceptable,
  kRequestEntityTooLarge,
  kUnsupportedMediaType,
  kInternalError,
  kExpired,
  kServiceUnavailable,
};

// The wire name ("NotFound"); "" for kUnknown.
std::string_view reasonName(StatusReason reason);
// The reason for a wire name; kUnknown for "" and names this client does not know.
StatusReason parseReason(std::string_view name);

// metav1.StatusCause. `type` is the cause's reason ("FieldValueInvalid", ...).
struct StatusCause {
  std::string type;
  std::string message;
  std::string field;
  bool operator==(const StatusCause&) const = default;
};

// metav1.StatusDetails.
struct StatusDetails {
  std::string name;
  std::string group;
  std::string kind;
  std::string uid;
  std::vector<StatusCause> causes;
  int retryAfterSeconds = 0;
  bool operator==(const StatusDetails&) const = default;
};

// A failed API call (apimachinery's StatusError).
struct ApiError {
  int code = 0;  // HTTP status code
  StatusReason reason = StatusReason::kUnknown;
  std::string reasonText;  // the reason as sent, even when unknown to this client
  std::string message;
  StatusDetails details;

  // The message, as StatusError.Error().
  const std::string& toString() const { return message; }
};

// The request a response answers, to word errors whose body says nothing
// (rest.Request.newUnstructuredResponseError). All fields may be empty.
struct RequestInfo {
  std::string verb;      // HTTP method: GET, POST, PUT, PATCH, DELETE
  std::string group;     // API group, "" for core
  std::string resource;  // plural resource, e.g. "replicasets"
  std::string name;      // object name
};

// Decodes a failed response. A JSON body of kind "Status" with status "Failure" becomes
// its fields (its code when set, the HTTP code otherwise). Any other body gets a reason
// and message derived from the HTTP code as client-go's NewGenericServerResponse does
// (409 on POST is AlreadyExists; text/plain bodies, up to 2048 bytes, become the server
// message; a cause of type "UnexpectedServerResponse" is attached). `retryAfterHeader`
// (the Retry-After header's value, if any) fills details.retryAfterSeconds when the
// body does not.
ApiError decodeApiError(int httpCode, std::string_view contentType, std::string_view body,
                        std::optional<std::string_view> retryAfterHeader,
                        const RequestInfo& request = {});

// Retry-After in whole seconds, as client-go reads it (an integer; HTTP dates are ignored).
std::optional<int> parseRetryAfter(std::string_view header);

// Predicates, as apimachinery's: the reason, or for most of them the HTTP code when the
// reason is unknown to this client.
bool isNotFound(const ApiError& e);               // NotFound, or 404
bool isAlreadyExists(const ApiError& e);          // AlreadyExists only
bool isConflict(const ApiError& e);               // Conflict, or 409
bool isInvalid(const ApiError& e);                // Invalid, or 422
bool isGone(const ApiError& e);                   // Gone, or 410
bool isResourceExpired(const ApiError& e);        // Expired only
bool isNotAcceptable(const ApiError& e);          // NotAcceptable, or 406
bool isUnsupportedMediaType(const ApiError& e);   // UnsupportedMediaType, or 415
bool isMethodNotSupported(const ApiError& e);     // MethodNotAllowed, or 405
bool isServiceUnavailable(const ApiError& e);     // ServiceUnavailable, or 503
bool isBadRequest(const ApiError& e);             // BadRequest, or 400
bool isUnauthorized(const ApiError& e);           // Unauthorized, or 401
bool isForbidden(const ApiError& e);              // Forbidden, or 403
bool isTimeout(const ApiError& e);                // Timeout, or 504
bool isServerTimeout(const ApiError& e);          // ServerTimeout only
bool isInternalError(const ApiError& e);          // InternalError, or 500
bool isTooManyRequests(const ApiError& e);        // TooManyRequests, or 429 whatever the reason
bool isRequestEntityTooLarge(const ApiError& e);  // RequestEntityTooLarge, or 413
// A body that was not a Status (a cause of type UnexpectedServerResponse).
bool isUnexpectedServerError(const ApiError& e);

// Seconds the server asked the client to wait, if it asked (errors.SuggestsClientDelay):
// retryAfterSeconds when positive, or whatever it is for ServerTimeout.
std::optional<int> suggestsClientDelay(const ApiError& e);

}  // namespace canaryd::kube
