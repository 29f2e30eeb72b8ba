// JSON and YAML text to RapidJSON documents, and back. YAML is read the way kubectl
// reads manifests (sigs.k8s.io/yaml on go-yaml v2: YAML 1.1 scalars, so `yes`/`on` are
// booleans and `0x1F` is an integer), then handled as JSON, so one decoder serves both.
// Pure functions; the returned documents own their memory.
#pragma once

#include <rapidjson/document.h>

#include <boost/system/result.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace canaryd::api {

// A syntax error in JSON or YAML text. line and column are 1-based; 0 when unknown.
struct ParseError {
  std::string message;
  size_t line = 0;
  size_t column = 0;
  // "line 3, column 7: <message>" (or just the message when the position is unknown).
  std::string toString() const;
};

template <class T>
using ParseResult = boost::system::result<T, ParseError>;

// Parses one JSON value (object, array or scalar). Trailing garbage is an error.
ParseResult<rapidjson::Document> parseJson(std::string_view text);

// Parses a YAML stream into one JSON document per YAML document, skipping empty
// documents. Documents are split as kubectl splits them: at lines that are "---" followed
// only by white space (apimachinery util/yaml.YAMLReader).
// Errors: syntax errors with their position; anchors/aliases are resolved; mapping keys
// that are not scalars are an error; non-finite floats are an error (JSON has none).
ParseResult<std::vector<rapidjson::Document>> parseYamlDocuments(std::string_view text);

// Parses a manifest file's text: JSON when the first non-blank character is `{` or `[`,
// YAML otherwise. A JSON array, or an object of kind "List" with "items", yields its
// elements, as kubectl apply does.
ParseResult<std::vector<rapidjson::Document>> parseManifests(std::string_view text);

// Serialises compactly (no spaces), keeping member order.
std::string toJson(const rapidjson::Value& value);
// Serialises with two-space indentation, for people.
std::string toPrettyJson(const rapidjson::Value& value);

// Sorts object members by key, recursively, so that equal values serialise to equal
// text (used for the pod template, whose hash must not depend on key order).
void sortKeys(rapidjson::Value& value);

// Deep copy into a new document.
rapidjson::Document cloneDocument(const rapidjson::Value& value);

// Applies a JSON merge patch (RFC 7386, application/merge-patch+json, as kube-apiserver
// applies it): objects merge recursively, a null member deletes, anything else (arrays
// included) replaces; a patch that is not an object replaces the whole target. `allocator`
// is the one that owns `target` (its document's). Never fails.
void applyMergePatch(rapidjson::Value& target, const rapidjson::Value& patch,
                     rapidjson::Document::AllocatorType& allocator);

// Renders a JSON value as kube-apiserver renders a bad value in a field error:
// strings quoted, numbers and booleans as they are, null as "null", objects and arrays
// as compact JSON.
std::string renderValue(const rapidjson::Value& value);

// The JSON type name as kube-apiserver's schema errors say it: "string", "integer",
// "number", "boolean", "object", "array", "null".
std::string_view jsonTypeName(const rapidjson::Value& value);

}  // namespace canaryd::api
