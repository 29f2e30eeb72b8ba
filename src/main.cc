// canaryd: the Kubernetes canary controller. This file only wires subcommands and flags.
#include <pthread.h>
#include <signal.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <thread>

#include "api/duration.h"
#include "api/lint.h"
#include "controller/runtime/controller_manager.h"
#include "kube/config.h"
#include "kube/http_client.h"
#include "leader/leader_election.h"
#include "server/bind_address.h"
#include "server/http_server.h"
#include "server/kube_api_observer.h"
#include "server/metrics.h"
#include "server/probes.h"

namespace {

using namespace canaryd;

struct RunFlags {
  std::string kubeconfig;
  std::string context;
  std::vector<std::string> namespaces;
  int workers = 4;
  double kubeApiQps = 50;
  int kubeApiBurst = 100;
  bool leaderElect = true;
  std::string leaderElectionId = "canaryd";
  std::string leaderElectionNamespace;
  std::string leaseDuration = "15s";
  std::string renewDeadline = "10s";
  std::string retryPeriod = "2s";
  std::string prometheusAddress;
  std::string invalidSpecRequeue = "30s";
  std::string logLevel = "info";
  std::string logFormat = "text";
  std::string metricsBindAddress = ":8090";
  std::string healthProbeBindAddress = ":8080";
};

// The `%*` flag of the JSON log format: the message as a JSON string body.
class JsonEscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      switch (c) {
        case '"':
          dest.append(std::string_view("\\\""));
          break;
        case '\\':
          dest.append(std::string_view("\\\\"));
          break;
        case '\n':
          dest.append(std::string_view("\\n"));
          break;
        case '\t':
          dest.append(std::string_view("\\t"));
          break;
        case '\r':
          dest.append(std::string_view("\\r"));
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', kHex[(c >> 4) & 0xf], kHex[c & 0xf]};
            dest.append(esc, esc + 6);
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedMessage>();
  }
};

bool setupLogging(const RunFlags& flags) {
  auto logger = spdlog::stderr_color_mt("canaryd");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(flags.logLevel));
  if (flags.logFormat == "json") {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonEscapedMessage>('*').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","msg":"%*"})");
    spdlog::set_formatter(std::move(formatter));
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %L %v", spdlog::pattern_time_type::utc);
  }
  spdlog::flush_on(spdlog::level::info);
  return true;
}

std::optional<std::chrono::milliseconds> durationFlag(const std::string& name,
                                                      const std::string& value) {
  auto d = api::parseDuration(value);
  if (!d || d->count() <= 0) {
    std::cerr << "canaryd run: " << name << ": not a positive duration: " << value << "\n";
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

// The pod's namespace (downward API or service account), for the Lease's default.
std::string podNamespace() {
  if (const char* ns = std::getenv("POD_NAMESPACE"); ns && *ns) return ns;
  std::ifstream in(std::string(kube::kServiceAccountDir) + "/namespace");
  std::string ns;
  if (in && std::getline(in, ns) && !ns.empty()) return ns;
  return "canaryd-system";
}

int run(const RunFlags& flags) {
  setupLogging(flags);
  // SIGTERM and SIGINT are taken by sigtimedwait below: block them before any thread
  // starts, so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  kube::LoadOptions load;
  load.kubeconfig = flags.kubeconfig;
  load.overrides.context = flags.context;
  auto config = kube::loadRestConfig(load);
  if (!config) {
    spdlog::error("{}", config.error().toString());
    return 1;
  }
  for (const auto& w : config->warnings) spdlog::warn("{}", w);

  controller::runtime::ManagerOptions options;
  options.namespaces = flags.namespaces;
  options.workers = flags.workers;
  options.identity = leader::defaultIdentity();
  auto invalidSpecRequeue = durationFlag("--invalid-spec-requeue", flags.invalidSpecRequeue);
  if (!invalidSpecRequeue) return 2;
  options.invalidSpecRequeue = *invalidSpecRequeue;
  if (!flags.prometheusAddress.empty()) {
    api::PrometheusProvider p;
    p.address = flags.prometheusAddress;
    options.defaultPrometheus = p;
  }
  if (flags.leaderElect) {
    leader::LeaderElectionConfig le;
    le.leaseName = flags.leaderElectionId;
    le.leaseNamespace =
        flags.leaderElectionNamespace.empty() ? podNamespace() : flags.leaderElectionNamespace;
    le.identity = options.identity;
    auto lease = durationFlag("--leader-election-lease-duration", flags.leaseDuration);
    auto renew = durationFlag("--leader-election-renew-deadline", flags.renewDeadline);
    auto retry = durationFlag("--leader-election-retry-period", flags.retryPeriod);
    if (!lease || !renew || !retry) return 2;
    le.leaseDuration = *lease;
    le.renewDeadline = *renew;
    le.retryPeriod = *retry;
    if (auto bad = leader::validate(le)) {
      spdlog::error("leader election: {}", *bad);
      return 2;
    }
    options.leaderElection = std::move(le);
  }

  // Validated by the flags' checks already.
  auto metricsAddress = *server::parseBindAddress(flags.metricsBindAddress);
  auto probeAddress = *server::parseBindAddress(flags.healthProbeBindAddress);

  // Both outlive the client, whose I/O thread reports every request to them.
  server::Metrics metrics;
  server::KubeApiObserver apiObserver(&metrics);
  options.metrics = &metrics;
  options.api = &apiObserver;

  kube::HttpClientOptions clientOptions;
  clientOptions.qps = flags.kubeApiQps;
  clientOptions.burst = flags.kubeApiBurst;
  clientOptions.userAgent = std::string("canaryd/") + CANARYD_VERSION;
  clientOptions.metrics = apiObserver.hook();
  auto client = kube::HttpClient::create(*config, clientOptions);
  if (!client) {
    spdlog::error("kube client: {}", client.error().message);
    return 1;
  }
  // Events get a client of their own, with the same limits: they never wait in the
  // queue of the writes that move traffic (an abort's weight 0 above all).
  kube::HttpClientOptions eventClientOptions = clientOptions;
  eventClientOptions.userAgent += " (events)";
  auto eventClient = kube::HttpClient::create(*config, eventClientOptions);
  if (!eventClient) {
    spdlog::error("kube client: {}", eventClient.error().message);
    return 1;
  }
  options.eventClient = eventClient->get();
  spdlog::info("canaryd {} watching {} with {} workers (API server {})", CANARYD_VERSION,
               flags.namespaces.empty() ? std::string("all namespaces")
                                        : fmt::format("{}", fmt::join(flags.namespaces, ",")),
               flags.workers, (*client)->config().host);

  int exitCode = 0;
  {
    controller::runtime::ControllerManager manager(**client, std::move(options));
    // Bound before any work starts, so that a port in use ends the process at once. The
    // server stops (end of scope) before the manager goes away.
    server::HttpServer http;
    if (probeAddress) {
      auto bound =
          http.listen(*probeAddress,
                      server::healthProbeHandler([&manager] { return manager.notReadyReason(); }));
      if (!bound) {
        spdlog::error("--health-probe-bind-address: {}", bound.error());
        return 1;
      }
      spdlog::info("serving health probes on http://{}", server::toString(*bound));
    }
    if (metricsAddress) {
      auto bound = http.listen(*metricsAddress, server::metricsHandler(metrics));
      if (!bound) {
        spdlog::error("--metrics-bind-address: {}", bound.error());
        return 1;
      }
      spdlog::info("serving metrics on http://{}", server::toString(*bound));
    }
    http.start();
    // start() blocks until the caches sync; a signal meanwhile must still stop it.
    std::atomic<bool> started{false}, startFailed{false};
    std::thread starter([&] {
      if (!manager.start()) startFailed = true;
      started = true;
    });
    timespec tick{0, 200 * 1000 * 1000};
    for (;;) {
      int sig = sigtimedwait(&signals, nullptr, &tick);
      if (sig == SIGTERM || sig == SIGINT) {
        spdlog::info("received {}; shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        break;
      }
      if (manager.lostLeadership()) {
        exitCode = 1;
        break;
      }
      if (started && startFailed) {
        exitCode = 1;
        break;
      }
    }
    // A shutdown watchdog: the process ends within 10 s of the signal whatever blocks.
    std::thread([] {
      std::this_thread::sleep_for(std::chrono::seconds(10));
      spdlog::error("shutdown took longer than 10s; exiting");
      std::_Exit(1);
    }).detach();
    manager.stop();
    starter.join();
  }
  (*eventClient)->shutdown();
  (*client)->shutdown();
  spdlog::default_logger()->flush();
  return exitCode;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"canaryd: a Kubernetes canary controller (canaryd.io/v1alpha1 Rollouts)", "canaryd"};
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

  RunFlags flags;
  auto* runCmd = app.add_subcommand(
      "run",
      "Run the Rollout controller: watch Rollouts, ReplicaSets and Services and reconcile "
      "them. Serves /healthz and /readyz (ready once the caches synced) on the health probe "
      "address and /metrics (Prometheus text format) on the metrics address. SIGTERM or "
      "SIGINT: stop taking work, finish reconciles in flight, release the leader Lease and "
      "exit (within 10 s).");
  runCmd
      ->add_option("--kubeconfig", flags.kubeconfig,
                   "Path to a kubeconfig; default: KUBECONFIG, then in-cluster, then "
                   "~/.kube/config")
      ->envname("CANARYD_KUBECONFIG");
  runCmd->add_option("--context", flags.context, "The kubeconfig context to use")
      ->envname("CANARYD_CONTEXT");
  runCmd
      ->add_option("--namespace,-n", flags.namespaces,
                   "A namespace to watch (repeatable); default: every namespace")
      ->envname("CANARYD_NAMESPACE")
      ->delimiter(',');
  runCmd->add_option("--workers", flags.workers, "Rollouts reconciled at once")
      ->envname("CANARYD_WORKERS")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  runCmd
      ->add_option("--kube-api-qps", flags.kubeApiQps,
                   "Requests per second to the API server (client-side limit)")
      ->envname("CANARYD_KUBE_API_QPS")
      ->capture_default_str();
  runCmd
      ->add_option("--kube-api-burst", flags.kubeApiBurst,
                   "Burst of requests to the API server above the qps")
      ->envname("CANARYD_KUBE_API_BURST")
      ->capture_default_str();
  runCmd
      ->add_option("--leader-elect", flags.leaderElect,
                   "Elect a leader through a Lease, so that only one replica writes")
      ->envname("CANARYD_LEADER_ELECT")
      ->capture_default_str();
  runCmd->add_option("--leader-election-id", flags.leaderElectionId, "The Lease's name")
      ->envname("CANARYD_LEADER_ELECTION_ID")
      ->capture_default_str();
  runCmd
      ->add_option("--leader-election-namespace", flags.leaderElectionNamespace,
                   "The Lease's namespace; default: the pod's namespace (POD_NAMESPACE or "
                   "the service account's), else canaryd-system")
      ->envname("CANARYD_LEADER_ELECTION_NAMESPACE");
  runCmd
      ->add_option("--leader-election-lease-duration", flags.leaseDuration,
                   "How long standbys wait after the last renewal before taking over")
      ->envname("CANARYD_LEADER_ELECTION_LEASE_DURATION")
      ->capture_default_str();
  runCmd
      ->add_option("--leader-election-renew-deadline", flags.renewDeadline,
                   "How long the leader keeps trying to renew before it stops leading")
      ->envname("CANARYD_LEADER_ELECTION_RENEW_DEADLINE")
      ->capture_default_str();
  runCmd
      ->add_option("--leader-election-retry-period", flags.retryPeriod,
                   "How often candidates try to acquire or renew the Lease")
      ->envname("CANARYD_LEADER_ELECTION_RETRY_PERIOD")
      ->capture_default_str();
  runCmd
      ->add_option("--prometheus-address", flags.prometheusAddress,
                   "Prometheus that analyses query when neither they nor their templates "
                   "name one (http(s)://host:port)")
      ->envname("CANARYD_PROMETHEUS_ADDRESS");
  runCmd
      ->add_option("--invalid-spec-requeue", flags.invalidSpecRequeue,
                   "How often a Rollout that is InvalidSpec because of an object outside it "
                   "(a missing stable Ingress or HTTPRoute, one without the stableService "
                   "backend, a foreign canary Ingress) is looked at again")
      ->envname("CANARYD_INVALID_SPEC_REQUEUE")
      ->capture_default_str();
  runCmd->add_option("--log-level", flags.logLevel, "trace, debug, info, warn, error")
      ->envname("CANARYD_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  runCmd->add_option("--log-format", flags.logFormat, "text or json (one object a line)")
      ->envname("CANARYD_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();

  auto bindAddress = CLI::Validator(
      [](std::string& value) -> std::string {
        auto parsed = canaryd::server::parseBindAddress(value);
        return parsed ? std::string() : parsed.error();
      },
      "HOST:PORT|:PORT|0", "");
  runCmd
      ->add_option("--metrics-bind-address", flags.metricsBindAddress,
                   "Where /metrics is served: host:port, :port (every interface) or 0 "
                   "(disabled); port 0 picks a free port (the address is logged)")
      ->envname("CANARYD_METRICS_BIND_ADDRESS")
      ->check(bindAddress)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
      ->capture_default_str();
  runCmd
      ->add_option("--health-probe-bind-address", flags.healthProbeBindAddress,
                   "Where /healthz and /readyz are served: host:port, :port (every "
                   "interface) or 0 (disabled); port 0 picks a free port (the address is "
                   "logged)")
      ->envname("CANARYD_HEALTH_PROBE_BIND_ADDRESS")
      ->check(bindAddress)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    // A missing or unreadable file is exit code 2, as for unparsable input.
    return code == 0 ? 0 : 2;
  }
  if (*lint) return canaryd::api::runLint(files, std::cout);
  if (*runCmd) return run(flags);
  return 0;
}
