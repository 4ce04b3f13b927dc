// The process_* figures read from /proc/self, checked against this very
// test process.
#include "admin/process_metrics.h"

#include <gtest/gtest.h>

#include <ctime>
#include <fcntl.h>
#include <unistd.h>

namespace routing::admin {
namespace {

TEST(ProcessMetrics, FiguresOfThisProcessArePlausible) {
  auto figures = read_process_figures();
  ASSERT_TRUE(figures);
  EXPECT_GE(figures->open_fds, 3);  // stdin, stdout, stderr
  EXPECT_GT(figures->max_fds, figures->open_fds);
  EXPECT_GT(figures->resident_bytes, 1e5);
  EXPECT_GE(figures->virtual_bytes, figures->resident_bytes);
  EXPECT_GE(figures->cpu_seconds, 0);
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(figures->start_time_seconds, now + 1);
  EXPECT_GT(figures->start_time_seconds, now - 3600);
}

TEST(ProcessMetrics, OpenFdsFollowsDescriptorsOpened) {
  double before = read_process_figures()->open_fds;
  int fd = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(read_process_figures()->open_fds, before + 1);
  ::close(fd);
  EXPECT_EQ(read_process_figures()->open_fds, before);
}

TEST(ProcessMetrics, TextHasEveryFamilyAndTheBuildInfo) {
  std::string text = process_metrics_text("discoveryd");
  for (const char* family : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                             "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                             "process_start_time_seconds"}) {
    EXPECT_NE(text.find(std::string("# TYPE ") + family + " "), std::string::npos) << family;
    EXPECT_NE(text.find(std::string("\n") + family + " "), std::string::npos) << family;
  }
  EXPECT_NE(text.find("\ndiscoveryd_build_info{version=\"0.1.0\"} 1\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace routing::admin
