// `canaryd lint`: checks manifest files (YAML or JSON, many documents each) and reports
// every error of every Rollout and AnalysisTemplate in them, with the file, document
// number, object name and field path. Other kinds are counted and skipped.
// Stateless; safe to call from any thread with distinct streams.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace canaryd::api {

struct LintSummary {
  int rollouts = 0;           // Rollouts checked
  int analysisTemplates = 0;  // AnalysisTemplates checked
  int invalidObjects = 0;     // objects with at least one error
  int errors = 0;             // errors printed, over all objects
  int unreadableFiles = 0;    // files that could not be read or parsed
  int skipped = 0;            // documents of other kinds
};

// Lints `files` in order. Each error goes to `out` as one line:
//   FILE: document N (Rollout shop/podinfo): spec.replicas: Invalid value: -1: must be ...
// (N counts documents from 1, list items included); unreadable files go to `out` as
//   FILE: line L, column C: <syntax error>
// and a one-line summary ends the output.
// Returns the exit code: 0 all valid, 1 some object invalid, 2 some file unreadable.
int runLint(const std::vector<std::string>& files, std::ostream& out,
            LintSummary* summary = nullptr);

}  // namespace canaryd::api
