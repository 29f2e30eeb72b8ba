#include "kube/watch.h"

#include "api/json.h"

namespace canaryd::kube {

std::string_view watchEventTypeName(WatchEventType type) {
  switch (type) {
    case WatchEventType::kAdded:
      return "ADDED";
    case WatchEventType::kModified:
      return "MODIFIED";
    case WatchEventType::kDeleted:
      return "DELETED";
    case WatchEventType::kBookmark:
      return "BOOKMARK";
    case WatchEventType::kError:
      return "ERROR";
  }
  return "ERROR";
}

bool JsonObjectSplitter::feed(std::string_view bytes) {
  if (failed()) return false;
  size_t i = 0;
  const size_t n = bytes.size();
  while (i < n) {
    if (depth_ == 0) {
      // Between objects: only white space, then '{'.
      char c = bytes[i];
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
        ++i;
        continue;
      }
      if (c != '{') {
        error_ = std::string("unexpected character '") + c + "' between watch events";
        return false;
      }
      inValue_ = true;
    }
    // Inside an object: scan to its end or the end of the input.
    size_t start = i;
    bool done = false;
    for (; i < n; ++i) {
      char c = bytes[i];
      if (inString_) {
        if (escape_) {
          escape_ = false;
        } else if (c == '\\') {
          escape_ = true;
        } else if (c == '"') {
          inString_ = false;
        }
        continue;
      }
      if (c == '"') {
        inString_ = true;
      } else if (c == '{' || c == '[') {
        ++depth_;
      } else if (c == '}' || c == ']') {
        if (--depth_ == 0) {
          ++i;
          done = true;
          break;
        }
      }
    }
    buffer_.append(bytes.data() + start, i - start);
    if (buffer_.size() > maxValueBytes_) {
      error_ = "watch event larger than " + std::to_string(maxValueBytes_) + " bytes";
      return false;
    }
    if (done) {
      inValue_ = false;
      ready_.push_back(std::move(buffer_));
      buffer_.clear();
    }
  }
  return true;
}

std::optional<std::string> JsonObjectSplitter::pop() {
  if (ready_.empty()) return std::nullopt;
  std::string out = std::move(ready_.front());
  ready_.pop_front();
  return out;
}

namespace {

ApiError decodeError(std::string_view resource, std::string message) {
  std::string prefix = "watch";
  if (!resource.empty()) prefix.append(" of ").append(resource);
  return clientError(kReasonDecode, prefix + ": " + message);
}

std::string snippet(std::string_view text) {
  constexpr size_t kMax = 200;
  if (text.size() <= kMax) return std::string(text);
  return std::string(text.substr(0, kMax)) + "...";
}

}  // namespace

Result<WatchEvent> decodeWatchEvent(std::string_view text, std::string_view resource) {
  auto doc = std::make_shared<rapidjson::Document>();
  doc->Parse(text.data(), text.size());
  if (doc->HasParseError() || !doc->IsObject()) {
    return decodeError(resource, "malformed event: " + snippet(text));
  }
  auto type = doc->FindMember("type");
  auto object = doc->FindMember("object");
  if (type == doc->MemberEnd() || !type->value.IsString()) {
    return decodeError(resource, "event without a type: " + snippet(text));
  }
  if (object == doc->MemberEnd() || !object->value.IsObject()) {
    return decodeError(resource, "event without an object: " + snippet(text));
  }
  std::string_view typeName(type->value.GetString(), type->value.GetStringLength());
  WatchEvent ev;
  if (typeName == "ADDED") {
    ev.type = WatchEventType::kAdded;
  } else if (typeName == "MODIFIED") {
    ev.type = WatchEventType::kModified;
  } else if (typeName == "DELETED") {
    ev.type = WatchEventType::kDeleted;
  } else if (typeName == "BOOKMARK") {
    ev.type = WatchEventType::kBookmark;
  } else if (typeName == "ERROR") {
    std::string status = api::toJson(object->value);
    return decodeApiError(500, "application/json", status, std::nullopt);
  } else {
    return decodeError(resource, "unknown event type \"" + std::string(typeName) + "\"");
  }
  // Move the object out into its own document, sharing the parsed allocator.
  auto out = std::make_shared<rapidjson::Document>();
  out->Swap(*doc);
  rapidjson::Value obj;
  obj.Swap((*out)["object"]);
  static_cast<rapidjson::Value&>(*out).Swap(obj);
  ev.object = std::move(out);
  ev.resourceVersion = std::string(stringAt(*ev.object, "metadata.resourceVersion"));
  return ev;
}

int64_t randomWatchTimeoutSeconds(std::mt19937_64& rng, std::chrono::seconds minWatchTimeout) {
  std::uniform_real_distribution<double> factor(0.0, 1.0);
  return static_cast<int64_t>(static_cast<double>(minWatchTimeout.count()) * (1.0 + factor(rng)));
}

}  // namespace canaryd::kube
