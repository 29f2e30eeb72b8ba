#include "schema.h"

#include <cmath>
#include <regex>

#include "api/json.h"

namespace canaryd::emulator {

namespace {

using Alloc = rapidjson::Document::AllocatorType;
using api::FieldError;
using api::FieldPath;

bool boolAt(const rapidjson::Value& s, const char* k) {
  auto it = s.FindMember(k);
  return it != s.MemberEnd() && it->value.IsBool() && it->value.GetBool();
}

const rapidjson::Value* memberAt(const rapidjson::Value& s, const char* k) {
  if (!s.IsObject()) return nullptr;
  auto it = s.FindMember(k);
  return it == s.MemberEnd() ? nullptr : &it->value;
}

std::string quoteType(std::string_view t) { return "\"" + std::string(t) + "\""; }

class Walker {
 public:
  Walker(Alloc& a, SchemaOutcome& out) : a_(a), out_(out) {}

  void prune(rapidjson::Value& v, const rapidjson::Value& s, const FieldPath& path, bool root) {
    if (!s.IsObject()) return;
    bool preserve = boolAt(s, "x-kubernetes-preserve-unknown-fields");
    if (v.IsObject()) {
      const auto* props = memberAt(s, "properties");
      const auto* addl = memberAt(s, "additionalProperties");
      bool embedded = boolAt(s, "x-kubernetes-embedded-resource");
      for (auto it = v.MemberBegin(); it != v.MemberEnd();) {
        std::string name(it->name.GetString(), it->name.GetStringLength());
        if ((root || embedded) && (name == "apiVersion" || name == "kind" || name == "metadata")) {
          ++it;
          continue;
        }
        const rapidjson::Value* child = props ? memberAt(*props, name.c_str()) : nullptr;
        if (child) {
          prune(it->value, *child, path.child(name), false);
        } else if (addl && addl->IsObject()) {
          prune(it->value, *addl, path.key(name), false);
        } else if (!preserve && !(addl && addl->IsBool() && addl->GetBool())) {
          out_.unknownFields.push_back(path.child(name).str());
          it = v.EraseMember(it);
          continue;
        }
        ++it;
      }
    } else if (v.IsArray()) {
      if (const auto* items = memberAt(s, "items"))
        for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
          prune(v[i], *items, path.index(i), false);
    }
  }

  void defaults(rapidjson::Value& v, const rapidjson::Value& s) {
    if (!s.IsObject()) return;
    if (v.IsObject()) {
      if (const auto* props = memberAt(s, "properties"); props && props->IsObject()) {
        for (const auto& p : props->GetObject()) {
          auto it = v.FindMember(p.name);
          const auto* def = memberAt(p.value, "default");
          if (it == v.MemberEnd() && def) {
            v.AddMember(rapidjson::Value(p.name, a_), rapidjson::Value(*def, a_), a_);
            it = v.FindMember(p.name);
          }
          if (it != v.MemberEnd()) defaults(it->value, p.value);
        }
      }
      if (const auto* addl = memberAt(s, "additionalProperties"); addl && addl->IsObject())
        for (auto& m : v.GetObject()) defaults(m.value, *addl);
    } else if (v.IsArray()) {
      if (const auto* items = memberAt(s, "items"))
        for (auto& e : v.GetArray()) defaults(e, *items);
    }
  }

  // kube-openapi's messages name the path as "<path> in body".
  std::string inBody(const FieldPath& p) { return p.str() + " in body"; }

  void validate(const rapidjson::Value& v, const rapidjson::Value& s, const FieldPath& path,
                bool root) {
    if (!s.IsObject()) return;
    std::string type;
    if (const auto* t = memberAt(s, "type"); t && t->IsString()) type = t->GetString();
    bool intOrString = boolAt(s, "x-kubernetes-int-or-string");
    if (v.IsNull()) {
      if (!boolAt(s, "nullable") && !type.empty())
        add(api::invalidError(path, "null",
                              inBody(path) + " must be of type " + type + ": \"null\""));
      return;
    }
    std::string_view actual = api::jsonTypeName(v);
    if (intOrString) {
      if (actual != "integer" && actual != "string") {
        add(api::invalidError(
            path, quoteType(actual),
            inBody(path) + " must be of type integer-or-string: " + quoteType(actual)));
        return;
      }
    } else if (!type.empty()) {
      bool ok = type == actual || (type == "number" && actual == "integer");
      if (type == "integer" && actual == "number") {
        double d = v.GetDouble();
        ok = std::floor(d) == d;
      }
      if (!ok) {
        add(api::invalidError(
            path, quoteType(actual),
            inBody(path) + " must be of type " + type + ": " + quoteType(actual)));
        return;
      }
    }
    if (const auto* en = memberAt(s, "enum"); en && en->IsArray()) {
      bool found = false;
      for (const auto& e : en->GetArray())
        if (e == v) found = true;
      if (!found) {
        std::string detail = "supported values: ";
        bool first = true;
        for (const auto& e : en->GetArray()) {
          detail += (first ? "" : ", ") + api::renderValue(e);
          first = false;
        }
        add({FieldError::Type::kNotSupported, path.str(), api::renderValue(v), detail});
      }
    }
    if (v.IsNumber()) {
      double d = v.GetDouble();
      auto num = [](const rapidjson::Value& n) { return api::renderValue(n); };
      if (const auto* mn = memberAt(s, "minimum"); mn && mn->IsNumber()) {
        bool excl = boolAt(s, "exclusiveMinimum");
        if (excl ? d <= mn->GetDouble() : d < mn->GetDouble())
          add(api::invalidError(
              path, api::renderValue(v),
              inBody(path) + " should be greater than " + (excl ? "" : "or equal to ") + num(*mn)));
      }
      if (const auto* mx = memberAt(s, "maximum"); mx && mx->IsNumber()) {
        bool excl = boolAt(s, "exclusiveMaximum");
        if (excl ? d >= mx->GetDouble() : d > mx->GetDouble())
          add(api::invalidError(
              path, api::renderValue(v),
              inBody(path) + " should be less than " + (excl ? "" : "or equal to ") + num(*mx)));
      }
      if (const auto* mo = memberAt(s, "multipleOf"); mo && mo->IsNumber() && mo->GetDouble() > 0) {
        double q = d / mo->GetDouble();
        if (std::floor(q) != q)
          add(api::invalidError(path, api::renderValue(v),
                                inBody(path) + " should be a multiple of " + num(*mo)));
      }
    }
    if (v.IsString()) {
      size_t len = v.GetStringLength();
      if (const auto* ml = memberAt(s, "minLength"); ml && ml->IsUint64() && len < ml->GetUint64())
        add(api::invalidError(path, api::renderValue(v),
                              inBody(path) + " should be at least " +
                                  std::to_string(ml->GetUint64()) + " chars long"));
      if (const auto* ml = memberAt(s, "maxLength"); ml && ml->IsUint64() && len > ml->GetUint64())
        add({FieldError::Type::kTooMany, path.str(), "",
             "may not be more than " + std::to_string(ml->GetUint64()) + " bytes"});
      if (const auto* pat = memberAt(s, "pattern"); pat && pat->IsString()) {
        try {
          if (!std::regex_search(v.GetString(),
                                 std::regex(pat->GetString(), std::regex::ECMAScript)))
            add(api::invalidError(path, api::renderValue(v),
                                  inBody(path) + " should match '" + pat->GetString() + "'"));
        } catch (const std::regex_error&) {
          // An invalid pattern is rejected when the CRD is created.
        }
      }
    }
    if (v.IsArray()) {
      size_t n = v.Size();
      if (const auto* mi = memberAt(s, "minItems"); mi && mi->IsUint64() && n < mi->GetUint64())
        add(api::invalidError(
            path, static_cast<long long>(n),
            inBody(path) + " should have at least " + std::to_string(mi->GetUint64()) + " items"));
      if (const auto* mi = memberAt(s, "maxItems"); mi && mi->IsUint64() && n > mi->GetUint64())
        add(api::tooManyError(path, static_cast<long long>(n),
                              static_cast<long long>(mi->GetUint64())));
      if (const auto* items = memberAt(s, "items"))
        for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
          validate(v[i], *items, path.index(i), false);
    }
    if (v.IsObject()) {
      size_t n = v.MemberCount();
      if (const auto* mp = memberAt(s, "minProperties");
          mp && mp->IsUint64() && n < mp->GetUint64())
        add(api::invalidError(path, static_cast<long long>(n),
                              inBody(path) + " should have at least " +
                                  std::to_string(mp->GetUint64()) + " properties"));
      if (const auto* mp = memberAt(s, "maxProperties");
          mp && mp->IsUint64() && n > mp->GetUint64())
        add(api::invalidError(path, static_cast<long long>(n),
                              inBody(path) + " should have at most " +
                                  std::to_string(mp->GetUint64()) + " properties"));
      if (const auto* req = memberAt(s, "required"); req && req->IsArray())
        for (const auto& r : req->GetArray())
          if (r.IsString() && !v.HasMember(r.GetString()))
            add(api::requiredError(path.child(r.GetString())));
      const auto* props = memberAt(s, "properties");
      const auto* addl = memberAt(s, "additionalProperties");
      for (const auto& m : v.GetObject()) {
        std::string name(m.name.GetString(), m.name.GetStringLength());
        if (root && (name == "apiVersion" || name == "kind" || name == "metadata")) continue;
        if (const auto* child = props ? memberAt(*props, name.c_str()) : nullptr)
          validate(m.value, *child, path.child(name), false);
        else if (addl && addl->IsObject())
          validate(m.value, *addl, path.key(name), false);
      }
    }
    for (const char* comb : {"allOf", "anyOf", "oneOf"}) {
      const auto* list = memberAt(s, comb);
      if (!list || !list->IsArray()) continue;
      size_t passed = 0;
      for (const auto& sub : list->GetArray()) {
        SchemaOutcome inner;
        Walker w(a_, inner);
        w.validate(v, sub, path, root);
        if (inner.errors.empty())
          ++passed;
        else if (std::string_view(comb) == "allOf")
          out_.errors.insert(out_.errors.end(), inner.errors.begin(), inner.errors.end());
      }
      if (std::string_view(comb) == "anyOf" && passed == 0)
        add(api::invalidError(path, api::renderValue(v),
                              "must validate at least one schema (anyOf)"));
      if (std::string_view(comb) == "oneOf" && passed != 1)
        add(api::invalidError(path, api::renderValue(v),
                              "must validate one and only one schema (oneOf)"));
    }
  }

 private:
  void add(FieldError e) { out_.errors.push_back(std::move(e)); }
  Alloc& a_;
  SchemaOutcome& out_;
};

}  // namespace

SchemaOutcome applyStructuralSchema(rapidjson::Value& object, const rapidjson::Value& schema,
                                    Alloc& alloc) {
  SchemaOutcome out;
  Walker w(alloc, out);
  w.prune(object, schema, FieldPath(), true);
  w.defaults(object, schema);
  w.validate(object, schema, FieldPath(), true);
  return out;
}

}  // namespace canaryd::emulator
