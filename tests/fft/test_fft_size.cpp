#include <hyena/fft/size.hpp>

#include <gtest/gtest.h>

namespace {

bool is_7_smooth(hyena::index_t n) {
  for (hyena::index_t p : {2, 3, 5, 7})
    while (n % p == 0) n /= p;
  return n == 1;
}

TEST(FftSize, SmallestSevenSmoothNumberAtLeastN) {
  // Brute force: the next 7-smooth number by trial.
  for (hyena::index_t n = 1; n < 5000; ++n) {
    hyena::index_t expected = n;
    while (!is_7_smooth(expected)) ++expected;
    ASSERT_EQ(hyena::next_fast_fft_size(n), expected) << n;
  }
  EXPECT_EQ(hyena::next_fast_fft_size(0), 1u);
  EXPECT_EQ(hyena::next_fast_fft_size(1u << 20), 1u << 20);
  EXPECT_EQ(hyena::next_fast_fft_size((1u << 20) + 1), 1049760u);  // 2^5 3^8 5
}

TEST(FftSize, CausalConvSize) {
  EXPECT_EQ(hyena::causal_conv_fft_size(1), 1u);
  EXPECT_EQ(hyena::causal_conv_fft_size(4097), 8232u);  // >= 8193: 2^3 3 7^3, not 2^14
  EXPECT_THROW(hyena::causal_conv_fft_size(0), std::invalid_argument);
}

}  // namespace
