// Test helpers: a blocking HTTP client for the in-process kube-emulator (one connection
// per call), a watch stream reader that collects newline-delimited JSON events with a
// deadline, and a poll-until helper. For tests only; not synchronised.
#pragma once

#include <rapidjson/document.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace canaryd::emulator::testing {

struct HttpResult {
  unsigned status = 0;
  std::string body;
  std::string contentType;
  std::string retryAfter;
  std::vector<std::string> warnings;
  rapidjson::Document json() const;
};

struct Call {
  std::string method = "GET";
  std::string target;
  std::string body;
  std::string contentType = "application/json";
  std::string accept = "application/json";
  std::string token;
  std::string userAgent;  // sent when not empty
};

// Sends one request to 127.0.0.1:port (TLS when caPem is non-empty, verifying it).
HttpResult request(unsigned short port, const Call& call, const std::string& caPem = {});
HttpResult get(unsigned short port, const std::string& target);
HttpResult send(unsigned short port, const std::string& method, const std::string& target,
                const std::string& body, const std::string& contentType = "application/json");

// A watch: GET target, then events read as they arrive.
class WatchStream {
 public:
  WatchStream(unsigned short port, const std::string& target);
  ~WatchStream();
  unsigned status() const;
  // Reads until `count` events have arrived in total or the deadline passes; returns
  // every event so far (each {"type":..., "object":...}).
  const std::vector<rapidjson::Document>& waitFor(
      size_t count, std::chrono::milliseconds deadline = std::chrono::seconds(10));
  // True once the server ended the stream (last chunk, or the connection closed).
  bool ended() const;
  // Reads until the stream ends or the deadline passes; returns ended().
  bool waitForEnd(std::chrono::milliseconds deadline = std::chrono::seconds(10));
  // True when the stream ended without its last chunk (the connection broke).
  bool broken() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Polls fn every 10 ms until it returns true or the deadline passes.
bool eventually(const std::function<bool()>& fn,
                std::chrono::milliseconds deadline = std::chrono::seconds(10));

std::string str(const rapidjson::Value& v, const char* path);  // dotted path, "" if absent
long long num(const rapidjson::Value& v, const char* path);    // dotted path, -1 if absent

}  // namespace canaryd::emulator::testing
