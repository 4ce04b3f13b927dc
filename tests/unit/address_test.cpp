#include "rpc/address.h"
#include "rpc/host_port.h"

#include <gtest/gtest.h>

namespace routing::rpc {
namespace {

TEST(Address, ParsesHostAndPort) {
  auto parsed = parse_host_port("127.0.0.1:7001");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->host, "127.0.0.1");
  EXPECT_EQ(parsed->port, 7001);
  parsed = parse_host_port("[::1]:80");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->host, "::1");
  EXPECT_TRUE(parse_host_port("localhost:0"));
  EXPECT_TRUE(parse_host_port("a.b-c.example:65535"));
}

TEST(Address, RejectsEverythingElse) {
  for (const char* bad : {"", ":", "host", "host:", ":80", "host:65536", "host:-1", "host:8x",
                          "::1:80", "[::1]", "[]:80", "a b:80", "host:123456", "http://h:80",
                          "h/x:80", "[::1:80"}) {
    EXPECT_FALSE(parse_host_port(bad)) << bad;
  }
}

TEST(Address, ReadsAListOfAddressesEachOnce) {
  std::string error;
  auto list = parse_address_list("127.0.0.1:1,[::1]:2,127.0.0.1:1,db.example:3", error);
  ASSERT_TRUE(list) << error;
  EXPECT_EQ(*list, (std::vector<std::string>{"127.0.0.1:1", "[::1]:2", "db.example:3"}));
  for (const char* bad : {"", ",", "127.0.0.1:1,", "127.0.0.1:1,,127.0.0.1:2", "127.0.0.1:0", "a:1,b"}) {
    EXPECT_FALSE(parse_address_list(bad, error)) << bad;
    EXPECT_NE(error.find("is not host:port"), std::string::npos) << bad << ": " << error;
  }
}

TEST(Address, ResolvesNumericAndLocalhost) {
  EXPECT_EQ(resolve_endpoint("127.0.0.1:9").port(), 9);
  EXPECT_TRUE(resolve_endpoint("localhost:9").address().is_loopback());
  EXPECT_THROW(resolve_endpoint("nonsense"), std::runtime_error);
}

TEST(Address, FormatsIpv6WithBrackets) {
  boost::asio::ip::tcp::endpoint v6(boost::asio::ip::make_address("::1"), 80);
  EXPECT_EQ(format_host_port(v6), "[::1]:80");
}

}  // namespace
}  // namespace routing::rpc
