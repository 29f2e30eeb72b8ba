#include "emulator_client.h"

#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <thread>

#include "api/json.h"

namespace canaryd::emulator::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

rapidjson::Document HttpResult::json() const {
  auto doc = api::parseJson(body);
  if (!doc) return rapidjson::Document(rapidjson::kNullType);
  return std::move(*doc);
}

namespace {

template <class Stream>
HttpResult exchange(Stream& stream, unsigned short port, const Call& call) {
  http::request<http::string_body> req{http::string_to_verb(call.method), call.target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  req.set(http::field::accept, call.accept);
  if (!call.token.empty()) req.set(http::field::authorization, "Bearer " + call.token);
  if (!call.userAgent.empty()) req.set(http::field::user_agent, call.userAgent);
  if (!call.body.empty() || call.method == "POST" || call.method == "PUT" ||
      call.method == "PATCH") {
    req.set(http::field::content_type, call.contentType);
    req.body() = call.body;
  }
  req.keep_alive(false);
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  HttpResult r;
  r.status = res.result_int();
  r.body = res.body();
  r.contentType = std::string(res[http::field::content_type]);
  r.retryAfter = std::string(res["Retry-After"]);
  for (auto it = res.find("Warning"); it != res.end() && it->name_string() == "Warning"; ++it)
    r.warnings.emplace_back(it->value());
  return r;
}

}  // namespace

HttpResult request(unsigned short port, const Call& call, const std::string& caPem) {
  net::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  if (caPem.empty()) return exchange(sock, port, call);
  net::ssl::context ctx(net::ssl::context::tls_client);
  ctx.add_certificate_authority(net::buffer(caPem));
  ctx.set_verify_mode(net::ssl::verify_peer);
  beast::ssl_stream<tcp::socket&> stream(sock, ctx);
  stream.set_verify_callback(net::ssl::host_name_verification("127.0.0.1"));
  stream.handshake(net::ssl::stream_base::client);
  return exchange(stream, port, call);
}

HttpResult get(unsigned short port, const std::string& target) {
  return request(port, Call{"GET", target});
}

HttpResult send(unsigned short port, const std::string& method, const std::string& target,
                const std::string& body, const std::string& contentType) {
  Call c{method, target, body, contentType};
  return request(port, c);
}

struct WatchStream::Impl {
  net::io_context ioc;
  tcp::socket sock{ioc};
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  std::string pending;
  std::vector<rapidjson::Document> events;
  bool eof = false;
  unsigned status = 0;
  // The parser keeps a reference to its chunk callback.
  std::function<std::uint64_t(std::uint64_t, std::string_view, beast::error_code&)> onChunk;

  void pump(std::chrono::steady_clock::time_point deadline, const std::function<bool()>& done) {
    while (!done() && !eof && std::chrono::steady_clock::now() < deadline) {
      beast::error_code ec;
      http::read_some(sock, buf, parser, ec);
      if (ec == beast::error_code(EAGAIN, beast::system_category()) ||
          ec == net::error::would_block || ec == net::error::try_again) {
        continue;
      }
      if (ec) {
        eof = true;
        break;
      }
      if (parser.is_done()) eof = true;
    }
  }
};

WatchStream::WatchStream(unsigned short port, const std::string& target)
    : impl_(std::make_unique<Impl>()) {
  auto& i = *impl_;
  i.sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  // Reads time out so that waitFor can honour its deadline.
  timeval tv{0, 100 * 1000};
  setsockopt(i.sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  http::request<http::string_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::accept, "application/json");
  http::write(i.sock, req);
  i.parser.body_limit(boost::none);
  i.onChunk = [this](std::uint64_t, std::string_view body, beast::error_code&) -> std::uint64_t {
    impl_->pending.append(body.data(), body.size());
    size_t nl;
    while ((nl = impl_->pending.find('\n')) != std::string::npos) {
      auto doc = api::parseJson(impl_->pending.substr(0, nl));
      impl_->pending.erase(0, nl + 1);
      if (doc) impl_->events.push_back(std::move(*doc));
    }
    return body.size();
  };
  i.parser.on_chunk_body(i.onChunk);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!i.parser.is_header_done() && std::chrono::steady_clock::now() < deadline) {
    beast::error_code ec;
    http::read_some(i.sock, i.buf, i.parser, ec);
    if (ec && ec != beast::error_code(EAGAIN, beast::system_category()) &&
        ec != net::error::would_block) {
      i.eof = true;
      break;
    }
  }
  if (i.parser.is_header_done()) i.status = i.parser.get().result_int();
}

WatchStream::~WatchStream() = default;

unsigned WatchStream::status() const { return impl_->status; }

const std::vector<rapidjson::Document>& WatchStream::waitFor(size_t count,
                                                             std::chrono::milliseconds deadline) {
  impl_->pump(std::chrono::steady_clock::now() + deadline,
              [&] { return impl_->events.size() >= count; });
  return impl_->events;
}

bool WatchStream::ended() const { return impl_->eof; }

bool WatchStream::waitForEnd(std::chrono::milliseconds deadline) {
  impl_->pump(std::chrono::steady_clock::now() + deadline, [] { return false; });
  return impl_->eof;
}

bool WatchStream::broken() const { return impl_->eof && !impl_->parser.is_done(); }

bool eventually(const std::function<bool()>& fn, std::chrono::milliseconds deadline) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (fn()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return fn();
}

namespace {
const rapidjson::Value* at(const rapidjson::Value& v, const char* path) {
  const rapidjson::Value* cur = &v;
  std::string p = path;
  size_t s = 0;
  while (true) {
    auto d = p.find('.', s);
    std::string part = p.substr(s, d == std::string::npos ? std::string::npos : d - s);
    if (cur->IsArray()) {
      size_t idx = std::stoul(part);
      if (idx >= cur->Size()) return nullptr;
      cur = &(*cur)[static_cast<rapidjson::SizeType>(idx)];
    } else if (cur->IsObject()) {
      auto it = cur->FindMember(part.c_str());
      if (it == cur->MemberEnd()) return nullptr;
      cur = &it->value;
    } else {
      return nullptr;
    }
    if (d == std::string::npos) return cur;
    s = d + 1;
  }
}
}  // namespace

std::string str(const rapidjson::Value& v, const char* path) {
  const auto* x = at(v, path);
  return x && x->IsString() ? x->GetString() : "";
}

long long num(const rapidjson::Value& v, const char* path) {
  const auto* x = at(v, path);
  return x && x->IsInt64() ? x->GetInt64() : -1;
}

}  // namespace canaryd::emulator::testing
