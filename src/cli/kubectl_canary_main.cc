// kubectl-canary: the `kubectl canary` plugin (kubectl runs kubectl-<name> found on PATH).
// This file only parses flags and wires the client to cli::Plugin.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "api/duration.h"
#include "api/types.h"
#include "cli/plugin.h"
#include "kube/config.h"
#include "kube/http_client.h"

namespace {

using namespace canaryd;

// https://no-color.org: a NO_COLOR that is present and not empty turns colour off.
bool colorWanted() {
  const char* noColor = std::getenv("NO_COLOR");
  if (noColor && *noColor) return false;
  return isatty(STDOUT_FILENO) == 1;
}

cli::OutputFormat outputFormat(const std::string& o) {
  if (o == "json") return cli::OutputFormat::kJson;
  if (o == "yaml") return cli::OutputFormat::kYaml;
  return cli::OutputFormat::kNone;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Drive canaryd Rollouts: list them, inspect steps, ReplicaSets and analysis, wait for a\n"
      "rollout in CI, and promote, abort, retry, pause or resume it.",
      "kubectl canary"};
  app.require_subcommand(1);
  // Global flags may come after the command too (`kubectl canary get web -n shop`).
  app.fallthrough();

  std::string kubeconfig, context, ns;
  app.add_option("--kubeconfig", kubeconfig,
                 "Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)");
  app.add_option("--context", context, "The kubeconfig context to use");
  app.add_option("-n,--namespace", ns,
                 "The namespace (default: the context's namespace, else \"default\")");

  std::string rollout, output, timeout = "0s";
  bool allNamespaces = false, watch = false, full = false;
  auto outputOption = [&](CLI::App* sub) {
    sub->add_option("-o,--output", output, "Output format: json or yaml")
        ->check(CLI::IsMember({"json", "yaml"}));
  };
  auto rolloutArg = [&](CLI::App* sub) {
    sub->add_option("ROLLOUT", rollout, "The Rollout's name")->required();
  };

  auto* list = app.add_subcommand("list", "List Rollouts: phase, step, canary weight, age");
  list->add_flag("-A,--all-namespaces", allNamespaces, "List Rollouts of every namespace");
  outputOption(list);
  auto* get = app.add_subcommand(
      "get", "Show a Rollout: steps, weights, ReplicaSets, analysis, history, conditions");
  rolloutArg(get);
  outputOption(get);
  auto* status = app.add_subcommand(
      "status",
      "Print a Rollout's phase and message. Exit 0 Healthy, 1 Degraded, 2 otherwise (still in "
      "progress, timed out, or the API could not be read)");
  rolloutArg(status);
  status->add_flag("-w,--watch", watch, "Follow the Rollout until it is Healthy or Degraded");
  status->add_option("-t,--timeout", timeout,
                     "With --watch: give up (exit 2) after this long, e.g. 5m (0: wait for ever)");
  auto* promote = app.add_subcommand(
      "promote", "Leave the current pause (or skip the current step) of the canary");
  rolloutArg(promote);
  promote->add_flag("--full", full, "Skip every remaining step and promote the canary now");
  auto* abort =
      app.add_subcommand("abort", "Abort the canary: weight 0, canary scaled down, phase Degraded");
  rolloutArg(abort);
  auto* retry = app.add_subcommand("retry", "Start an aborted canary over from step 0");
  rolloutArg(retry);
  auto* pause = app.add_subcommand("pause", "Pause the Rollout (spec.paused: true)");
  rolloutArg(pause);
  auto* resume = app.add_subcommand("resume", "Resume a paused Rollout (spec.paused: false)");
  rolloutArg(resume);
  auto* history =
      app.add_subcommand("history", "List the Rollout's promoted and aborted revisions");
  rolloutArg(history);
  outputOption(history);
  auto* version = app.add_subcommand("version", "Print the plugin's version");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "error: " << e.what() << "\nSee 'kubectl canary --help' for usage.\n";
    return cli::kExitPending;
  }

  std::optional<api::Duration> waitFor = api::parseDuration(timeout);
  if (!waitFor || waitFor->count() < 0) {
    std::cerr << "error: --timeout: not a duration: " << timeout
              << "\nSee 'kubectl canary status --help' for usage.\n";
    return cli::kExitPending;
  }

  if (version->parsed()) {
    std::cout << "kubectl-canary v" << CANARYD_VERSION << " (" << api::kApiVersion << ")\n";
    return cli::kExitOk;
  }
  // `status` is a CI gate: anything that is not a verdict exits 2.
  const int failure = status->parsed() ? cli::kExitPending : cli::kExitFailure;

  kube::LoadOptions load;
  load.kubeconfig = kubeconfig;
  load.overrides.context = context;
  auto config = kube::loadRestConfig(load);
  if (!config) {
    std::cerr << "error: " << config.error().toString() << "\n";
    return failure;
  }
  cli::PluginOptions options;
  options.namespace_ = !ns.empty()                  ? ns
                       : config->namespace_.empty() ? "default"
                                                    : config->namespace_;
  options.color = colorWanted();
  options.out = &std::cout;
  options.err = &std::cerr;

  kube::HttpClientOptions httpOptions;
  httpOptions.userAgent = std::string("kubectl-canary/") + CANARYD_VERSION;
  httpOptions.qps = 50;
  httpOptions.burst = 100;
  // A person is waiting: fail fast on an unreachable server rather than retrying for long.
  httpOptions.maxRetries = 3;
  httpOptions.retryMaxDelay = std::chrono::seconds(1);
  auto client = kube::HttpClient::create(*config, httpOptions);
  if (!client) {
    std::cerr << "error: " << client.error().message << "\n";
    return failure;
  }

  cli::Plugin plugin(**client, options);
  if (list->parsed()) return plugin.list(allNamespaces, outputFormat(output));
  if (get->parsed()) return plugin.get(rollout, outputFormat(output));
  if (status->parsed()) return plugin.status(rollout, watch, *waitFor);
  if (promote->parsed()) return plugin.promote(rollout, full);
  if (abort->parsed()) return plugin.abort(rollout);
  if (retry->parsed()) return plugin.retry(rollout);
  if (pause->parsed()) return plugin.pause(rollout);
  if (resume->parsed()) return plugin.resume(rollout);
  if (history->parsed()) return plugin.history(rollout, outputFormat(output));
  return cli::kExitPending;
}
