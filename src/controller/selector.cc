#include "controller/selector.h"

#include <algorithm>

namespace canaryd::controller {

bool selectorMatches(const api::LabelSelector& selector, const api::StringMap& labels) {
  for (const auto& [k, v] : selector.matchLabels) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  for (const auto& req : selector.matchExpressions) {
    auto it = labels.find(req.key);
    bool present = it != labels.end();
    bool in =
        present && std::find(req.values.begin(), req.values.end(), it->second) != req.values.end();
    if (req.operator_ == "In") {
      if (!in) return false;
    } else if (req.operator_ == "NotIn") {
      if (in) return false;
    } else if (req.operator_ == "Exists") {
      if (!present) return false;
    } else if (req.operator_ == "DoesNotExist") {
      if (present) return false;
    } else {
      return false;
    }
  }
  return true;
}

std::string formatLabelSelector(const api::LabelSelector& selector) {
  // labels.Selector keeps its requirements sorted by key; matchLabels become "=".
  std::vector<std::pair<std::string, std::string>> parts;
  for (const auto& [k, v] : selector.matchLabels) parts.emplace_back(k, k + "=" + v);
  for (const auto& req : selector.matchExpressions) {
    std::vector<std::string> values = req.values;
    std::sort(values.begin(), values.end());
    std::string joined;
    for (const auto& v : values) joined += (joined.empty() ? "" : ",") + v;
    if (req.operator_ == "In") {
      parts.emplace_back(req.key, req.key + " in (" + joined + ")");
    } else if (req.operator_ == "NotIn") {
      parts.emplace_back(req.key, req.key + " notin (" + joined + ")");
    } else if (req.operator_ == "Exists") {
      parts.emplace_back(req.key, req.key);
    } else if (req.operator_ == "DoesNotExist") {
      parts.emplace_back(req.key, "!" + req.key);
    }
  }
  std::stable_sort(parts.begin(), parts.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [key, text] : parts) out += (out.empty() ? "" : ",") + text;
  return out;
}

}  // namespace canaryd::controller
