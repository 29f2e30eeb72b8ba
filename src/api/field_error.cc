#include "api/field_error.h"

#include <cstdio>

namespace canaryd::api {

FieldPath FieldPath::child(std::string_view name) const {
  FieldPath p(path_);
  if (!p.path_.empty()) p.path_ += '.';
  p.path_ += name;
  return p;
}

FieldPath FieldPath::index(size_t i) const {
  FieldPath p(path_);
  p.path_ += '[' + std::to_string(i) + ']';
  return p;
}

FieldPath FieldPath::key(std::string_view k) const {
  FieldPath p(path_);
  p.path_ += '[';
  p.path_ += k;
  p.path_ += ']';
  return p;
}

std::string quoteValue(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

std::string FieldError::toString() const {
  std::string head = field.empty() ? std::string() : field + ": ";
  switch (type) {
    case Type::kRequired:
      return head + "Required value" + (detail.empty() ? "" : ": " + detail);
    case Type::kInvalid:
      return head + "Invalid value: " + value + (detail.empty() ? "" : ": " + detail);
    case Type::kNotSupported:
      return head + "Unsupported value: " + value + (detail.empty() ? "" : ": " + detail);
    case Type::kDuplicate:
      return head + "Duplicate value: " + value;
    case Type::kForbidden:
      return head + "Forbidden" + (detail.empty() ? "" : ": " + detail);
    case Type::kTooMany:
      return head + "Too many: " + value + (detail.empty() ? "" : ": " + detail);
    case Type::kUnknownField:
      return "unknown field " + quoteValue(field);
  }
  return head + detail;
}

FieldError requiredError(const FieldPath& path, std::string detail) {
  return {FieldError::Type::kRequired, path.str(), "", std::move(detail)};
}

FieldError invalidError(const FieldPath& path, std::string renderedValue, std::string detail) {
  return {FieldError::Type::kInvalid, path.str(), std::move(renderedValue), std::move(detail)};
}

FieldError invalidError(const FieldPath& path, long long value, std::string detail) {
  return invalidError(path, std::to_string(value), std::move(detail));
}

FieldError invalidStringError(const FieldPath& path, std::string_view value, std::string detail) {
  return invalidError(path, quoteValue(value), std::move(detail));
}

FieldError notSupportedError(const FieldPath& path, std::string_view value,
                             const std::vector<std::string_view>& supported) {
  std::string detail = "supported values: ";
  for (size_t i = 0; i < supported.size(); ++i) {
    if (i) detail += ", ";
    detail += quoteValue(supported[i]);
  }
  return {FieldError::Type::kNotSupported, path.str(), quoteValue(value), std::move(detail)};
}

FieldError duplicateError(const FieldPath& path, std::string_view value) {
  return {FieldError::Type::kDuplicate, path.str(), quoteValue(value), ""};
}

FieldError forbiddenError(const FieldPath& path, std::string detail) {
  return {FieldError::Type::kForbidden, path.str(), "", std::move(detail)};
}

FieldError tooManyError(const FieldPath& path, long long actual, long long max) {
  return {FieldError::Type::kTooMany, path.str(), std::to_string(actual),
          "must have at most " + std::to_string(max) + " items"};
}

FieldError unknownFieldError(const FieldPath& path) {
  return {FieldError::Type::kUnknownField, path.str(), "", ""};
}

std::string joinErrors(const ErrorList& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += '\n';
    out += e.toString();
  }
  return out;
}

}  // namespace canaryd::api
