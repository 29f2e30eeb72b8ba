// Helpers shared by the api tests: a valid base Rollout and RFC 7386 merge patches
// applied to it, so each table row states only what it changes.
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <string_view>

namespace canaryd::api::testing {

// A complete, valid Rollout (nginx routing, background analysis, every step kind).
extern const char* const kBaseRolloutYaml;

// Parses YAML text (one document); fails the current test on a syntax error.
rapidjson::Document yaml(std::string_view text);

// Applies a JSON merge patch (RFC 7386; null deletes) given as YAML or JSON text.
rapidjson::Document mergePatched(std::string_view baseYaml, std::string_view patchYaml);

// Reads a file relative to the source tree.
std::string readSourceFile(const std::string& relativePath);

}  // namespace canaryd::api::testing
