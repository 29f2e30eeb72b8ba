// The CustomResourceDefinitions in crds/ against canaryd's own API code: the CRDs are
// structural (as kube-apiserver requires of apiextensions.k8s.io/v1 schemas), every
// example in manifests/examples/ is accepted both by the CRD's openAPIV3Schema and by
// canaryd's decoding and validation, and invalid specs the schema can catch are caught
// by both, at the same field.
//
// kube-apiserver validates custom resources with its own OpenAPI v3 validator; here the
// openAPIV3Schema is translated into the JSON Schema draft-04 that RapidJSON's
// SchemaValidator implements (see toDraft4), with unknown fields rejected as kube does
// for fieldValidation=Strict (kubectl's default).
#include <gtest/gtest.h>
#include <rapidjson/internal/regex.h>
#include <rapidjson/pointer.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <ostream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "api/decode.h"
#include "api/defaults.h"
#include "api/encode.h"
#include "api/field_error.h"
#include "api/json.h"
#include "api/types.h"
#include "api/validate.h"

namespace canaryd::api {
namespace {

using rapidjson::Value;
using Alloc = rapidjson::Document::AllocatorType;

constexpr const char* kRolloutCrd = "crds/rollouts.canaryd.io.yaml";
constexpr const char* kAnalysisTemplateCrd = "crds/analysistemplates.canaryd.io.yaml";
constexpr const char* kExamplesDir = "manifests/examples";
constexpr const char* kTestdataDir = "tests/api/testdata/schema";

// ---- files ----

std::string sourcePath(std::string_view relative) {
  return std::string(CANARYD_SOURCE_DIR) + "/" + std::string(relative);
}

std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return {};
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<rapidjson::Document> readYaml(std::string_view relative) {
  std::string path = sourcePath(relative);
  auto docs = parseYamlDocuments(readText(path));
  if (!docs) {
    ADD_FAILURE() << path << ": " << docs.error().toString();
    return {};
  }
  return std::move(*docs);
}

// ---- small JSON helpers ----

const Value* member(const Value& v, std::string_view key) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(Value(rapidjson::StringRef(key.data(), key.size())));
  return it == v.MemberEnd() ? nullptr : &it->value;
}

std::string_view stringMember(const Value& v, std::string_view key) {
  const Value* m = member(v, key);
  return m && m->IsString() ? std::string_view(m->GetString(), m->GetStringLength())
                            : std::string_view();
}

bool trueMember(const Value& v, std::string_view key) {
  const Value* m = member(v, key);
  return m && m->IsBool() && m->GetBool();
}

std::string_view nameOf(const Value::ConstMemberIterator& m) {
  return {m->name.GetString(), m->name.GetStringLength()};
}

std::set<std::string> stringSet(const Value* array) {
  std::set<std::string> out;
  if (!array || !array->IsArray()) return out;
  for (const auto& v : array->GetArray())
    out.insert(v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : renderValue(v));
  return out;
}

std::string pointerText(const rapidjson::Pointer& p) {
  rapidjson::StringBuffer sb;
  p.Stringify(sb);
  return std::string(sb.GetString(), sb.GetSize());
}

// True when a schema pattern compiles both as an ECMAScript regular expression (the
// dialect JSON Schema names; kube-apiserver's Go RE2 accepts the subset used here) and
// in RapidJSON's own engine, which silently ignores patterns it cannot compile and
// asserts on some malformed ones, so std::regex screens them first.
bool patternCompiles(const Value& pattern) {
  if (!pattern.IsString()) return false;
  try {
    std::regex re(pattern.GetString(), std::regex::ECMAScript);
  } catch (const std::regex_error&) {
    return false;
  }
  return rapidjson::internal::Regex(pattern.GetString()).IsValid();
}

// ---- the structural-schema rules ----

// Checks the invariants kube-apiserver enforces on an apiextensions.k8s.io/v1
// openAPIV3Schema (k8s.io/apiextensions-apiserver/pkg/apiserver/schema/validation.go
// and pkg/apis/apiextensions/validation), plus canaryd's own conventions: every field
// has a description (they feed `kubectl explain`), every pattern compiles, and every
// required or list-map key names a declared property. Collects every problem.
class StructuralChecker {
 public:
  std::vector<std::string> check(const Value& root) {
    problems_.clear();
    node(root, "openAPIV3Schema", Level::kRoot);
    return problems_;
  }

 private:
  enum class Level { kRoot, kItems, kField };

  void problem(const std::string& path, const std::string& what) {
    problems_.push_back(path + ": " + what);
  }

  void checkPattern(const Value& s, const std::string& path) {
    const Value* p = member(s, "pattern");
    if (!p) return;
    if (!patternCompiles(*p)) problem(path, "pattern does not compile: " + renderValue(*p));
  }

  void checkRequiredDeclared(const Value& s, const Value* properties, const std::string& path) {
    const Value* required = member(s, "required");
    if (!required) return;
    if (!required->IsArray()) return problem(path, "required must be a list");
    for (const auto& r : required->GetArray()) {
      if (!r.IsString() || !properties || !member(*properties, r.GetString()))
        problem(path, "required " + renderValue(r) + " is not a declared property");
    }
  }

  // Every keyword of apiextensions.k8s.io/v1 JSONSchemaProps that a CRD may use; others
  // ($ref, definitions, dependencies, patternProperties, uniqueItems ...) are refused
  // by kube-apiserver, and a misspelt keyword would silently validate nothing.
  static bool knownKeyword(std::string_view key) {
    // clang-format off
    static const std::set<std::string_view> kKnown = {
        "description", "type", "format", "enum", "minimum", "maximum", "exclusiveMinimum",
        "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern", "minItems",
        "maxItems", "minProperties", "maxProperties", "required", "properties", "items",
        "additionalProperties", "anyOf", "oneOf", "allOf", "not", "nullable", "default",
        "example", "title", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string",
        "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type",
        "x-kubernetes-embedded-resource", "x-kubernetes-validations"};
    // clang-format on
    return kKnown.count(key) > 0;
  }

  void node(const Value& s, const std::string& path, Level level) {
    if (!s.IsObject()) return problem(path, "schema must be an object");
    for (auto m = s.MemberBegin(); m != s.MemberEnd(); ++m)
      if (!knownKeyword(nameOf(m)))
        problem(path, "unknown or forbidden schema keyword \"" + std::string(nameOf(m)) + "\"");

    bool intOrString = trueMember(s, "x-kubernetes-int-or-string");
    bool preserve = trueMember(s, "x-kubernetes-preserve-unknown-fields");
    std::string_view type = stringMember(s, "type");
    static const std::set<std::string_view> kTypes = {"object",  "array",  "string",
                                                      "integer", "number", "boolean"};
    if (intOrString) {
      if (!type.empty()) problem(path, "type must be empty with x-kubernetes-int-or-string");
      if (preserve) problem(path, "int-or-string may not preserve unknown fields");
    } else if (type.empty()) {
      if (!preserve) problem(path, "type must not be empty");
    } else if (!kTypes.count(type)) {
      problem(path, "unknown type \"" + std::string(type) + "\"");
    }
    if (level == Level::kRoot && type != "object") problem(path, "must be an object at the root");
    if (level == Level::kField && stringMember(s, "description").empty())
      problem(path, "has no description (kubectl explain shows it)");

    const Value* properties = member(s, "properties");
    const Value* additional = member(s, "additionalProperties");
    if (properties && additional)
      problem(path, "additionalProperties and properties are mutually exclusive");
    if (additional && level == Level::kRoot) problem(path, "additionalProperties at the root");
    if (properties && type != "object") problem(path, "properties need type object");
    if (type == "array" && !member(s, "items")) problem(path, "arrays need items");
    if (trueMember(s, "nullable") && intOrString) problem(path, "nullable int-or-string");
    checkPattern(s, path);
    checkRequiredDeclared(s, properties, path);
    if (const Value* e = member(s, "enum")) {
      if (!e->IsArray() || e->Empty())
        problem(path, "enum must be a non-empty list");
      else
        for (const auto& v : e->GetArray()) {
          std::string_view t = jsonTypeName(v);
          if (t != type && !(type == "number" && t == "integer"))
            problem(path, "enum value " + renderValue(v) + " is not of type " + std::string(type));
        }
    }
    checkListType(s, path);
    if (stringMember(s, "x-kubernetes-map-type") == "atomic" && type != "object")
      problem(path, "x-kubernetes-map-type needs type object");

    if (properties) {
      if (!properties->IsObject()) return problem(path, "properties must be an object");
      for (auto m = properties->MemberBegin(); m != properties->MemberEnd(); ++m) {
        std::string childPath = path + "." + std::string(nameOf(m));
        // metadata at the root is ObjectMeta, described by kube-apiserver itself; it may
        // only restrict name and generateName.
        if (level == Level::kRoot && nameOf(m) == "metadata") {
          if (stringMember(m->value, "type") != "object" || member(m->value, "properties"))
            problem(childPath, "root metadata must be a bare type: object");
          continue;
        }
        node(m->value, childPath, Level::kField);
      }
    }
    if (const Value* items = member(s, "items")) node(*items, path + "[]", Level::kItems);
    if (additional && additional->IsObject())
      node(*additional, path + "{}", Level::kItems);  // map values, like items

    bool intOrStringAnyOf = false;
    if (intOrString) {
      if (const Value* any = member(s, "anyOf")) {
        intOrStringAnyOf = any->IsArray() && any->Size() == 2 && (*any)[0].MemberCount() == 1 &&
                           stringMember((*any)[0], "type") == "integer" &&
                           (*any)[1].MemberCount() == 1 &&
                           stringMember((*any)[1], "type") == "string";
        if (!intOrStringAnyOf)
          problem(path, "int-or-string anyOf must be exactly [{type: integer}, {type: string}]");
      }
    }
    for (const char* junctor : {"anyOf", "oneOf", "allOf"}) {
      if (intOrStringAnyOf && std::string_view(junctor) == "anyOf") continue;
      if (const Value* list = member(s, junctor)) {
        if (!list->IsArray()) {
          problem(path, std::string(junctor) + " must be a list");
          continue;
        }
        for (rapidjson::SizeType i = 0; i < list->Size(); ++i)
          nested((*list)[i], s, path + "." + junctor + "[" + std::to_string(i) + "]");
      }
    }
    if (const Value* n = member(s, "not")) nested(*n, s, path + ".not");
  }

  void checkListType(const Value& s, const std::string& path) {
    std::string_view listType = stringMember(s, "x-kubernetes-list-type");
    if (listType.empty()) return;
    const Value* items = member(s, "items");
    if (stringMember(s, "type") != "array" || !items)
      return problem(path, "x-kubernetes-list-type needs an array");
    if (listType == "set") {
      std::string_view t = stringMember(*items, "type");
      if (t == "object" || t == "array") problem(path, "list-type set needs scalar items");
    } else if (listType == "map") {
      const Value* keys = member(s, "x-kubernetes-list-map-keys");
      if (!keys || !keys->IsArray() || keys->Empty())
        return problem(path, "list-type map needs x-kubernetes-list-map-keys");
      std::set<std::string> required = stringSet(member(*items, "required"));
      const Value* props = member(*items, "properties");
      for (const auto& k : keys->GetArray()) {
        std::string key = k.IsString() ? k.GetString() : renderValue(k);
        if (!props || !member(*props, key)) problem(path, "list-map key " + key + " not declared");
        if (!required.count(key)) problem(path, "list-map key " + key + " must be required");
      }
    } else if (listType != "atomic") {
      problem(path, "unknown x-kubernetes-list-type \"" + std::string(listType) + "\"");
    }
  }

  // Inside anyOf/oneOf/allOf/not only value validations are allowed, and every field
  // they mention must be declared by the schema around them.
  void nested(const Value& s, const Value& outer, const std::string& path) {
    if (!s.IsObject()) return problem(path, "junctor branch must be an object");
    for (auto m = s.MemberBegin(); m != s.MemberEnd(); ++m) {
      std::string_view key = nameOf(m);
      if (!knownKeyword(key))
        problem(path, "unknown or forbidden schema keyword \"" + std::string(key) + "\"");
      if (key == "type" || key == "description" || key == "default" || key == "nullable" ||
          key == "additionalProperties" || key == "title" || key == "externalDocs" ||
          key.substr(0, 13) == "x-kubernetes-")
        problem(path, "\"" + std::string(key) + "\" is forbidden inside a junctor");
    }
    checkPattern(s, path);
    checkRequiredDeclared(s, member(outer, "properties"), path);
    if (const Value* props = member(s, "properties")) {
      const Value* outerProps = member(outer, "properties");
      for (auto m = props->MemberBegin(); m != props->MemberEnd(); ++m) {
        std::string childPath = path + "." + std::string(nameOf(m));
        if (nameOf(m) == "metadata") problem(childPath, "metadata in a nested context");
        const Value* o = outerProps ? member(*outerProps, nameOf(m)) : nullptr;
        if (!o) {
          problem(childPath, "not declared outside the junctor");
          continue;
        }
        nested(m->value, *o, childPath);
      }
    }
    if (const Value* items = member(s, "items")) {
      const Value* o = member(outer, "items");
      if (!o)
        problem(path, "items not declared outside the junctor");
      else
        nested(*items, *o, path + "[]");
    }
    for (const char* junctor : {"anyOf", "oneOf", "allOf"})
      if (const Value* list = member(s, junctor); list && list->IsArray())
        for (rapidjson::SizeType i = 0; i < list->Size(); ++i)
          nested((*list)[i], outer, path + "." + junctor + "[" + std::to_string(i) + "]");
    if (const Value* n = member(s, "not")) nested(*n, outer, path + ".not");
  }

  std::vector<std::string> problems_;
};

// ---- openAPIV3Schema -> JSON Schema draft-04 ----

// Translates a structural schema into draft-04 for RapidJSON:
// * description, format, example and every x-kubernetes-* key are dropped (format
//   date-time is a string to draft-04 validators anyway);
// * x-kubernetes-int-or-string without an anyOf becomes type [integer, string];
// * nullable: true adds "null" to the type;
// * a pattern that does not compile is left out and reported in `problems` (the
//   structural check names it too);
// * an object schema with properties, outside anyOf/oneOf/allOf/not and without
//   x-kubernetes-preserve-unknown-fields, gets additionalProperties: false, which is
//   what kube-apiserver's pruning plus fieldValidation=Strict amount to: an unknown
//   field is an error. (Objects with neither properties nor additionalProperties are
//   left open; the only one is the root metadata, which is ObjectMeta.)
void toDraft4(const Value& in, Value& out, Alloc& alloc, bool inJunctor,
              std::vector<std::string>& problems) {
  out.SetObject();
  if (!in.IsObject()) return;
  for (auto m = in.MemberBegin(); m != in.MemberEnd(); ++m) {
    std::string_view key = nameOf(m);
    if (key == "description" || key == "format" || key == "nullable" || key == "example" ||
        key == "externalDocs" || key == "title" || key.substr(0, 13) == "x-kubernetes-")
      continue;
    Value name(m->name, alloc);
    if (key == "pattern" && !patternCompiles(m->value)) {
      problems.push_back("pattern does not compile: " + renderValue(m->value));
    } else if (key == "properties") {
      Value props(rapidjson::kObjectType);
      for (auto p = m->value.MemberBegin(); p != m->value.MemberEnd(); ++p) {
        Value converted;
        toDraft4(p->value, converted, alloc, inJunctor, problems);
        props.AddMember(Value(p->name, alloc), converted, alloc);
      }
      out.AddMember(name, props, alloc);
    } else if (key == "items" || key == "not" ||
               (key == "additionalProperties" && m->value.IsObject())) {
      Value converted;
      toDraft4(m->value, converted, alloc, inJunctor || key == "not", problems);
      out.AddMember(name, converted, alloc);
    } else if (key == "anyOf" || key == "oneOf" || key == "allOf") {
      Value list(rapidjson::kArrayType);
      for (const auto& branch : m->value.GetArray()) {
        Value converted;
        toDraft4(branch, converted, alloc, true, problems);
        list.PushBack(converted, alloc);
      }
      out.AddMember(name, list, alloc);
    } else {
      out.AddMember(name, Value(m->value, alloc), alloc);
    }
  }
  if (trueMember(in, "x-kubernetes-int-or-string") && !member(in, "anyOf")) {
    Value types(rapidjson::kArrayType);
    types.PushBack("integer", alloc).PushBack("string", alloc);
    out.AddMember("type", types, alloc);
  }
  if (trueMember(in, "nullable")) {
    if (auto t = out.FindMember("type"); t != out.MemberEnd() && t->value.IsString()) {
      Value types(rapidjson::kArrayType);
      types.PushBack(Value(t->value, alloc), alloc).PushBack("null", alloc);
      t->value = types;
    }
  }
  if (!inJunctor && member(in, "properties") && !member(in, "additionalProperties") &&
      !trueMember(in, "x-kubernetes-preserve-unknown-fields"))
    out.AddMember("additionalProperties", false, alloc);
}

// ---- the CRDs ----

struct Crd {
  rapidjson::Document definition;  // the CustomResourceDefinition as written
  const Value* openApiSchema = nullptr;
  rapidjson::Document draft4;
  std::unique_ptr<rapidjson::SchemaDocument> schema;
  std::vector<std::string> problems;  // what the translation had to leave out
};

// Loads and translates a CRD once per process. Fails the calling test when the file
// does not hold exactly one CRD with a schema.
const Crd& loadCrd(const char* relative) {
  static std::map<std::string, std::unique_ptr<Crd>> cache;
  auto& slot = cache[relative];
  if (!slot) {
    slot = std::make_unique<Crd>();
    auto docs = readYaml(relative);
    if (docs.size() == 1) {
      slot->definition = std::move(docs.front());
      slot->openApiSchema =
          rapidjson::Pointer("/spec/versions/0/schema/openAPIV3Schema").Get(slot->definition);
    }
    if (slot->openApiSchema) {
      toDraft4(*slot->openApiSchema, slot->draft4, slot->draft4.GetAllocator(), false,
               slot->problems);
      slot->schema = std::make_unique<rapidjson::SchemaDocument>(slot->draft4);
    }
  }
  EXPECT_TRUE(slot->schema) << relative << " holds no openAPIV3Schema";
  for (const auto& p : slot->problems) ADD_FAILURE() << relative << ": " << p;
  return *slot;
}

struct SchemaVerdict {
  bool valid = true;
  std::string documentPointer;  // where the first violation is, e.g. /spec/replicas
  std::string keyword;          // the schema keyword violated, e.g. minimum
  std::string schemaPointer;    // the draft-04 schema node, for diagnostics

  std::string describe() const {
    if (valid) return "valid";
    return "violates \"" + keyword + "\" at \"" + documentPointer + "\" (schema " + schemaPointer +
           ")";
  }
};

SchemaVerdict validateWithSchema(const Crd& crd, const Value& object) {
  SchemaVerdict verdict;
  if (!crd.schema) {
    verdict.valid = false;
    verdict.keyword = "no schema";
    return verdict;
  }
  rapidjson::SchemaValidator validator(*crd.schema);
  verdict.valid = object.Accept(validator);
  if (!verdict.valid) {
    verdict.documentPointer = pointerText(validator.GetInvalidDocumentPointer());
    verdict.keyword = validator.GetInvalidSchemaKeyword();
    rapidjson::StringBuffer sb;
    validator.GetInvalidSchemaPointer().StringifyUriFragment(sb);
    verdict.schemaPointer = sb.GetString();
  }
  return verdict;
}

const char* crdFor(std::string_view kind) {
  return kind == kAnalysisTemplateKind ? kAnalysisTemplateCrd : kRolloutCrd;
}

// Decode plus validation errors, as `canaryd lint` reports them.
ErrorList canarydErrors(const Value& object) {
  if (stringMember(object, "kind") == kAnalysisTemplateKind)
    return checkAnalysisTemplate(object).errors;
  return checkRollout(object).errors;
}

// ---- the CRDs themselves ----

TEST(CrdSchema, RolloutsCrdIsStructural) {
  const Crd& crd = loadCrd(kRolloutCrd);
  ASSERT_TRUE(crd.openApiSchema);
  auto problems = StructuralChecker().check(*crd.openApiSchema);
  for (const auto& p : problems) ADD_FAILURE() << p;
}

TEST(CrdSchema, AnalysisTemplatesCrdIsStructural) {
  const Crd& crd = loadCrd(kAnalysisTemplateCrd);
  ASSERT_TRUE(crd.openApiSchema);
  auto problems = StructuralChecker().check(*crd.openApiSchema);
  for (const auto& p : problems) ADD_FAILURE() << p;
}

// Metadata of the CRD object: names, scope and the one served and stored version.
void expectDefinition(const Crd& crd, std::string_view plural, std::string_view kind) {
  const Value& d = crd.definition;
  EXPECT_EQ(stringMember(d, "apiVersion"), "apiextensions.k8s.io/v1");
  EXPECT_EQ(stringMember(d, "kind"), "CustomResourceDefinition");
  const Value* spec = member(d, "spec");
  ASSERT_TRUE(spec);
  EXPECT_EQ(stringMember(*spec, "group"), kGroup);
  EXPECT_EQ(stringMember(*member(d, "metadata"), "name"),
            std::string(plural) + "." + std::string(kGroup));
  EXPECT_EQ(stringMember(*spec, "scope"), "Namespaced");
  const Value* names = member(*spec, "names");
  ASSERT_TRUE(names);
  EXPECT_EQ(stringMember(*names, "plural"), plural);
  EXPECT_EQ(stringMember(*names, "kind"), kind);
  EXPECT_EQ(stringMember(*names, "listKind"), std::string(kind) + "List");
  std::string singular(kind);
  std::transform(singular.begin(), singular.end(), singular.begin(), ::tolower);
  EXPECT_EQ(stringMember(*names, "singular"), singular);
  const Value* versions = member(*spec, "versions");
  ASSERT_TRUE(versions && versions->IsArray() && versions->Size() == 1);
  const Value& v = (*versions)[0];
  EXPECT_EQ(stringMember(v, "name"), kVersion);
  EXPECT_TRUE(trueMember(v, "served"));
  EXPECT_TRUE(trueMember(v, "storage"));
}

TEST(CrdSchema, RolloutsCrdNames) {
  const Crd& crd = loadCrd(kRolloutCrd);
  expectDefinition(crd, "rollouts", kRolloutKind);
  const Value* names = rapidjson::Pointer("/spec/names").Get(crd.definition);
  ASSERT_TRUE(names);
  auto shortNames = stringSet(member(*names, "shortNames"));
  EXPECT_TRUE(shortNames.count("cro"));
  // Argo Rollouts' short names; both controllers may live in one cluster.
  EXPECT_FALSE(shortNames.count("ro"));
  EXPECT_FALSE(shortNames.count("rollout"));
  EXPECT_TRUE(stringSet(member(*names, "categories")).count("all"));
}

TEST(CrdSchema, AnalysisTemplatesCrdNames) {
  const Crd& crd = loadCrd(kAnalysisTemplateCrd);
  expectDefinition(crd, "analysistemplates", kAnalysisTemplateKind);
  const Value* names = rapidjson::Pointer("/spec/names").Get(crd.definition);
  ASSERT_TRUE(names);
  EXPECT_FALSE(stringSet(member(*names, "shortNames")).count("at"));  // Argo's
  EXPECT_TRUE(stringSet(member(*names, "categories")).count("canaryd"));
  EXPECT_EQ(rapidjson::Pointer("/spec/versions/0/subresources").Get(crd.definition), nullptr);
}

// The schema node a kubectl-style JSONPath (".status.replicas") names, or nullptr.
const Value* schemaAt(const Value& schema, std::string_view jsonPath) {
  const Value* node = &schema;
  if (jsonPath.empty() || jsonPath[0] != '.') return nullptr;
  jsonPath.remove_prefix(1);
  while (!jsonPath.empty()) {
    size_t dot = jsonPath.find('.');
    std::string_view field = jsonPath.substr(0, dot);
    const Value* props = member(*node, "properties");
    node = props ? member(*props, field) : nullptr;
    if (!node) return nullptr;
    jsonPath = dot == std::string_view::npos ? std::string_view() : jsonPath.substr(dot + 1);
  }
  return node;
}

TEST(CrdSchema, RolloutsScaleAndStatusSubresources) {
  const Crd& crd = loadCrd(kRolloutCrd);
  ASSERT_TRUE(crd.openApiSchema);
  const Value* sub = rapidjson::Pointer("/spec/versions/0/subresources").Get(crd.definition);
  ASSERT_TRUE(sub);
  EXPECT_TRUE(member(*sub, "status"));
  const Value* scale = member(*sub, "scale");
  ASSERT_TRUE(scale);
  // As the scale subresource (autoscaling/v1 Scale) reads them: replicas are integers,
  // the selector a label selector string.
  EXPECT_EQ(stringMember(*scale, "specReplicasPath"), ".spec.replicas");
  EXPECT_EQ(stringMember(*scale, "statusReplicasPath"), ".status.replicas");
  EXPECT_EQ(stringMember(*scale, "labelSelectorPath"), ".status.selector");
  for (auto [path, type] :
       {std::pair{"specReplicasPath", "integer"}, std::pair{"statusReplicasPath", "integer"},
        std::pair{"labelSelectorPath", "string"}}) {
    const Value* node = schemaAt(*crd.openApiSchema, stringMember(*scale, path));
    ASSERT_TRUE(node) << path;
    EXPECT_EQ(stringMember(*node, "type"), type) << path;
  }
}

TEST(CrdSchema, RolloutsPrinterColumns) {
  const Crd& crd = loadCrd(kRolloutCrd);
  ASSERT_TRUE(crd.openApiSchema);
  const Value* columns =
      rapidjson::Pointer("/spec/versions/0/additionalPrinterColumns").Get(crd.definition);
  ASSERT_TRUE(columns && columns->IsArray());
  std::vector<std::string> names;
  for (const auto& c : columns->GetArray()) {
    std::string name(stringMember(c, "name"));
    std::string_view type = stringMember(c, "type");
    std::string_view path = stringMember(c, "jsonPath");
    if (!member(c, "priority")) names.push_back(name);  // priority > 0: only with -o wide
    if (path == ".metadata.creationTimestamp") {
      EXPECT_EQ(type, "date") << name;
      continue;
    }
    const Value* node = schemaAt(*crd.openApiSchema, path);
    ASSERT_TRUE(node) << name << ": " << path << " is not in the schema";
    if (type == "date")
      EXPECT_EQ(stringMember(*node, "format"), "date-time") << name;
    else
      EXPECT_EQ(stringMember(*node, "type"), type) << name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Desired", "Current", "Available", "Phase", "Step",
                                             "Weight", "Age"}));
}

// Every schema node that describes a property called `name`, anywhere in the schema.
void collectProperty(const Value& schema, std::string_view name, std::vector<const Value*>& out) {
  if (!schema.IsObject()) return;
  if (const Value* props = member(schema, "properties")) {
    for (auto m = props->MemberBegin(); m != props->MemberEnd(); ++m) {
      if (nameOf(m) == name && member(m->value, "type")) out.push_back(&m->value);
      collectProperty(m->value, name, out);
    }
  }
  if (const Value* items = member(schema, "items")) collectProperty(*items, name, out);
}

std::vector<const Value*> propertiesNamed(std::string_view name) {
  std::vector<const Value*> out;
  for (const char* file : {kRolloutCrd, kAnalysisTemplateCrd})
    if (const Crd& crd = loadCrd(file); crd.openApiSchema)
      collectProperty(*crd.openApiSchema, name, out);
  return out;
}

TEST(CrdSchema, EnumsMatchCanaryd) {
  std::set<std::string> templates(std::begin(kBuiltinMetricTemplates),
                                  std::end(kBuiltinMetricTemplates));
  int metricTemplates = 0;
  for (const Value* node : propertiesNamed("template")) {
    if (stringMember(*node, "type") != "string") continue;  // spec.template, the pod template
    ++metricTemplates;
    EXPECT_EQ(stringSet(member(*node, "enum")), templates);
  }
  EXPECT_EQ(metricTemplates, 3);  // background analysis, analysis step, AnalysisTemplate

  std::set<std::string> noData;
  for (auto p : {NoDataPolicy::kInconclusive, NoDataPolicy::kFail, NoDataPolicy::kPass})
    noData.insert(std::string(toString(p)));
  auto noDataNodes = propertiesNamed("noData");
  EXPECT_EQ(noDataNodes.size(), 3u);
  for (const Value* node : noDataNodes) {
    EXPECT_EQ(stringSet(member(*node, "enum")), noData);
    for (const auto& v : stringSet(member(*node, "enum"))) EXPECT_TRUE(parseNoDataPolicy(v)) << v;
  }

  std::set<std::string> rolloutPhases, analysisPhases;
  for (auto p : {RolloutPhase::kHealthy, RolloutPhase::kProgressing, RolloutPhase::kPaused,
                 RolloutPhase::kDegraded})
    rolloutPhases.insert(std::string(toString(p)));
  for (auto p : {AnalysisPhase::kPending, AnalysisPhase::kRunning, AnalysisPhase::kSuccessful,
                 AnalysisPhase::kFailed, AnalysisPhase::kError, AnalysisPhase::kInconclusive})
    analysisPhases.insert(std::string(toString(p)));
  const Crd& crd = loadCrd(kRolloutCrd);
  ASSERT_TRUE(crd.openApiSchema);
  const Value* phase = schemaAt(*crd.openApiSchema, ".status.phase");
  ASSERT_TRUE(phase);
  EXPECT_EQ(stringSet(member(*phase, "enum")), rolloutPhases);
  std::vector<const Value*> phases;
  collectProperty(*schemaAt(*crd.openApiSchema, ".status.analysis"), "phase", phases);
  collectProperty(*schemaAt(*crd.openApiSchema, ".status.history"), "phase", phases);
  EXPECT_EQ(phases.size(), 4u);  // analysis, metric, measurement, history measurement
  for (const Value* node : phases) EXPECT_EQ(stringSet(member(*node, "enum")), analysisPhases);
}

TEST(CrdSchema, QueryDescriptionsNameEveryVariable) {
  auto queries = propertiesNamed("query");
  ASSERT_FALSE(queries.empty());
  for (const Value* node : queries) {
    std::string_view description = stringMember(*node, "description");
    if (description.find("PromQL instant query") == std::string_view::npos)
      continue;  // status: the rendered query of a measurement
    for (auto variable : kQueryVariables)
      EXPECT_NE(description.find("{{" + std::string(variable) + "}}"), std::string_view::npos)
          << variable;
  }
}

// The defaults canaryd applies (api/defaults.h) are the ones `kubectl explain` states.
TEST(CrdSchema, DescriptionsStateCanarydDefaults) {
  const Crd& crd = loadCrd(kRolloutCrd);
  ASSERT_TRUE(crd.openApiSchema);
  auto n = [](auto v) { return "Defaults to " + std::to_string(v) + "."; };
  auto d = [](Duration v) { return "Defaults to " + formatDuration(v) + "."; };
  const std::string canary = ".spec.strategy.canary";
  const std::string analysis = canary + ".analysis";
  const std::vector<std::pair<std::string, std::string>> expected = {
      {".spec.replicas", n(kDefaultReplicas)},
      {".spec.revisionHistoryLimit", n(kDefaultRevisionHistoryLimit)},
      {".spec.progressDeadlineSeconds", n(kDefaultProgressDeadlineSeconds)},
      {canary + ".scaleDownDelaySeconds", n(kDefaultScaleDownDelaySeconds)},
      {canary + ".abortScaleDownDelaySeconds", n(kDefaultAbortScaleDownDelaySeconds)},
      {canary + ".trafficRouting.nginx.annotationPrefix",
       "Defaults to " + std::string(kDefaultNginxAnnotationPrefix) + "."},
      {analysis + ".startingStep", "Defaults to 0."},
      {analysis + ".interval", d(kDefaultAnalysisInterval)},
      {analysis + ".failureLimit", n(kDefaultFailureLimit)},
      {analysis + ".consecutiveErrorLimit", n(kDefaultConsecutiveErrorLimit)},
      {analysis + ".inconclusiveLimit", n(kDefaultInconclusiveLimit)},
      {analysis + ".prometheus.timeout", d(kDefaultPrometheusTimeout)},
  };
  for (const auto& [path, text] : expected) {
    const Value* node = schemaAt(*crd.openApiSchema, path);
    ASSERT_TRUE(node) << path;
    EXPECT_NE(stringMember(*node, "description").find(text), std::string_view::npos)
        << path << " should say \"" << text << "\"";
  }
  const Value* count = rapidjson::Pointer(
                           "/properties/spec/properties/strategy/properties/canary/properties/"
                           "steps/items/properties/analysis/properties/count")
                           .Get(*crd.openApiSchema);
  ASSERT_TRUE(count);
  EXPECT_NE(stringMember(*count, "description").find(n(kDefaultAnalysisCount)),
            std::string_view::npos);
}

// ---- the examples ----

std::vector<std::string> exampleFiles() {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(sourcePath(kExamplesDir), ec))
    if (entry.path().extension() == ".yaml") files.push_back(entry.path().filename().string());
  std::sort(files.begin(), files.end());
  return files;
}

class ExampleManifest : public ::testing::TestWithParam<std::string> {};

TEST_P(ExampleManifest, AcceptedByCrdSchemaAndCanaryd) {
  auto docs = readYaml(std::string(kExamplesDir) + "/" + GetParam());
  int canarydObjects = 0;
  for (size_t i = 0; i < docs.size(); ++i) {
    const Value& doc = docs[i];
    std::string_view kind = stringMember(doc, "kind");
    if (stringMember(doc, "apiVersion") != kApiVersion) continue;
    ++canarydObjects;
    const Value* meta = member(doc, "metadata");
    SCOPED_TRACE("document " + std::to_string(i) + ": " + std::string(kind) + " " +
                 std::string(meta ? stringMember(*meta, "name") : ""));
    ASSERT_TRUE(kind == kRolloutKind || kind == kAnalysisTemplateKind);
    SchemaVerdict verdict = validateWithSchema(loadCrd(crdFor(kind)), doc);
    EXPECT_TRUE(verdict.valid) << verdict.describe();
    if (kind == kRolloutKind) {
      auto decoded = decodeRollout(doc);
      EXPECT_TRUE(decoded.errors.empty()) << joinErrors(decoded.errors);
      ErrorList errors = validateRollout(decoded.object);
      EXPECT_TRUE(errors.empty()) << joinErrors(errors);
      // What canaryd writes back (defaults spelled out) is valid under the CRD too.
      rapidjson::Document encoded;
      encodeRollout(decoded.object, encoded, encoded.GetAllocator());
      SchemaVerdict again = validateWithSchema(loadCrd(kRolloutCrd), encoded);
      EXPECT_TRUE(again.valid) << "encoded: " << again.describe() << "\n" << toJson(encoded);
    } else {
      auto decoded = decodeAnalysisTemplate(doc);
      EXPECT_TRUE(decoded.errors.empty()) << joinErrors(decoded.errors);
      ErrorList errors = validateAnalysisTemplate(decoded.object);
      EXPECT_TRUE(errors.empty()) << joinErrors(errors);
      rapidjson::Document encoded;
      encodeAnalysisTemplate(decoded.object, encoded, encoded.GetAllocator());
      SchemaVerdict again = validateWithSchema(loadCrd(kAnalysisTemplateCrd), encoded);
      EXPECT_TRUE(again.valid) << "encoded: " << again.describe() << "\n" << toJson(encoded);
    }
  }
  EXPECT_GT(canarydObjects, 0) << "no Rollout in " << GetParam();
}

// Every object in an example is of a kind a cluster with canaryd and its routers has.
TEST_P(ExampleManifest, OnlyKnownKinds) {
  static const std::set<std::pair<std::string, std::string>> kKinds = {
      {"v1", "Service"},
      {"networking.k8s.io/v1", "Ingress"},
      {"gateway.networking.k8s.io/v1", "HTTPRoute"},
      {std::string(kApiVersion), std::string(kRolloutKind)},
      {std::string(kApiVersion), std::string(kAnalysisTemplateKind)}};
  for (const auto& doc : readYaml(std::string(kExamplesDir) + "/" + GetParam())) {
    std::pair<std::string, std::string> gvk{std::string(stringMember(doc, "apiVersion")),
                                            std::string(stringMember(doc, "kind"))};
    EXPECT_TRUE(kKinds.count(gvk)) << gvk.first << " " << gvk.second;
    const Value* meta = member(doc, "metadata");
    ASSERT_TRUE(meta);
    EXPECT_FALSE(stringMember(*meta, "name").empty());
    EXPECT_EQ(stringMember(*meta, "namespace"), "shop");
  }
}

INSTANTIATE_TEST_SUITE_P(Examples, ExampleManifest, ::testing::ValuesIn(exampleFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param.substr(0, info.param.rfind('.'));
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// The Rollouts of one example file, decoded.
std::vector<Rollout> rolloutsIn(const std::string& file) {
  std::vector<Rollout> out;
  for (const auto& doc : readYaml(std::string(kExamplesDir) + "/" + file))
    if (stringMember(doc, "kind") == kRolloutKind) out.push_back(decodeRollout(doc).object);
  return out;
}

bool hasKind(const std::string& file, std::string_view apiVersion, std::string_view kind) {
  for (const auto& doc : readYaml(std::string(kExamplesDir) + "/" + file))
    if (stringMember(doc, "apiVersion") == apiVersion && stringMember(doc, "kind") == kind)
      return true;
  return false;
}

template <class StepT>
const StepT* findStep(const CanaryStrategy& canary) {
  for (const auto& s : canary.steps)
    if (auto* p = std::get_if<StepT>(&s)) return p;
  return nullptr;
}

// One example per feature of the design, each showing what its name says.
TEST(ExampleManifests, OnePerFeature) {
  auto one = [](const std::string& file) -> CanaryStrategy {
    auto rollouts = rolloutsIn(file);
    EXPECT_EQ(rollouts.size(), 1u) << file;
    if (rollouts.empty() || !rollouts[0].spec.strategy.canary) return {};
    return *rollouts[0].spec.strategy.canary;
  };

  CanaryStrategy nginx = one("nginx-canary.yaml");
  ASSERT_TRUE(nginx.trafficRouting && nginx.trafficRouting->nginx);
  ASSERT_TRUE(nginx.analysis);
  std::set<std::string> background;
  for (const auto& m : nginx.analysis->metrics) background.insert(m.templateName);
  EXPECT_TRUE(background.count("error-rate") && background.count("latency-p95"));
  EXPECT_TRUE(hasKind("nginx-canary.yaml", "networking.k8s.io/v1", "Ingress"));

  CanaryStrategy gateway = one("gateway-api.yaml");
  ASSERT_TRUE(gateway.trafficRouting && gateway.trafficRouting->gatewayAPI);
  EXPECT_FALSE(gateway.trafficRouting->nginx);
  EXPECT_TRUE(hasKind("gateway-api.yaml", "gateway.networking.k8s.io/v1", "HTTPRoute"));

  CanaryStrategy ratio = one("replica-ratio.yaml");
  EXPECT_FALSE(ratio.trafficRouting);
  EXPECT_TRUE(findStep<SetWeightStep>(ratio));

  CanaryStrategy header = one("header-route.yaml");
  ASSERT_TRUE(header.trafficRouting && header.trafficRouting->nginx);
  const auto* route = findStep<SetHeaderRouteStep>(header);
  ASSERT_TRUE(route);
  EXPECT_FALSE(route->match.empty());

  CanaryStrategy gate = one("analysis-gate.yaml");
  const auto* analysisStep = findStep<AnalysisStep>(gate);
  ASSERT_TRUE(analysisStep);
  EXPECT_FALSE(analysisStep->analysis.templates.empty());
  EXPECT_TRUE(hasKind("analysis-gate.yaml", kApiVersion, kAnalysisTemplateKind));

  CanaryStrategy manual = one("manual-pause.yaml");
  bool waitsForPromote = false;
  for (const auto& s : manual.steps)
    if (auto* p = std::get_if<PauseStep>(&s); p && !p->duration) waitsForPromote = true;
  EXPECT_TRUE(waitsForPromote);
}

// The status canaryd writes, every field set, is valid under the CRD's status schema.
TEST(CrdSchema, EncodedStatusIsValid) {
  auto base = readYaml(std::string(kTestdataDir) + "/rollout.yaml");
  ASSERT_EQ(base.size(), 1u);
  Rollout r = decodeRollout(base[0]).object;
  Time t = std::chrono::sys_days{std::chrono::year{2026} / 11 / 21} + std::chrono::hours{23};
  RolloutStatus& s = r.status;
  s.phase = RolloutPhase::kProgressing;
  s.message = "step 4 of 6: analysis";
  s.observedGeneration = 7;
  s.currentPodHash = "6d5f7c8b9";
  s.stableRS = "58c9d7f4b6";
  s.currentStepIndex = 4;
  s.canaryWeight = 10;
  s.replicas = 5;
  s.updatedReplicas = 1;
  s.readyReplicas = 5;
  s.availableReplicas = 5;
  s.selector = "app=orders";
  s.abort = true;
  s.abortedAt = t;
  s.promoteFull = true;
  s.collisionCount = 1;
  s.pauseConditions = {PauseCondition{"PauseStep", t}};
  s.conditions = {Condition{"Progressing", "True", "ReplicaSetUpdated", "canary at 10%", t, t, 7},
                  Condition{"Ready", "False", "Progressing", "", t, std::nullopt, 7}};
  Measurement ok{AnalysisPhase::kSuccessful, 0.004, "sum(rate(x[1m]))", "", t, t};
  Measurement empty = ok;
  empty.phase = AnalysisPhase::kInconclusive;
  empty.value = std::numeric_limits<double>::quiet_NaN();
  empty.message = "no data: is the canary receiving traffic?";
  Measurement failed{AnalysisPhase::kError, std::nullopt, "sum(", "bad_data", t, std::nullopt};
  MetricResult metric;
  metric.name = "error-rate";
  metric.phase = AnalysisPhase::kInconclusive;
  metric.lastValue = std::numeric_limits<double>::infinity();
  metric.min = 0;
  metric.max = 0.01;
  metric.count = 3;
  metric.successful = 1;
  metric.inconclusive = 1;
  metric.error = 1;
  metric.consecutiveError = 1;
  metric.measurements = {ok, empty, failed};
  AnalysisStatus analysis;
  analysis.phase = AnalysisPhase::kRunning;
  analysis.message = "error-rate: 1 of 2 measurements inconclusive";
  analysis.stepIndex = 4;
  analysis.nextMeasurementAt = t;
  analysis.metrics = {metric};
  s.analysis = analysis;
  Measurement deciding{AnalysisPhase::kFailed, 0.2, "sum(rate(x[1m]))", "above max", t, t};
  HistoryEntry aborted{3, "7f6d5c4b3", "Aborted", "error-rate", t, t, "error-rate", deciding};
  s.history = {aborted, HistoryEntry{2, "58c9d7f4b6", "Promoted", "", t, t, "", std::nullopt}};

  rapidjson::Document encoded;
  encodeRollout(r, encoded, encoded.GetAllocator());
  ASSERT_TRUE(member(encoded, "status"));
  SchemaVerdict verdict = validateWithSchema(loadCrd(kRolloutCrd), encoded);
  EXPECT_TRUE(verdict.valid) << verdict.describe() << "\n" << toPrettyJson(encoded);
}

// ---- tables: one change to a valid base object each ----

// One change: put `json` at the JSON Pointer `pointer`, or remove it when json is null.
struct Edit {
  const char* pointer;
  const char* json;
};

// Applies the edits to a copy of testdata/schema/<base>; fails the test on a pointer
// that does not name an existing member (or, for additions, an existing parent).
rapidjson::Document edited(const char* base, const std::vector<Edit>& edits) {
  auto docs = readYaml(std::string(kTestdataDir) + "/" + base);
  if (docs.size() != 1) {
    ADD_FAILURE() << base << ": expected one document";
    return rapidjson::Document();
  }
  rapidjson::Document doc = std::move(docs.front());
  for (const auto& e : edits) {
    rapidjson::Pointer p(e.pointer);
    if (!p.IsValid() || p.GetTokenCount() == 0) {
      ADD_FAILURE() << "bad pointer " << e.pointer;
      continue;
    }
    if (!e.json) {
      EXPECT_TRUE(p.Erase(doc)) << "nothing to remove at " << e.pointer;
      continue;
    }
    rapidjson::Pointer parent(p.GetTokens(), p.GetTokenCount() - 1);
    if (!parent.Get(doc)) {
      ADD_FAILURE() << "no parent for " << e.pointer;
      continue;
    }
    auto value = parseJson(e.json);
    if (!value) {
      ADD_FAILURE() << e.json << ": " << value.error().toString();
      continue;
    }
    Value copy(*value, doc.GetAllocator());
    p.Set(doc, copy, doc.GetAllocator());
  }
  return doc;
}

struct InvalidSpec {
  const char* name;
  const char* base;  // a file in testdata/schema
  std::vector<Edit> edits;
  // JSON Pointer of the schema violation: the object for required, minProperties and
  // the junctors; the unknown member itself for additionalProperties.
  const char* schemaAt;
  const char* keyword;  // the violated keyword
  const char* field;    // a field path canaryd must report (FieldError::field)
};

void PrintTo(const InvalidSpec& c, std::ostream* os) { *os << c.name; }

// The bases of the tables, in testdata/schema/.
constexpr const char* R = "rollout.yaml";
constexpr const char* AT = "analysistemplate.yaml";

const std::vector<InvalidSpec>& invalidSpecs() {
  // One row per case.
  // clang-format off
  static const std::vector<InvalidSpec> cases = {
      // numbers out of range
      {"set_weight_above_100", R, {{"/spec/strategy/canary/steps/0/setWeight", "140"}},
       "/spec/strategy/canary", "anyOf", "spec.strategy.canary.steps[0].setWeight"},
      {"negative_set_weight", R, {{"/spec/strategy/canary/steps/0/setWeight", "-5"}},
       "/spec/strategy/canary/steps/0/setWeight", "minimum",
       "spec.strategy.canary.steps[0].setWeight"},
      {"negative_replicas", R, {{"/spec/replicas", "-1"}}, "/spec/replicas", "minimum",
       "spec.replicas"},
      {"negative_revision_history_limit", R, {{"/spec/revisionHistoryLimit", "-1"}},
       "/spec/revisionHistoryLimit", "minimum", "spec.revisionHistoryLimit"},
      {"zero_progress_deadline", R, {{"/spec/progressDeadlineSeconds", "0"}},
       "/spec/progressDeadlineSeconds", "minimum", "spec.progressDeadlineSeconds"},
      {"negative_scale_down_delay", R, {{"/spec/strategy/canary/scaleDownDelaySeconds", "-30"}},
       "/spec/strategy/canary/scaleDownDelaySeconds", "minimum",
       "spec.strategy.canary.scaleDownDelaySeconds"},
      {"negative_failure_limit", R, {{"/spec/strategy/canary/analysis/failureLimit", "-1"}},
       "/spec/strategy/canary/analysis/failureLimit", "minimum",
       "spec.strategy.canary.analysis.failureLimit"},
      {"negative_consecutive_error_limit", R,
       {{"/spec/strategy/canary/analysis/consecutiveErrorLimit", "-1"}},
       "/spec/strategy/canary/analysis/consecutiveErrorLimit", "minimum",
       "spec.strategy.canary.analysis.consecutiveErrorLimit"},
      {"negative_starting_step", R, {{"/spec/strategy/canary/analysis/startingStep", "-1"}},
       "/spec/strategy/canary/analysis/startingStep", "minimum",
       "spec.strategy.canary.analysis.startingStep"},
      {"analysis_step_count_zero", R, {{"/spec/strategy/canary/steps/4/analysis/count", "0"}},
       "/spec/strategy/canary/steps/4/analysis/count", "minimum",
       "spec.strategy.canary.steps[4].analysis.count"},
      {"max_traffic_weight_zero", R,
       {{"/spec/strategy/canary/trafficRouting/maxTrafficWeight", "0"}},
       "/spec/strategy/canary/trafficRouting/maxTrafficWeight", "minimum",
       "spec.strategy.canary.trafficRouting.maxTrafficWeight"},
      {"canary_scale_weight_above_100", R,
       {{"/spec/strategy/canary/steps/2/setCanaryScale", R"({"weight": 150})"}},
       "/spec/strategy/canary/steps/2/setCanaryScale/weight", "maximum",
       "spec.strategy.canary.steps[2].setCanaryScale.weight"},
      {"canary_scale_negative_replicas", R,
       {{"/spec/strategy/canary/steps/2/setCanaryScale/replicas", "-1"}},
       "/spec/strategy/canary/steps/2/setCanaryScale/replicas", "minimum",
       "spec.strategy.canary.steps[2].setCanaryScale.replicas"},
      // wrong types
      {"replicas_string", R, {{"/spec/replicas", R"("three")"}}, "/spec/replicas", "type",
       "spec.replicas"},
      {"replicas_fraction", R, {{"/spec/replicas", "2.5"}}, "/spec/replicas", "type",
       "spec.replicas"},
      {"paused_string", R, {{"/spec/paused", R"("yes")"}}, "/spec/paused", "type",
       "spec.paused"},
      {"abort_scale_down_delay_duration", R,
       {{"/spec/strategy/canary/abortScaleDownDelaySeconds", R"("30s")"}},
       "/spec/strategy/canary/abortScaleDownDelaySeconds", "type",
       "spec.strategy.canary.abortScaleDownDelaySeconds"},
      {"interval_integer", R, {{"/spec/strategy/canary/analysis/interval", "30"}},
       "/spec/strategy/canary/analysis/interval", "type",
       "spec.strategy.canary.analysis.interval"},
      {"pause_duration_boolean", R, {{"/spec/strategy/canary/steps/1/pause/duration", "true"}},
       "/spec/strategy/canary/steps/1/pause/duration", "anyOf",
       "spec.strategy.canary.steps[1].pause.duration"},
      {"match_label_number", R, {{"/spec/selector/matchLabels/app", "5"}},
       "/spec/selector/matchLabels/app", "type", "spec.selector.matchLabels[app]"},
      // enums
      {"unknown_no_data", R, {{"/spec/strategy/canary/analysis/metrics/0/noData", R"("ignore")"}},
       "/spec/strategy/canary/analysis/metrics/0/noData", "enum",
       "spec.strategy.canary.analysis.metrics[0].noData"},
      {"unknown_metric_template", R,
       {{"/spec/strategy/canary/analysis/metrics/0/template", R"("cpu-usage")"}},
       "/spec/strategy/canary/analysis/metrics/0/template", "enum",
       "spec.strategy.canary.analysis.metrics[0].template"},
      {"unknown_selector_operator", R,
       {{"/spec/selector/matchExpressions", R"([{"key": "tier", "operator": "Has"}])"}},
       "/spec/selector/matchExpressions/0/operator", "enum",
       "spec.selector.matchExpressions[0].operator"},
      // steps
      {"two_kinds_in_one_step", R, {{"/spec/strategy/canary/steps/1/setWeight", "30"}},
       "/spec/strategy/canary/steps/1", "maxProperties", "spec.strategy.canary.steps[1]"},
      {"empty_step", R, {{"/spec/strategy/canary/steps/1", "{}"}},
       "/spec/strategy/canary/steps/1", "minProperties", "spec.strategy.canary.steps[1]"},
      {"unknown_step_kind", R,
       {{"/spec/strategy/canary/steps/1", R"({"setMirrorRoute": {"name": "mirror"}})"}},
       "/spec/strategy/canary/steps/1/setMirrorRoute", "additionalProperties",
       "spec.strategy.canary.steps[1].setMirrorRoute"},
      {"pause_duration_not_duration", R,
       {{"/spec/strategy/canary/steps/1/pause/duration", R"("soon")"}},
       "/spec/strategy/canary/steps/1/pause/duration", "pattern",
       "spec.strategy.canary.steps[1].pause.duration"},
      {"canary_scale_two_settings", R,
       {{"/spec/strategy/canary/steps/2/setCanaryScale/matchTrafficWeight", "true"}},
       "/spec/strategy/canary/steps/2/setCanaryScale", "oneOf",
       "spec.strategy.canary.steps[2].setCanaryScale"},
      {"header_value_exact_and_regex", R,
       {{"/spec/strategy/canary/steps/3/setHeaderRoute/match/0/headerValue/regex", R"("^al")"}},
       "/spec/strategy/canary/steps/3/setHeaderRoute/match/0/headerValue", "maxProperties",
       "spec.strategy.canary.steps[3].setHeaderRoute.match[0].headerValue"},
      {"header_value_prefix", R,
       {{"/spec/strategy/canary/steps/3/setHeaderRoute/match/0/headerValue",
         R"({"prefix": "al"})"}},
       "/spec/strategy/canary/steps/3/setHeaderRoute/match/0/headerValue/prefix",
       "additionalProperties", "spec.strategy.canary.steps[3].setHeaderRoute.match[0].headerValue"},
      {"header_match_without_value", R,
       {{"/spec/strategy/canary/steps/3/setHeaderRoute/match/0/headerValue", nullptr}},
       "/spec/strategy/canary/steps/3/setHeaderRoute/match/0", "required",
       "spec.strategy.canary.steps[3].setHeaderRoute.match[0].headerValue"},
      {"header_name_with_space", R,
       {{"/spec/strategy/canary/steps/3/setHeaderRoute/match/0/headerName", R"("X Canary")"}},
       "/spec/strategy/canary/steps/3/setHeaderRoute/match/0/headerName", "pattern",
       "spec.strategy.canary.steps[3].setHeaderRoute.match[0].headerName"},
      {"cookie_with_space", R,
       {{"/spec/strategy/canary/steps/3/setHeaderRoute/cookie", R"("beta testers")"}},
       "/spec/strategy/canary/steps/3/setHeaderRoute/cookie", "pattern",
       "spec.strategy.canary.steps[3].setHeaderRoute.cookie"},
      {"starting_step_in_analysis_step", R,
       {{"/spec/strategy/canary/steps/4/analysis/startingStep", "1"}},
       "/spec/strategy/canary/steps/4/analysis/startingStep", "additionalProperties",
       "spec.strategy.canary.steps[4].analysis.startingStep"},
      // required fields
      {"missing_spec", R, {{"/spec", nullptr}}, "", "required", "spec"},
      {"missing_selector", R, {{"/spec/selector", nullptr}}, "/spec", "required",
       "spec.selector"},
      {"missing_template", R, {{"/spec/template", nullptr}}, "/spec", "required",
       "spec.template"},
      {"missing_strategy", R, {{"/spec/strategy", nullptr}}, "/spec", "required",
       "spec.strategy.canary"},
      {"missing_canary_strategy", R, {{"/spec/strategy/canary", nullptr}}, "/spec/strategy",
       "required", "spec.strategy.canary"},
      {"template_without_containers", R, {{"/spec/template/spec/containers", nullptr}},
       "/spec/template/spec", "required", "spec.template.spec.containers"},
      {"container_without_image", R, {{"/spec/template/spec/containers/0/image", nullptr}},
       "/spec/template/spec/containers/0", "required", "spec.template.spec.containers[0].image"},
      {"metric_without_name", R, {{"/spec/strategy/canary/analysis/metrics/0/name", nullptr}},
       "/spec/strategy/canary/analysis/metrics/0", "required",
       "spec.strategy.canary.analysis.metrics[0].name"},
      {"prometheus_without_address", R,
       {{"/spec/strategy/canary/analysis/prometheus/address", nullptr}},
       "/spec/strategy/canary/analysis/prometheus", "required",
       "spec.strategy.canary.analysis.prometheus.address"},
      {"template_ref_without_name", R, {{"/spec/strategy/canary/analysis/templates", "[{}]"}},
       "/spec/strategy/canary/analysis/templates/0", "required",
       "spec.strategy.canary.analysis.templates[0].name"},
      {"gateway_without_http_route", R,
       {{"/spec/strategy/canary/trafficRouting", R"({"gatewayAPI": {}})"}},
       "/spec/strategy/canary/trafficRouting/gatewayAPI", "required",
       "spec.strategy.canary.trafficRouting.gatewayAPI.httpRoute"},
      // one of several
      {"metric_with_template_and_query", R,
       {{"/spec/strategy/canary/analysis/metrics/0/query", R"j("sum(up)")j"}},
       "/spec/strategy/canary/analysis/metrics/0", "oneOf",
       "spec.strategy.canary.analysis.metrics[0].query"},
      {"metric_without_threshold", R,
       {{"/spec/strategy/canary/analysis/metrics/0/max", nullptr}},
       "/spec/strategy/canary/analysis/metrics/0", "anyOf",
       "spec.strategy.canary.analysis.metrics[0]"},
      {"analysis_without_metrics", R, {{"/spec/strategy/canary/analysis/metrics", nullptr}},
       "/spec/strategy/canary/analysis", "anyOf", "spec.strategy.canary.analysis.metrics"},
      {"traffic_routing_without_router", R, {{"/spec/strategy/canary/trafficRouting", "{}"}},
       "/spec/strategy/canary/trafficRouting", "anyOf", "spec.strategy.canary.trafficRouting"},
      {"stable_ingress_twice", R,
       {{"/spec/strategy/canary/trafficRouting/nginx/stableIngresses", R"(["orders-v2"])"}},
       "/spec/strategy/canary/trafficRouting/nginx", "oneOf",
       "spec.strategy.canary.trafficRouting.nginx.stableIngresses"},
      // names and formats
      {"metric_name_not_dns_label", R,
       {{"/spec/strategy/canary/analysis/metrics/0/name", R"("Error_Rate")"}},
       "/spec/strategy/canary/analysis/metrics/0/name", "pattern",
       "spec.strategy.canary.analysis.metrics[0].name"},
      {"stable_service_not_dns_label", R,
       {{"/spec/strategy/canary/stableService", R"("Orders_Stable")"}},
       "/spec/strategy/canary/stableService", "pattern", "spec.strategy.canary.stableService"},
      {"canary_service_starting_with_digit", R,
       {{"/spec/strategy/canary/canaryService", R"("1-orders-canary")"}},
       "/spec/strategy/canary/canaryService", "pattern", "spec.strategy.canary.canaryService"},
      {"interval_not_duration", R,
       {{"/spec/strategy/canary/analysis/interval", R"("30 seconds")"}},
       "/spec/strategy/canary/analysis/interval", "pattern",
       "spec.strategy.canary.analysis.interval"},
      {"timeout_without_unit", R,
       {{"/spec/strategy/canary/analysis/prometheus/timeout", R"("10")"}},
       "/spec/strategy/canary/analysis/prometheus/timeout", "pattern",
       "spec.strategy.canary.analysis.prometheus.timeout"},
      {"prometheus_address_not_url", R,
       {{"/spec/strategy/canary/analysis/prometheus/address", R"("prometheus:9090")"}},
       "/spec/strategy/canary/analysis/prometheus/address", "pattern",
       "spec.strategy.canary.analysis.prometheus.address"},
      // unknown fields
      {"unknown_top_level_field", R, {{"/specs", "{}"}}, "/specs", "additionalProperties",
       "specs"},
      {"unknown_spec_field", R, {{"/spec/minReadySeconds", "10"}},
       "/spec/minReadySeconds", "additionalProperties", "spec.minReadySeconds"},
      {"unknown_canary_field", R, {{"/spec/strategy/canary/maxSurge", R"("25%")"}},
       "/spec/strategy/canary/maxSurge", "additionalProperties",
       "spec.strategy.canary.maxSurge"},
      {"count_in_background_analysis", R, {{"/spec/strategy/canary/analysis/count", "3"}},
       "/spec/strategy/canary/analysis/count", "additionalProperties",
       "spec.strategy.canary.analysis.count"},
      {"unknown_nginx_field", R,
       {{"/spec/strategy/canary/trafficRouting/nginx/canaryIngress", R"("orders-canary")"}},
       "/spec/strategy/canary/trafficRouting/nginx/canaryIngress", "additionalProperties",
       "spec.strategy.canary.trafficRouting.nginx.canaryIngress"},
      // AnalysisTemplate
      {"template_missing_metrics", AT, {{"/spec/metrics", nullptr}}, "/spec", "required",
       "spec.metrics"},
      {"template_empty_metrics", AT, {{"/spec/metrics", "[]"}}, "/spec/metrics", "minItems",
       "spec.metrics"},
      {"template_unknown_no_data", AT, {{"/spec/metrics/1/noData", R"("skip")"}},
       "/spec/metrics/1/noData", "enum", "spec.metrics[1].noData"},
      {"template_empty_query", AT, {{"/spec/metrics/1/query", R"("")"}}, "/spec/metrics/1/query",
       "minLength", "spec.metrics[1]"},
      {"template_unknown_spec_field", AT, {{"/spec/args", "[]"}}, "/spec/args",
       "additionalProperties", "spec.args"},
      {"template_secret_ref_without_name", AT, {{"/spec/prometheus/authSecretRef", "{}"}},
       "/spec/prometheus/authSecretRef", "required", "spec.prometheus.authSecretRef.name"},
      {"template_insecure_skip_verify_string", AT,
       {{"/spec/prometheus/insecureSkipVerify", R"("true")"}},
       "/spec/prometheus/insecureSkipVerify", "type", "spec.prometheus.insecureSkipVerify"},
      {"template_header_not_string", AT, {{"/spec/prometheus/headers", R"({"X-Scope-OrgID": 42})"}},
       "/spec/prometheus/headers/X-Scope-OrgID", "type",
       "spec.prometheus.headers[X-Scope-OrgID]"},
  };
  // clang-format on
  return cases;
}

class InvalidSpecs : public ::testing::TestWithParam<InvalidSpec> {};

TEST_P(InvalidSpecs, RejectedBySchemaAndCanaryd) {
  const InvalidSpec& c = GetParam();
  rapidjson::Document doc = edited(c.base, c.edits);
  ASSERT_TRUE(doc.IsObject());
  std::string_view kind = stringMember(doc, "kind");

  SchemaVerdict verdict = validateWithSchema(loadCrd(crdFor(kind)), doc);
  EXPECT_FALSE(verdict.valid) << "the CRD schema accepts it";
  EXPECT_EQ(verdict.documentPointer, c.schemaAt) << verdict.describe();
  EXPECT_EQ(verdict.keyword, c.keyword) << verdict.describe();

  ErrorList errors = canarydErrors(doc);
  bool found = std::any_of(errors.begin(), errors.end(),
                           [&](const FieldError& e) { return e.field == c.field; });
  EXPECT_TRUE(found) << "no error at " << c.field << "; canaryd reports:\n"
                     << (errors.empty() ? "nothing" : joinErrors(errors));
}

INSTANTIATE_TEST_SUITE_P(Table, InvalidSpecs, ::testing::ValuesIn(invalidSpecs()),
                         [](const ::testing::TestParamInfo<InvalidSpec>& info) {
                           return std::string(info.param.name);
                         });

TEST(InvalidSpecsTable, CoversEnoughCases) {
  EXPECT_GE(invalidSpecs().size(), 12u);
  std::set<std::string> names;
  for (const auto& c : invalidSpecs()) EXPECT_TRUE(names.insert(c.name).second) << c.name;
}

// The bases themselves are valid everywhere, so each invalid case fails for its edit.
TEST(InvalidSpecsTable, BasesAreValid) {
  for (const char* base : {R, AT}) {
    rapidjson::Document doc = edited(base, {});
    ASSERT_TRUE(doc.IsObject()) << base;
    SchemaVerdict verdict = validateWithSchema(loadCrd(crdFor(stringMember(doc, "kind"))), doc);
    EXPECT_TRUE(verdict.valid) << base << ": " << verdict.describe();
    ErrorList errors = canarydErrors(doc);
    EXPECT_TRUE(errors.empty()) << base << ":\n" << joinErrors(errors);
  }
}

// ---- valid variants: what the schema must not reject ----

struct ValidVariant {
  const char* name;
  const char* base;
  std::vector<Edit> edits;
};

void PrintTo(const ValidVariant& c, std::ostream* os) { *os << c.name; }

const std::vector<ValidVariant>& validVariants() {
  // One row per case.
  // clang-format off
  static const std::vector<ValidVariant> cases = {
      {"weights_out_of_max_traffic_weight", R,
       {{"/spec/strategy/canary/trafficRouting/maxTrafficWeight", "1000"},
        {"/spec/strategy/canary/steps/0/setWeight", "250"}}},
      {"zero_replicas", R, {{"/spec/replicas", "0"}}},
      {"pause_seconds", R, {{"/spec/strategy/canary/steps/1/pause/duration", "90"}}},
      {"pause_compound_duration", R,
       {{"/spec/strategy/canary/steps/1/pause/duration", R"("1h30m")"}}},
      {"pause_fractional_duration", R,
       {{"/spec/strategy/canary/steps/1/pause/duration", R"("1.5h")"}}},
      {"pause_micro_sign_duration", R,
       {{"/spec/strategy/canary/steps/1/pause/duration", R"("1500000\u00b5s")"}}},
      {"interval_milliseconds", R, {{"/spec/strategy/canary/analysis/interval", R"("500ms")"}}},
      {"stable_ingresses", R,
       {{"/spec/strategy/canary/trafficRouting/nginx/stableIngress", nullptr},
        {"/spec/strategy/canary/trafficRouting/nginx/stableIngresses",
         R"(["orders", "orders-internal"])"}}},
      {"nginx_annotations", R,
       {{"/spec/strategy/canary/trafficRouting/nginx/annotationPrefix",
         R"("custom.nginx.org")"},
        {"/spec/strategy/canary/trafficRouting/nginx/additionalIngressAnnotations",
         R"({"proxy-read-timeout": "30"})"}}},
      {"gateway_api", R,
       {{"/spec/strategy/canary/trafficRouting",
         R"({"gatewayAPI": {"httpRoute": "orders", "managedRoutes": ["primary"]}})"}}},
      {"nginx_and_gateway_api", R,
       {{"/spec/strategy/canary/trafficRouting/gatewayAPI", R"({"httpRoute": "orders"})"}}},
      {"header_value_regex", R,
       {{"/spec/strategy/canary/steps/3/setHeaderRoute/match/0/headerValue",
         R"({"regex": "^(alice|bob)$"})"}}},
      {"header_route_cookie", R,
       {{"/spec/strategy/canary/steps/3/setHeaderRoute/cookie", R"("orders_canary")"}}},
      {"header_route_removal", R,
       {{"/spec/strategy/canary/steps/3/setHeaderRoute", R"({"name": "testers"})"}}},
      {"canary_scale_weight", R,
       {{"/spec/strategy/canary/steps/2/setCanaryScale", R"({"weight": 25})"}}},
      {"canary_scale_match_traffic_weight", R,
       {{"/spec/strategy/canary/steps/2/setCanaryScale", R"({"matchTrafficWeight": true})"}}},
      {"canary_scale_with_explicit_false", R,
       {{"/spec/strategy/canary/steps/2/setCanaryScale/matchTrafficWeight", "false"}}},
      {"selector_expressions", R,
       {{"/spec/selector",
         R"({"matchExpressions": [{"key": "app", "operator": "In", "values": ["orders"]},
                                  {"key": "canary", "operator": "DoesNotExist"}]})"}}},
      {"query_metric", R,
       {{"/spec/strategy/canary/analysis/metrics/0",
         R"j({"name": "p50", "min": 0, "max": 0.2, "noData": "pass",
             "query": "avg(rate(latency_sum{service=\"{{canaryService}}\"}[{{interval}}]))"})j"}}},
      {"min_only_metric", R,
       {{"/spec/strategy/canary/analysis/metrics/0",
         R"({"name": "success-rate", "template": "success-rate", "min": 0.99})"}}},
      {"templates_only", R,
       {{"/spec/strategy/canary/analysis/metrics", nullptr},
        {"/spec/strategy/canary/analysis/templates", R"([{"name": "http-slo"}])"}}},
      {"replica_ratio", R,
       {{"/spec/strategy/canary/trafficRouting", nullptr},
        {"/spec/strategy/canary/steps/3", nullptr}}},
      {"pod_template_fields_pass_through", R,
       {{"/spec/template/spec/containers/0/securityContext", R"({"runAsNonRoot": true})"},
        {"/spec/template/spec/terminationGracePeriodSeconds", "45"},
        {"/spec/template/metadata/annotations", R"({"prometheus.io/scrape": "true"})"}}},
      {"status_as_written_by_canaryd", R,
       {{"/status", R"({"phase": "Paused", "observedGeneration": 2, "currentStepIndex": 5,
                        "canaryWeight": 10, "replicas": 5, "selector": "app=orders",
                        "pauseConditions": [{"reason": "PauseStep",
                                             "startTime": "2026-11-21T23:21:14Z"}],
                        "conditions": [{"type": "Paused", "status": "True",
                                        "reason": "PauseStep",
                                        "lastTransitionTime": "2026-11-21T23:21:14Z"}],
                        "analysis": {"phase": "Running", "metrics": [
                          {"name": "error-rate", "phase": "Running", "lastValue": "NaN",
                           "max": 0.01, "count": 1, "inconclusive": 1,
                           "measurements": [{"phase": "Inconclusive", "value": "NaN"}]}]}})"}}},
      {"template_with_basic_auth_headers", AT,
       {{"/spec/prometheus/headers", R"({"X-Scope-OrgID": "shop"})"},
        {"/spec/prometheus/insecureSkipVerify", "true"}}},
  };
  // clang-format on
  return cases;
}

class ValidVariants : public ::testing::TestWithParam<ValidVariant> {};

TEST_P(ValidVariants, AcceptedBySchemaAndCanaryd) {
  const ValidVariant& c = GetParam();
  rapidjson::Document doc = edited(c.base, c.edits);
  ASSERT_TRUE(doc.IsObject());
  SchemaVerdict verdict = validateWithSchema(loadCrd(crdFor(stringMember(doc, "kind"))), doc);
  EXPECT_TRUE(verdict.valid) << verdict.describe();
  ErrorList errors = canarydErrors(doc);
  EXPECT_TRUE(errors.empty()) << joinErrors(errors);
}

INSTANTIATE_TEST_SUITE_P(Table, ValidVariants, ::testing::ValuesIn(validVariants()),
                         [](const ::testing::TestParamInfo<ValidVariant>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace canaryd::api
