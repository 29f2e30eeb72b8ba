#include "json_path.h"

#include <cstdlib>

namespace canaryd::emulator {

namespace {

struct Step {
  enum Kind { kField, kIndex, kAll, kFilter } kind;
  std::string field;
  long index = 0;
  std::string filterKey;
  std::string filterValue;
};

std::vector<Step> parse(const std::string& p) {
  std::vector<Step> steps;
  size_t i = 0;
  std::string s = p;
  if (!s.empty() && s.front() == '{' && s.back() == '}') s = s.substr(1, s.size() - 2);
  while (i < s.size()) {
    if (s[i] == '.') {
      ++i;
      size_t j = i;
      while (j < s.size() && s[j] != '.' && s[j] != '[') ++j;
      if (j > i) steps.push_back({Step::kField, s.substr(i, j - i)});
      i = j;
    } else if (s[i] == '[') {
      size_t j = s.find(']', i);
      if (j == std::string::npos) break;
      std::string in = s.substr(i + 1, j - i - 1);
      if (in == "*") {
        steps.push_back({Step::kAll});
      } else if (in.rfind("?(@.", 0) == 0) {
        // [?(@.key=="value")]
        auto eq = in.find("==");
        Step st{Step::kFilter};
        st.filterKey = in.substr(4, eq == std::string::npos ? 0 : eq - 4);
        if (eq != std::string::npos) {
          std::string v = in.substr(eq + 2);
          if (!v.empty() && v.back() == ')') v.pop_back();
          if (v.size() >= 2 && (v.front() == '"' || v.front() == '\''))
            v = v.substr(1, v.size() - 2);
          st.filterValue = v;
        }
        steps.push_back(st);
      } else {
        steps.push_back({Step::kIndex, {}, std::strtol(in.c_str(), nullptr, 10)});
      }
      i = j + 1;
    } else {
      size_t j = i;
      while (j < s.size() && s[j] != '.' && s[j] != '[') ++j;
      steps.push_back({Step::kField, s.substr(i, j - i)});
      i = j;
    }
  }
  return steps;
}

}  // namespace

std::vector<const rapidjson::Value*> evalJsonPath(const rapidjson::Value& root,
                                                  const std::string& path) {
  std::vector<const rapidjson::Value*> cur = {&root};
  for (const auto& st : parse(path)) {
    std::vector<const rapidjson::Value*> next;
    for (const auto* v : cur) {
      switch (st.kind) {
        case Step::kField:
          if (v->IsObject()) {
            auto it = v->FindMember(st.field.c_str());
            if (it != v->MemberEnd()) next.push_back(&it->value);
          }
          break;
        case Step::kIndex:
          if (v->IsArray()) {
            long n = static_cast<long>(v->Size());
            long idx = st.index < 0 ? n + st.index : st.index;
            if (idx >= 0 && idx < n) next.push_back(&(*v)[static_cast<rapidjson::SizeType>(idx)]);
          }
          break;
        case Step::kAll:
          if (v->IsArray())
            for (const auto& e : v->GetArray()) next.push_back(&e);
          break;
        case Step::kFilter:
          if (v->IsArray())
            for (const auto& e : v->GetArray()) {
              if (!e.IsObject()) continue;
              auto it = e.FindMember(st.filterKey.c_str());
              if (it != e.MemberEnd() && it->value.IsString() &&
                  st.filterValue == it->value.GetString())
                next.push_back(&e);
            }
          break;
      }
    }
    cur = std::move(next);
  }
  return cur;
}

const rapidjson::Value* valueAtPath(const rapidjson::Value& root, const std::string& path) {
  auto r = evalJsonPath(root, path);
  return r.empty() ? nullptr : r.front();
}

}  // namespace canaryd::emulator
