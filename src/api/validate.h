// Validation of decoded canaryd.io objects, returning every error with its field path
// in kube-apiserver's wording (api/field_error.h), e.g.
//   spec.strategy.canary.steps[2].setWeight: Invalid value: 140: must be between 0 and 100
// Only what can be checked from the object alone; references to other objects (Services,
// Ingresses, AnalysisTemplates) are checked by the controller. Pure functions.
#pragma once

#include "api/decode.h"
#include "api/field_error.h"
#include "api/types.h"

namespace canaryd::api {

// Returns every error of the Rollout's metadata and spec; empty when valid.
ErrorList validateRollout(const Rollout& rollout);

// Returns every error of the AnalysisTemplate; empty when valid.
ErrorList validateAnalysisTemplate(const AnalysisTemplate& analysisTemplate);

// Decodes and validates in one go: the decode errors, then the validation errors of
// fields that decoded cleanly (a field with a type error is not reported twice).
// `object` is usable only when `errors` is empty. This is what `canaryd lint` and the
// controller's InvalidSpec condition use.
Decoded<Rollout> checkRollout(const rapidjson::Value& value, DecodeOptions options = {});
Decoded<AnalysisTemplate> checkAnalysisTemplate(const rapidjson::Value& value,
                                                DecodeOptions options = {});

// Name rules from k8s.io/apimachinery/pkg/util/validation. Each returns the error
// details (empty when valid), e.g. "must be no more than 63 characters".
std::vector<std::string> isDns1123Label(std::string_view value);
std::vector<std::string> isDns1035Label(std::string_view value);      // Service names
std::vector<std::string> isDns1123Subdomain(std::string_view value);  // most object names
std::vector<std::string> isQualifiedName(std::string_view value);     // label/annotation keys
std::vector<std::string> isValidLabelValue(std::string_view value);

}  // namespace canaryd::api
