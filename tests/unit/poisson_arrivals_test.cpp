// routebench's open-loop schedule (apps/routebench/arrivals.h): the gaps
// between arrivals must be exponential with mean 1/rate, so the offered load
// is the rate asked for and bursts come as often as from independent users.
// Fixed seeds: the figures are the same on every run.
// Included by its path from here: an -I for apps/ would change every unit
// test's compile line (and miss ccache) for one header.
#include "../../apps/routebench/arrivals.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace routing::bench {
namespace {

std::vector<double> gaps_s(double rate, std::uint64_t seed, int n) {
  PoissonArrivals arrivals(rate, seed);
  std::vector<double> gaps;
  for (int i = 0; i < n; ++i) gaps.push_back(std::chrono::duration<double>(arrivals.next_gap()).count());
  return gaps;
}

TEST(PoissonArrivals, MeanGapIsOneOverTheRate) {
  for (double rate : {50.0, 600.0, 2400.0, 100000.0}) {
    auto gaps = gaps_s(rate, 42, 200'000);
    double sum = 0;
    for (double g : gaps) sum += g;
    // The mean's standard error is 0.22% of it at this many samples.
    EXPECT_NEAR(sum / static_cast<double>(gaps.size()), 1 / rate, 0.01 / rate) << "rate " << rate;
  }
}

TEST(PoissonArrivals, GapsAreExponentialNotEvenlySpaced) {
  const double rate = 600;
  auto gaps = gaps_s(rate, 7, 200'000);
  double sum = 0, squares = 0;
  int longer_than_mean = 0;
  for (double g : gaps) {
    sum += g;
    squares += g * g;
    if (g > 1 / rate) ++longer_than_mean;
  }
  const double n = static_cast<double>(gaps.size());
  const double mean = sum / n, deviation = std::sqrt(squares / n - mean * mean);
  EXPECT_NEAR(deviation / mean, 1.0, 0.02);  // an exponential's deviation equals its mean
  EXPECT_NEAR(longer_than_mean / n, std::exp(-1.0), 0.01);  // P(gap > mean) = 1/e
}

TEST(PoissonArrivals, TheSeedFixesTheSchedule) {
  EXPECT_EQ(gaps_s(600, 1, 1000), gaps_s(600, 1, 1000));
  EXPECT_NE(gaps_s(600, 1, 1000), gaps_s(600, 2, 1000));
}

}  // namespace
}  // namespace routing::bench
