// The config file's strict reading (app/settings.h): TOML `name = value`
// lines, each error naming the file and line.
#include "app/settings.h"

#include <gtest/gtest.h>

namespace routing::app {
namespace {

TEST(ConfigText, ReadsNameValueLinesWithTomlValues) {
  auto parsed = parse_config_text(
      "# comment\n\npool-size = 32\nrate-limit = 1_000.5 # per second\ndiscovery = \"rpc://h:1\"\n"
      "access-log = '/var/log/a b.log'\nverify-answers = false\n\"log-level\" = \"debug\"\r\n"
      "quote = \"a \\\"b\\\" \\\\ c\"",
      "f.toml");
  ASSERT_FALSE(parsed.error) << *parsed.error;
  ASSERT_EQ(parsed.entries.size(), 7u);
  EXPECT_EQ(parsed.entries[0].name, "pool-size");
  EXPECT_EQ(parsed.entries[0].value, "32");
  EXPECT_EQ(parsed.entries[0].line, 3);
  EXPECT_EQ(parsed.entries[1].value, "1000.5");
  EXPECT_EQ(parsed.entries[2].value, "rpc://h:1");
  EXPECT_EQ(parsed.entries[3].value, "/var/log/a b.log");
  EXPECT_EQ(parsed.entries[4].value, "false");
  EXPECT_EQ(parsed.entries[5].name, "log-level");
  EXPECT_EQ(parsed.entries[6].value, "a \"b\" \\ c");
  EXPECT_EQ(parsed.entries[6].line, 9);
}

TEST(ConfigText, SkipsAByteOrderMark) {
  auto parsed = parse_config_text("\xEF\xBB\xBFpool-size = 0\n", "f");
  ASSERT_FALSE(parsed.error) << *parsed.error;
  ASSERT_EQ(parsed.entries.size(), 1u);
  EXPECT_EQ(parsed.entries[0].name, "pool-size");
  EXPECT_EQ(parsed.entries[0].value, "0");
}

TEST(ConfigText, AnEmptyFileHasNoSettings) {
  EXPECT_TRUE(parse_config_text("", "f").entries.empty());
  EXPECT_FALSE(parse_config_text("\n# only a comment\n", "f").error);
}

TEST(ConfigText, NamesTheFileAndLineOfWhatIsNotASetting) {
  struct Case {
    std::string_view text;
    const char* error;
  };
  for (const auto& c : std::vector<Case>{
           {"a = 1\nnot toml at all\n", "f:2: not a setting: expected name = value, got 'not toml at all'"},
           {"a = \n", "f:1: no value after '='"},
           {"a = 1 2\n", "f:1: unexpected text after the value"},
           {"a = [1, 2]\n", "f:1: arrays and tables are not settings: write name = value"},
           {"[section]\n", "f:1: tables are not settings: write name = value lines at the top level"},
           {"a = \"\"\"x\"\"\"\n", "f:1: multi-line strings are not supported"},
           {"a = \"x\\q\"\n", "f:1: unsupported escape \\q in a string"},
           {"a = 'open\n", "f:1: a string without its closing quote"},
           {"a = yes\n", "f:1: 'yes' is not a TOML value (a string needs quotes)"},
           {"a = 010\n", "f:1: '010' is not a TOML value (a string needs quotes)"},  // not octal 8
           {"a = -0_10\n", "f:1: '-0_10' is not a TOML value (a string needs quotes)"},
           {"a = 1\na = 2\n", "f:2: 'a' is set twice (first on line 1)"},
           {std::string_view("a = 1\0", 6), "f:1: not a text file (a NUL byte)"}}) {
    auto parsed = parse_config_text(c.text, "f");
    ASSERT_TRUE(parsed.error) << c.text;
    EXPECT_EQ(*parsed.error, c.error);
    EXPECT_TRUE(parsed.entries.empty());
  }
}

}  // namespace
}  // namespace routing::app
