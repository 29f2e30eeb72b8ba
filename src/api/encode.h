// Encoding canaryd.io objects to JSON: the whole object (for `canaryd lint -o json`,
// round-trip tests and the CLI) and the status alone (the body of a status-subresource
// update). Field names and enum spellings are those the decoder reads, so
// decode(encode(x)) == x. Pure functions.
#pragma once

#include <rapidjson/document.h>

#include <string>

#include "api/types.h"

namespace canaryd::api {

// Encodes a whole Rollout (apiVersion, kind, metadata, spec, status) into `out`, using
// `alloc`. Defaults are written out explicitly; an empty status is omitted.
void encodeRollout(const Rollout& rollout, rapidjson::Value& out,
                   rapidjson::Document::AllocatorType& alloc);
std::string encodeRolloutJson(const Rollout& rollout);

// Encodes .status only. Measurement values are strings ("0.0123", "NaN", "+Inf"), as
// JSON has no NaN; timestamps RFC 3339; empty fields omitted.
void encodeRolloutStatus(const RolloutStatus& status, rapidjson::Value& out,
                         rapidjson::Document::AllocatorType& alloc);

void encodeAnalysisTemplate(const AnalysisTemplate& analysisTemplate, rapidjson::Value& out,
                            rapidjson::Document::AllocatorType& alloc);
std::string encodeAnalysisTemplateJson(const AnalysisTemplate& analysisTemplate);

void encodeObjectMeta(const ObjectMeta& meta, rapidjson::Value& out,
                      rapidjson::Document::AllocatorType& alloc);

}  // namespace canaryd::api
