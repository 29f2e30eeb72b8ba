// Label and field selectors as kube-apiserver parses them from ?labelSelector= and
// ?fieldSelector= (k8s.io/apimachinery/pkg/labels and pkg/fields). Immutable after
// parsing; safe to share between threads.
#pragma once

#include <rapidjson/document.h>

#include <boost/system/result.hpp>
#include <string>
#include <vector>

namespace canaryd::emulator {

class LabelSelector {
 public:
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist, kGt, kLt };
  struct Requirement {
    std::string key;
    Op op;
    std::vector<std::string> values;
  };

  // Parses `a=b,c!=d,e in (f,g),h notin (i),j,!k`. Errors carry kube's message, e.g.
  // "unable to parse requirement: ..." (answered as 400 BadRequest).
  static boost::system::result<LabelSelector, std::string> parse(const std::string& text);
  // From a metav1.LabelSelector object (matchLabels + matchExpressions). A null/absent
  // selector matches nothing, an empty one everything, as metav1.LabelSelectorAsSelector.
  static boost::system::result<LabelSelector, std::string> fromObject(const rapidjson::Value& sel);

  // Matches an object's metadata.labels.
  bool matches(const rapidjson::Value& object) const;
  bool matchesLabels(const rapidjson::Value* labels) const;
  bool empty() const { return requirements_.empty() && !nothing_; }
  // The canonical text form (as the Scale subresource's status.selector).
  std::string toString() const;

 private:
  std::vector<Requirement> requirements_;
  bool nothing_ = false;
};

class FieldSelector {
 public:
  struct Requirement {
    std::string field;  // e.g. metadata.name
    bool equals = true;
    std::string value;
  };
  // Parses `metadata.name=x,metadata.namespace!=y`; only fields in `supported` are
  // accepted: `"<f>" is not a known field selector: only "metadata.name", ...`.
  static boost::system::result<FieldSelector, std::string> parse(
      const std::string& text, const std::vector<std::string>& supported);
  bool matches(const rapidjson::Value& object) const;
  bool empty() const { return requirements_.empty(); }
  // The value required for `field` with `=`, if any (a watch on one object by name).
  std::string equalsValue(const std::string& field) const;

 private:
  std::vector<Requirement> requirements_;
};

// Field selectors a kind supports: metadata.name and metadata.namespace everywhere, plus
// the kind-specific ones kube-apiserver registers for the kinds canaryd reads.
std::vector<std::string> supportedFieldSelectors(const std::string& group, const std::string& kind);

}  // namespace canaryd::emulator
