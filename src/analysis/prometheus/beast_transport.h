// BeastHttpTransport: analysis::HttpTransport over HTTP/1.1 (Boost.Beast) and TLS
// (OpenSSL), one connection per request ("Connection: close"), since analysis queries are
// seconds apart. All I/O runs on one internal thread (one io_context, C++20 coroutines);
// send() blocks its caller until every request it was given has an answer or has passed
// its deadline. Thread-safe: any number of worker threads may call send() at once.
#pragma once

#include <memory>
#include <vector>

#include "analysis/provider.h"

namespace canaryd::analysis::prometheus {

class BeastHttpTransport final : public HttpTransport {
 public:
  // Response bodies larger than this are refused (an error, not a truncated body).
  static constexpr size_t kMaxBodyBytes = size_t{16} << 20;

  BeastHttpTransport();
  // Stops the I/O thread; requests still in flight end with an error.
  ~BeastHttpTransport() override;
  BeastHttpTransport(const BeastHttpTransport&) = delete;
  BeastHttpTransport& operator=(const BeastHttpTransport&) = delete;

  // https: verifies the server's certificate chain (HttpRequest::caPem, or the system's
  // CAs when empty) and host name, unless insecureSkipVerify. A request's deadline covers
  // name resolution, connect, TLS, sending and reading; past it the answer is an error
  // "timed out after <timeout>".
  std::vector<HttpResponse> send(const std::vector<HttpRequest>& requests) override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace canaryd::analysis::prometheus
