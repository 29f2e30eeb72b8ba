#include "server/bind_address.h"

#include <gtest/gtest.h>

namespace canaryd::server {
namespace {

BindAddress parsed(std::string_view value) {
  auto r = parseBindAddress(value);
  EXPECT_TRUE(r.has_value()) << value << ": " << (r ? "" : r.error());
  EXPECT_TRUE(r && r->has_value()) << value;
  return r && *r ? **r : BindAddress{};
}

TEST(BindAddressTest, ZeroDisables) {
  auto r = parseBindAddress("0");
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->has_value());
}

TEST(BindAddressTest, Forms) {
  EXPECT_EQ(parsed(":8080"), (BindAddress{"0.0.0.0", 8080}));
  EXPECT_EQ(parsed("127.0.0.1:0"), (BindAddress{"127.0.0.1", 0}));
  EXPECT_EQ(parsed("localhost:9090"), (BindAddress{"127.0.0.1", 9090}));
  EXPECT_EQ(parsed("[::1]:8090"), (BindAddress{"::1", 8090}));
  EXPECT_EQ(parsed("10.1.2.3:65535"), (BindAddress{"10.1.2.3", 65535}));
}

TEST(BindAddressTest, ToString) {
  EXPECT_EQ(toString(BindAddress{"127.0.0.1", 8080}), "127.0.0.1:8080");
  EXPECT_EQ(toString(BindAddress{"::1", 8080}), "[::1]:8080");
}

TEST(BindAddressTest, BadValuesNameTheValueAndTheProblem) {
  struct Case {
    std::string value, message;
  };
  for (const auto& c : std::vector<Case>{
           {"8080", "expected host:port, :port, or 0 to disable"},
           {"", "expected host:port"},
           {":", "the port must be a number"},
           {":http", "the port must be a number"},
           {":65536", "the port must be a number from 0 to 65535"},
           {":-1", "the port must be a number"},
           {"example.com:80", "the host must be an IP address or localhost"},
           {"1.2.3:80", "the host must be an IP address"},
           {"::1:80", "an IPv6 host must be in brackets"},
       }) {
    auto r = parseBindAddress(c.value);
    ASSERT_FALSE(r.has_value()) << c.value;
    EXPECT_NE(r.error().find("\"" + c.value + "\""), std::string::npos) << r.error();
    EXPECT_NE(r.error().find(c.message), std::string::npos) << c.value << ": " << r.error();
  }
}

}  // namespace
}  // namespace canaryd::server
