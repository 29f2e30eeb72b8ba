// kube-emulator: an in-memory Kubernetes API server for tests and demos.
//   kube-emulator --port 0 --kubeconfig-out /tmp/kubeconfig [--tls]
// prints "listening on http://127.0.0.1:PORT" as its first line, then serves until
// SIGINT/SIGTERM.
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <fstream>
#include <iostream>
#include <thread>

#include "server.h"

int main(int argc, char** argv) {
  canaryd::emulator::EmulatorOptions options;
  CLI::App app{
      "kube-emulator: an in-memory Kubernetes API server for kubectl and client "
      "libraries"};
  std::string kubeconfigOut;
  int port = 0;
  long readyDelayMs = 500, bookmarkSeconds = 60, latencyMs = 0, dropEvery = 0;
  size_t history = 10000;
  app.add_option("--port", port, "TCP port on 127.0.0.1 (0: any free port)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--address", options.address, "address to listen on")->capture_default_str();
  app.add_flag("--tls", options.tls, "serve HTTPS with a generated CA and require a bearer token");
  app.add_option("--token", options.token, "bearer token to require (generated with --tls)");
  app.add_option("--kubeconfig-out", kubeconfigOut, "write a kubeconfig for clients to this file");
  app.add_option("--ready-delay-ms", readyDelayMs,
                 "delay before ReplicaSet replicas and Pods are ready")
      ->capture_default_str();
  app.add_option("--never-ready-annotation", options.controllers.neverReadyAnnotation,
                 "pod (template) annotation (value \"true\") that keeps replicas unready")
      ->capture_default_str();
  app.add_option("--bookmark-interval-seconds", bookmarkSeconds, "interval of watch bookmarks")
      ->capture_default_str();
  app.add_option("--history", history,
                 "watch event history length (older resourceVersions get 410)")
      ->capture_default_str();
  app.add_option("--latency-ms", latencyMs, "added latency per request");
  app.add_option("--error-fraction", options.faults.errorFraction,
                 "fraction of requests answered 500");
  app.add_option("--throttle-fraction", options.faults.throttleFraction,
                 "fraction of requests answered 429");
  app.add_option("--retry-after-seconds", options.faults.retryAfterSeconds,
                 "Retry-After of 429 answers");
  app.add_option("--drop-watches-every-seconds", dropEvery,
                 "close every watch every N seconds (0: never)");
  app.add_flag("--log-requests", options.logRequests, "log each request on stderr");
  CLI11_PARSE(app, argc, argv);
  options.port = static_cast<unsigned short>(port);
  options.controllers.readyDelay = std::chrono::milliseconds(readyDelayMs);
  options.bookmarkInterval = std::chrono::seconds(bookmarkSeconds);
  options.api.historyLimit = history;
  options.faults.latency = std::chrono::milliseconds(latencyMs);
  options.faults.dropWatchesEvery = std::chrono::seconds(dropEvery);

  // Block the stop signals before any thread starts, then wait for them here.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  try {
    canaryd::emulator::Emulator emulator(options);
    emulator.start();
    if (!kubeconfigOut.empty()) {
      std::ofstream out(kubeconfigOut);
      out << emulator.kubeconfig();
      if (!out) {
        std::cerr << "kube-emulator: cannot write " << kubeconfigOut << "\n";
        return 1;
      }
    }
    std::cout << "listening on " << emulator.url() << std::endl;
    int sig = 0;
    sigwait(&signals, &sig);
    emulator.stop();
  } catch (const std::exception& e) {
    std::cerr << "kube-emulator: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
