// ErrorSchedule: decides which requests of a stream fail so that exactly the configured
// fraction fails, spread evenly and deterministically (no randomness). Not thread-safe:
// callers serialize next() (the demo server runs on one io_context thread).
#pragma once

#include <cstdint>

namespace canaryd::demo {

class ErrorSchedule {
 public:
  // rate: the fraction of requests to fail, 0..1, kept to one part per million.
  explicit ErrorSchedule(double rate);

  // Whether request n (0-based, in arrival order) fails: when
  // floor((n + 1) * rate) > floor(n * rate), so that the first N requests contain
  // exactly floor(N * rate) failures for every N.
  static bool fails(uint64_t n, uint64_t ratePpm);

  // Decides the next request and advances the counter.
  bool next();

  uint64_t ratePpm() const { return ratePpm_; }

 private:
  uint64_t ratePpm_;
  uint64_t next_ = 0;
};

}  // namespace canaryd::demo
