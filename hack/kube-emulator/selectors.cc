#include "selectors.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace canaryd::emulator {

namespace {

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// Qualified label key: optional DNS prefix + "/" + name of [A-Za-z0-9-_.] (<= 63).
bool validKey(const std::string& k) {
  if (k.empty()) return false;
  auto slash = k.rfind('/');
  std::string name = slash == std::string::npos ? k : k.substr(slash + 1);
  if (name.empty() || name.size() > 63) return false;
  for (char c : k)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
          c == '/'))
      return false;
  return std::isalnum(static_cast<unsigned char>(name.front())) &&
         std::isalnum(static_cast<unsigned char>(name.back()));
}

bool validValue(const std::string& v) {
  if (v.empty()) return true;
  if (v.size() > 63) return false;
  for (char c : v)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return false;
  return std::isalnum(static_cast<unsigned char>(v.front())) &&
         std::isalnum(static_cast<unsigned char>(v.back()));
}

// Splits on commas outside parentheses.
std::vector<std::string> splitTopLevel(const std::string& text) {
  std::vector<std::string> parts;
  std::string cur;
  int depth = 0;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(cur);
  return parts;
}

const rapidjson::Value* lookupPath(const rapidjson::Value& obj, const std::string& path) {
  const rapidjson::Value* cur = &obj;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->IsObject()) return nullptr;
    auto it = cur->FindMember(part.c_str());
    if (it == cur->MemberEnd()) return nullptr;
    cur = &it->value;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return cur;
}

}  // namespace

boost::system::result<LabelSelector, std::string> LabelSelector::parse(const std::string& text) {
  LabelSelector sel;
  if (trim(text).empty()) return sel;
  for (std::string part : splitTopLevel(text)) {
    part = trim(part);
    if (part.empty()) return std::string("found '', expected: !, identifier, or 'end of string'");
    Requirement r;
    auto bad = [&](const std::string& why) {
      return std::string("unable to parse requirement: ") + why;
    };
    if (part[0] == '!') {
      r.key = trim(part.substr(1));
      r.op = Op::kDoesNotExist;
    } else if (auto p = part.find("!="); p != std::string::npos) {
      r.key = trim(part.substr(0, p));
      r.op = Op::kNotEquals;
      r.values.push_back(trim(part.substr(p + 2)));
    } else if (auto p2 = part.find("=="); p2 != std::string::npos) {
      r.key = trim(part.substr(0, p2));
      r.op = Op::kEquals;
      r.values.push_back(trim(part.substr(p2 + 2)));
    } else if (auto p3 = part.find('='); p3 != std::string::npos) {
      r.key = trim(part.substr(0, p3));
      r.op = Op::kEquals;
      r.values.push_back(trim(part.substr(p3 + 1)));
    } else if (auto p4 = part.find('>'); p4 != std::string::npos) {
      r.key = trim(part.substr(0, p4));
      r.op = Op::kGt;
      r.values.push_back(trim(part.substr(p4 + 1)));
    } else if (auto p5 = part.find('<'); p5 != std::string::npos) {
      r.key = trim(part.substr(0, p5));
      r.op = Op::kLt;
      r.values.push_back(trim(part.substr(p5 + 1)));
    } else if (auto paren = part.find('('); paren != std::string::npos) {
      std::string head = trim(part.substr(0, paren));
      if (part.back() != ')') return bad("found '" + part + "', expected: ')'");
      auto sp = head.find_last_of(" \t");
      if (sp == std::string::npos) return bad("found '" + head + "', expected: in, notin");
      std::string opWord = head.substr(sp + 1);
      r.key = trim(head.substr(0, sp));
      if (opWord == "in")
        r.op = Op::kIn;
      else if (opWord == "notin")
        r.op = Op::kNotIn;
      else
        return bad("found '" + opWord + "', expected: in, notin, =, ==, !=, gt, lt");
      std::string inner = part.substr(paren + 1, part.size() - paren - 2);
      size_t s = 0;
      while (true) {
        size_t c = inner.find(',', s);
        r.values.push_back(
            trim(inner.substr(s, c == std::string::npos ? std::string::npos : c - s)));
        if (c == std::string::npos) break;
        s = c + 1;
      }
      if (r.values.size() == 1 && r.values[0].empty())
        return bad("for 'in', 'notin' operators, values set can't be empty");
    } else {
      r.key = part;
      r.op = Op::kExists;
      if (part.find_first_of(" \t") != std::string::npos)
        return bad("found '" + part.substr(part.find_first_of(" \t") + 1) +
                   "', expected: in, notin, =, ==, !=, gt, lt");
    }
    if (!validKey(r.key))
      return bad("key: Invalid value: \"" + r.key +
                 "\": name part must consist of alphanumeric characters, '-', '_' or '.', and "
                 "must start and end with an alphanumeric character");
    for (const auto& v : r.values) {
      if (r.op == Op::kGt || r.op == Op::kLt) {
        char* end = nullptr;
        std::strtoll(v.c_str(), &end, 10);
        if (v.empty() || *end) return bad("for 'Gt', 'Lt' operators, the value must be an integer");
      } else if (!validValue(v)) {
        return bad("values[0][" + r.key + "]: Invalid value: \"" + v +
                   "\": a valid label must be an empty string or consist of alphanumeric "
                   "characters, '-', '_' or '.', and must start and end with an alphanumeric "
                   "character");
      }
    }
    sel.requirements_.push_back(std::move(r));
  }
  return sel;
}

boost::system::result<LabelSelector, std::string> LabelSelector::fromObject(
    const rapidjson::Value& obj) {
  LabelSelector sel;
  if (!obj.IsObject()) {
    sel.nothing_ = true;
    return sel;
  }
  if (auto ml = obj.FindMember("matchLabels"); ml != obj.MemberEnd() && ml->value.IsObject()) {
    for (const auto& m : ml->value.GetObject()) {
      if (!m.value.IsString()) return std::string("matchLabels values must be strings");
      sel.requirements_.push_back({m.name.GetString(), Op::kEquals, {m.value.GetString()}});
    }
  }
  if (auto me = obj.FindMember("matchExpressions"); me != obj.MemberEnd() && me->value.IsArray()) {
    for (const auto& e : me->value.GetArray()) {
      if (!e.IsObject() || !e.HasMember("key") || !e["key"].IsString() || !e.HasMember("operator"))
        return std::string("matchExpressions need key and operator");
      Requirement r;
      r.key = e["key"].GetString();
      std::string op = e["operator"].IsString() ? e["operator"].GetString() : "";
      if (op == "In")
        r.op = Op::kIn;
      else if (op == "NotIn")
        r.op = Op::kNotIn;
      else if (op == "Exists")
        r.op = Op::kExists;
      else if (op == "DoesNotExist")
        r.op = Op::kDoesNotExist;
      else
        return "\"" + op + "\" is not a valid label selector operator";
      if (e.HasMember("values") && e["values"].IsArray())
        for (const auto& v : e["values"].GetArray())
          if (v.IsString()) r.values.emplace_back(v.GetString());
      sel.requirements_.push_back(std::move(r));
    }
  }
  return sel;
}

bool LabelSelector::matchesLabels(const rapidjson::Value* labels) const {
  if (nothing_) return false;
  for (const auto& r : requirements_) {
    const rapidjson::Value* v = nullptr;
    if (labels && labels->IsObject()) {
      auto it = labels->FindMember(r.key.c_str());
      if (it != labels->MemberEnd() && it->value.IsString()) v = &it->value;
    }
    std::string val = v ? v->GetString() : "";
    bool has = v != nullptr;
    bool in = has && std::find(r.values.begin(), r.values.end(), val) != r.values.end();
    switch (r.op) {
      case Op::kEquals:
      case Op::kIn:
        if (!in) return false;
        break;
      case Op::kNotEquals:
      case Op::kNotIn:
        if (in) return false;
        break;
      case Op::kExists:
        if (!has) return false;
        break;
      case Op::kDoesNotExist:
        if (has) return false;
        break;
      case Op::kGt:
      case Op::kLt: {
        if (!has) return false;
        char* end = nullptr;
        long long n = std::strtoll(val.c_str(), &end, 10);
        if (val.empty() || *end) return false;
        long long bound = std::strtoll(r.values[0].c_str(), nullptr, 10);
        if (r.op == Op::kGt ? !(n > bound) : !(n < bound)) return false;
        break;
      }
    }
  }
  return true;
}

bool LabelSelector::matches(const rapidjson::Value& object) const {
  const rapidjson::Value* labels = nullptr;
  if (object.IsObject()) {
    auto m = object.FindMember("metadata");
    if (m != object.MemberEnd() && m->value.IsObject()) {
      auto l = m->value.FindMember("labels");
      if (l != m->value.MemberEnd()) labels = &l->value;
    }
  }
  return matchesLabels(labels);
}

std::string LabelSelector::toString() const {
  std::vector<std::string> parts;
  for (const auto& r : requirements_) {
    std::string s;
    auto joined = [&] {
      std::string j;
      auto vals = r.values;
      std::sort(vals.begin(), vals.end());
      for (size_t i = 0; i < vals.size(); ++i) j += (i ? "," : "") + vals[i];
      return j;
    };
    switch (r.op) {
      case Op::kEquals:
        s = r.key + "=" + r.values[0];
        break;
      case Op::kNotEquals:
        s = r.key + "!=" + r.values[0];
        break;
      case Op::kIn:
        s = r.values.size() == 1 ? r.key + "=" + r.values[0] : r.key + " in (" + joined() + ")";
        break;
      case Op::kNotIn:
        s = r.key + " notin (" + joined() + ")";
        break;
      case Op::kExists:
        s = r.key;
        break;
      case Op::kDoesNotExist:
        s = "!" + r.key;
        break;
      case Op::kGt:
        s = r.key + ">" + r.values[0];
        break;
      case Op::kLt:
        s = r.key + "<" + r.values[0];
        break;
    }
    parts.push_back(s);
  }
  // labels.Selector.String() sorts requirements by key.
  std::sort(parts.begin(), parts.end());
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "," : "") + parts[i];
  return out;
}

boost::system::result<FieldSelector, std::string> FieldSelector::parse(
    const std::string& text, const std::vector<std::string>& supported) {
  FieldSelector sel;
  if (trim(text).empty()) return sel;
  for (std::string part : splitTopLevel(text)) {
    part = trim(part);
    Requirement r;
    if (auto p = part.find("!="); p != std::string::npos) {
      r.field = part.substr(0, p);
      r.equals = false;
      r.value = part.substr(p + 2);
    } else if (auto p2 = part.find("=="); p2 != std::string::npos) {
      r.field = part.substr(0, p2);
      r.value = part.substr(p2 + 2);
    } else if (auto p3 = part.find('='); p3 != std::string::npos) {
      r.field = part.substr(0, p3);
      r.value = part.substr(p3 + 1);
    } else {
      return "invalid selector: '" + text + "'; can't understand '" + part + "'";
    }
    r.field = trim(r.field);
    r.value = trim(r.value);
    if (std::find(supported.begin(), supported.end(), r.field) == supported.end()) {
      std::string msg = "field label not supported: " + r.field;
      return msg;
    }
    sel.requirements_.push_back(std::move(r));
  }
  return sel;
}

bool FieldSelector::matches(const rapidjson::Value& object) const {
  for (const auto& r : requirements_) {
    const rapidjson::Value* v = lookupPath(object, r.field);
    std::string s;
    if (v && v->IsString())
      s = v->GetString();
    else if (v && v->IsBool())
      s = v->GetBool() ? "true" : "false";
    else if (v && v->IsInt64())
      s = std::to_string(v->GetInt64());
    if ((s == r.value) != r.equals) return false;
  }
  return true;
}

std::string FieldSelector::equalsValue(const std::string& field) const {
  for (const auto& r : requirements_)
    if (r.field == field && r.equals) return r.value;
  return {};
}

std::vector<std::string> supportedFieldSelectors(const std::string& group,
                                                 const std::string& kind) {
  std::vector<std::string> f = {"metadata.name", "metadata.namespace"};
  // pkg/registry/core/*/strategy.go ToSelectableFields and the events.k8s.io ones.
  if (group.empty() && kind == "Pod")
    f.insert(f.end(), {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                       "spec.serviceAccountName", "status.phase", "status.podIP"});
  if (group.empty() && kind == "Secret") f.push_back("type");
  if (kind == "Event")
    f.insert(f.end(),
             {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
              "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
              "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type",
              "regarding.kind", "regarding.name", "regarding.namespace", "regarding.uid"});
  if (group.empty() && kind == "Namespace") f.push_back("status.phase");
  return f;
}

}  // namespace canaryd::emulator
