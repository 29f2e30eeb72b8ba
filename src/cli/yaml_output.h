// JSON values printed as YAML the way `kubectl get -o yaml` prints them (sigs.k8s.io/yaml
// over go-yaml v2): block style, two-space indentation, sequences not indented under
// their key, strings quoted only where a plain scalar would read back as something else.
// Pure functions; thread-safe.
#pragma once

#include <rapidjson/document.h>

#include <string>

namespace canaryd::cli {

// The YAML text of `value`, ending with a newline. Member order is kept (sort the keys
// first for kubectl's alphabetical order). Empty objects and arrays are `{}` and `[]`.
std::string toYaml(const rapidjson::Value& value);

// The value as kubectl prints it with `-o json`: keys sorted, two-space indentation,
// ending with a newline.
std::string toJsonOutput(const rapidjson::Value& value);

// The value as kubectl prints it with `-o yaml`: keys sorted.
std::string toYamlOutput(const rapidjson::Value& value);

}  // namespace canaryd::cli
