#include "server.h"

#include <rapidjson/document.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <future>
#include <iostream>
#include <thread>

#include "kube/base64.h"
#include "tls.h"

namespace canaryd::emulator {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr auto kAwait = net::as_tuple(net::use_awaitable);

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; in a query '+' is a space (Go's url.QueryEscape).
std::string percentDecode(std::string_view s, bool plusIsSpace) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hexValue(s[i + 1]) >= 0 && hexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2]));
      i += 2;
    } else if (plusIsSpace && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

Request toRequest(const http::request<http::string_body>& req) {
  Request r;
  r.method = std::string(req.method_string());
  std::string_view target = req.target();
  auto q = target.find('?');
  r.path = percentDecode(target.substr(0, q), false);
  if (q != std::string_view::npos) {
    std::string_view query = target.substr(q + 1);
    while (!query.empty()) {
      auto amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      auto eq = pair.find('=');
      std::string key = percentDecode(pair.substr(0, eq), true);
      std::string value =
          eq == std::string_view::npos ? "" : percentDecode(pair.substr(eq + 1), true);
      if (!key.empty()) r.query.emplace(std::move(key), std::move(value));
      if (amp == std::string_view::npos) break;
      query = query.substr(amp + 1);
    }
  }
  r.contentType = std::string(req[http::field::content_type]);
  r.accept = std::string(req[http::field::accept]);
  r.userAgent = std::string(req[http::field::user_agent]);
  r.body = req.body();
  return r;
}

// metadata.name of a JSON object, "" when the text is not one or has no name.
std::string metadataName(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError() || !d.IsObject()) return "";
  auto m = d.FindMember("metadata");
  if (m == d.MemberEnd() || !m->value.IsObject()) return "";
  auto n = m->value.FindMember("name");
  if (n == m->value.MemberEnd() || !n->value.IsString()) return "";
  return {n->value.GetString(), n->value.GetStringLength()};
}

// What kube-apiserver's audit log and metrics would record for a request: verb, API group,
// resource, subresource, namespace and name. Paths outside /api and /apis keep the path
// as resource and the lower-case method as verb.
RequestInfo classify(const Request& r) {
  std::vector<std::string> seg;
  size_t i = 0;
  while (i < r.path.size()) {
    while (i < r.path.size() && r.path[i] == '/') ++i;
    if (i >= r.path.size()) break;
    size_t j = r.path.find('/', i);
    seg.push_back(r.path.substr(i, j == std::string::npos ? std::string::npos : j - i));
    if (j == std::string::npos) break;
    i = j;
  }
  std::string method = r.method;
  std::transform(method.begin(), method.end(), method.begin(), ::tolower);
  size_t base = 0;
  if (!seg.empty() && seg[0] == "api" && seg.size() > 2)
    base = 2;
  else if (!seg.empty() && seg[0] == "apis" && seg.size() > 3)
    base = 3;
  RequestInfo info;
  info.verb = method;
  info.resource = r.path;
  if (base == 0) return info;
  if (seg[0] == "apis") info.group = seg[1];
  bool watch = false;
  if (seg[base] == "watch") {
    watch = true;
    ++base;
  }
  std::vector<std::string> rest(seg.begin() + std::min(base, seg.size()), seg.end());
  if (rest.empty()) return info;
  std::string resource, name, sub;
  if (rest[0] == "namespaces" && rest.size() >= 3 &&
      !(rest.size() == 3 && (rest[2] == "status" || rest[2] == "finalize"))) {
    info.namespace_ = rest[1];
    resource = rest[2];
    if (rest.size() > 3) name = rest[3];
    if (rest.size() > 4) sub = rest[4];
  } else {
    resource = rest[0];
    if (rest.size() > 1) name = rest[1];
    if (rest.size() > 2) sub = rest[2];
  }
  if (queryFlag(r, "watch")) watch = true;
  std::string verb;
  if (r.method == "GET")
    verb = watch ? "watch" : name.empty() ? "list" : "get";
  else if (r.method == "POST")
    verb = "create";
  else if (r.method == "PUT")
    verb = "update";
  else if (r.method == "PATCH")
    verb = "patch";
  else if (r.method == "DELETE")
    verb = name.empty() ? "deletecollection" : "delete";
  else
    verb = method;
  info.verb = std::move(verb);
  info.resource = std::move(resource);
  info.subresource = std::move(sub);
  info.name = std::move(name);
  return info;
}

struct WatchState {
  explicit WatchState(const net::any_io_executor& ex) : timer(ex) {}
  net::steady_timer timer;
  bool closed = false;
};

}  // namespace

struct Emulator::Impl {
  explicit Impl(EmulatorOptions o)
      : options(std::move(o)),
        api(options.api),
        controllers(api, options.controllers),
        faults(options.faults) {
    token = options.token;
    if (options.tls) {
      tls = generateTlsMaterial();
      if (token.empty()) token = randomToken();
      ssl = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
      ssl->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                       net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                       net::ssl::context::no_tlsv1_1);
      ssl->use_certificate_chain(net::buffer(tls.serverCertPem));
      ssl->use_private_key(net::buffer(tls.serverKeyPem), net::ssl::context::pem);
    }
    api.store().setOnWrite([this](const StoreEvent& ev) {
      if (ev.storeKey == "apps/replicasets" || ev.storeKey == "apps/deployments" ||
          ev.storeKey == "/pods")
        controllers.markWorkloadsDirty();
      if (ev.type == EventType::kDeleted || metaValue(*ev.object, "deletionTimestamp") ||
          (ev.type == EventType::kAdded && metaValue(*ev.object, "ownerReferences")))
        controllers.markDirty();
      if (ev.type != EventType::kDeleted && metaValue(*ev.object, "deletionTimestamp")) {
        if (const auto* f = metaValue(*ev.object, "finalizers"); f && f->IsArray())
          for (const auto& s : f->GetArray())
            if (s == "foregroundDeletion")
              controllers.markForeground(ev.storeKey, objectKey(*ev.object));
      }
      controllerTimer.cancel();
    });
  }

  void bind() {
    tcp::endpoint ep(net::ip::make_address(options.address), options.port);
    acceptor.open(ep.protocol());
    acceptor.set_option(net::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen(net::socket_base::max_listen_connections);
    port = acceptor.local_endpoint().port();
    auto onError = [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::cerr << "kube-emulator: " << ex.what() << "\n";
      }
    };
    net::co_spawn(ioc, acceptLoop(), onError);
    net::co_spawn(ioc, controllerLoop(), onError);
    net::co_spawn(ioc, dropLoop(), onError);
  }

  net::awaitable<void> acceptLoop() {
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(kAwait);
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
        continue;
      }
      sock.set_option(tcp::no_delay(true));
      auto onError = [](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          std::cerr << "kube-emulator: session: " << ex.what() << "\n";
        }
      };
      if (ssl) {
        auto s = std::make_shared<beast::ssl_stream<beast::tcp_stream>>(std::move(sock), *ssl);
        net::co_spawn(ioc, tlsSession(s), onError);
      } else {
        auto s = std::make_shared<beast::tcp_stream>(std::move(sock));
        net::co_spawn(ioc, session(s), onError);
      }
    }
  }

  net::awaitable<void> tlsSession(std::shared_ptr<beast::ssl_stream<beast::tcp_stream>> s) {
    beast::get_lowest_layer(*s).expires_after(std::chrono::seconds(30));
    auto [ec] = co_await s->async_handshake(net::ssl::stream_base::server, kAwait);
    if (ec) co_return;
    co_await session(s);
  }

  net::awaitable<void> controllerLoop() {
    for (;;) {
      bool pending = controllers.runOnce();
      controllerTimer.expires_after(pending ? std::chrono::milliseconds(20)
                                            : std::chrono::seconds(1));
      auto [ec] = co_await controllerTimer.async_wait(kAwait);
      if (!acceptor.is_open()) co_return;
      if (ec == net::error::operation_aborted) {
        // Woken by a write: let a burst of writes settle into one pass.
        net::steady_timer settle(ioc, std::chrono::milliseconds(10));
        co_await settle.async_wait(kAwait);
      }
    }
  }

  net::awaitable<void> dropLoop() {
    for (;;) {
      auto every = faults.options().dropWatchesEvery;
      dropTimer.expires_after(every.count() > 0
                                  ? std::chrono::duration_cast<std::chrono::milliseconds>(every)
                                  : std::chrono::milliseconds(1000));
      auto [ec] = co_await dropTimer.async_wait(kAwait);
      if (!acceptor.is_open()) co_return;
      if (!ec && faults.options().dropWatchesEvery.count() > 0) api.store().dropAllWatches();
    }
  }

  template <class Stream>
  net::awaitable<void> session(std::shared_ptr<Stream> stream) {
    beast::flat_buffer buffer;
    for (;;) {
      beast::get_lowest_layer(*stream).expires_after(std::chrono::minutes(10));
      http::request_parser<http::string_body> parser;
      parser.body_limit(64 * 1024 * 1024);
      auto [ec, n] = co_await http::async_read(*stream, buffer, parser, kAwait);
      if (ec) break;
      auto req = parser.release();
      bool keepAlive = req.keep_alive();
      bool close = co_await serve(*stream, req);
      if (close || !keepAlive) break;
    }
    beast::error_code ignored;
    beast::get_lowest_layer(*stream).socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  Response admin(const Request& r) {
    Response res;
    auto bad = [](unsigned code, const std::string& msg) {
      Response e;
      e.status = code;
      e.body = "{\"error\":\"" + msg + "\"}";
      return e;
    };
    std::string p = r.path.substr(std::string("/_emulator/").size());
    if (p == "counters") {
      if (r.method == "GET")
        res.body = faults.countersJson();
      else if (r.method == "DELETE") {
        faults.resetCounters();
        res.body = "{}";
      } else
        return bad(405, "method not allowed");
    } else if (p == "requests") {
      if (r.method == "GET") {
        auto ua = r.query.find("userAgent");
        res.body = faults.requestLogJson(ua == r.query.end() ? "" : ua->second);
      } else if (r.method == "DELETE") {
        faults.clearRequestLog();
        res.body = "{}";
      } else {
        return bad(405, "method not allowed");
      }
    } else if (p == "faults") {
      if (r.method == "PUT" || r.method == "POST" || r.method == "PATCH") {
        std::string err;
        if (!faults.setFromJson(r.body, err)) return bad(400, err);
        dropTimer.cancel();
      } else if (r.method != "GET") {
        return bad(405, "method not allowed");
      }
      res.body = faults.optionsJson();
    } else if (p == "compact" && r.method == "POST") {
      api.store().compact();
      res.body =
          "{\"compactedThrough\":\"" + std::to_string(api.store().compactedThrough()) + "\"}";
    } else if (p == "drop-watches" && r.method == "POST") {
      size_t n = api.store().watchCount();
      api.store().dropAllWatches();
      res.body = "{\"dropped\":" + std::to_string(n) + "}";
    } else if (p == "stats" && r.method == "GET") {
      res.body = "{\"objects\":" + std::to_string(api.store().size()) +
                 ",\"watches\":" + std::to_string(api.store().watchCount()) +
                 ",\"resourceVersion\":\"" + std::to_string(api.store().resourceVersion()) + "\"}";
    } else {
      return bad(404, "no such admin endpoint");
    }
    return res;
  }

  template <class Stream>
  net::awaitable<void> write(Stream& s, unsigned version, bool keepAlive, const Response& r) {
    http::response<http::string_body> res{static_cast<http::status>(r.status), version};
    res.set(http::field::content_type, r.contentType);
    res.set(http::field::cache_control, "no-cache, private");
    for (const auto& [k, v] : r.headers) res.insert(k, v);
    res.keep_alive(keepAlive);
    res.body() = r.body;
    res.prepare_payload();
    co_await http::async_write(s, res, kAwait);
  }

  // Serves one request; returns true when the connection must close.
  template <class Stream>
  net::awaitable<bool> serve(Stream& s, http::request<http::string_body>& httpReq) {
    Request r = toRequest(httpReq);
    unsigned version = httpReq.version();
    bool keepAlive = httpReq.keep_alive();
    if (!token.empty()) {
      std::string_view auth = httpReq[http::field::authorization];
      if (auth != "Bearer " + token) {
        faults.record(classify(r), r.userAgent, 401);
        co_await write(s, version, keepAlive, errorResponse(unauthorized()));
        co_return false;
      }
    }
    if (r.path.rfind("/_emulator/", 0) == 0) {
      co_await write(s, version, keepAlive, admin(r));
      co_return false;
    }
    RequestInfo info = classify(r);
    if (options.logRequests) std::cerr << r.method << " " << httpReq.target() << "\n";
    if (faults.options().latency.count() > 0) {
      net::steady_timer t(ioc, faults.options().latency);
      co_await t.async_wait(kAwait);
    }
    if (auto code = faults.draw()) {
      ApiError e = *code == 429 ? tooManyRequests(faults.options().retryAfterSeconds)
                                : internalError("injected fault");
      faults.record(info, r.userAgent, *code);
      co_await write(s, version, keepAlive, errorResponse(e));
      co_return false;
    }
    Outcome out = api.handle(r);
    if (auto* res = std::get_if<Response>(&out)) {
      // A create names its object in the body, not the path: the name stored (generateName
      // resolved), or the one asked for when refused.
      if (info.verb == "create" && info.name.empty())
        info.name = metadataName(res->status < 300 ? res->body : r.body);
      faults.record(info, r.userAgent, res->status);
      co_await write(s, version, keepAlive, *res);
      co_return false;
    }
    faults.record(info, r.userAgent, 200);
    co_await streamWatch(s, version, std::get<WatchSpec>(out), r);
    co_return true;
  }

  template <class Stream>
  net::awaitable<void> streamWatch(Stream& s, unsigned version, const WatchSpec& spec,
                                   const Request& r) {
    auto& lowest = beast::get_lowest_layer(s);
    lowest.expires_never();
    http::response<http::empty_body> res{http::status::ok, version};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-cache, private");
    res.chunked(true);
    res.keep_alive(false);
    http::response_serializer<http::empty_body> sr{res};
    auto [hec, hn] = co_await http::async_write_header(s, sr, kAwait);
    if (hec) co_return;

    auto st = std::make_shared<WatchState>(co_await net::this_coro::executor);
    // A readable socket during a watch means the client went away (it sends nothing).
    lowest.socket().async_wait(tcp::socket::wait_read, [st](beast::error_code ec) {
      if (ec == net::error::operation_aborted) return;
      st->closed = true;
      st->timer.cancel();
    });
    WatchSink sink;
    sink.storeKey = spec.type->storeKey();
    sink.ns = spec.ns;
    sink.wake = [st] { st->timer.cancel(); };
    Store& store = api.store();
    store.addSink(&sink);
    struct Guard {
      Store& store;
      WatchSink* sink;
      ~Guard() { store.removeSink(sink); }
    } guard{store, &sink};

    auto writeChunk = [&](const std::string& data) -> net::awaitable<bool> {
      auto [ec, n] = co_await net::async_write(s, http::make_chunk(net::buffer(data)), kAwait);
      co_return !ec;
    };
    std::string out;
    bool sendInitialEvents = queryFlag(r, "sendInitialEvents");
    if (spec.initialEvents) {
      for (const auto& obj : store.list(spec.type->storeKey(), spec.ns))
        if (api.matches(spec, *obj)) out += api.renderEvent(spec, "ADDED", obj);
      if (sendInitialEvents && spec.bookmarks) {
        // The end of the initial events (KEP-3157 streaming lists).
        out += R"({"type":"BOOKMARK","object":{"kind":")" + spec.type->kind +
               R"(","apiVersion":")" + spec.type->apiVersion() +
               R"(","metadata":{"resourceVersion":")" + std::to_string(store.resourceVersion()) +
               R"(","annotations":{"k8s.io/initial-events-end":"true"}}}})" + "\n";
      }
    } else if (spec.fromResourceVersion < store.compactedThrough()) {
      // As the watch cache: a resourceVersion older than the history is 410 Gone, sent
      // as an ERROR event on a 200 stream.
      out = api.renderError(
          tooOldResourceVersion(spec.fromResourceVersion, store.compactedThrough() + 1));
      if (co_await writeChunk(out)) co_await net::async_write(s, http::make_chunk_last(), kAwait);
      lowest.socket().cancel();
      co_return;
    } else {
      store.replay(spec.type->storeKey(), spec.fromResourceVersion, [&](const StoreEvent& ev) {
        if (!spec.ns.empty() && ev.ns != spec.ns) return;
        if (auto f = api.filterEvent(spec, ev))
          out += api.renderEvent(spec, eventTypeName(f->type), f->object);
      });
    }
    if (!out.empty() && !(co_await writeChunk(out))) {
      lowest.socket().cancel();
      co_return;
    }
    auto now = std::chrono::steady_clock::now();
    auto timeout =
        spec.timeout.count() > 0
            ? std::chrono::duration_cast<std::chrono::steady_clock::duration>(spec.timeout)
            : std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                  options.defaultWatchTimeout);
    auto deadline = now + timeout;
    auto nextBookmark = now + options.bookmarkInterval;
    bool ok = true;
    while (ok && !st->closed && !sink.dropped) {
      out.clear();
      while (!sink.pending.empty()) {
        StoreEvent ev = std::move(sink.pending.front());
        sink.pending.pop_front();
        if (auto f = api.filterEvent(spec, ev))
          out += api.renderEvent(spec, eventTypeName(f->type), f->object);
      }
      if (!out.empty()) {
        ok = co_await writeChunk(out);
        continue;
      }
      now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      if (spec.bookmarks && now >= nextBookmark) {
        ok = co_await writeChunk(api.renderBookmark(spec, store.resourceVersion()));
        nextBookmark = now + options.bookmarkInterval;
        continue;
      }
      auto wakeAt = spec.bookmarks ? std::min(deadline, nextBookmark) : deadline;
      st->timer.expires_at(wakeAt);
      co_await st->timer.async_wait(kAwait);
    }
    if (sink.dropped) {
      // A dropped watch ends as a broken connection, without the last chunk.
      beast::error_code ignored;
      lowest.socket().shutdown(tcp::socket::shutdown_both, ignored);
      lowest.socket().close(ignored);
      co_return;
    }
    if (ok && !st->closed) co_await net::async_write(s, http::make_chunk_last(), kAwait);
    lowest.socket().cancel();
  }

  // Declared before the io_context: its destruction destroys suspended coroutines
  // (watches, sessions) whose destructors still use the store and the TLS context.
  EmulatorOptions options;
  ApiServer api;
  Controllers controllers;
  Faults faults;
  std::unique_ptr<net::ssl::context> ssl;
  TlsMaterial tls;
  std::string token;
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  net::steady_timer controllerTimer{ioc};
  net::steady_timer dropTimer{ioc};
  std::thread thread;
  unsigned short port = 0;
};

Emulator::Emulator(EmulatorOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Emulator::~Emulator() { stop(); }

void Emulator::start() {
  impl_->bind();
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

void Emulator::run() {
  impl_->bind();
  impl_->ioc.run();
}

void Emulator::stop() {
  if (!impl_) return;
  net::post(impl_->ioc, [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    impl_->controllerTimer.cancel();
    impl_->dropTimer.cancel();
    impl_->ioc.stop();
  });
  if (impl_->thread.joinable()) impl_->thread.join();
}

unsigned short Emulator::port() const { return impl_->port; }

std::string Emulator::url() const {
  return std::string(impl_->ssl ? "https" : "http") + "://127.0.0.1:" + std::to_string(impl_->port);
}

const std::string& Emulator::token() const { return impl_->token; }
const std::string& Emulator::caCertPem() const { return impl_->tls.caCertPem; }

std::string Emulator::kubeconfig() const {
  std::string s =
      "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-emulator\n  cluster:\n    server: " +
      url() + "\n";
  if (impl_->ssl)
    s += "    certificate-authority-data: " + kube::base64Encode(impl_->tls.caCertPem) + "\n";
  s += "contexts:\n- name: kube-emulator\n  context:\n    cluster: kube-emulator\n    user: "
       "kube-emulator\n"
       "    namespace: default\ncurrent-context: kube-emulator\nusers:\n- name: kube-emulator\n  "
       "user:";
  if (!impl_->token.empty())
    s += "\n    token: " + impl_->token + "\n";
  else
    s += " {}\n";
  s += "preferences: {}\n";
  return s;
}

void Emulator::invoke(const std::function<void(ApiServer&)>& fn) {
  std::promise<void> done;
  net::post(impl_->ioc, [&] {
    fn(impl_->api);
    done.set_value();
  });
  done.get_future().wait();
}

}  // namespace canaryd::emulator
