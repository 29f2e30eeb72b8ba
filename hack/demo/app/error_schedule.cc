#include "error_schedule.h"

#include <algorithm>
#include <cmath>

namespace canaryd::demo {

namespace {
constexpr uint64_t kMillion = 1'000'000;
}

ErrorSchedule::ErrorSchedule(double rate)
    // Integer parts-per-million so that 0.08 means 80 of every 1000 exactly, with no
    // binary floating-point drift in the floor() comparisons.
    : ratePpm_(static_cast<uint64_t>(std::llround(std::clamp(rate, 0.0, 1.0) * kMillion))) {}

bool ErrorSchedule::fails(uint64_t n, uint64_t ratePpm) {
  return (n + 1) * ratePpm / kMillion > n * ratePpm / kMillion;
}

bool ErrorSchedule::next() { return fails(next_++, ratePpm_); }

}  // namespace canaryd::demo
