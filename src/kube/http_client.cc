#include "kube/http_client.h"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <cmath>
#include <condition_variable>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "api/json.h"
#include "kube/base64.h"
#include "kube/exec_credential.h"
#include "kube/rate_limiter.h"

namespace canaryd::kube {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using SteadyTime = std::chrono::steady_clock::time_point;

namespace {

constexpr auto kAwait = net::as_tuple(net::use_awaitable);
constexpr size_t kMaxBodyBytes = size_t{1} << 30;
constexpr size_t kWatchReadBytes = 64 * 1024;
constexpr size_t kMaxErrorBodyBytes = 1 << 20;

// One connection to the API server, plain or TLS. Used on the I/O thread only.
struct Connection {
  std::shared_ptr<ssl::context> ctx;  // outlives the TLS stream that uses it
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  void close() {
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
  }
  // An idle keep-alive connection is usable while nothing is readable on it: a readable
  // idle socket means the server closed it (EOF, TLS close_notify) or sent garbage.
  bool usable() {
    if (!lowest().socket().is_open() || buffer.size() != 0) return false;
    pollfd pfd{lowest().socket().native_handle(), POLLIN, 0};
    return ::poll(&pfd, 1, 0) == 0;
  }
};

// An open watch stream: the connection and the parser positioned in its body.
struct WatchState {
  std::unique_ptr<Connection> conn;
  std::unique_ptr<http::response_parser<http::buffer_body>> parser;
  std::vector<char> buf = std::vector<char>(kWatchReadBytes);
  std::atomic<bool> stopped{false};
  beast::error_code pendingError;  // an error seen after returning data
};

// What a prepared request needs besides its HTTP fields.
struct Prepared {
  http::verb method = http::verb::get;
  std::string target;
  std::string body;
  std::string contentType;
  std::vector<std::pair<std::string, std::string>> headers;
  std::shared_ptr<ssl::context> ctx;
  SteadyTime deadline;
  bool stream = false;
  SteadyTime streamDeadline = SteadyTime::max();
};

struct Attempt {
  bool responded = false;
  RawResponse response;
  std::string retryAfter;
  ApiError error;
  // False only when the request surely never reached the server (no connection, or
  // nothing was written), so that even a write may be retried.
  bool reachedServer = false;
  std::shared_ptr<WatchState> watch;
};

struct ReadResult {
  std::string data;
  bool end = false;  // the body ended cleanly (last chunk)
  beast::error_code error;
};

bool isSafeMethod(http::verb v) { return v == http::verb::get; }

std::string errorText(const beast::error_code& ec) { return ec.message(); }

bool isIpAddress(const std::string& host) {
  beast::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

struct HttpClient::Impl : std::enable_shared_from_this<HttpClient::Impl> {
  RestConfig config;
  HttpClientOptions options;
  bool https = false;
  std::string host;  // without brackets
  std::string port;
  std::string hostHeader;
  std::string basePath;  // a path prefix of the server URL, without the trailing '/'
  std::string tlsName;   // SNI and certificate verification name

  net::io_context ioc{1};
  net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};
  std::thread thread;

  std::unique_ptr<TokenBucketRateLimiter> limiter;

  std::mutex ctxMu;
  std::shared_ptr<ssl::context> ctx;
  std::string ctxCert, ctxKey;

  // I/O thread only.
  std::vector<std::unique_ptr<Connection>> idle;
  std::set<Connection*> active;

  std::atomic<size_t> opened{0};

  // Guards `stopped` against co_spawn, so that nothing is spawned after shutdown.
  std::mutex lifecycleMu;
  bool stopped = false;
  std::condition_variable sleepCv;

  std::mutex rngMu;
  std::mt19937_64 rng{std::random_device{}()};

  // (verb, resource) pairs already refused with 403, which are logged once only: the
  // callers retry them, and the missing permission does not change between retries.
  std::mutex forbiddenMu;
  std::set<std::pair<std::string, std::string>> forbiddenLogged;

  ~Impl() {
    // Connections must die before the io_context their sockets belong to.
    idle.clear();
  }

  // ---- I/O thread ----

  Result<std::shared_ptr<ssl::context>> tlsContext(const RequestCredentials& creds) {
    std::lock_guard lock(ctxMu);
    if (ctx && ctxCert == creds.clientCertificatePem && ctxKey == creds.clientKeyPem) return ctx;
    auto fresh = std::make_shared<ssl::context>(ssl::context::tls_client);
    beast::error_code ec;
    fresh->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (config.insecure) {
      fresh->set_verify_mode(ssl::verify_none);
    } else {
      fresh->set_verify_mode(ssl::verify_peer);
      if (!config.caData.empty()) {
        fresh->add_certificate_authority(net::buffer(config.caData), ec);
        if (ec) {
          return clientError(kReasonCredentials,
                             "certificate-authority" +
                                 (config.caFile.empty() ? std::string() : " " + config.caFile) +
                                 ": not a PEM certificate: " + ec.message());
        }
      } else {
        fresh->set_default_verify_paths(ec);
      }
    }
    if (!creds.clientCertificatePem.empty()) {
      fresh->use_certificate_chain(net::buffer(creds.clientCertificatePem), ec);
      if (ec) {
        return clientError(kReasonCredentials,
                           "client-certificate: not a PEM certificate: " + ec.message());
      }
      fresh->use_private_key(net::buffer(creds.clientKeyPem), ssl::context::pem, ec);
      if (ec) {
        return clientError(kReasonCredentials,
                           "client-key: not a PEM key matching the certificate: " + ec.message());
      }
    }
    ctx = fresh;
    ctxCert = creds.clientCertificatePem;
    ctxKey = creds.clientKeyPem;
    return fresh;
  }

  void release(std::unique_ptr<Connection> conn, bool reuse) {
    active.erase(conn.get());
    bool stopping;
    {
      std::lock_guard lock(lifecycleMu);
      stopping = stopped;
    }
    if (reuse && !stopping && idle.size() < options.maxIdleConnections) {
      conn->lowest().expires_never();
      idle.push_back(std::move(conn));
    } else {
      conn->close();
    }
  }

  void closeAll() {
    for (auto& c : idle) c->close();
    idle.clear();
    for (Connection* c : active) c->close();
  }

  static ApiError ioError(const beast::error_code& ec, std::string_view what, bool stopping) {
    if (stopping) return clientError(kReasonCancelled, "client shut down");
    if (ec == beast::error::timeout) {
      return clientError(kReasonClientTimeout, std::string(what) + ": timed out");
    }
    return clientError(kReasonTransport, std::string(what) + ": " + errorText(ec));
  }

  bool isStopping() {
    std::lock_guard lock(lifecycleMu);
    return stopped;
  }

  net::awaitable<std::unique_ptr<Connection>> connect(const Prepared& p, Attempt& out) {
    // An idle connection made with the same TLS context, if one is still open.
    while (!idle.empty()) {
      auto conn = std::move(idle.back());
      idle.pop_back();
      if (conn->ctx == p.ctx && conn->usable()) {
        active.insert(conn.get());
        co_return conn;
      }
      conn->close();
    }
    tcp::resolver resolver(ioc);
    auto [rec, endpoints] = co_await resolver.async_resolve(host, port, kAwait);
    if (rec || isStopping()) {
      out.error = ioError(rec, "resolving " + host, isStopping());
      co_return nullptr;
    }
    auto conn = std::make_unique<Connection>();
    conn->ctx = p.ctx;
    if (https) {
      conn->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc, *p.ctx);
      if (!isIpAddress(tlsName)) {
        SSL_set_tlsext_host_name(conn->tls->native_handle(), tlsName.c_str());
      }
      if (!config.insecure) conn->tls->set_verify_callback(ssl::host_name_verification(tlsName));
    } else {
      conn->plain = std::make_unique<beast::tcp_stream>(ioc);
    }
    active.insert(conn.get());
    ++opened;
    conn->lowest().expires_at(p.deadline);
    auto [cec, ep] = co_await conn->lowest().async_connect(endpoints, kAwait);
    if (cec || isStopping()) {
      out.error = ioError(cec, "connecting to " + hostHeader, isStopping());
      release(std::move(conn), false);
      co_return nullptr;
    }
    if (https) {
      auto [hec] = co_await conn->tls->async_handshake(ssl::stream_base::client, kAwait);
      if (hec || isStopping()) {
        out.error = ioError(hec, "TLS handshake with " + hostHeader, isStopping());
        release(std::move(conn), false);
        co_return nullptr;
      }
    }
    co_return conn;
  }

  template <class Stream>
  net::awaitable<bool> send(Stream& s, Connection& conn, const Prepared& p, Attempt& out) {
    http::request<http::string_body> req{p.method, p.target, 11};
    req.set(http::field::host, hostHeader);
    req.set(http::field::user_agent, options.userAgent);
    req.set(http::field::accept, "application/json");
    for (const auto& [k, v] : p.headers) req.insert(k, v);
    if (!p.body.empty() || p.method == http::verb::post || p.method == http::verb::put ||
        p.method == http::verb::patch) {
      req.set(http::field::content_type,
              p.contentType.empty() ? std::string("application/json") : p.contentType);
      req.body() = p.body;
    }
    req.keep_alive(true);
    req.prepare_payload();
    conn.lowest().expires_at(p.deadline);
    auto [ec, n] = co_await http::async_write(s, req, kAwait);
    if (ec) {
      out.reachedServer = n > 0;
      out.error = ioError(ec, "sending to " + hostHeader, isStopping());
      co_return false;
    }
    out.reachedServer = true;
    co_return true;
  }

  template <class Stream>
  net::awaitable<bool> readWhole(Stream& s, Connection& conn, Attempt& out) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxBodyBytes);
    auto [ec, n] = co_await http::async_read(s, conn.buffer, parser, kAwait);
    if (ec) {
      out.error = ioError(ec, "reading the response from " + hostHeader, isStopping());
      co_return false;
    }
    auto& res = parser.get();
    out.responded = true;
    out.response.status = static_cast<int>(res.result_int());
    out.response.contentType = std::string(res[http::field::content_type]);
    out.retryAfter = std::string(res[http::field::retry_after]);
    out.response.body = std::move(res.body());
    co_return res.keep_alive();
  }

  template <class Stream>
  net::awaitable<void> readStreamHead(Stream& s, std::shared_ptr<WatchState> ws, Attempt& out) {
    ws->parser = std::make_unique<http::response_parser<http::buffer_body>>();
    ws->parser->body_limit(boost::none);
    auto [ec, n] = co_await http::async_read_header(s, ws->conn->buffer, *ws->parser, kAwait);
    if (ec) {
      out.error = ioError(ec, "reading the watch response from " + hostHeader, isStopping());
      co_return;
    }
    auto& res = ws->parser->get();
    out.responded = true;
    out.response.status = static_cast<int>(res.result_int());
    out.response.contentType = std::string(res[http::field::content_type]);
    out.retryAfter = std::string(res[http::field::retry_after]);
    if (out.response.status == 200) {
      out.watch = ws;
      co_return;
    }
    // A refused watch: read its Status body.
    while (!ws->parser->is_done() && out.response.body.size() < kMaxErrorBodyBytes) {
      auto r = co_await readSome(s, *ws);
      if (r.error || r.end) {
        out.response.body += r.data;
        break;
      }
      out.response.body += r.data;
    }
  }

  // Reads body bytes of a stream as they arrive (at least one byte, or the end, or an
  // error).
  template <class Stream>
  net::awaitable<ReadResult> readSome(Stream& s, WatchState& ws) {
    ReadResult out;
    for (;;) {
      if (ws.parser->is_done()) {
        out.end = true;
        co_return out;
      }
      auto& body = ws.parser->get().body();
      body.data = ws.buf.data();
      body.size = ws.buf.size();
      auto [ec, n] = co_await http::async_read_some(s, ws.conn->buffer, *ws.parser, kAwait);
      size_t got = ws.buf.size() - ws.parser->get().body().size;
      if (ec == http::error::need_buffer) ec = {};
      if (got > 0) {
        out.data.assign(ws.buf.data(), got);
        ws.pendingError = ec;
        co_return out;
      }
      if (ec) {
        out.error = ec;
        co_return out;
      }
    }
  }

  net::awaitable<ReadResult> readWatch(std::shared_ptr<WatchState> ws) {
    if (ws->stopped || !ws->conn) {
      ReadResult r;
      r.error = net::error::operation_aborted;
      co_return r;
    }
    if (ws->pendingError) {
      ReadResult r;
      r.error = std::exchange(ws->pendingError, {});
      co_return r;
    }
    if (ws->conn->tls) co_return co_await readSome(*ws->conn->tls, *ws);
    co_return co_await readSome(*ws->conn->plain, *ws);
  }

  net::awaitable<Attempt> attempt(Prepared p) {
    Attempt out;
    auto conn = co_await connect(p, out);
    if (!conn) co_return out;
    bool sent = conn->tls ? co_await send(*conn->tls, *conn, p, out)
                          : co_await send(*conn->plain, *conn, p, out);
    if (!sent) {
      release(std::move(conn), false);
      co_return out;
    }
    if (p.stream) {
      auto ws = std::make_shared<WatchState>();
      Connection* raw = conn.get();
      ws->conn = std::move(conn);
      if (ws->conn->tls) {
        co_await readStreamHead(*raw->tls, ws, out);
      } else {
        co_await readStreamHead(*raw->plain, ws, out);
      }
      if (out.watch) {
        raw->lowest().expires_at(p.streamDeadline);
      } else {
        release(std::move(ws->conn), false);
      }
      co_return out;
    }
    bool keepAlive = conn->tls ? co_await readWhole(*conn->tls, *conn, out)
                               : co_await readWhole(*conn->plain, *conn, out);
    release(std::move(conn), out.responded && keepAlive);
    co_return out;
  }

  // ---- calling threads ----

  // Runs the coroutine on the I/O thread and waits for it; nullopt after shutdown.
  template <class T>
  std::optional<T> runSync(net::awaitable<T> coro) {
    auto promise = std::make_shared<std::promise<T>>();
    auto future = promise->get_future();
    {
      std::lock_guard lock(lifecycleMu);
      if (stopped) return std::nullopt;
      net::co_spawn(ioc, std::move(coro), [promise](std::exception_ptr e, T value) {
        if (e) {
          promise->set_exception(e);
        } else {
          promise->set_value(std::move(value));
        }
      });
    }
    try {
      return future.get();
    } catch (const std::exception& e) {
      spdlog::error("kube client: unexpected failure on the I/O thread: {}", e.what());
      return std::nullopt;
    }
  }

  // Waits, interruptibly by shutdown. Returns false when shut down.
  bool sleepFor(std::chrono::steady_clock::duration d) {
    std::unique_lock lock(lifecycleMu);
    sleepCv.wait_for(lock, d, [&] { return stopped; });
    return !stopped;
  }

  std::chrono::steady_clock::duration backoff(int retry) {
    auto base = std::chrono::duration<double, std::milli>(options.retryBaseDelay);
    double factor = std::pow(2.0, std::min(retry, 20));
    auto d =
        std::min(base * factor, std::chrono::duration<double, std::milli>(options.retryMaxDelay));
    double jitter;
    {
      std::lock_guard lock(rngMu);
      jitter = std::uniform_real_distribution<double>(0.0, 0.2)(rng);
    }
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(d * (1.0 + jitter));
  }

  struct CallInfo {
    std::string verb;      // Kubernetes verb, for metrics and messages
    std::string resource;  // group resource (+ "/subresource"), for metrics
    RequestInfo request;   // for decodeApiError
  };

  // The retry loop of client-go's request.request(): rate limit, credentials, one attempt,
  // then the retry decision.
  Result<Attempt> perform(Prepared p, const CallInfo& info) {
    bool reauthenticated = false;
    const std::string what = std::string(http::to_string(p.method)) + " " + p.target;
    // Read on the calling thread, which the caller marked (perform runs there, not on the
    // I/O thread).
    const bool urgent = UrgentRequestScope::active();
    for (int retry = 0;; ++retry) {
      if (limiter) {
        auto wait = urgent ? limiter->reserveUrgent() : limiter->reserve();
        if (wait == TokenBucketRateLimiter::Clock::Duration::max()) {
          return clientError(kReasonCancelled, what + ": the client rate limiter admits nothing");
        }
        if (wait > std::chrono::steady_clock::duration::zero() && !sleepFor(wait)) {
          return clientError(kReasonCancelled, "client shut down");
        }
      }
      auto creds = config.credentials();
      if (!creds) {
        auto e = clientError(kReasonCredentials, creds.error().toString());
        spdlog::warn("kube client: {}: no credentials: {}", what, e.message);
        return e;
      }
      Prepared attemptReq = p;
      if (https) {
        auto tls = tlsContext(*creds);
        if (!tls) return tls.error();
        attemptReq.ctx = *tls;
      }
      if (!creds->bearerToken.empty()) {
        attemptReq.headers.emplace_back("Authorization", "Bearer " + creds->bearerToken);
      } else if (!creds->username.empty()) {
        attemptReq.headers.emplace_back(
            "Authorization", "Basic " + base64Encode(creds->username + ":" + creds->password));
      }
      auto start = std::chrono::steady_clock::now();
      attemptReq.deadline = start + (p.stream ? options.watchGrace : options.requestTimeout);
      auto result = runSync(attempt(std::move(attemptReq)));
      if (!result) return clientError(kReasonCancelled, "client shut down");
      Attempt& a = *result;
      if (options.metrics) {
        options.metrics(RequestMetric{info.verb, info.resource, a.responded ? a.response.status : 0,
                                      std::chrono::steady_clock::now() - start});
      }
      bool canRetry = retry < options.maxRetries;
      if (!a.responded) {
        if (isCancelled(a.error)) return a.error;
        if (canRetry && (!a.reachedServer || isSafeMethod(p.method))) {
          spdlog::debug("kube client: {}: {}; retrying", what, a.error.message);
          if (!sleepFor(backoff(retry))) return clientError(kReasonCancelled, "client shut down");
          continue;
        }
        spdlog::warn("kube client: {}: {}", what, a.error.message);
        return a.error;
      }
      int status = a.response.status;
      if (status == 401 && !reauthenticated && (config.execProvider || config.tokenSource)) {
        // client-go's exec authenticator: a rejected credential is dropped and fetched
        // again, once.
        reauthenticated = true;
        if (config.execProvider) config.execProvider->invalidate();
        spdlog::info("kube client: {}: 401 Unauthorized; refreshing credentials", what);
        continue;
      }
      std::optional<int> retryAfter = parseRetryAfter(a.retryAfter);
      if (canRetry && status == 429) {
        auto wait = retryAfter
                        ? std::chrono::steady_clock::duration(std::chrono::seconds(*retryAfter))
                        : backoff(retry);
        spdlog::debug("kube client: {}: 429 Too Many Requests; retrying", what);
        if (!sleepFor(wait)) return clientError(kReasonCancelled, "client shut down");
        continue;
      }
      if (canRetry && status >= 500 && isSafeMethod(p.method)) {
        auto wait = retryAfter && *retryAfter > 0
                        ? std::chrono::steady_clock::duration(std::chrono::seconds(*retryAfter))
                        : backoff(retry);
        spdlog::debug("kube client: {}: {}; retrying", what, status);
        if (!sleepFor(wait)) return clientError(kReasonCancelled, "client shut down");
        continue;
      }
      if (status == 403) {
        bool first;
        {
          std::lock_guard lock(forbiddenMu);
          first = forbiddenLogged.emplace(info.verb, info.resource).second;
        }
        if (first) {
          spdlog::error(
              "forbidden: RBAC does not allow {} {} (HTTP 403: {}); grant this verb on this "
              "resource to the ServiceAccount (ClusterRole or Role). Logged once",
              info.verb, info.resource, firstLine(a.response.body));
        } else {
          spdlog::debug("kube client: {} {} ({}): HTTP 403", info.verb, info.resource, what);
        }
      } else if (status >= 500 || status == 401 || status == 429) {
        // One line per failed call, with what was refused.
        spdlog::warn("kube client: {} {} ({}): HTTP {}: {}", info.verb, info.resource, what, status,
                     firstLine(a.response.body));
      }
      return std::move(a);
    }
  }

  static std::string firstLine(const std::string& body) {
    auto doc = api::parseJson(body);
    if (doc && doc->IsObject()) {
      auto m = doc->FindMember("message");
      if (m != doc->MemberEnd() && m->value.IsString()) return m->value.GetString();
    }
    return body.substr(0, std::min<size_t>(body.size(), 200));
  }

  Prepared prepare(http::verb method, std::string target) {
    Prepared p;
    p.method = method;
    p.target = basePath + target;
    for (const auto& h : impersonationHeaders()) p.headers.push_back(h);
    return p;
  }

  std::vector<std::pair<std::string, std::string>> impersonationHeaders() const {
    std::vector<std::pair<std::string, std::string>> out;
    if (!config.impersonate.empty()) out.emplace_back("Impersonate-User", config.impersonate);
    if (!config.impersonateUid.empty()) out.emplace_back("Impersonate-Uid", config.impersonateUid);
    for (const auto& g : config.impersonateGroups) out.emplace_back("Impersonate-Group", g);
    for (const auto& [k, values] : config.impersonateUserExtra) {
      for (const auto& v : values) out.emplace_back("Impersonate-Extra-" + urlEncode(k), v);
    }
    return out;
  }

  // A decoded success body, or the ApiError of a failed one.
  Result<Object> objectResult(Attempt&& a, const CallInfo& info) {
    int status = a.response.status;
    if (status < 200 || status >= 300) {
      return decodeApiError(
          status, a.response.contentType, a.response.body,
          a.retryAfter.empty() ? std::nullopt : std::optional<std::string_view>(a.retryAfter),
          info.request);
    }
    auto doc = std::make_shared<rapidjson::Document>();
    doc->Parse(a.response.body.data(), a.response.body.size());
    if (doc->HasParseError() || !doc->IsObject()) {
      auto e = clientError(kReasonDecode,
                           info.verb + " " + info.resource + ": the response is not a JSON object");
      spdlog::warn("kube client: {}", e.message);
      return e;
    }
    return doc;
  }
};

// ---- the watch ----

namespace {

class HttpWatch final : public Watch {
 public:
  HttpWatch(std::shared_ptr<HttpClient::Impl> impl, std::shared_ptr<WatchState> state,
            std::string resource)
      : impl_(std::move(impl)), state_(std::move(state)), resource_(std::move(resource)) {}

  ~HttpWatch() override {
    stop();
    // The connection is closed and freed on the I/O thread, or here once that has ended.
    std::lock_guard lock(impl_->lifecycleMu);
    if (!impl_->stopped) {
      net::post(impl_->ioc, [impl = impl_, state = state_] {
        if (state->conn) impl->release(std::move(state->conn), false);
      });
    } else if (state_->conn) {
      impl_->active.erase(state_->conn.get());
      state_->conn->close();
      state_->conn.reset();
    }
  }

  Result<std::optional<WatchEvent>> next() override {
    for (;;) {
      if (final_) return *final_;
      if (auto text = splitter_.pop()) {
        auto ev = decodeWatchEvent(*text, resource_);
        if (!ev) return finish(ev.error());
        return std::optional<WatchEvent>(std::move(*ev));
      }
      if (state_->stopped) return finish(clientError(kReasonCancelled, "watch stopped"));
      auto r = impl_->runSync(impl_->readWatch(state_));
      if (!r) return finish(clientError(kReasonCancelled, "client shut down"));
      if (!r->data.empty()) {
        if (!splitter_.feed(r->data)) {
          return finish(
              clientError(kReasonDecode, "watch of " + resource_ + ": " + splitter_.error()));
        }
        continue;
      }
      if (state_->stopped) return finish(clientError(kReasonCancelled, "watch stopped"));
      if (r->end) {
        if (splitter_.partial()) {
          return finish(clientError(
              kReasonDecode, "watch of " + resource_ + ": the stream ended inside an event"));
        }
        return finish(std::optional<WatchEvent>());
      }
      if (splitter_.partial()) {
        return finish(clientError(kReasonDecode, "watch of " + resource_ +
                                                     ": the stream was cut inside an event (" +
                                                     r->error.message() + ")"));
      }
      return finish(
          HttpClient::Impl::ioError(r->error, "watch of " + resource_, impl_->isStopping()));
    }
  }

  void stop() override {
    if (state_->stopped.exchange(true)) return;
    std::lock_guard lock(impl_->lifecycleMu);
    if (impl_->stopped) return;
    net::post(impl_->ioc, [state = state_] {
      if (state->conn) state->conn->close();
    });
  }

 private:
  Result<std::optional<WatchEvent>> finish(Result<std::optional<WatchEvent>> r) {
    final_ = std::move(r);
    return *final_;
  }

  std::shared_ptr<HttpClient::Impl> impl_;
  std::shared_ptr<WatchState> state_;
  std::string resource_;
  JsonObjectSplitter splitter_;
  std::optional<Result<std::optional<WatchEvent>>> final_;
};

std::string resourceLabel(const GroupVersionResource& gvr, std::string_view subresource) {
  std::string r = gvr.groupResource();
  if (!subresource.empty()) r.append("/").append(subresource);
  return r;
}

std::string writeQuery(const WriteOptions& o) {
  std::string q;
  if (!o.fieldManager.empty()) q += "fieldManager=" + urlEncode(o.fieldManager);
  if (o.dryRun) q += std::string(q.empty() ? "" : "&") + "dryRun=All";
  return q.empty() ? q : "?" + q;
}

std::string_view objectNamespace(const rapidjson::Value& object, std::string_view ns) {
  if (!ns.empty()) return ns;
  return stringAt(object, "metadata.namespace");
}

}  // namespace

// ---- HttpClient ----

HttpClient::HttpClient(std::shared_ptr<Impl> impl) : shared_(std::move(impl)) {}

Result<std::unique_ptr<HttpClient>> HttpClient::create(RestConfig config,
                                                       HttpClientOptions options) {
  auto impl = std::make_shared<Impl>();
  auto url = boost::urls::parse_uri(config.host);
  if (!url) {
    return clientError(kReasonCredentials,
                       "server \"" + config.host + "\": not a URL: " + url.error().message());
  }
  std::string scheme(url->scheme());
  if (scheme != "https" && scheme != "http") {
    return clientError(kReasonCredentials,
                       "server \"" + config.host + "\": the scheme must be http or https");
  }
  impl->https = scheme == "https";
  impl->host = std::string(url->host_address());
  if (impl->host.empty()) {
    return clientError(kReasonCredentials, "server \"" + config.host + "\": no host");
  }
  impl->port = url->has_port() ? std::string(url->port()) : (impl->https ? "443" : "80");
  std::string hostForHeader =
      url->host_type() == boost::urls::host_type::ipv6 ? "[" + impl->host + "]" : impl->host;
  impl->hostHeader = hostForHeader + (url->has_port() ? ":" + impl->port : "");
  impl->basePath = std::string(url->encoded_path());
  while (!impl->basePath.empty() && impl->basePath.back() == '/') impl->basePath.pop_back();
  impl->tlsName = config.tlsServerName.empty() ? impl->host : config.tlsServerName;
  impl->config = std::move(config);
  impl->options = std::move(options);
  if (impl->options.qps > 0) {
    impl->limiter = std::make_unique<TokenBucketRateLimiter>(impl->options.qps,
                                                             std::max(1, impl->options.burst));
  }
  if (impl->https) {
    // Validate the CA and static client certificate now, not at the first request.
    RequestCredentials creds;
    creds.clientCertificatePem = impl->config.certData;
    creds.clientKeyPem = impl->config.keyData;
    auto ctx = impl->tlsContext(creds);
    if (!ctx) return ctx.error();
  }
  for (const auto& w : impl->config.warnings) spdlog::warn("kube client: {}", w);
  impl->thread = std::thread([raw = impl.get()] { raw->ioc.run(); });
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

HttpClient::~HttpClient() { shutdown(); }

void HttpClient::shutdown() {
  auto& impl = *shared_;
  {
    std::lock_guard lock(impl.lifecycleMu);
    if (impl.stopped) return;
    net::post(impl.ioc, [raw = shared_.get()] { raw->closeAll(); });
    impl.stopped = true;
  }
  impl.sleepCv.notify_all();
  impl.work.reset();
  if (impl.thread.joinable()) impl.thread.join();
}

const RestConfig& HttpClient::config() const { return shared_->config; }

size_t HttpClient::connectionsOpened() const { return shared_->opened.load(); }

Result<RawResponse> HttpClient::request(std::string_view method, std::string_view target,
                                        std::string_view contentType, std::string body) {
  auto verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) {
    return clientError(kReasonTransport, "unknown HTTP method " + std::string(method));
  }
  auto p = shared_->prepare(verb, std::string(target));
  p.contentType = std::string(contentType);
  p.body = std::move(body);
  Impl::CallInfo info{std::string(method), std::string(target), {}};
  auto a = shared_->perform(std::move(p), info);
  if (!a) return a.error();
  return std::move(a->response);
}

Result<Object> HttpClient::get(const GroupVersionResource& gvr, std::string_view ns,
                               std::string_view name, const GetOptions& options) {
  std::string target = gvr.objectPath(ns, name, options.subresource);
  if (!options.resourceVersion.empty()) {
    target += "?resourceVersion=" + urlEncode(options.resourceVersion);
  }
  Impl::CallInfo info{"get",
                      resourceLabel(gvr, options.subresource),
                      {"GET", gvr.group, gvr.resource, std::string(name)}};
  auto a = shared_->perform(shared_->prepare(http::verb::get, target), info);
  if (!a) return a.error();
  return shared_->objectResult(std::move(*a), info);
}

Result<ListPage> HttpClient::list(const GroupVersionResource& gvr, std::string_view ns,
                                  const ListOptions& options) {
  std::string target = gvr.collectionPath(ns);
  std::string q = listQuery(options, false);
  if (!q.empty()) target += "?" + q;
  Impl::CallInfo info{"list", resourceLabel(gvr, {}), {"GET", gvr.group, gvr.resource, ""}};
  auto a = shared_->perform(shared_->prepare(http::verb::get, target), info);
  if (!a) return a.error();
  auto obj = shared_->objectResult(std::move(*a), info);
  if (!obj) return obj.error();
  ListPage page;
  page.list = std::move(*obj);
  page.resourceVersion = std::string(stringAt(*page.list, "metadata.resourceVersion"));
  page.continueToken = std::string(stringAt(*page.list, "metadata.continue"));
  auto meta = page.list->FindMember("metadata");
  if (meta != page.list->MemberEnd() && meta->value.IsObject()) {
    auto rem = meta->value.FindMember("remainingItemCount");
    if (rem != meta->value.MemberEnd() && rem->value.IsInt64()) {
      page.remainingItemCount = rem->value.GetInt64();
    }
  }
  return page;
}

Result<Object> HttpClient::create(const GroupVersionResource& gvr, std::string_view ns,
                                  const rapidjson::Value& object, const WriteOptions& options) {
  std::string target = gvr.collectionPath(objectNamespace(object, ns)) + writeQuery(options);
  Impl::CallInfo info{
      "create",
      resourceLabel(gvr, {}),
      {"POST", gvr.group, gvr.resource, std::string(stringAt(object, "metadata.name"))}};
  auto p = shared_->prepare(http::verb::post, target);
  p.body = api::toJson(object);
  auto a = shared_->perform(std::move(p), info);
  if (!a) return a.error();
  return shared_->objectResult(std::move(*a), info);
}

Result<Object> HttpClient::update(const GroupVersionResource& gvr, std::string_view ns,
                                  const rapidjson::Value& object, const WriteOptions& options) {
  std::string name(stringAt(object, "metadata.name"));
  if (name.empty()) {
    return clientError(kReasonDecode,
                       "update of " + gvr.groupResource() + ": the object has no metadata.name");
  }
  std::string target =
      gvr.objectPath(objectNamespace(object, ns), name, options.subresource) + writeQuery(options);
  Impl::CallInfo info{
      "update", resourceLabel(gvr, options.subresource), {"PUT", gvr.group, gvr.resource, name}};
  auto p = shared_->prepare(http::verb::put, target);
  p.body = api::toJson(object);
  auto a = shared_->perform(std::move(p), info);
  if (!a) return a.error();
  return shared_->objectResult(std::move(*a), info);
}

Result<Object> HttpClient::patch(const GroupVersionResource& gvr, std::string_view ns,
                                 std::string_view name, PatchType type, std::string_view patch,
                                 const WriteOptions& options) {
  std::string target = gvr.objectPath(ns, name, options.subresource) + writeQuery(options);
  Impl::CallInfo info{"patch",
                      resourceLabel(gvr, options.subresource),
                      {"PATCH", gvr.group, gvr.resource, std::string(name)}};
  auto p = shared_->prepare(http::verb::patch, target);
  p.contentType = std::string(patchContentType(type));
  p.body = std::string(patch);
  auto a = shared_->perform(std::move(p), info);
  if (!a) return a.error();
  return shared_->objectResult(std::move(*a), info);
}

Result<void> HttpClient::remove(const GroupVersionResource& gvr, std::string_view ns,
                                std::string_view name, const DeleteOptions& options) {
  std::string target = gvr.objectPath(ns, name);
  if (options.dryRun) target += "?dryRun=All";
  rapidjson::Document body(rapidjson::kObjectType);
  auto& alloc = body.GetAllocator();
  body.AddMember("kind", "DeleteOptions", alloc);
  body.AddMember("apiVersion", "v1", alloc);
  const char* policy = nullptr;
  switch (options.propagationPolicy) {
    case PropagationPolicy::kDefault:
      break;
    case PropagationPolicy::kBackground:
      policy = "Background";
      break;
    case PropagationPolicy::kForeground:
      policy = "Foreground";
      break;
    case PropagationPolicy::kOrphan:
      policy = "Orphan";
      break;
  }
  if (policy) body.AddMember("propagationPolicy", rapidjson::StringRef(policy), alloc);
  if (options.gracePeriodSeconds) {
    body.AddMember("gracePeriodSeconds", *options.gracePeriodSeconds, alloc);
  }
  if (!options.preconditionUid.empty() || !options.preconditionResourceVersion.empty()) {
    rapidjson::Value pre(rapidjson::kObjectType);
    if (!options.preconditionUid.empty()) {
      pre.AddMember("uid", rapidjson::Value(options.preconditionUid.c_str(), alloc), alloc);
    }
    if (!options.preconditionResourceVersion.empty()) {
      pre.AddMember("resourceVersion",
                    rapidjson::Value(options.preconditionResourceVersion.c_str(), alloc), alloc);
    }
    body.AddMember("preconditions", pre, alloc);
  }
  Impl::CallInfo info{
      "delete", resourceLabel(gvr, {}), {"DELETE", gvr.group, gvr.resource, std::string(name)}};
  auto p = shared_->prepare(http::verb::delete_, target);
  p.body = api::toJson(body);
  auto a = shared_->perform(std::move(p), info);
  if (!a) return a.error();
  auto obj = shared_->objectResult(std::move(*a), info);
  if (!obj) return obj.error();
  return {};
}

Result<std::unique_ptr<Watch>> HttpClient::watch(const GroupVersionResource& gvr,
                                                 std::string_view ns, const ListOptions& options) {
  std::string target = gvr.collectionPath(ns) + "?" + listQuery(options, true);
  Impl::CallInfo info{"watch", resourceLabel(gvr, {}), {"GET", gvr.group, gvr.resource, ""}};
  auto p = shared_->prepare(http::verb::get, target);
  p.stream = true;
  if (options.timeoutSeconds > 0) {
    p.streamDeadline = std::chrono::steady_clock::now() +
                       std::chrono::seconds(options.timeoutSeconds) + shared_->options.watchGrace;
  }
  auto a = shared_->perform(std::move(p), info);
  if (!a) return a.error();
  if (!a->watch) {
    return decodeApiError(
        a->response.status, a->response.contentType, a->response.body,
        a->retryAfter.empty() ? std::nullopt : std::optional<std::string_view>(a->retryAfter),
        info.request);
  }
  return std::unique_ptr<Watch>(
      std::make_unique<HttpWatch>(shared_, std::move(a->watch), gvr.groupResource()));
}

}  // namespace canaryd::kube
