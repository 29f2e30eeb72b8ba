// The defaults canaryd applies to fields a user leaves out. One place, so that the
// types, the CRD schema documentation and the tests agree. Compile-time constants.
#pragma once

#include <cstdint>
#include <string_view>

#include "api/duration.h"

namespace canaryd::api {

inline constexpr int32_t kDefaultReplicas = 1;
inline constexpr int32_t kDefaultRevisionHistoryLimit = 10;
inline constexpr int32_t kDefaultProgressDeadlineSeconds = 600;
inline constexpr int32_t kDefaultScaleDownDelaySeconds = 30;
inline constexpr int32_t kDefaultAbortScaleDownDelaySeconds = 30;

// Analysis, as Argo Rollouts' AnalysisRun defaults where the concept is the same.
inline constexpr Duration kDefaultAnalysisInterval = std::chrono::seconds(30);
inline constexpr int32_t kDefaultAnalysisCount = 1;
inline constexpr int32_t kDefaultFailureLimit = 0;
inline constexpr int32_t kDefaultConsecutiveErrorLimit = 4;
inline constexpr int32_t kDefaultInconclusiveLimit = 0;
inline constexpr Duration kDefaultPrometheusTimeout = std::chrono::seconds(10);

// Traffic weights are percentages unless trafficRouting.maxTrafficWeight says otherwise.
inline constexpr int32_t kDefaultMaxTrafficWeight = 100;

// nginx-ingress annotation prefix (kubernetes/ingress-nginx --annotations-prefix).
inline constexpr std::string_view kDefaultNginxAnnotationPrefix = "nginx.ingress.kubernetes.io";

// Bounds on what canaryd keeps in status, so an object never grows without limit.
inline constexpr size_t kMaxMeasurementsPerMetric = 10;
inline constexpr size_t kMaxHistoryEntries = 10;

}  // namespace canaryd::api
