// The admin status page's server-side rendering and its policy
// (src/proxy/status_page.h). The browser's own rendering is checked in
// tests/browser/status_page_browser_test.cpp.
#include "proxy/status_page.h"

#include <gtest/gtest.h>

#include <regex>

namespace routing::proxy {
namespace {

const char* evil_name = "<img src=x onerror=alert(1)>";

std::string status_with(const std::string& system_json) {
  return R"({"draining":false,"client_connections":2,"systems_total":1,"unknown_names":0,"systems":[)" +
         system_json + "]}";
}

TEST(StatusPage, ShowsStringsFromTheStatusAsTextNeverAsMarkup) {
  std::string page = render_status_page(
      status_with(R"({"name":"<img src=x onerror=alert(1)>","strategy":"</dd><script>x()</script>","backends":[)"
                  R"({"address":"\"><b>bold</b>","zone":"'&'","calls":{"0":1}}]})"),
      "N");
  EXPECT_NE(page.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos) << page;
  EXPECT_EQ(page.find(evil_name), std::string::npos);
  EXPECT_EQ(page.find("<img"), std::string::npos);
  EXPECT_EQ(page.find("<script>x()"), std::string::npos);
  EXPECT_NE(page.find("&lt;/dd&gt;&lt;script&gt;x()&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(page.find("&quot;&gt;&lt;b&gt;bold&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(page.find("&#39;&amp;&#39;"), std::string::npos);
}

TEST(StatusPage, ShowsEachBackendsHealthZoneLatencyCallsAndPoolUse) {
  std::string page = render_status_page(status_with(R"({"name":"echo","strategy":"round-robin","pool_size":10,
      "max_pending":1000,"in_flight":2,"waiting":3,"open_connections":4,"calls":{"0":7,"8":2},
      "latency":{"count":9,"mean_ms":0.41,"p50_le_ms":0.5,"p99_le_ms":2.5},"backends":[
      {"address":"127.0.0.1:7001","healthy":true,"ejected":false,"resolved":true,"idle_connections":1,
       "active_connections":2,"in_flight":2,"calls":{"0":5},"latency":{"count":5,"mean_ms":0.3,"p50_le_ms":0.5,"p99_le_ms":-1000}},
      {"address":"127.0.0.1:7002","healthy":true,"ejected":true,"consecutive_failures":5,"calls":{"0":2,"14":5},"zone":"eu-west-1a"},
      {"address":"127.0.0.1:7003","healthy":false,"ejected":false}]})"),
                                        "N");
  EXPECT_NE(page.find("<h2>echo</h2>"), std::string::npos) << page;
  EXPECT_NE(page.find("<dd>round-robin</dd>"), std::string::npos);
  EXPECT_NE(page.find("<dt>pool in use</dt><dd>2 of 10</dd>"), std::string::npos);
  EXPECT_NE(page.find("<dt>queued</dt><dd>3 of 1000</dd>"), std::string::npos);
  EXPECT_NE(page.find("<dt>refused (8)</dt><dd>2</dd>"), std::string::npos);
  EXPECT_NE(page.find("<td>127.0.0.1:7001</td><td class=\"ok\">healthy</td><td>\u2014</td>"
                      "<td>0.30 / \u22640.50 / \u2264\u221e ms</td><td>5</td><td>0</td><td>2</td><td>1 / 2</td>"),
            std::string::npos);
  EXPECT_NE(page.find("<td>127.0.0.1:7002</td><td class=\"bad\">ejected (5 failures in a row)</td><td>eu-west-1a</td>"),
            std::string::npos);
  EXPECT_NE(page.find("<td class=\"warn\">5 (14: 5)</td>"), std::string::npos);
  EXPECT_NE(page.find("<td class=\"bad\">failing health checks</td>"), std::string::npos);
  EXPECT_NE(page.find("<dt>uptime</dt><dd>\u2014</dd>"), std::string::npos);  // not in the STATUS JSON yet
}

TEST(StatusPage, ShowsUptimeOnceTheStatusHasIt) {
  std::string page = render_status_page(R"({"uptime_seconds":3725,"systems":[]})", "N");
  EXPECT_NE(page.find("<dt>uptime</dt><dd>1h 2m</dd>"), std::string::npos) << page;
}

TEST(StatusPage, SaysSoWhenTheStatusCannotBeRead) {
  std::string page = render_status_page("not json <b>", "N");
  EXPECT_NE(page.find("<p class=\"error\">cannot read the status"), std::string::npos) << page;
  EXPECT_EQ(page.find("<b>"), std::string::npos);
}

TEST(StatusPage, AllowsOnlyItsOwnStyleAndScriptAndLoadsNothingExternal) {
  HtmlPage first = status_page(status_with(R"({"name":"echo","backends":[]})"));
  HtmlPage second = status_page(status_with(R"({"name":"echo","backends":[]})"));
  std::smatch match;
  ASSERT_TRUE(std::regex_search(first.content_security_policy, match, std::regex("script-src 'nonce-([A-Za-z0-9+/=]{24})'")))
      << first.content_security_policy;
  const std::string nonce = match[1];
  EXPECT_NE(first.body.find("<script nonce=\"" + nonce + "\">"), std::string::npos);
  EXPECT_NE(first.body.find("<style nonce=\"" + nonce + "\">"), std::string::npos);
  EXPECT_EQ(second.content_security_policy.find(nonce), std::string::npos);  // fresh per response
  for (const char* part : {"default-src 'none'", "style-src 'nonce-", "connect-src 'self'", "base-uri 'none'"})
    EXPECT_NE(first.content_security_policy.find(part), std::string::npos) << part;
  EXPECT_EQ(first.content_security_policy.find("unsafe"), std::string::npos);
  for (const char* external : {"http://", "https://", "\"//", "'//", "<link", "src=", "@import", "url("})
    EXPECT_EQ(first.body.find(external), std::string::npos) << external;
  EXPECT_EQ(first.body.find("innerHTML"), std::string::npos);  // the script only ever inserts text
  EXPECT_NE(first.body.find("fetch(\"/status\""), std::string::npos);
  EXPECT_NE(first.body.find("<noscript><meta http-equiv=\"refresh\" content=\"5\"></noscript>"), std::string::npos);
}

}  // namespace
}  // namespace routing::proxy
