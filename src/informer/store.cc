#include "informer/store.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace canaryd::informer {

std::string metaNamespaceKey(std::string_view ns, std::string_view name) {
  if (ns.empty()) return std::string(name);
  std::string key;
  key.reserve(ns.size() + 1 + name.size());
  key.append(ns).append("/").append(name);
  return key;
}

StoreResult<std::pair<std::string, std::string>> splitMetaNamespaceKey(std::string_view key) {
  auto slashes = std::count(key.begin(), key.end(), '/');
  std::pair<std::string, std::string> parts;
  if (slashes == 0) {
    parts.second = key;
  } else if (slashes == 1) {
    auto slash = key.find('/');
    parts.first = key.substr(0, slash);
    parts.second = key.substr(slash + 1);
  } else {
    return StoreError::of("unexpected key format: \"" + std::string(key) + "\"");
  }
  return parts;
}

bool resourceVersionNewer(std::string_view stored, std::string_view candidate) {
  auto parse = [](std::string_view rv, uint64_t& out) {
    if (rv.empty()) return false;
    auto [end, ec] = std::from_chars(rv.data(), rv.data() + rv.size(), out);
    return ec == std::errc() && end == rv.data() + rv.size();
  };
  uint64_t a = 0, b = 0;
  return parse(stored, a) && parse(candidate, b) && b > a;
}

}  // namespace canaryd::informer
