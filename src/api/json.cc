#include "api/json.h"

#include <rapidjson/error/en.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "api/field_error.h"

namespace canaryd::api {
namespace {

std::pair<size_t, size_t> lineColumn(std::string_view text, size_t offset) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

// YAML 1.1 scalar resolution as go-yaml v2 (resolve.go) does for plain scalars.
bool isNullScalar(const std::string& s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::optional<bool> boolScalar(const std::string& s) {
  static const char* kTrue[] = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                "True", "TRUE", "on",  "On",  "ON"};
  static const char* kFalse[] = {"n",     "N",     "no",  "No",  "NO", "false",
                                 "False", "FALSE", "off", "Off", "OFF"};
  for (auto* t : kTrue)
    if (s == t) return true;
  for (auto* f : kFalse)
    if (s == f) return false;
  return std::nullopt;
}

std::optional<long long> intScalar(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  if (s.empty()) return std::nullopt;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) return std::nullopt;
  int base = 10;
  std::string digits = s.substr(i);
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits = digits.substr(2);
  } else if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'b' || digits[1] == 'B')) {
    base = 2;
    digits = digits.substr(2);
  } else if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'o' || digits[1] == 'O')) {
    base = 8;
    digits = digits.substr(2);
  } else if (digits.size() > 1 && digits[0] == '0') {
    base = 8;  // YAML 1.1 octal, as Go's strconv.ParseInt(s, 0, 64)
    digits = digits.substr(1);
  }
  for (char c : digits) {
    bool ok = base == 16 ? std::isxdigit(static_cast<unsigned char>(c))
                         : (c >= '0' && c < static_cast<char>('0' + std::min(base, 10)));
    if (!ok) return std::nullopt;
  }
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(digits.c_str(), &end, base);
  if (errno == ERANGE || *end != '\0') return std::nullopt;
  return s[0] == '-' ? -v : v;
}

std::optional<double> floatScalar(const std::string& s) {
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf" || s == "+.Inf" || s == "+.INF")
    return HUGE_VAL;
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") return -HUGE_VAL;
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return NAN;
  // [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
  size_t i = 0, n = s.size();
  if (i < n && (s[i] == '-' || s[i] == '+')) ++i;
  size_t intDigits = 0, fracDigits = 0;
  while (i < n && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++intDigits;
  if (i < n && s[i] == '.') {
    ++i;
    while (i < n && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++fracDigits;
  }
  if (intDigits + fracDigits == 0) return std::nullopt;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '-' || s[i] == '+')) ++i;
    size_t expDigits = 0;
    while (i < n && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++expDigits;
    if (!expDigits) return std::nullopt;
  }
  if (i != n) return std::nullopt;
  return std::strtod(s.c_str(), nullptr);
}

// yaml-cpp parses recursively; bound the nesting before handing text to it so that a
// hostile file cannot exhaust the stack. Counts flow nesting ([ {) outside quotes and
// comments, and compact block nesting ("- - - x") on one line.
constexpr int kMaxYamlNesting = 256;

bool yamlNestingTooDeep(std::string_view text) {
  int flow = 0;
  char quote = 0;
  bool lineStart = true, comment = false;
  int compact = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') {
      lineStart = true;
      comment = false;
      compact = 0;
      continue;
    }
    if (comment) continue;
    if (quote) {
      if (c == '\\' && quote == '"')
        ++i;
      else if (c == quote)
        quote = 0;
      continue;
    }
    if (lineStart && (c == ' ' || c == '\t')) continue;
    if (lineStart && (c == '-' || c == '?' || c == ':') && i + 1 < text.size() &&
        (text[i + 1] == ' ' || text[i + 1] == '\t')) {
      if (++compact > kMaxYamlNesting) return true;
      continue;
    }
    lineStart = false;
    switch (c) {
      case '#':
        comment = (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\t');
        break;
      case '"':
      case '\'':
        quote = c;
        break;
      case '[':
      case '{':
        if (++flow > kMaxYamlNesting) return true;
        break;
      case ']':
      case '}':
        if (flow > 0) --flow;
        break;
      default:
        break;
    }
  }
  return false;
}

struct YamlError {
  std::string message;
  YAML::Mark mark;
};

void convertScalar(const YAML::Node& node, rapidjson::Value& out,
                   rapidjson::Document::AllocatorType& alloc) {
  const std::string& s = node.Scalar();
  const std::string& tag = node.Tag();
  if (tag == "!" || tag == "tag:yaml.org,2002:str") {  // quoted or !!str
    out.SetString(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), alloc);
    return;
  }
  if (tag == "?" || tag.empty()) {
    if (isNullScalar(s)) {
      out.SetNull();
      return;
    }
    if (auto b = boolScalar(s)) {
      out.SetBool(*b);
      return;
    }
    if (auto i = intScalar(s)) {
      out.SetInt64(*i);
      return;
    }
    if (auto f = floatScalar(s)) {
      if (!std::isfinite(*f))
        throw YamlError{"non-finite number " + s + " has no JSON form", node.Mark()};
      out.SetDouble(*f);
      return;
    }
  }
  if (tag == "tag:yaml.org,2002:int") {
    if (auto i = intScalar(s)) {
      out.SetInt64(*i);
      return;
    }
    throw YamlError{"invalid !!int value " + s, node.Mark()};
  }
  if (tag == "tag:yaml.org,2002:bool") {
    if (auto b = boolScalar(s)) {
      out.SetBool(*b);
      return;
    }
    throw YamlError{"invalid !!bool value " + s, node.Mark()};
  }
  if (tag == "tag:yaml.org,2002:null") {
    out.SetNull();
    return;
  }
  out.SetString(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), alloc);
}

void convertNode(const YAML::Node& node, rapidjson::Value& out,
                 rapidjson::Document::AllocatorType& alloc, int depth) {
  if (depth > kMaxYamlNesting) throw YamlError{"document nested too deeply", node.Mark()};
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out.SetNull();
      return;
    case YAML::NodeType::Scalar:
      convertScalar(node, out, alloc);
      return;
    case YAML::NodeType::Sequence:
      out.SetArray();
      for (const auto& item : node) {
        rapidjson::Value v;
        convertNode(item, v, alloc, depth + 1);
        out.PushBack(v, alloc);
      }
      return;
    case YAML::NodeType::Map:
      out.SetObject();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) throw YamlError{"mapping keys must be scalars", kv.first.Mark()};
        const std::string& key = kv.first.Scalar();
        if (out.HasMember(key.c_str()))
          throw YamlError{"mapping key \"" + key + "\" already defined", kv.first.Mark()};
        rapidjson::Value k(key.c_str(), static_cast<rapidjson::SizeType>(key.size()), alloc);
        rapidjson::Value v;
        convertNode(kv.second, v, alloc, depth + 1);
        out.AddMember(k, v, alloc);
      }
      return;
  }
}

template <class Writer>
std::string write(const rapidjson::Value& value) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  value.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace

std::string ParseError::toString() const {
  if (line == 0) return message;
  return "line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + message;
}

ParseResult<rapidjson::Document> parseJson(std::string_view text) {
  rapidjson::Document doc;
  // Without kParseStopWhenDoneFlag, trailing text is kParseErrorDocumentRootNotSingular.
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError()) {
    auto [line, column] = lineColumn(text, doc.GetErrorOffset());
    return ParseError{rapidjson::GetParseError_En(doc.GetParseError()), line, column};
  }
  return doc;
}

ParseResult<std::vector<rapidjson::Document>> parseYamlDocuments(std::string_view text) {
  std::vector<rapidjson::Document> docs;
  if (yamlNestingTooDeep(text))
    return ParseError{"nested more than " + std::to_string(kMaxYamlNesting) + " levels deep"};
  // Split as kubectl does (apimachinery util/yaml.YAMLReader): a line that starts with
  // "---" followed only by white space ends a document. Each piece is parsed on its
  // own with YAML::Load: yaml-cpp 0.7's LoadAll loops forever on inputs such as "'a',".
  size_t pos = 0, line = 0, startLine = 0, start = 0;
  auto flush = [&](size_t end) -> std::optional<ParseError> {
    std::string_view chunk = text.substr(start, end - start);
    try {
      YAML::Node node = YAML::Load(std::string(chunk));
      if (node.IsNull() || !node.IsDefined()) return std::nullopt;
      rapidjson::Document doc;
      convertNode(node, doc, doc.GetAllocator(), 0);
      docs.push_back(std::move(doc));
    } catch (const YamlError& e) {
      return ParseError{e.message, startLine + e.mark.line + 1,
                        static_cast<size_t>(e.mark.column + 1)};
    } catch (const YAML::Exception& e) {
      if (e.mark.is_null()) return ParseError{e.msg};
      return ParseError{e.msg, startLine + e.mark.line + 1, static_cast<size_t>(e.mark.column + 1)};
    }
    return std::nullopt;
  };
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view l = text.substr(pos, eol - pos);
    if (l.starts_with("---") && l.find_first_not_of(" \t\r", 3) == std::string_view::npos) {
      if (auto err = flush(pos)) return *err;
      start = eol + 1 > text.size() ? text.size() : eol + 1;
      startLine = line + 1;
    }
    pos = eol + 1;
    ++line;
  }
  if (start < text.size())
    if (auto err = flush(text.size())) return *err;
  return docs;
}

ParseResult<std::vector<rapidjson::Document>> parseManifests(std::string_view text) {
  size_t first = text.find_first_not_of(" \t\r\n");
  std::vector<rapidjson::Document> docs;
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[')) {
    auto parsed = parseJson(text);
    if (!parsed) return parsed.error();
    docs.push_back(std::move(*parsed));
  } else {
    auto parsed = parseYamlDocuments(text);
    if (!parsed) return parsed.error();
    docs = std::move(*parsed);
  }
  // Expand arrays and Lists into their items, as kubectl does.
  std::vector<rapidjson::Document> out;
  for (auto& doc : docs) {
    const rapidjson::Value* items = nullptr;
    if (doc.IsArray()) {
      items = &doc;
    } else if (doc.IsObject()) {
      auto kind = doc.FindMember("kind");
      auto it = doc.FindMember("items");
      if (kind != doc.MemberEnd() && kind->value.IsString() &&
          std::string_view(kind->value.GetString()).ends_with("List") && it != doc.MemberEnd() &&
          it->value.IsArray())
        items = &it->value;
    }
    if (!items) {
      out.push_back(std::move(doc));
      continue;
    }
    for (const auto& item : items->GetArray()) out.push_back(cloneDocument(item));
  }
  return out;
}

std::string toJson(const rapidjson::Value& value) {
  return write<rapidjson::Writer<rapidjson::StringBuffer>>(value);
}

std::string toPrettyJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
  w.SetIndent(' ', 2);
  value.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

void sortKeys(rapidjson::Value& value) {
  if (value.IsObject()) {
    for (auto& m : value.GetObject()) sortKeys(m.value);
    std::sort(value.MemberBegin(), value.MemberEnd(), [](const auto& a, const auto& b) {
      return std::string_view(a.name.GetString(), a.name.GetStringLength()) <
             std::string_view(b.name.GetString(), b.name.GetStringLength());
    });
  } else if (value.IsArray()) {
    for (auto& v : value.GetArray()) sortKeys(v);
  }
}

rapidjson::Document cloneDocument(const rapidjson::Value& value) {
  rapidjson::Document doc;
  doc.CopyFrom(value, doc.GetAllocator());
  return doc;
}

void applyMergePatch(rapidjson::Value& target, const rapidjson::Value& patch,
                     rapidjson::Document::AllocatorType& allocator) {
  if (!patch.IsObject()) {
    target.CopyFrom(patch, allocator);
    return;
  }
  if (!target.IsObject()) target.SetObject();
  for (const auto& m : patch.GetObject()) {
    auto it = target.FindMember(m.name);
    if (m.value.IsNull()) {
      if (it != target.MemberEnd()) target.RemoveMember(it);
      continue;
    }
    if (it == target.MemberEnd()) {
      // Merged into null, so that nulls nested in a new object are dropped too.
      rapidjson::Value v;
      applyMergePatch(v, m.value, allocator);
      target.AddMember(rapidjson::Value(m.name, allocator), v, allocator);
    } else {
      applyMergePatch(it->value, m.value, allocator);
    }
  }
}

std::string renderValue(const rapidjson::Value& value) {
  if (value.IsString()) return quoteValue({value.GetString(), value.GetStringLength()});
  if (value.IsNull()) return "null";
  return toJson(value);
}

std::string_view jsonTypeName(const rapidjson::Value& value) {
  if (value.IsNull()) return "null";
  if (value.IsBool()) return "boolean";
  if (value.IsString()) return "string";
  if (value.IsObject()) return "object";
  if (value.IsArray()) return "array";
  if (value.IsInt64() || value.IsUint64()) return "integer";
  return "number";
}

}  // namespace canaryd::api
