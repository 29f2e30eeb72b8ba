#include "patch.h"

#include <algorithm>
#include <vector>

#include "api/json.h"

namespace canaryd::emulator {

using Alloc = rapidjson::Document::AllocatorType;

namespace {

// --- JSON pointer (RFC 6901) ---

boost::system::result<std::vector<std::string>, std::string> parsePointer(const std::string& p) {
  std::vector<std::string> out;
  if (p.empty()) return out;
  if (p[0] != '/') return "JSON pointer must begin with '/': " + p;
  size_t i = 1;
  std::string cur;
  for (; i <= p.size(); ++i) {
    if (i == p.size() || p[i] == '/') {
      out.push_back(cur);
      cur.clear();
      continue;
    }
    if (p[i] == '~') {
      if (i + 1 >= p.size() || (p[i + 1] != '0' && p[i + 1] != '1'))
        return "invalid escape in JSON pointer: " + p;
      cur += p[i + 1] == '0' ? '~' : '/';
      ++i;
    } else {
      cur += p[i];
    }
  }
  return out;
}

bool parseIndex(const std::string& s, size_t& out) {
  if (s.empty() || s.size() > 9 || !std::all_of(s.begin(), s.end(), ::isdigit)) return false;
  if (s.size() > 1 && s[0] == '0') return false;
  out = std::stoul(s);
  return true;
}

// The parent container of the pointer's last token, or an error naming the missing part.
boost::system::result<rapidjson::Value*, std::string> resolveParent(
    rapidjson::Value& root, const std::vector<std::string>& tokens, const std::string& path) {
  rapidjson::Value* cur = &root;
  for (size_t i = 0; i + 1 < tokens.size(); ++i) {
    const auto& t = tokens[i];
    if (cur->IsObject()) {
      auto it = cur->FindMember(t.c_str());
      if (it == cur->MemberEnd()) return "doc is missing path: \"" + path + "\": missing value";
      cur = &it->value;
    } else if (cur->IsArray()) {
      size_t idx;
      if (!parseIndex(t, idx) || idx >= cur->Size())
        return "doc is missing path: \"" + path + "\": missing value";
      cur = &(*cur)[static_cast<rapidjson::SizeType>(idx)];
    } else {
      return "doc is missing path: \"" + path + "\": missing value";
    }
  }
  return cur;
}

boost::system::result<rapidjson::Value*, std::string> resolve(rapidjson::Value& root,
                                                              const std::string& path) {
  auto tokens = parsePointer(path);
  if (!tokens) return tokens.error();
  if (tokens->empty()) return &root;
  auto parent = resolveParent(root, *tokens, path);
  if (!parent) return parent.error();
  rapidjson::Value* p = *parent;
  const auto& last = tokens->back();
  if (p->IsObject()) {
    auto it = p->FindMember(last.c_str());
    if (it == p->MemberEnd()) return "doc is missing key: " + path + ": missing value";
    return &it->value;
  }
  size_t idx;
  if (p->IsArray() && parseIndex(last, idx) && idx < p->Size())
    return &(*p)[static_cast<rapidjson::SizeType>(idx)];
  return "doc is missing path: \"" + path + "\": missing value";
}

std::string opString(const rapidjson::Value& op, const char* key) {
  auto it = op.FindMember(key);
  return it != op.MemberEnd() && it->value.IsString() ? it->value.GetString() : std::string();
}

PatchResult addAt(rapidjson::Document& doc, const std::string& path, const rapidjson::Value& v,
                  bool replaceOnly) {
  Alloc& a = doc.GetAllocator();
  auto tokens = parsePointer(path);
  if (!tokens) return PatchError{tokens.error(), true};
  if (tokens->empty()) {
    doc.CopyFrom(v, a);
    return {};
  }
  auto parent = resolveParent(doc, *tokens, path);
  if (!parent) return PatchError{parent.error(), true};
  rapidjson::Value* p = *parent;
  const auto& last = tokens->back();
  rapidjson::Value copy(v, a);
  if (p->IsObject()) {
    auto it = p->FindMember(last.c_str());
    if (it != p->MemberEnd()) {
      it->value = copy;
    } else {
      if (replaceOnly)
        return PatchError{
            "replace operation does not apply: doc is missing key: " + path + ": missing value",
            true};
      p->AddMember(rapidjson::Value(last.c_str(), a), copy, a);
    }
    return {};
  }
  if (p->IsArray()) {
    size_t idx;
    if (last == "-" && !replaceOnly) {
      p->PushBack(copy, a);
      return {};
    }
    if (!parseIndex(last, idx) || idx > p->Size() || (replaceOnly && idx == p->Size()))
      return PatchError{
          "add operation does not apply: doc is missing path: \"" + path + "\": missing value",
          true};
    if (replaceOnly) {
      (*p)[static_cast<rapidjson::SizeType>(idx)] = copy;
      return {};
    }
    p->PushBack(rapidjson::Value(), a);
    for (size_t i = p->Size() - 1; i > idx; --i)
      (*p)[static_cast<rapidjson::SizeType>(i)] = (*p)[static_cast<rapidjson::SizeType>(i - 1)];
    (*p)[static_cast<rapidjson::SizeType>(idx)] = copy;
    return {};
  }
  return PatchError{
      "add operation does not apply: doc is missing path: \"" + path + "\": missing value", true};
}

PatchResult removeAt(rapidjson::Document& doc, const std::string& path, rapidjson::Value* removed) {
  Alloc& a = doc.GetAllocator();
  auto tokens = parsePointer(path);
  if (!tokens) return PatchError{tokens.error(), true};
  if (tokens->empty()) return PatchError{"unable to remove the whole document", true};
  auto parent = resolveParent(doc, *tokens, path);
  if (!parent) return PatchError{"remove operation does not apply: " + parent.error(), true};
  rapidjson::Value* p = *parent;
  const auto& last = tokens->back();
  if (p->IsObject()) {
    auto it = p->FindMember(last.c_str());
    if (it == p->MemberEnd())
      return PatchError{
          "remove operation does not apply: doc is missing path: \"" + path + "\": missing value",
          true};
    if (removed) removed->CopyFrom(it->value, a);
    p->RemoveMember(it);
    return {};
  }
  size_t idx;
  if (p->IsArray() && parseIndex(last, idx) && idx < p->Size()) {
    if (removed) removed->CopyFrom((*p)[static_cast<rapidjson::SizeType>(idx)], a);
    p->Erase(p->Begin() + idx);
    return {};
  }
  return PatchError{
      "remove operation does not apply: doc is missing path: \"" + path + "\": missing value",
      true};
}

// --- strategic merge patch ---

// The patch merge key of a list field (the patchMergeKey struct tags of k8s.io/api),
// by field name and the name of the field that holds it.
std::string mergeKeyFor(const std::string& field, const std::string& parent) {
  static const std::vector<std::string> kContainerLists = {"containers", "initContainers",
                                                           "ephemeralContainers"};
  if (std::find(kContainerLists.begin(), kContainerLists.end(), field) != kContainerLists.end())
    return "name";
  if (field == "ports")
    return std::find(kContainerLists.begin(), kContainerLists.end(), parent) !=
                   kContainerLists.end()
               ? "containerPort"
               : "port";
  if (field == "env" || field == "volumes" || field == "imagePullSecrets" ||
      field == "resourceClaims" || field == "schedulingGates" ||
      (field == "secrets" && parent.empty()))
    return "name";
  if (field == "volumeMounts") return "mountPath";
  if (field == "volumeDevices") return "devicePath";
  if (field == "ownerReferences") return "uid";
  if (field == "conditions") return "type";
  if (field == "hostAliases") return "ip";
  if (field == "topologySpreadConstraints") return "topologyKey";
  if (field == "podIPs" || field == "hostIPs") return "ip";
  return {};
}

bool isPrimitiveMergeList(const std::string& field) { return field == "finalizers"; }

bool isDirective(const std::string& k) {
  return k == "$patch" || k == "$retainKeys" || k.rfind("$setElementOrder/", 0) == 0 ||
         k.rfind("$deleteFromPrimitiveList/", 0) == 0;
}

PatchResult smpMap(rapidjson::Value& target, const rapidjson::Value& patch, Alloc& a,
                   const std::string& parent);

// The value of `key` in a list element, rendered for comparison.
std::string keyOf(const rapidjson::Value& elem, const std::string& key) {
  if (!elem.IsObject()) return api::toJson(elem);
  auto it = elem.FindMember(key.c_str());
  return it == elem.MemberEnd() ? std::string("\x01") : api::toJson(it->value);
}

PatchResult smpList(rapidjson::Value& target, const rapidjson::Value& patch, Alloc& a,
                    const std::string& field, const std::string& parent) {
  std::string key = mergeKeyFor(field, parent);
  if (!target.IsArray()) target.SetArray();
  // A `{"$patch": "replace"}` element replaces the whole list with the other elements.
  bool replace = false;
  for (const auto& e : patch.GetArray())
    if (e.IsObject() && e.HasMember("$patch") && e["$patch"] == "replace") replace = true;
  if (replace || (key.empty() && !isPrimitiveMergeList(field))) {
    rapidjson::Value out(rapidjson::kArrayType);
    for (const auto& e : patch.GetArray()) {
      if (e.IsObject() && e.HasMember("$patch")) {
        if (e.MemberCount() == 1) continue;
      }
      rapidjson::Value v;
      if (e.IsObject()) {
        v.SetObject();
        auto r = smpMap(v, e, a, field);
        if (!r) return r;
      } else {
        v.CopyFrom(e, a);
      }
      out.PushBack(v, a);
    }
    target = out;
    return {};
  }
  if (key.empty()) {  // a set of primitives
    for (const auto& e : patch.GetArray()) {
      bool found = false;
      for (const auto& t : target.GetArray())
        if (t == e) found = true;
      if (!found) target.PushBack(rapidjson::Value(e, a), a);
    }
    return {};
  }
  for (const auto& e : patch.GetArray()) {
    if (!e.IsObject())
      return PatchError{"unable to find api field in struct for the merge key \"" + key + "\"",
                        false};
    std::string k = keyOf(e, key);
    if (k == "\x01")
      return PatchError{"map: " + api::toJson(e) + " does not contain declared merge key: " + key,
                        false};
    rapidjson::SizeType pos = target.Size();
    for (rapidjson::SizeType i = 0; i < target.Size(); ++i)
      if (keyOf(target[i], key) == k) pos = i;
    bool del = e.HasMember("$patch") && e["$patch"] == "delete";
    if (del) {
      if (pos < target.Size()) target.Erase(target.Begin() + pos);
      continue;
    }
    if (pos < target.Size()) {
      auto r = smpMap(target[pos], e, a, field);
      if (!r) return r;
    } else {
      rapidjson::Value v(rapidjson::kObjectType);
      auto r = smpMap(v, e, a, field);
      if (!r) return r;
      target.PushBack(v, a);
    }
  }
  return {};
}

void applyElementOrder(rapidjson::Value& list, const rapidjson::Value& order,
                       const std::string& key, Alloc& a) {
  if (!list.IsArray() || !order.IsArray()) return;
  std::vector<rapidjson::Value> ordered, rest;
  std::vector<bool> used(list.Size(), false);
  for (const auto& o : order.GetArray()) {
    std::string want = key.empty() ? api::toJson(o) : keyOf(o, key);
    for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
      if (used[i]) continue;
      std::string have = key.empty() ? api::toJson(list[i]) : keyOf(list[i], key);
      if (have == want) {
        used[i] = true;
        ordered.emplace_back(list[i], a);
        break;
      }
    }
  }
  for (rapidjson::SizeType i = 0; i < list.Size(); ++i)
    if (!used[i]) rest.emplace_back(list[i], a);
  rapidjson::Value out(rapidjson::kArrayType);
  for (auto& v : ordered) out.PushBack(v, a);
  for (auto& v : rest) out.PushBack(v, a);
  list = out;
}

PatchResult smpMap(rapidjson::Value& target, const rapidjson::Value& patch, Alloc& a,
                   const std::string& parent) {
  if (!target.IsObject()) target.SetObject();
  if (auto p = patch.FindMember("$patch"); p != patch.MemberEnd()) {
    std::string d = p->value.IsString() ? p->value.GetString() : "";
    if (d == "replace") {
      target.SetObject();
    } else if (d != "merge" && d != "delete") {
      return PatchError{"Unknown patch type: " + d + " in map: " + api::toJson(patch), false};
    }
  }
  for (const auto& m : patch.GetObject()) {
    std::string name(m.name.GetString(), m.name.GetStringLength());
    if (isDirective(name)) continue;
    auto it = target.FindMember(m.name);
    if (m.value.IsNull()) {
      if (it != target.MemberEnd()) target.RemoveMember(it);
      continue;
    }
    if (m.value.IsObject()) {
      auto dp = m.value.FindMember("$patch");
      if (dp != m.value.MemberEnd() && dp->value == "delete") {
        if (it != target.MemberEnd()) target.RemoveMember(it);
        continue;
      }
      if (it == target.MemberEnd()) {
        target.AddMember(rapidjson::Value(m.name, a), rapidjson::Value(rapidjson::kObjectType), a);
        it = target.FindMember(m.name);
      }
      auto r = smpMap(it->value, m.value, a, name);
      if (!r) return r;
    } else if (m.value.IsArray()) {
      if (it == target.MemberEnd()) {
        target.AddMember(rapidjson::Value(m.name, a), rapidjson::Value(rapidjson::kArrayType), a);
        it = target.FindMember(m.name);
      }
      auto r = smpList(it->value, m.value, a, name, parent);
      if (!r) return r;
    } else {
      if (it == target.MemberEnd())
        target.AddMember(rapidjson::Value(m.name, a), rapidjson::Value(m.value, a), a);
      else
        it->value.CopyFrom(m.value, a);
    }
  }
  // Directives that act after the merge.
  for (const auto& m : patch.GetObject()) {
    std::string name(m.name.GetString(), m.name.GetStringLength());
    if (name.rfind("$deleteFromPrimitiveList/", 0) == 0 && m.value.IsArray()) {
      std::string field = name.substr(strlen("$deleteFromPrimitiveList/"));
      auto it = target.FindMember(field.c_str());
      if (it == target.MemberEnd() || !it->value.IsArray()) continue;
      auto& arr = it->value;
      for (rapidjson::SizeType i = 0; i < arr.Size();) {
        bool drop = false;
        for (const auto& d : m.value.GetArray())
          if (arr[i] == d) drop = true;
        if (drop)
          arr.Erase(arr.Begin() + i);
        else
          ++i;
      }
    } else if (name.rfind("$setElementOrder/", 0) == 0) {
      std::string field = name.substr(strlen("$setElementOrder/"));
      auto it = target.FindMember(field.c_str());
      if (it != target.MemberEnd())
        applyElementOrder(it->value, m.value, mergeKeyFor(field, parent), a);
    } else if (name == "$retainKeys" && m.value.IsArray()) {
      std::vector<std::string> keep;
      for (const auto& k : m.value.GetArray())
        if (k.IsString()) keep.emplace_back(k.GetString());
      for (auto it = target.MemberBegin(); it != target.MemberEnd();) {
        if (std::find(keep.begin(), keep.end(), it->name.GetString()) == keep.end())
          it = target.EraseMember(it);
        else
          ++it;
      }
    }
  }
  return {};
}

}  // namespace

PatchResult applyMergePatch(rapidjson::Document& target, const rapidjson::Value& patch) {
  api::applyMergePatch(target, patch, target.GetAllocator());
  return {};
}

PatchResult applyJsonPatch(rapidjson::Document& doc, const rapidjson::Value& patch) {
  if (!patch.IsArray())
    return PatchError{"json: cannot unmarshal " + std::string(api::jsonTypeName(patch)) +
                          " into Go value of type jsonpatch.Patch",
                      false};
  Alloc& a = doc.GetAllocator();
  for (const auto& op : patch.GetArray()) {
    if (!op.IsObject()) return PatchError{"invalid JSON patch operation", false};
    std::string kind = opString(op, "op");
    std::string path = opString(op, "path");
    if (!op.HasMember("path")) return PatchError{"operation missing path", true};
    if (kind == "add" || kind == "replace") {
      if (!op.HasMember("value"))
        return PatchError{kind + " operation does not apply: missing value", true};
      if (kind == "replace") {
        auto cur = resolve(doc, path);
        if (!cur)
          return PatchError{
              "replace operation does not apply: doc is missing key: " + path + ": missing value",
              true};
      }
      auto r = addAt(doc, path, op["value"], kind == "replace");
      if (!r) return r;
    } else if (kind == "remove") {
      auto r = removeAt(doc, path, nullptr);
      if (!r) return r;
    } else if (kind == "move" || kind == "copy") {
      std::string from = opString(op, "from");
      auto src = resolve(doc, from);
      if (!src) return PatchError{kind + " operation does not apply: " + src.error(), true};
      rapidjson::Value v(**src, a);
      if (kind == "move") {
        auto r = removeAt(doc, from, nullptr);
        if (!r) return r;
      }
      auto r = addAt(doc, path, v, false);
      if (!r) return r;
    } else if (kind == "test") {
      auto cur = resolve(doc, path);
      if (!cur || !op.HasMember("value") || !(**cur == op["value"]))
        return PatchError{"testing value " + path + " failed: test failed", true};
    } else {
      return PatchError{"Unexpected kind: " + kind, true};
    }
  }
  return {};
}

PatchResult applyStrategicMergePatch(rapidjson::Document& target, const rapidjson::Value& patch) {
  if (!patch.IsObject())
    return PatchError{"json: cannot unmarshal " + std::string(api::jsonTypeName(patch)) +
                          " into Go value of type map[string]interface {}",
                      false};
  return smpMap(target, patch, target.GetAllocator(), "");
}

}  // namespace canaryd::emulator
