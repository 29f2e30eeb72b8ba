#include "golden.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include "api/json.h"

namespace canaryd::traffic::testing {

namespace {

std::string testdataPath(const std::string& file) {
  return std::string(CANARYD_SOURCE_DIR) + "/tests/traffic/testdata/" + file;
}

std::string quoted(const rapidjson::Value& s) { return api::toJson(s); }

std::string key(const rapidjson::Value& name) {
  static const std::regex plain("[A-Za-z_][A-Za-z0-9._/-]*");
  static const std::regex special(
      "(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|"
      "FALSE|on|On|ON|off|Off|OFF|null|Null|NULL)");
  std::string k(name.GetString(), name.GetStringLength());
  if (std::regex_match(k, plain) && !std::regex_match(k, special)) return k;
  return quoted(name);
}

bool isCollection(const rapidjson::Value& v) {
  return (v.IsObject() && v.MemberCount() > 0) || (v.IsArray() && !v.Empty());
}

std::string scalar(const rapidjson::Value& v) {
  if (v.IsObject()) return "{}";
  if (v.IsArray()) return "[]";
  return api::toJson(v);
}

void emit(std::ostringstream& out, const rapidjson::Value& v, int indent) {
  const std::string pad(static_cast<size_t>(indent), ' ');
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      out << pad << key(m.name) << ":";
      if (isCollection(m.value)) {
        out << "\n";
        emit(out, m.value, m.value.IsArray() ? indent : indent + 2);
      } else {
        out << " " << scalar(m.value) << "\n";
      }
    }
    return;
  }
  for (const auto& e : v.GetArray()) {
    if (isCollection(e)) {
      // "- " then the first line of the element at indent + 2.
      std::ostringstream inner;
      emit(inner, e, indent + 2);
      std::string text = inner.str();
      out << pad << "-" << text.substr(static_cast<size_t>(indent) + 1);
    } else {
      out << pad << "- " << scalar(e) << "\n";
    }
  }
}

rapidjson::Document stripped(const rapidjson::Value& v) {
  rapidjson::Document doc = api::cloneDocument(v);
  if (doc.IsObject() && doc.HasMember("metadata") && doc["metadata"].IsObject()) {
    for (const char* f : {"resourceVersion", "uid", "creationTimestamp", "generation"})
      doc["metadata"].RemoveMember(f);
  }
  api::sortKeys(doc);
  return doc;
}

}  // namespace

std::string toYaml(const rapidjson::Value& value) {
  std::ostringstream out;
  if (!isCollection(value)) return scalar(value) + "\n";
  emit(out, value, 0);
  return out.str();
}

std::string readTestdata(const std::string& file) {
  std::ifstream in(testdataPath(file));
  EXPECT_TRUE(in.good()) << "cannot read " << testdataPath(file);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void expectGolden(const rapidjson::Value& actual, const std::string& file) {
  rapidjson::Document got = stripped(actual);
  const char* update = std::getenv("CANARYD_UPDATE_GOLDEN");
  if (update && std::string(update) == "1") {
    std::ofstream out(testdataPath(file));
    out << "# " << file << ": expected by tests/traffic (compared as parsed JSON).\n"
        << "# CANARYD_UPDATE_GOLDEN=1 rewrites this file from the actual object.\n"
        << toYaml(got);
    ASSERT_TRUE(out.good()) << "cannot write " << testdataPath(file);
  }
  auto docs = api::parseYamlDocuments(readTestdata(file));
  ASSERT_TRUE(docs) << file << ": " << docs.error().toString();
  ASSERT_EQ(docs->size(), 1u) << file;
  rapidjson::Document want = stripped((*docs)[0]);
  EXPECT_TRUE(got == want) << "object differs from " << file << "\nwant:\n"
                           << api::toPrettyJson(want) << "\ngot:\n"
                           << api::toPrettyJson(got)
                           << "\n(CANARYD_UPDATE_GOLDEN=1 rewrites the golden file)";
}

}  // namespace canaryd::traffic::testing
