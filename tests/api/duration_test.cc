#include "api/duration.h"

#include <gtest/gtest.h>

namespace canaryd::api {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(ParseDuration, AcceptsGoForms) {
  struct Case {
    const char* text;
    Duration want;
  } cases[] = {
      {"0", Duration::zero()},
      {"0s", Duration::zero()},
      {"30s", seconds(30)},
      {"1m30s", seconds(90)},
      {"2h", hours(2)},
      {"1.5h", minutes(90)},
      {"300ms", milliseconds(300)},
      {"1h2m3s4ms", hours(1) + minutes(2) + seconds(3) + milliseconds(4)},
      {"+5s", seconds(5)},
      {"-5s", seconds(-5)},
      {".5s", milliseconds(500)},
      {"1.s", seconds(1)},
      {"1500us", milliseconds(1)},
      {"2000000ns", milliseconds(2)},
      {"1\xC2\xB5s", Duration::zero()},
  };
  for (const auto& c : cases) {
    auto d = parseDuration(c.text);
    ASSERT_TRUE(d.has_value()) << c.text;
    EXPECT_EQ(*d, c.want) << c.text;
  }
}

TEST(ParseDuration, RejectsOtherText) {
  for (const char* text : {"", "s", "30", "30 s", "1d", "2 minutes", "1h30", "..5s", "m5", "5s5",
                           "-", "1e3s", "99999999999999999h"}) {
    EXPECT_FALSE(parseDuration(text).has_value()) << text;
  }
}

TEST(FormatDuration, MatchesGoString) {
  EXPECT_EQ(formatDuration(Duration::zero()), "0s");
  EXPECT_EQ(formatDuration(milliseconds(300)), "300ms");
  EXPECT_EQ(formatDuration(seconds(30)), "30s");
  EXPECT_EQ(formatDuration(seconds(90)), "1m30s");
  EXPECT_EQ(formatDuration(hours(2)), "2h0m0s");
  EXPECT_EQ(formatDuration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(formatDuration(milliseconds(61001)), "1m1.001s");
  EXPECT_EQ(formatDuration(seconds(-5)), "-5s");
}

TEST(FormatDuration, RoundTrips) {
  for (auto d : {milliseconds(1), milliseconds(999), milliseconds(1000), milliseconds(123456789)}) {
    auto back = parseDuration(formatDuration(d));
    ASSERT_TRUE(back) << formatDuration(d);
    EXPECT_EQ(*back, d);
  }
}

TEST(Time, ParsesRfc3339) {
  auto t = parseTime("2026-11-21T23:21:14Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(formatTime(*t), "2026-11-21T23:21:14Z");
  auto offset = parseTime("2026-11-22T01:21:14.123456+02:00");
  ASSERT_TRUE(offset);
  EXPECT_EQ(*offset, *t);
  EXPECT_EQ(t->time_since_epoch().count(), 1795303274);
}

TEST(Time, RejectsMalformed) {
  for (const char* text : {"", "2026-11-21", "2026-11-21T23:21:14", "2026-13-01T00:00:00Z",
                           "2026-02-30T00:00:00Z", "2026-11-21T25:00:00Z", "2026-11-21T23:21:14Zx",
                           "2026-11-21T23:21:14.Z", "2026/11/21T23:21:14Z"}) {
    EXPECT_FALSE(parseTime(text).has_value()) << text;
  }
}

}  // namespace
}  // namespace canaryd::api
