#include "cli/yaml_output.h"

#include <regex>

#include "api/json.h"

namespace canaryd::cli {
namespace {

bool isCollection(const rapidjson::Value& v) {
  return (v.IsObject() && v.MemberCount() > 0) || (v.IsArray() && !v.Empty());
}

// A string go-yaml would read back as itself when written plain: it starts with a letter,
// a digit or '/', holds no YAML indicator sequence, and is not one of YAML 1.1's booleans
// or nulls, a number (ints in any base, floats, sexagesimal) or a timestamp. Everything
// else is written as a double-quoted JSON string, which is valid YAML.
bool plainSafe(std::string_view s) {
  static const std::regex plain(
      R"([A-Za-z0-9/][A-Za-z0-9_./@()+=,;:-]*(?: [A-Za-z0-9_./@()+=,;:-]+)*)");
  static const std::regex special(
      "(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|"
      "null|Null|NULL)");
  static const std::regex numeric("[0-9a-fA-FxXoObB_.:+-]+");
  static const std::regex timestamp("[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?");
  std::string text(s);
  if (text.empty() || text.find(": ") != std::string::npos || text.back() == ':') return false;
  if (!std::regex_match(text, plain) || std::regex_match(text, special)) return false;
  if (text[0] >= '0' && text[0] <= '9')
    return !std::regex_match(text, numeric) && !std::regex_match(text, timestamp);
  return true;
}

std::string scalar(const rapidjson::Value& v) {
  if (v.IsObject()) return "{}";
  if (v.IsArray()) return "[]";
  if (v.IsString()) {
    std::string_view s(v.GetString(), v.GetStringLength());
    if (plainSafe(s)) return std::string(s);
    if (s.empty()) return "\"\"";
  }
  return api::toJson(v);
}

void emit(std::string& out, const rapidjson::Value& v, int indent) {
  const std::string pad(static_cast<size_t>(indent), ' ');
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      out += pad;
      out += scalar(m.name);
      out += ':';
      if (isCollection(m.value)) {
        out += '\n';
        // go-yaml writes a sequence at its key's indentation.
        emit(out, m.value, m.value.IsArray() ? indent : indent + 2);
      } else {
        out += ' ';
        out += scalar(m.value);
        out += '\n';
      }
    }
    return;
  }
  for (const auto& e : v.GetArray()) {
    if (isCollection(e)) {
      // "- " takes the place of the first line's indentation.
      std::string inner;
      emit(inner, e, indent + 2);
      out += pad;
      out += "- ";
      out += inner.substr(static_cast<size_t>(indent) + 2);
    } else {
      out += pad;
      out += "- ";
      out += scalar(e);
      out += '\n';
    }
  }
}

}  // namespace

std::string toYaml(const rapidjson::Value& value) {
  if (!isCollection(value)) return scalar(value) + "\n";
  std::string out;
  emit(out, value, 0);
  return out;
}

std::string toJsonOutput(const rapidjson::Value& value) {
  rapidjson::Document doc = api::cloneDocument(value);
  api::sortKeys(doc);
  return api::toPrettyJson(doc) + "\n";
}

std::string toYamlOutput(const rapidjson::Value& value) {
  rapidjson::Document doc = api::cloneDocument(value);
  api::sortKeys(doc);
  return toYaml(doc);
}

}  // namespace canaryd::cli
