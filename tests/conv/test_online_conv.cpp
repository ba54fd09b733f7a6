// The online (step by step) causal convolution against the direct O(L^2)
// definition and against the FFT convolution of the whole sequence.
#include <hyena/conv/direct_conv.hpp>
#include <hyena/conv/fft_conv.hpp>
#include <hyena/conv/online_conv.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "support/expect_error.hpp"
#include "support/numerics.hpp"

namespace {

using hyena::index_t;
using hyena::test::expect_error_within;
using hyena::test::expect_invalid;
using hyena::test::random_vector;
using hyena::test::relative_l2_error;

template <class T>
class OnlineConv : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(OnlineConv, Precisions);

// Error of the online convolution against the exact one. Each output sums
// the current term and at most log2(L) block contributions; a block of U
// samples is an FFT convolution of size 2U (error fft_conv_error(2U)) or,
// below direct_below, a dot product of U terms (a few u). The blocks'
// errors are independent and the largest FFT dominates: model
// fft_conv_error(2*capacity), tolerance 4x the model.
template <class T>
double online_tolerance(index_t capacity) {
  return 4.0 * hyena::test::fft_conv_error<T>(static_cast<std::size_t>(2 * capacity));
}

// Decaying random filters, as Hyena's windowed ones.
template <class T>
std::vector<T> decaying_filters(index_t C, index_t L, std::uint32_t seed) {
  auto k = random_vector<T>(C * L, seed);
  for (index_t c = 0; c < C; ++c)
    for (index_t t = 0; t < L; ++t) k[c * L + t] *= static_cast<T>(std::exp(-3.0 * double(t) / double(L)));
  return k;
}

// [B][C][L] (channel-major) -> the [B][C] slice of step t.
template <class T>
std::vector<T> step_slice(const std::vector<T>& x, index_t rows, index_t L, index_t t) {
  std::vector<T> s(rows);
  for (index_t r = 0; r < rows; ++r) s[r] = x[r * L + t];
  return s;
}

// Runs `prefill` steps at once, then the rest one by one; returns all
// outputs [B][C][L] (prefilled positions from the direct reference, so the
// comparison is about the steps).
template <class T>
std::vector<T> run_online(const hyena::online_filter<T>& filter, index_t B, index_t C, index_t L,
                          const std::vector<T>& x, const std::vector<T>& exact, index_t prefill,
                          hyena::execution_context exec = {}) {
  hyena::online_conv_state<T> state(B, C, L);
  const index_t rows = B * C;
  std::vector<T> y = exact;
  std::vector<T> head(rows * prefill);
  for (index_t r = 0; r < rows; ++r)
    for (index_t t = 0; t < prefill; ++t) head[r * prefill + t] = x[r * L + t];
  hyena::online_conv_prefill(filter, state, prefill, head, exec);
  EXPECT_EQ(state.position(), prefill);
  for (index_t t = prefill; t < L; ++t) {
    const auto xt = step_slice(x, rows, L, t);
    std::vector<T> yt(rows);
    hyena::online_conv_step(filter, state, xt, yt, exec);
    for (index_t r = 0; r < rows; ++r) y[r * L + t] = yt[r];
  }
  EXPECT_EQ(state.position(), L);
  return y;
}

TYPED_TEST(OnlineConv, StepsMatchTheDirectConvolution) {
  using T = TypeParam;
  const index_t B = 2, C = 3;
  for (const index_t L : {1, 2, 3, 7, 64, 97, 1000, 4097})
    for (const index_t direct_below : {1, 8, 64, 256}) {
      const auto k = decaying_filters<T>(C, L, 11);
      const auto skip = random_vector<T>(C, 12);
      const auto x = random_vector<T>(B * C * L, 13);
      std::vector<T> exact(x.size());
      hyena::direct_causal_conv<T>(k, skip, {B, C, L}, x, exact);
      hyena::online_conv_options options;
      options.direct_below = direct_below;
      const hyena::online_filter<T> filter(C, L, k, skip, options);
      const auto y = run_online(filter, B, C, L, x, exact, 0);
      std::ostringstream at;
      at << (sizeof(T) == 4 ? "float" : "double") << " L=" << L << " direct_below=" << direct_below;
      expect_error_within(relative_l2_error(y, exact), online_tolerance<T>(L), at.str());
    }
}

TYPED_TEST(OnlineConv, StepsMatchOneFullFftConvolution) {
  using T = TypeParam;
  const index_t B = 3, C = 5, L = 777;
  const auto k = decaying_filters<T>(C, L, 21);
  const auto skip = random_vector<T>(C, 22);
  const auto x = random_vector<T>(B * C * L, 23);
  std::vector<T> full(x.size());
  hyena::causal_conv(hyena::fft_filter<T>(C, L, k, skip), B, x, full);
  const auto y = run_online(hyena::online_filter<T>(C, L, k, skip), B, C, L, x, full, 0);
  // Both sides carry an FFT error of their own.
  expect_error_within(relative_l2_error(y, full), 2 * online_tolerance<T>(L), "online vs fft, L=777");
}

TYPED_TEST(OnlineConv, PrefillThenStepsMatchTheDirectConvolution) {
  using T = TypeParam;
  const index_t B = 2, C = 4;
  for (const index_t L : {1, 5, 97, 1000})
    for (const index_t prefill : {index_t(0), index_t(1), L / 3, L - 1, L}) {
      if (prefill > L) continue;
      const auto k = decaying_filters<T>(C, L, 31);
      const auto skip = random_vector<T>(C, 32);
      const auto x = random_vector<T>(B * C * L, 33);
      std::vector<T> exact(x.size());
      hyena::direct_causal_conv<T>(k, skip, {B, C, L}, x, exact);
      hyena::online_conv_options options;
      options.direct_below = 16;
      const auto y = run_online(hyena::online_filter<T>(C, L, k, skip, options), B, C, L, x, exact, prefill);
      std::ostringstream at;
      at << "L=" << L << " prefill=" << prefill;
      expect_error_within(relative_l2_error(y, exact), online_tolerance<T>(L), at.str());
    }
}

TYPED_TEST(OnlineConv, ResultsDoNotDependOnTheThreadCount) {
  using T = TypeParam;
  const index_t B = 2, C = 64, L = 600;
  const auto k = decaying_filters<T>(C, L, 41);
  const auto x = random_vector<T>(B * C * L, 43);
  const hyena::online_filter<T> filter(C, L, k);
  const std::vector<T> none(x.size());
  const auto one = run_online(filter, B, C, L, x, none, 100, 1);
  const auto two = run_online(filter, B, C, L, x, none, 100, 2);
  EXPECT_EQ(one, two);
}

TYPED_TEST(OnlineConv, ANonFiniteInputNeverChangesEarlierOutputs) {
  using T = TypeParam;
  const index_t B = 1, C = 2, L = 300, t0 = 129;
  const auto k = decaying_filters<T>(C, L, 51);
  auto x = random_vector<T>(B * C * L, 53);
  const hyena::online_filter<T> filter(C, L, k);
  const std::vector<T> none(x.size());
  const auto clean = run_online(filter, B, C, L, x, none, 0);
  for (const T bad : {std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::infinity()}) {
    auto poisoned = x;
    poisoned[0 * L + t0] = bad;  // channel 0 only
    const auto y = run_online(filter, B, C, L, poisoned, none, 0);
    for (index_t t = 0; t < t0; ++t) ASSERT_EQ(y[t], clean[t]) << "t=" << t;
    for (index_t t = t0; t < L; ++t) ASSERT_TRUE(std::isnan(y[t])) << "t=" << t;
    for (index_t t = 0; t < L; ++t) ASSERT_EQ(y[L + t], clean[L + t]) << "channel 1, t=" << t;
  }
}

TYPED_TEST(OnlineConv, BadInputIsRejectedAndLeavesTheStateUnchanged) {
  using T = TypeParam;
  const index_t C = 2, L = 8;
  const auto k = decaying_filters<T>(C, L, 61);
  const hyena::online_filter<T> filter(C, L, k);
  hyena::online_conv_state<T> state(1, C, L);
  std::vector<T> x(C, T(1)), y(C);
  hyena::online_conv_step(filter, state, x, y);
  expect_invalid([&] { hyena::online_conv_step(filter, state, std::vector<T>(3), y); }, {"x", "3 elements"});
  expect_invalid([&] { hyena::online_conv_prefill(filter, state, 1, x); }, {"fresh", "1 steps"});
  EXPECT_EQ(state.position(), 1u);
  for (index_t t = 1; t < L; ++t) hyena::online_conv_step(filter, state, x, y);
  expect_invalid([&] { hyena::online_conv_step(filter, state, x, y); }, {"full", "capacity 8"});
  EXPECT_EQ(state.position(), L);

  hyena::online_conv_state<T> wide(1, C + 1, L), long_state(1, C, L + 1), fresh(1, C, L);
  std::vector<T> wide_y(C + 1);
  expect_invalid([&] { hyena::online_conv_step(filter, wide, std::vector<T>(C + 1), wide_y); },
                 {"3 channels", "filter 2"});
  expect_invalid([&] { hyena::online_conv_step(filter, long_state, x, y); }, {"capacity 9", "filter's 8"});
  expect_invalid([&] { hyena::online_conv_prefill(filter, fresh, L + 1, std::vector<T>(C * (L + 1))); },
                 {"9 steps", "capacity 8"});
  expect_invalid([&] { hyena::online_conv_prefill(filter, fresh, 2, std::vector<T>(3)); }, {"x", "3 elements"});
  EXPECT_EQ(fresh.position(), 0u);

  auto bad = k;
  bad[L + 3] = std::numeric_limits<T>::quiet_NaN();
  expect_invalid([&] { hyena::online_filter<T>(C, L, bad); }, {"k[1][3]", "not finite"});
  hyena::online_conv_options options;
  options.direct_below = 12;
  expect_invalid([&] { hyena::online_filter<T>(C, L, k, {}, options); }, {"power of two", "12"});
  expect_invalid([&] { hyena::online_filter<T>(C, L, std::vector<T>(5)); }, {"k", "5 elements"});
  expect_invalid([&] { hyena::online_conv_state<T>(0, C, L); }, {"batch"});
}

TYPED_TEST(OnlineConv, StateBytesFollowTheFormula) {
  using T = TypeParam;
  const hyena::online_conv_state<T> state(3, 5, 100);
  // history and pending rows: 2 * B * C * capacity values (no FFT row yet).
  EXPECT_EQ(state.bytes(), 2u * 3 * 5 * 100 * sizeof(T));
}

}  // namespace
