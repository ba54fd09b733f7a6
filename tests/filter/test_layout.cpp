// filter/layout.hpp: the layouts' names, the bank channel of (step, channel)
// in each layout, and split_filter_bank against the formulas of
// docs/filter_layouts.md.
#include <hyena/filter/layout.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/expect_error.hpp"

namespace {

using hyena::filter_layout;
using hyena::index_t;

TEST(FilterLayout, NamesRoundTripAndOthersAreRejected) {
  for (filter_layout layout : {filter_layout::blocked, filter_layout::interleaved})
    EXPECT_EQ(hyena::parse_filter_layout(hyena::filter_layout_name(layout)), layout);
  EXPECT_STREQ(hyena::filter_layout_name(filter_layout::blocked), "blocked");
  EXPECT_STREQ(hyena::filter_layout_name(filter_layout::interleaved), "interleaved");
  for (const char* other : {"Blocked", "interleave", "", "diagonal"})
    EXPECT_FALSE(hyena::parse_filter_layout(other).has_value()) << other;
}

TEST(FilterLayout, BankChannelFollowsTheLayout) {
  // D = 4 channels, N - 1 = 3 steps: blocked c = o*D + d, interleaved c = d*(N-1) + o.
  EXPECT_EQ(hyena::filter_bank_channel(filter_layout::blocked, 4, 3, 2, 1), 9u);
  EXPECT_EQ(hyena::filter_bank_channel(filter_layout::interleaved, 4, 3, 2, 1), 5u);
  // Either way every (o, d) gets its own channel of the 12.
  for (filter_layout layout : {filter_layout::blocked, filter_layout::interleaved}) {
    std::vector<int> hits(12);
    for (index_t o = 0; o < 3; ++o)
      for (index_t d = 0; d < 4; ++d) ++hits[hyena::filter_bank_channel(layout, 4, 3, o, d)];
    EXPECT_EQ(hits, std::vector<int>(12, 1));
  }
}

TEST(FilterLayout, SplitFilterBankCopiesEachChannelToItsStep) {
  const index_t D = 3, steps = 2, L = 4, F = D * steps;
  std::vector<double> h(F * L), bias(F);
  for (index_t c = 0; c < F; ++c) {
    bias[c] = 100.0 * double(c);
    for (index_t n = 0; n < L; ++n) h[c * L + n] = 10.0 * double(c) + double(n);
  }
  for (filter_layout layout : {filter_layout::blocked, filter_layout::interleaved}) {
    const auto s = hyena::split_filter_bank(h, bias, D, steps, L, layout);
    EXPECT_EQ(s.steps, steps);
    EXPECT_EQ(s.channels, D);
    EXPECT_EQ(s.length, L);
    for (index_t o = 0; o < steps; ++o)
      for (index_t d = 0; d < D; ++d) {
        const index_t c = hyena::filter_bank_channel(layout, D, steps, o, d);
        EXPECT_EQ(s.skips(o)[d], 100.0 * double(c));
        for (index_t n = 0; n < L; ++n) EXPECT_EQ(s.filter(o)[d * L + n], 10.0 * double(c) + double(n));
      }
  }
}

TEST(FilterLayout, SplitFilterBankRejectsMisshapenInput) {
  const std::vector<float> h(24), bias(6);
  hyena::test::expect_invalid([&] { hyena::split_filter_bank(std::vector<float>(23), bias, 3, 2, 4, filter_layout::blocked); },
                              {"split_filter_bank", "h", "23", "3*2*4", "24"});
  hyena::test::expect_invalid([&] { hyena::split_filter_bank(h, std::vector<float>(5), 3, 2, 4, filter_layout::blocked); },
                              {"split_filter_bank", "bias", "5", "3*2", "6"});
}

}  // namespace
