// Field errors in kube-apiserver's format (k8s.io/apimachinery/pkg/util/validation/field):
// every decoding and validation problem is one FieldError naming the field path, the
// offending value and what is wrong, so that users see the same wording kubectl shows.
// Plain value types; not synchronised.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace canaryd::api {

// A field path such as `spec.strategy.canary.steps[2].setWeight`, built by appending.
class FieldPath {
 public:
  FieldPath() = default;
  explicit FieldPath(std::string root) : path_(std::move(root)) {}

  // Returns this path with `.name` appended (no dot when this path is empty).
  FieldPath child(std::string_view name) const;
  // Returns this path with `[index]` appended.
  FieldPath index(size_t i) const;
  // Returns this path with `[key]` appended, for map entries (as kube: `labels[app]`).
  FieldPath key(std::string_view k) const;

  const std::string& str() const { return path_; }
  bool empty() const { return path_.empty(); }

 private:
  std::string path_;
};

struct FieldError {
  // The kinds of field.ErrorType that canaryd uses, plus Unknown for strict decoding.
  enum class Type {
    kRequired,      // "Required value"
    kInvalid,       // "Invalid value: <value>: <detail>"
    kNotSupported,  // "Unsupported value: <value>: supported values: ..."
    kDuplicate,     // "Duplicate value: <value>"
    kForbidden,     // "Forbidden: <detail>"
    kTooMany,       // "Too many: <value>: <detail>"
    kUnknownField,  // `unknown field "<path>"`, as kube-apiserver's strict decoding
  };

  Type type = Type::kInvalid;
  std::string field;   // full path, e.g. spec.replicas
  std::string value;   // the bad value already rendered as kube does: 140, "abc", true
  std::string detail;  // why, e.g. "must be between 0 and 100"

  // Renders the error exactly as kube-apiserver does, e.g.
  // `spec.strategy.canary.steps[2].setWeight: Invalid value: 140: must be between 0 and 100`.
  std::string toString() const;
  bool operator==(const FieldError&) const = default;
};

using ErrorList = std::vector<FieldError>;

// Renders a string value the way field.Error does: quoted with Go's %q escaping.
std::string quoteValue(std::string_view s);

// Convenience constructors mirroring field.Required, field.Invalid, ...
FieldError requiredError(const FieldPath& path, std::string detail = {});
FieldError invalidError(const FieldPath& path, std::string renderedValue, std::string detail);
FieldError invalidError(const FieldPath& path, long long value, std::string detail);
FieldError invalidStringError(const FieldPath& path, std::string_view value, std::string detail);
FieldError notSupportedError(const FieldPath& path, std::string_view value,
                             const std::vector<std::string_view>& supported);
FieldError duplicateError(const FieldPath& path, std::string_view value);
FieldError forbiddenError(const FieldPath& path, std::string detail);
FieldError tooManyError(const FieldPath& path, long long actual, long long max);
FieldError unknownFieldError(const FieldPath& path);

// Joins errors one per line, as `kubectl apply` prints an Invalid Status's causes.
std::string joinErrors(const ErrorList& errors);

}  // namespace canaryd::api
