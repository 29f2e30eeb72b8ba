// Emulator: the kube-emulator server. An HTTP/1.1 (or HTTPS with a bearer token)
// listener on Boost.Beast with C++20 coroutines, serving the Kubernetes API of an
// ApiServer, streaming watches, running the simulated controllers and the fault
// injector, and exposing admin endpoints under /_emulator/:
//   GET  /_emulator/counters    request counts by verb, resource and code (DELETE resets)
//   GET  /_emulator/faults      the fault settings; PUT/POST sets them (JSON, see Faults)
//   POST /_emulator/compact     drops the watch history (older watches get 410 Gone)
//   POST /_emulator/drop-watches  closes every open watch now
//   GET  /_emulator/stats       {"objects":N,"watches":N,"resourceVersion":"N"}
// All state lives on one I/O thread; the public methods are safe from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "api_server.h"
#include "controllers.h"
#include "faults.h"

namespace canaryd::emulator {

struct EmulatorOptions {
  std::string address = "127.0.0.1";
  unsigned short port = 0;  // 0: any free port
  bool tls = false;         // HTTPS with a generated CA and a bearer token
  std::string token;        // required as "Authorization: Bearer <token>" when set
  // How often a watch that asked for bookmarks gets one.
  std::chrono::milliseconds bookmarkInterval{std::chrono::seconds(60)};
  // Longest watch when the client gives no timeoutSeconds (kube: --min-request-timeout).
  std::chrono::seconds defaultWatchTimeout{1800};
  bool logRequests = false;  // one line per request on stderr
  ApiServerOptions api;
  ControllerOptions controllers;
  FaultOptions faults;
};

class Emulator {
 public:
  explicit Emulator(EmulatorOptions options = {});
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // Binds the listener (throws std::system_error when it cannot) and serves on a
  // background thread.
  void start();
  // Binds and serves on the calling thread until stop().
  void run();
  void stop();

  unsigned short port() const;
  // http://127.0.0.1:PORT or https://...
  std::string url() const;
  const std::string& token() const;
  const std::string& caCertPem() const;
  // A kubeconfig (YAML) with one cluster, user and context named kube-emulator.
  std::string kubeconfig() const;
  // Runs fn on the server thread and waits for it (for tests that inspect state).
  void invoke(const std::function<void(ApiServer&)>& fn);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace canaryd::emulator
