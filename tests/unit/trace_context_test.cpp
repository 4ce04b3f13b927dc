#include "common/trace_context.h"

#include <gtest/gtest.h>

namespace routing::common {
namespace {

constexpr std::string_view valid = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

TEST(TraceContext, ParsesAValidTraceparent) {
  auto parent = parse_traceparent(valid);
  ASSERT_TRUE(parent);
  EXPECT_EQ(parent->trace_id, "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(parent->parent_id, "b7ad6b7169203331");
  EXPECT_EQ(parent->flags, "01");
}

TEST(TraceContext, RejectsWhatTheSpecRejects) {
  for (std::string_view bad : {
           "",
           "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",      // no flags
           "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",   // upper case
           "00-00000000000000000000000000000000-b7ad6b7169203331-01",   // zero trace id
           "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",   // zero span id
           "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",   // version ff
           "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x",  // version 00 has nothing more
           "0x-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
       }) {
    EXPECT_FALSE(parse_traceparent(bad)) << bad;
  }
  // A later version may append fields.
  EXPECT_TRUE(parse_traceparent("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-later"));
}

TEST(TraceContext, AChildKeepsTheTraceWithANewParent) {
  auto parent = parse_traceparent(valid);
  std::string span = new_span_id();
  EXPECT_EQ(span.size(), 16u);
  std::string child = child_traceparent(*parent, span);
  auto parsed = parse_traceparent(child);
  ASSERT_TRUE(parsed) << child;
  EXPECT_EQ(parsed->trace_id, parent->trace_id);
  EXPECT_EQ(parsed->parent_id, span);
  EXPECT_NE(new_span_id(), span);
  EXPECT_EQ(new_trace_id().size(), 32u);
}

}  // namespace
}  // namespace routing::common
