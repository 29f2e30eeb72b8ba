// Golden files for the router tests: the objects a router produces, compared as parsed
// JSON (not text) with YAML files under tests/traffic/testdata/. With
// CANARYD_UPDATE_GOLDEN=1 in the environment the files are rewritten from the actual
// objects instead (then reviewed and committed). Single-threaded.
#pragma once

#include <rapidjson/document.h>

#include <string>

namespace canaryd::traffic::testing {

// The object without what the API server assigns (metadata.resourceVersion, uid,
// creationTimestamp, generation), compared with testdata/<file>. Fails the current test
// on a difference, showing both as JSON with sorted keys.
void expectGolden(const rapidjson::Value& actual, const std::string& file);

// Block-style YAML for a JSON value (strings double-quoted, so nothing is re-typed).
std::string toYaml(const rapidjson::Value& value);

// The text of tests/traffic/testdata/<file>.
std::string readTestdata(const std::string& file);

}  // namespace canaryd::traffic::testing
