// HttpServer: a small HTTP/1.1 server (Boost.Beast) for the daemon's own endpoints
// (/healthz, /readyz, /metrics): one or more listeners, each with its handler, served on
// one internal thread (one io_context, C++20 coroutines) with keep-alive and an idle
// timeout. Handlers run on that thread, one request at a time, so they must be quick
// and must not block on the server. listen/start/stop from one thread; stop() is
// idempotent and also run by the destructor.
#pragma once

#include <boost/system/result.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "server/bind_address.h"

namespace canaryd::server {

struct HttpRequest {
  std::string method;  // "GET"
  std::string target;  // path and query: "/readyz?verbose"
  std::string path;    // the target without its query: "/readyz"
};

struct HttpResponse {
  int status = 200;
  std::string contentType = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  // `idleTimeout`: a connection that sends no complete request for this long is closed.
  explicit HttpServer(std::chrono::milliseconds idleTimeout = std::chrono::seconds(30));
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens at once, so that a bad address or a port in use is reported before
  // anything else starts; requests are served from start() on. Returns the address bound
  // (the kernel's port when address.port is 0). Errors: "listen on 127.0.0.1:8080:
  // Address already in use" and the like (the system's words).
  boost::system::result<BindAddress, std::string> listen(const BindAddress& address,
                                                         HttpHandler handler);

  // Starts serving every listener on the internal thread. Idempotent.
  void start();

  // Closes the listeners and every connection and joins the thread. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace canaryd::server
