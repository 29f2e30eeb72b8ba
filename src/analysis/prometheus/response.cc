#include "analysis/prometheus/response.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <charconv>
#include <cmath>
#include <limits>

namespace canaryd::analysis::prometheus {
namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

std::string_view str(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }

const rapidjson::Value* member(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

std::string warningsOf(const rapidjson::Value& doc) {
  const rapidjson::Value* w = member(doc, "warnings");
  if (!w || !w->IsArray() || w->Empty()) return "";
  std::string out = "warnings: ";
  bool first = true;
  for (const auto& item : w->GetArray()) {
    if (!first) out += "; ";
    first = false;
    out += item.IsString() ? excerpt(str(item), 300) : std::string("(not a string)");
  }
  return out;
}

std::string withWarnings(std::string message, const std::string& warnings) {
  if (warnings.empty()) return message;
  return message + " (" + warnings + ")";
}

std::string statusText(int httpStatus, std::string_view contentType) {
  std::string s = "HTTP " + std::to_string(httpStatus);
  if (!contentType.empty()) {
    s += ' ';
    s += excerpt(contentType, 60);
  }
  return s;
}

// A sample [<unix time>, "<value>"], as in a vector's "value" or a scalar result.
QueryResult sampleValue(const rapidjson::Value& sample, const std::string& warnings) {
  if (!sample.IsArray() || sample.Size() != 2 || !sample[1].IsString())
    return QueryResult::error(
        withWarnings("malformed Prometheus response: a sample is not [time, \"value\"]", warnings));
  auto v = parseSampleValue(str(sample[1]));
  if (!v)
    return QueryResult::error(withWarnings("malformed Prometheus response: sample value \"" +
                                               excerpt(str(sample[1]), 40) + "\" is not a number",
                                           warnings));
  return QueryResult::ofValue(*v, warnings);
}

std::string labelsOf(const rapidjson::Value& series) {
  const rapidjson::Value* metric = member(series, "metric");
  std::string out = "{";
  if (metric && metric->IsObject()) {
    bool first = true;
    for (const auto& m : metric->GetObject()) {
      if (!first) out += ",";
      first = false;
      out += excerpt(str(m.name), 40) + "=\"" +
             (m.value.IsString() ? excerpt(str(m.value), 40) : std::string("?")) + "\"";
    }
  }
  return out + "}";
}

}  // namespace

std::optional<double> parseSampleValue(std::string_view text) {
  std::string_view t = text;
  bool negative = false;
  if (!t.empty() && (t[0] == '+' || t[0] == '-')) {
    negative = t[0] == '-';
    t.remove_prefix(1);
  }
  if (equalsIgnoreCase(t, "inf") || equalsIgnoreCase(t, "infinity"))
    return negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  if (equalsIgnoreCase(t, "nan")) return std::numeric_limits<double>::quiet_NaN();
  if (t.empty() || t[0] == '+' || t[0] == '-') return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  // Out of range: Go's ParseFloat answers +-Inf or 0 with an error; Prometheus never writes
  // such text, so it is refused.
  if (ec != std::errc() || end != t.data() + t.size()) return std::nullopt;
  return negative ? -v : v;
}

std::string excerpt(std::string_view body, size_t max) {
  std::string out;
  bool space = false;
  for (char c : body) {
    bool blank = static_cast<unsigned char>(c) < 0x20 || c == ' ' || c == 0x7f;
    if (blank) {
      space = !out.empty();
      continue;
    }
    if (out.size() + (space ? 2 : 1) > max) return out + "...";
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

QueryResult parseQueryResponse(int httpStatus, std::string_view contentType,
                               std::string_view body) {
  rapidjson::Document doc;
  // Iterative parsing: a deeply nested body must not exhaust the stack.
  doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  const rapidjson::Value* status = doc.HasParseError() ? nullptr : member(doc, "status");
  if (!status || !status->IsString()) {
    std::string what =
        doc.HasParseError()
            ? (body.empty() ? std::string("an empty body")
                            : std::string("a body that is not JSON (") +
                                  rapidjson::GetParseError_En(doc.GetParseError()) + " at offset " +
                                  std::to_string(doc.GetErrorOffset()) + ")")
            : std::string("JSON that is not a Prometheus API response");
    std::string msg =
        "Prometheus answered " + statusText(httpStatus, contentType) + " with " + what;
    if (!body.empty()) msg += ": \"" + excerpt(body) + "\"";
    return QueryResult::error(msg);
  }
  std::string warnings = warningsOf(doc);
  if (str(*status) == "error") {
    const rapidjson::Value* type = member(doc, "errorType");
    const rapidjson::Value* text = member(doc, "error");
    std::string msg =
        "Prometheus " +
        (type && type->IsString() ? excerpt(str(*type), 40) : std::string("unknown")) +
        " error (HTTP " + std::to_string(httpStatus) +
        "): " + (text && text->IsString() ? excerpt(str(*text), 400) : std::string("(no text)"));
    return QueryResult::error(withWarnings(msg, warnings));
  }
  if (str(*status) != "success" || httpStatus < 200 || httpStatus > 299)
    return QueryResult::error(withWarnings(
        "Prometheus answered " + statusText(httpStatus, contentType) + " with status \"" +
            excerpt(str(*status), 40) + "\": \"" + excerpt(body) + "\"",
        warnings));
  const rapidjson::Value* data = member(doc, "data");
  const rapidjson::Value* type = data ? member(*data, "resultType") : nullptr;
  const rapidjson::Value* result = data ? member(*data, "result") : nullptr;
  if (!type || !type->IsString() || !result)
    return QueryResult::error(
        withWarnings("malformed Prometheus response: no data.resultType / data.result: \"" +
                         excerpt(body) + "\"",
                     warnings));
  std::string_view resultType = str(*type);
  if (resultType == "scalar") return sampleValue(*result, warnings);
  if (resultType == "matrix")
    return QueryResult::error(withWarnings(
        "the query returned a range vector (matrix); an instant vector or scalar is needed: "
        "remove the [range] selector or wrap it in a function such as rate() or avg_over_time()",
        warnings));
  if (resultType == "string")
    return QueryResult::error(
        withWarnings("the query returned a string; a number is needed", warnings));
  if (resultType != "vector")
    return QueryResult::error(withWarnings(
        "the query returned an unknown result type \"" + excerpt(resultType, 40) + "\"", warnings));
  if (!result->IsArray())
    return QueryResult::error(
        withWarnings("malformed Prometheus response: a vector result is not an array", warnings));
  auto series = result->GetArray();
  if (series.Empty()) return QueryResult::noData(warnings);
  if (series.Size() > 1) {
    std::string msg = "the query returned " + std::to_string(series.Size()) +
                      " series; aggregate them to one (for example sum(...) or max(...)): ";
    for (rapidjson::SizeType i = 0; i < series.Size() && i < 3; ++i)
      msg += (i ? ", " : "") + labelsOf(series[i]);
    if (series.Size() > 3) msg += ", ...";
    return QueryResult::error(withWarnings(msg, warnings));
  }
  const rapidjson::Value* sample = member(series[0], "value");
  if (!sample) {
    if (member(series[0], "histogram"))
      return QueryResult::error(
          withWarnings("the query returned a native histogram sample; a number is needed (use "
                       "histogram_quantile() or histogram_count())",
                       warnings));
    return QueryResult::error(
        withWarnings("malformed Prometheus response: a series has no value", warnings));
  }
  return sampleValue(*sample, warnings);
}

}  // namespace canaryd::analysis::prometheus
