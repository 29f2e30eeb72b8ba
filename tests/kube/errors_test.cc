#include "kube/errors.h"

#include <gtest/gtest.h>

namespace canaryd::kube {
namespace {

constexpr std::string_view kJson = "application/json";

// ---- Status bodies as kube-apiserver sends them ----

TEST(DecodeApiErrorTest, NotFound) {
  auto e = decodeApiError(404, kJson, R"js({
    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
    "message": "replicasets.apps \"podinfo-abc\" not found", "reason": "NotFound",
    "details": {"name": "podinfo-abc", "group": "apps", "kind": "replicasets"}, "code": 404})js",
                          std::nullopt);
  EXPECT_EQ(e.code, 404);
  EXPECT_EQ(e.reason, StatusReason::kNotFound);
  EXPECT_EQ(e.reasonText, "NotFound");
  EXPECT_EQ(e.toString(), "replicasets.apps \"podinfo-abc\" not found");
  EXPECT_EQ(e.details.name, "podinfo-abc");
  EXPECT_EQ(e.details.group, "apps");
  EXPECT_EQ(e.details.kind, "replicasets");
  EXPECT_TRUE(isNotFound(e));
  EXPECT_FALSE(isConflict(e));
  EXPECT_FALSE(isUnexpectedServerError(e));
}

TEST(DecodeApiErrorTest, InvalidWithCauses) {
  auto e = decodeApiError(422, kJson, R"js({
    "kind": "Status", "apiVersion": "v1", "status": "Failure",
    "message": "Rollout.canaryd.io \"podinfo\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0",
    "reason": "Invalid",
    "details": {"name": "podinfo", "group": "canaryd.io", "kind": "Rollout",
      "causes": [
        {"reason": "FieldValueInvalid", "message": "Invalid value: -1: must be greater than or equal to 0", "field": "spec.replicas"},
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.selector"}
      ]},
    "code": 422})js",
                          std::nullopt);
  EXPECT_TRUE(isInvalid(e));
  ASSERT_EQ(e.details.causes.size(), 2u);
  EXPECT_EQ(
      e.details.causes[0],
      (StatusCause{"FieldValueInvalid", "Invalid value: -1: must be greater than or equal to 0",
                   "spec.replicas"}));
  EXPECT_EQ(e.details.causes[1],
            (StatusCause{"FieldValueRequired", "Required value", "spec.selector"}));
  EXPECT_EQ(e.details.kind, "Rollout");
}

TEST(DecodeApiErrorTest, ConflictAndAlreadyExists) {
  auto conflict =
      decodeApiError(409, kJson, R"js({"kind":"Status","apiVersion":"v1","status":"Failure",
    "message":"Operation cannot be fulfilled on rollouts.canaryd.io \"podinfo\": the object has been modified; please apply your changes to the latest version and try again",
    "reason":"Conflict","details":{"name":"podinfo","group":"canaryd.io","kind":"rollouts"},"code":409})js",
                     std::nullopt);
  EXPECT_TRUE(isConflict(conflict));
  EXPECT_FALSE(isAlreadyExists(conflict));

  auto exists =
      decodeApiError(409, kJson, R"js({"kind":"Status","apiVersion":"v1","status":"Failure",
    "message":"services \"podinfo-canary\" already exists","reason":"AlreadyExists",
    "details":{"name":"podinfo-canary","kind":"services"},"code":409})js",
                     std::nullopt);
  EXPECT_TRUE(isAlreadyExists(exists));
  // A known reason other than Conflict is not a conflict, even with code 409.
  EXPECT_FALSE(isConflict(exists));
}

TEST(DecodeApiErrorTest, GoneAndExpired) {
  auto gone = decodeApiError(410, kJson, R"js({"kind":"Status","apiVersion":"v1","status":"Failure",
    "message":"too old resource version: 1 (5000)","reason":"Expired","code":410})js",
                             std::nullopt);
  EXPECT_TRUE(isResourceExpired(gone));
  EXPECT_FALSE(isGone(gone));  // Expired is a known reason: no fallback to the code

  auto plain =
      decodeApiError(410, kJson, R"js({"kind":"Status","apiVersion":"v1","status":"Failure",
    "message":"the resource is gone","reason":"Gone","code":410})js",
                     std::nullopt);
  EXPECT_TRUE(isGone(plain));
}

TEST(DecodeApiErrorTest, TooManyRequestsWithRetryAfter) {
  auto e = decodeApiError(429, kJson, R"js({"kind":"Status","apiVersion":"v1","status":"Failure",
    "message":"Too many requests, please try again later.","reason":"TooManyRequests",
    "details":{"retryAfterSeconds":3},"code":429})js",
                          "5");
  EXPECT_TRUE(isTooManyRequests(e));
  EXPECT_EQ(e.details.retryAfterSeconds, 3);  // the body wins over the header
  EXPECT_EQ(suggestsClientDelay(e), 3);
}

TEST(DecodeApiErrorTest, RetryAfterHeaderFillsMissingDetail) {
  auto e = decodeApiError(429, kJson, R"js({"kind":"Status","apiVersion":"v1","status":"Failure",
    "message":"slow down","reason":"TooManyRequests","code":429})js",
                          "7");
  EXPECT_EQ(e.details.retryAfterSeconds, 7);
  EXPECT_EQ(suggestsClientDelay(e), 7);
}

TEST(DecodeApiErrorTest, ForbiddenAndUnauthorized) {
  auto forbidden =
      decodeApiError(403, kJson, R"js({"kind":"Status","apiVersion":"v1","status":"Failure",
    "message":"replicasets.apps is forbidden: User \"system:serviceaccount:canaryd:canaryd\" cannot list resource \"replicasets\" in API group \"apps\" at the cluster scope",
    "reason":"Forbidden","details":{"group":"apps","kind":"replicasets"},"code":403})js",
                     std::nullopt);
  EXPECT_TRUE(isForbidden(forbidden));
  EXPECT_NE(forbidden.message.find("cannot list resource \"replicasets\""), std::string::npos);

  auto unauthorized =
      decodeApiError(401, kJson, R"js({"kind":"Status","apiVersion":"v1","metadata":{},
    "status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401})js",
                     std::nullopt);
  EXPECT_TRUE(isUnauthorized(unauthorized));
  EXPECT_EQ(unauthorized.message, "Unauthorized");
}

TEST(DecodeApiErrorTest, ServerTimeoutSuggestsDelay) {
  auto e = decodeApiError(500, kJson, R"js({"kind":"Status","apiVersion":"v1","status":"Failure",
    "message":"The list operation against pods could not be completed at this time, please try again.",
    "reason":"ServerTimeout","details":{"name":"list","kind":"pods","retryAfterSeconds":2},"code":500})js",
                          std::nullopt);
  EXPECT_TRUE(isServerTimeout(e));
  EXPECT_FALSE(isInternalError(e));  // known reason: the 500 code does not count
  EXPECT_EQ(suggestsClientDelay(e), 2);
}

TEST(DecodeApiErrorTest, UnknownReasonFallsBackToCode) {
  auto e = decodeApiError(404, kJson, R"js({"kind":"Status","apiVersion":"v1","status":"Failure",
    "message":"nope","reason":"SomethingNew","code":404})js",
                          std::nullopt);
  EXPECT_EQ(e.reason, StatusReason::kUnknown);
  EXPECT_EQ(e.reasonText, "SomethingNew");
  EXPECT_TRUE(isNotFound(e));
}

TEST(DecodeApiErrorTest, StatusWithoutCodeTakesTheHttpCode) {
  auto e = decodeApiError(
      409, kJson, R"js({"kind":"Status","status":"Failure","message":"m","reason":"Conflict"})js",
      std::nullopt);
  EXPECT_EQ(e.code, 409);
  EXPECT_TRUE(isConflict(e));
}

// ---- bodies that are not a Status: the reason comes from the HTTP code ----

struct GenericCase {
  int code;
  std::string verb;
  std::string contentType;
  std::string body;
  StatusReason reason;
  std::string message;
};

class GenericResponseTest : public ::testing::TestWithParam<GenericCase> {};

TEST_P(GenericResponseTest, ReasonAndMessageFromCode) {
  const auto& c = GetParam();
  RequestInfo request{c.verb, "apps", "replicasets", "podinfo-abc"};
  auto e = decodeApiError(c.code, c.contentType, c.body, std::nullopt, request);
  EXPECT_EQ(e.code, c.code);
  EXPECT_EQ(e.reason, c.reason);
  EXPECT_EQ(e.message, c.message);
  EXPECT_TRUE(isUnexpectedServerError(e));
  EXPECT_EQ(e.details.group, "apps");
  EXPECT_EQ(e.details.kind, "replicasets");
  EXPECT_EQ(e.details.name, "podinfo-abc");
}

INSTANTIATE_TEST_SUITE_P(
    Codes, GenericResponseTest,
    ::testing::Values(
        GenericCase{404, "GET", "text/html", "<html>nope</html>", StatusReason::kNotFound,
                    "the server could not find the requested resource (get replicasets.apps "
                    "podinfo-abc)"},
        GenericCase{409, "POST", "", "", StatusReason::kAlreadyExists,
                    "the server reported a conflict (post replicasets.apps podinfo-abc)"},
        GenericCase{409, "PUT", "", "", StatusReason::kConflict,
                    "the server reported a conflict (put replicasets.apps podinfo-abc)"},
        GenericCase{401, "GET", "", "", StatusReason::kUnauthorized,
                    "the server has asked for the client to provide credentials (get "
                    "replicasets.apps podinfo-abc)"},
        GenericCase{403, "DELETE", "text/plain; charset=utf-8", "  no delete for you\n",
                    StatusReason::kForbidden,
                    "no delete for you (delete replicasets.apps podinfo-abc)"},
        GenericCase{422, "PATCH", "", "", StatusReason::kInvalid,
                    "the server rejected our request due to an error in our request (patch "
                    "replicasets.apps podinfo-abc)"},
        GenericCase{429, "GET", "", "", StatusReason::kTooManyRequests,
                    "the server has received too many requests and has asked us to try again "
                    "later (get replicasets.apps podinfo-abc)"},
        GenericCase{500, "GET", "text/plain", "etcd is down", StatusReason::kInternalError,
                    "an error on the server (\"etcd is down\") has prevented the request from "
                    "succeeding (get replicasets.apps podinfo-abc)"},
        GenericCase{502, "GET", "application/octet-stream", "xx", StatusReason::kInternalError,
                    "an error on the server (\"unknown\") has prevented the request from "
                    "succeeding (get replicasets.apps podinfo-abc)"},
        GenericCase{503, "GET", "", "", StatusReason::kServiceUnavailable,
                    "the server is currently unable to handle the request (get "
                    "replicasets.apps podinfo-abc)"},
        GenericCase{504, "GET", "", "", StatusReason::kTimeout,
                    "the server was unable to return a response in the time allotted, but may "
                    "still be processing the request (get replicasets.apps podinfo-abc)"},
        GenericCase{418, "GET", "", "", StatusReason::kUnknown,
                    "the server responded with the status code 418 but did not return more "
                    "information (get replicasets.apps podinfo-abc)"}));

TEST(DecodeApiErrorTest, GenericMessageWithoutResource) {
  auto e = decodeApiError(404, "text/plain", "404 page not found\n", std::nullopt);
  EXPECT_EQ(e.message, "the server could not find the requested resource");
  ASSERT_EQ(e.details.causes.size(), 1u);
  EXPECT_EQ(e.details.causes[0].type, "UnexpectedServerResponse");
  EXPECT_EQ(e.details.causes[0].message, "404 page not found");
}

TEST(DecodeApiErrorTest, CoreGroupResourceHasNoGroupSuffix) {
  auto e = decodeApiError(404, "", "", std::nullopt, {"GET", "", "services", "podinfo"});
  EXPECT_EQ(e.message, "the server could not find the requested resource (get services podinfo)");
}

TEST(DecodeApiErrorTest, LongTextBodiesAreCapped) {
  std::string body(5000, 'x');
  auto e = decodeApiError(500, "text/plain", body, std::nullopt);
  EXPECT_EQ(e.details.causes[0].message.size(), 2048u);
}

TEST(DecodeApiErrorTest, SuccessStatusOrOtherKindIsNotAStatusError) {
  auto success = decodeApiError(
      500, kJson, R"js({"kind":"Status","apiVersion":"v1","status":"Success"})js", std::nullopt);
  EXPECT_TRUE(isUnexpectedServerError(success));
  EXPECT_EQ(success.reason, StatusReason::kInternalError);
  auto other = decodeApiError(404, kJson, R"js({"kind":"Pod","apiVersion":"v1"})js", std::nullopt);
  EXPECT_TRUE(isUnexpectedServerError(other));
  EXPECT_TRUE(isNotFound(other));
  auto broken = decodeApiError(404, kJson, R"js({"kind":"Status",)js", std::nullopt);
  EXPECT_TRUE(isNotFound(broken));
}

TEST(DecodeApiErrorTest, GenericRetryAfterFromHeader) {
  auto e = decodeApiError(429, "", "", "12");
  EXPECT_TRUE(isTooManyRequests(e));
  EXPECT_EQ(suggestsClientDelay(e), 12);
  auto none = decodeApiError(503, "", "", std::nullopt);
  EXPECT_EQ(suggestsClientDelay(none), std::nullopt);
}

TEST(ApiErrorPredicatesTest, CodeFallbacks) {
  struct Case {
    int code;
    bool (*predicate)(const ApiError&);
    const char* name;
  };
  const Case cases[] = {
      {400, isBadRequest, "badRequest"},
      {401, isUnauthorized, "unauthorized"},
      {403, isForbidden, "forbidden"},
      {404, isNotFound, "notFound"},
      {405, isMethodNotSupported, "methodNotSupported"},
      {406, isNotAcceptable, "notAcceptable"},
      {409, isConflict, "conflict"},
      {410, isGone, "gone"},
      {413, isRequestEntityTooLarge, "entityTooLarge"},
      {415, isUnsupportedMediaType, "unsupportedMediaType"},
      {422, isInvalid, "invalid"},
      {429, isTooManyRequests, "tooManyRequests"},
      {500, isInternalError, "internalError"},
      {503, isServiceUnavailable, "serviceUnavailable"},
      {504, isTimeout, "timeout"},
  };
  for (const auto& c : cases) {
    ApiError unknownReason;
    unknownReason.code = c.code;
    EXPECT_TRUE(c.predicate(unknownReason)) << c.name;
    ApiError otherReason;
    otherReason.code = c.code;
    otherReason.reason = StatusReason::kStoreReadError;
    // Only 429 and 413 count the code whatever the reason, as apimachinery.
    EXPECT_EQ(c.predicate(otherReason), c.code == 429 || c.code == 413) << c.name;
  }
  ApiError expired;
  expired.code = 410;
  EXPECT_FALSE(isResourceExpired(expired));
  EXPECT_FALSE(isAlreadyExists(ApiError{409}));
  EXPECT_FALSE(isServerTimeout(ApiError{500}));
}

TEST(StatusReasonTest, NamesRoundTrip) {
  for (auto r :
       {StatusReason::kUnauthorized, StatusReason::kForbidden, StatusReason::kNotFound,
        StatusReason::kAlreadyExists, StatusReason::kConflict, StatusReason::kGone,
        StatusReason::kInvalid, StatusReason::kServerTimeout, StatusReason::kStoreReadError,
        StatusReason::kTimeout, StatusReason::kTooManyRequests, StatusReason::kBadRequest,
        StatusReason::kMethodNotAllowed, StatusReason::kNotAcceptable,
        StatusReason::kRequestEntityTooLarge, StatusReason::kUnsupportedMediaType,
        StatusReason::kInternalError, StatusReason::kExpired, StatusReason::kServiceUnavailable}) {
    EXPECT_FALSE(reasonName(r).empty());
    EXPECT_EQ(parseReason(reasonName(r)), r) << reasonName(r);
  }
  EXPECT_EQ(reasonName(StatusReason::kStoreReadError), "StorageReadError");
  EXPECT_EQ(parseReason(""), StatusReason::kUnknown);
  EXPECT_EQ(parseReason("Nope"), StatusReason::kUnknown);
}

TEST(ParseRetryAfterTest, IntegersOnly) {
  EXPECT_EQ(parseRetryAfter("5"), 5);
  EXPECT_EQ(parseRetryAfter(" 10 "), 10);
  EXPECT_EQ(parseRetryAfter("0"), 0);
  EXPECT_EQ(parseRetryAfter(""), std::nullopt);
  EXPECT_EQ(parseRetryAfter("-1"), std::nullopt);
  EXPECT_EQ(parseRetryAfter("1.5"), std::nullopt);
  EXPECT_EQ(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
}

}  // namespace
}  // namespace canaryd::kube
