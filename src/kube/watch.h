// Watch streams (GET ...?watch=1): the Watch interface the reflector reads events from,
// the event types of k8s.io/apimachinery/pkg/watch, and the incremental decoder that
// turns the chunked JSON body into events as bytes arrive, without buffering the stream.
// A Watch is read by one thread; stop() may be called from any thread.
// JsonObjectSplitter and decodeWatchEvent are pure and not synchronised.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "kube/client.h"

namespace canaryd::kube {

// watch.EventType. kError carries a metav1.Status.
enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };
std::string_view watchEventTypeName(WatchEventType type);

struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  // The object (for kDeleted its last state; for kBookmark only kind, apiVersion and
  // metadata.resourceVersion). Owned by the reader.
  Object object;
  // The object's metadata.resourceVersion ("" when absent).
  std::string resourceVersion;
};

// A watch in progress.
class Watch {
 public:
  virtual ~Watch() = default;

  // Blocks until the next event. Returns:
  // * an ADDED, MODIFIED, DELETED or BOOKMARK event;
  // * nullopt when the server ended the stream cleanly (timeoutSeconds passed, or the
  //   server closed it at an event boundary): the caller watches again from the last
  //   resourceVersion it saw;
  // * an ApiError: an ERROR event's Status (a Status with code 410 satisfies isGone, and
  //   isResourceExpired when its reason is Expired), a stream cut in the middle of an
  //   event or a malformed or unknown event (isDecodeError), a broken connection
  //   (isTransportError), or stop() (isCancelled). After an error or nullopt the watch is
  //   over: later calls return the same.
  virtual Result<std::optional<WatchEvent>> next() = 0;

  // Ends the watch: a blocked next() returns isCancelled at once. Thread-safe; idempotent.
  virtual void stop() = 0;
};

// Splits a byte stream into top-level JSON objects, as a watch body carries them: one
// after another, separated by optional white space (newlines in practice). Tracks nesting
// and strings (with escapes), so an object may arrive split across any number of feeds.
// It finds boundaries only; RapidJSON validates each object afterwards.
class JsonObjectSplitter {
 public:
  // Bytes of one value larger than this make the stream malformed (a runaway value).
  explicit JsonObjectSplitter(size_t maxValueBytes = 64u << 20) : maxValueBytes_(maxValueBytes) {}

  // Appends bytes. Returns false (and stays failed) on a top-level character other than
  // white space or '{', or on an object over the size bound; error() says why.
  bool feed(std::string_view bytes);
  // The next complete value's text, if any; removes it.
  std::optional<std::string> pop();
  // True when a value has started and not ended (the stream was cut mid-object if it ends
  // now).
  bool partial() const { return depth_ > 0 || inValue_; }
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  std::string buffer_;  // bytes of the value in progress
  std::deque<std::string> ready_;
  size_t maxValueBytes_;
  int depth_ = 0;
  bool inValue_ = false;
  bool inString_ = false;
  bool escape_ = false;
  std::string error_;
};

// Decodes one watch event ({"type": ..., "object": {...}}). ERROR events become the
// ApiError of their Status; anything else malformed, or an unknown type, is a
// decode error naming what was wrong. `resource` names the watched resource in messages.
Result<WatchEvent> decodeWatchEvent(std::string_view text, std::string_view resource = {});

// A watch or list from a resourceVersion the server no longer has: 410 Gone, or reason
// Expired (kube-apiserver's "too old resource version"); the reflector relists
// (client-go's isExpiredError: apierrors.IsResourceExpired || apierrors.IsGone).
inline bool isTooOldResourceVersion(const ApiError& e) { return isGone(e) || isResourceExpired(e); }

// The timeoutSeconds a reflector asks for: client-go's minWatchTimeout (5 min) times a
// random factor in [1, 2), so that watches of many clients do not end together.
int64_t randomWatchTimeoutSeconds(std::mt19937_64& rng,
                                  std::chrono::seconds minWatchTimeout = std::chrono::minutes(5));

}  // namespace canaryd::kube
