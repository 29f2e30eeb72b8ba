// canaryd: the Kubernetes canary controller. This file only wires subcommands and flags.
#include <CLI/CLI.hpp>

#include <iostream>

#include "api/lint.h"

int main(int argc, char** argv) {
  CLI::App app{"canaryd: a Kubernetes canary controller (canaryd.io/v1alpha1 Rollouts)",
               "canaryd"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("canaryd ") + CANARYD_VERSION);

  std::vector<std::string> files;
  auto* lint = app.add_subcommand(
      "lint",
      "Check Rollouts and AnalysisTemplates in YAML or JSON manifest files. Prints every error "
      "with file, document, object and field path. Exit 0: all valid; 1: some object invalid; "
      "2: a file could not be read or parsed.");
  lint->add_option("files", files, "Manifest files (YAML, multi-document, or JSON)")
      ->required()
      ->check(CLI::ExistingFile);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    // A missing or unreadable file is exit code 2, as for unparsable input.
    return code == 0 ? 0 : 2;
  }
  if (*lint) return canaryd::api::runLint(files, std::cout);
  return 0;
}
