#include "kube/base64.h"

#include <gtest/gtest.h>

namespace canaryd::kube {
namespace {

TEST(Base64Test, Decode) {
  struct Case {
    std::string in;
    std::optional<std::string> out;
  };
  const Case cases[] = {
      {"", ""},
      {"Zg==", "f"},
      {"Zm8=", "fo"},
      {"Zm9v", "foo"},
      {"Zm9vYmFy", "foobar"},
      {"Zm9v\nYmFy\n", "foobar"},  // line breaks are ignored, as in Go
      {"Zm9", std::nullopt},       // not a whole quantum
      {"Zm9v!!!!", std::nullopt},  // outside the alphabet
      {"Zg==Zm9v", std::nullopt},  // padding in the middle
      {"Zm 9v", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(base64Decode(c.in), c.out) << c.in;
}

TEST(Base64Test, RoundTripsBinary) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  EXPECT_EQ(base64Decode(base64Encode(bytes)), bytes);
  EXPECT_EQ(base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode(""), "");
}

}  // namespace
}  // namespace canaryd::kube
