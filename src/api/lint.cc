#include "api/lint.h"

#include <fstream>
#include <map>
#include <ostream>
#include <sstream>

#include "api/json.h"
#include "api/validate.h"

namespace canaryd::api {
namespace {

std::string memberString(const rapidjson::Value& doc, const char* key) {
  if (!doc.IsObject()) return {};
  auto it = doc.FindMember(key);
  if (it == doc.MemberEnd() || !it->value.IsString()) return {};
  return it->value.GetString();
}

std::string objectName(const rapidjson::Value& doc) {
  if (!doc.IsObject()) return "";
  auto meta = doc.FindMember("metadata");
  if (meta == doc.MemberEnd()) return "";
  std::string ns = memberString(meta->value, "namespace");
  std::string name = memberString(meta->value, "name");
  if (name.empty()) name = memberString(meta->value, "generateName");
  return ns.empty() ? name : ns + "/" + name;
}

std::string group(const std::string& apiVersion) {
  auto slash = apiVersion.find('/');
  return slash == std::string::npos ? "" : apiVersion.substr(0, slash);
}

}  // namespace

int runLint(const std::vector<std::string>& files, std::ostream& out, LintSummary* summaryOut) {
  LintSummary summary;
  std::map<std::string, int> skippedKinds;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      out << file << ": cannot read file\n";
      ++summary.unreadableFiles;
      continue;
    }
    std::stringstream text;
    text << in.rdbuf();
    auto docs = parseManifests(text.str());
    if (!docs) {
      out << file << ": " << docs.error().toString() << "\n";
      ++summary.unreadableFiles;
      continue;
    }
    int index = 0;
    for (const auto& doc : *docs) {
      ++index;
      std::string apiVersion = memberString(doc, "apiVersion");
      std::string kind = memberString(doc, "kind");
      std::string where = file + ": document " + std::to_string(index);
      ErrorList errors;
      if (group(apiVersion) != kGroup) {
        if (!doc.IsObject() || apiVersion.empty() || kind.empty()) {
          // kubectl refuses such a document too: "apiVersion not set, kind not set".
          errors.push_back(requiredError(FieldPath(apiVersion.empty() ? "apiVersion" : "kind"),
                                         "every document must be a Kubernetes object"));
        } else {
          ++summary.skipped;
          ++skippedKinds[kind];
          continue;
        }
      } else if (kind == kRolloutKind) {
        ++summary.rollouts;
        errors = checkRollout(doc).errors;
      } else if (kind == kAnalysisTemplateKind) {
        ++summary.analysisTemplates;
        errors = checkAnalysisTemplate(doc).errors;
      } else {
        errors.push_back(
            notSupportedError(FieldPath("kind"), kind, {kAnalysisTemplateKind, kRolloutKind}));
      }
      if (errors.empty()) continue;
      ++summary.invalidObjects;
      std::string name = objectName(doc);
      std::string label = kind.empty() ? "object" : kind;
      if (!name.empty()) label += " " + name;
      for (const auto& e : errors) {
        out << where << " (" << label << "): " << e.toString() << "\n";
        ++summary.errors;
      }
    }
  }
  out << "lint: " << summary.rollouts << " Rollout(s), " << summary.analysisTemplates
      << " AnalysisTemplate(s) checked; " << summary.invalidObjects << " invalid with "
      << summary.errors << " error(s)";
  if (summary.skipped) {
    out << "; skipped " << summary.skipped << " other object(s):";
    bool first = true;
    for (const auto& [kind, n] : skippedKinds) {
      out << (first ? " " : ", ") << kind << " " << n;
      first = false;
    }
  }
  if (summary.unreadableFiles) out << "; " << summary.unreadableFiles << " unreadable file(s)";
  out << "\n";
  if (summaryOut) *summaryOut = summary;
  if (summary.unreadableFiles) return 2;
  return summary.invalidObjects ? 1 : 0;
}

}  // namespace canaryd::api
