// Grouped explicit FIR filters (StripedHyena 2's hcs / hcm and the short
// featurizer) against the formulas of SPEC.md sections 3.1, 3.3 and 3.4,
// written out as plain loops in double.
#include <hyena/conv/grouped_fir.hpp>
#include <hyena/core/execution.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "support/expect_error.hpp"
#include "support/numerics.hpp"

namespace {

using hyena::fir_method;
using hyena::fir_taps;
using hyena::index_t;

struct naive_result {
  std::vector<long double> y;      // the exact filter output
  std::vector<long double> scale;  // sum of |terms| per output, for the rounding bound
};

// y[b,c,t] = sum_k h[g,k] u[c, t-k] (convolution) or sum_j h[g,j] u[c, t-(K-1)+j]
// (correlation), + D[c] u[c,t]; g = c / (C/G); u = 0 before t = 0.
naive_result naive_fir(const std::vector<double>& h, const std::vector<double>& skip, fir_taps order, index_t G,
                       index_t K, index_t B, index_t C, index_t L, const std::vector<double>& u) {
  naive_result r{std::vector<long double>(B * C * L), std::vector<long double>(B * C * L)};
  for (index_t b = 0; b < B; ++b)
    for (index_t c = 0; c < C; ++c) {
      const index_t g = c / (C / G);
      const double* ur = u.data() + (b * C + c) * L;
      for (index_t t = 0; t < L; ++t) {
        long double acc = 0, scale = 0;  // long double: below the double results' own rounding
        for (index_t k = 0; k < K; ++k) {  // k = steps back from t
          const long double tap = order == fir_taps::convolution ? h[g * K + k] : h[g * K + (K - 1 - k)];
          const long double x = t >= k ? ur[t - k] : 0.0;
          acc += tap * x;
          scale += std::fabs(tap * x);
        }
        if (!skip.empty()) {
          acc += static_cast<long double>(skip[c]) * ur[t];
          scale += std::fabs(static_cast<long double>(skip[c]) * ur[t]);
        }
        r.y[(b * C + c) * L + t] = acc;
        r.scale[(b * C + c) * L + t] = scale;
      }
    }
  return r;
}

template <class T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

TEST(GroupedFir, TapOrdersByHand) {
  // One channel, h = [1, 0, 0]: correlation puts tap 0 two steps back (a
  // delay by 2), convolution on the current sample (the identity).
  const std::vector<double> u = {1, 2, 3, 4}, h = {1, 0, 0};
  std::vector<double> y(4);
  hyena::grouped_fir<double>(1, 1, 3, h, fir_taps::correlation).apply(1, 4, u, y);
  EXPECT_EQ(y, (std::vector<double>{0, 0, 1, 2}));
  hyena::grouped_fir<double>(1, 1, 3, h, fir_taps::convolution).apply(1, 4, u, y);
  EXPECT_EQ(y, u);
  // The skip adds D u on top: h = [0, 1] (convolution) is a delay by 1.
  hyena::grouped_fir<double>(1, 1, 2, std::vector<double>{0, 1}, fir_taps::convolution, std::vector<double>{10})
      .apply(1, 4, u, y);
  EXPECT_EQ(y, (std::vector<double>{10, 21, 32, 43}));
}

TEST(GroupedFir, ChannelsUseTheFilterOfTheirGroup) {
  // C = 4, G = 2: channels 0, 1 use filter 0 (x2), channels 2, 3 filter 1 (x3),
  // as repeat_interleave(2) does (c % G would give 2, 3, 2, 3).
  const std::vector<double> u(4, 1.0), h = {2, 3};
  std::vector<double> y(4);
  hyena::grouped_fir<double>(4, 2, 1, h, fir_taps::convolution).apply(1, 1, u, y);
  EXPECT_EQ(y, (std::vector<double>{2, 2, 3, 3}));
}

// Each output against the exact sum, within the standard bound for
// recursive summation of K+1 products: (K+2) u sum|terms| (Higham, eq. 3.5).
// A wrong tap, group or order is an O(1) error and fails it.
template <class T>
void check_against_naive() {
  std::uint32_t seed = 7;
  const index_t C = 6;
  for (fir_taps order : {fir_taps::correlation, fir_taps::convolution})
    for (index_t K : {1, 3, 7, 128})
      for (index_t G : {1, 2, 3, 6})
        for (index_t L : {1, 2, 7, 97, 300})
          for (index_t B : {1, 2})
            for (bool with_skip : {false, true}) {
              const auto h = hyena::test::random_vector<double>(G * K, seed++);
              const auto skip = with_skip ? hyena::test::random_vector<double>(C, seed++) : std::vector<double>{};
              const auto u = hyena::test::random_vector<double>(B * C * L, seed++);
              // The filter sees the T-rounded values; so does the reference.
              const auto hT = cast<T>(h), skipT = cast<T>(skip), uT = cast<T>(u);
              const auto ref = naive_fir(std::vector<double>(hT.begin(), hT.end()),
                                         std::vector<double>(skipT.begin(), skipT.end()), order, G, K, B, C, L,
                                         std::vector<double>(uT.begin(), uT.end()));
              std::vector<T> y(uT.size());
              hyena::grouped_fir<T>(C, G, K, hT, order, skipT, fir_method::direct).apply(B, L, uT, y);
              const double bound = double(K + 2) * hyena::test::unit_roundoff<T>();
              index_t bad = 0;
              for (std::size_t i = 0; i < y.size(); ++i)
                if (double(std::fabs(y[i] - ref.y[i])) > bound * double(ref.scale[i])) ++bad;
              EXPECT_EQ(bad, 0) << "order " << int(order) << " K " << K << " G " << G << " L " << L << " B " << B
                                << " skip " << with_skip;
            }
}

TEST(GroupedFir, MatchesNaiveFloat) { check_against_naive<float>(); }
TEST(GroupedFir, MatchesNaiveDouble) { check_against_naive<double>(); }

// By FFT (overlap-save blocks of M = n - K + 1 outputs): every row's L2
// error against the exact sum, relative to the L2 norm of the outputs'
// sums of |terms| (the FFT rounds the products' magnitudes, not their
// cancelling sum: with K = 1 and h = -D nearly, y is tiny), within
// fft_conv_tolerance of the block's FFT size n (support/numerics.hpp: the
// error of an FFT convolution grows like u sqrt(log2 n), here n = 16..1024). Lengths around one and several blocks
// (a partial last block, a prime length); below one block apply() sums
// directly, covered above. A dropped block edge, a wrong lead-in or group
// is an O(1) error in some outputs: a relative L2 error of 1/sqrt(L) or more.
template <class T>
void check_fft_against_naive() {
  std::uint32_t seed = 70;
  const index_t C = 6;
  for (fir_taps order : {fir_taps::correlation, fir_taps::convolution})
    for (index_t K : {1, 3, 7, 64, 128})
      for (index_t G : {1, 3})
        for (bool with_skip : {false, true}) {
          const auto h = hyena::test::random_vector<double>(G * K, seed++);
          const auto skip = with_skip ? hyena::test::random_vector<double>(C, seed++) : std::vector<double>{};
          const auto hT = cast<T>(h), skipT = cast<T>(skip);
          const hyena::grouped_fir<T> fir(C, G, K, hT, order, skipT, fir_method::fft);
          ASSERT_TRUE(fir.uses_fft());
          const hyena::overlap_save_fir<T> blocks(C, G, K, std::vector<T>(G * K, T(1)));
          const index_t M = blocks.block_outputs(), n = blocks.block_fft_size();
          for (index_t L : {M, M + 1, 2 * M - 1, 3 * M + 5, index_t(1511)})
            for (index_t B : {1, 2}) {
              const auto uT = cast<T>(hyena::test::random_vector<double>(B * C * L, seed++));
              const auto ref = naive_fir(std::vector<double>(hT.begin(), hT.end()),
                                         std::vector<double>(skipT.begin(), skipT.end()), order, G, K, B, C, L,
                                         std::vector<double>(uT.begin(), uT.end()));
              std::vector<T> y(uT.size());
              fir.apply(B, L, uT, y);
              for (index_t row = 0; row < B * C; ++row) {
                long double err = 0, norm = 0;
                for (index_t t = 0; t < L; ++t) {
                  const long double e = static_cast<long double>(y[row * L + t]) - ref.y[row * L + t];
                  err += e * e;
                  norm += ref.scale[row * L + t] * ref.scale[row * L + t];
                }
                hyena::test::expect_error_within(double(std::sqrt(err / norm)), hyena::test::fft_conv_tolerance<T>(n),
                                                 "order " + std::to_string(int(order)) + " K " + std::to_string(K) +
                                                     " G " + std::to_string(G) + " L " + std::to_string(L) + " row " +
                                                     std::to_string(row));
              }
            }
        }
}

TEST(GroupedFir, ByFftMatchesNaiveFloat) { check_fft_against_naive<float>(); }
TEST(GroupedFir, ByFftMatchesNaiveDouble) { check_fft_against_naive<double>(); }

TEST(GroupedFir, AutomaticTakesTheFftFromFftMinTaps) {
  const index_t K = hyena::grouped_fir<float>::fft_min_taps;
  EXPECT_FALSE(hyena::grouped_fir<float>(2, 1, K - 1, std::vector<float>(K - 1, 1.0f), fir_taps::convolution)
                   .uses_fft());
  EXPECT_TRUE(hyena::grouped_fir<float>(2, 1, K, std::vector<float>(K, 1.0f), fir_taps::convolution).uses_fft());
  EXPECT_FALSE(hyena::grouped_fir<float>(2, 1, K, std::vector<float>(K, 1.0f), fir_taps::convolution, {},
                                         fir_method::direct)
                   .uses_fft());
}

// In place, and on 1, 2 and 3 threads: the same bits (each row is computed
// alone, its blocks last to first so in place reads only unwritten inputs).
TEST(GroupedFir, ByFftInPlaceAndEveryThreadCountGiveTheSameBits) {
  for (fir_method method : {fir_method::direct, fir_method::fft}) {
    const index_t B = 2, C = 6, K = 128, L = 2000;
    const auto h = hyena::test::random_vector<float>(3 * K, 21), skip = hyena::test::random_vector<float>(C, 22);
    const auto u = hyena::test::random_vector<float>(B * C * L, 23);
    const hyena::grouped_fir<float> fir(C, 3, K, h, fir_taps::convolution, skip, method);
    std::vector<float> y(u.size()), in_place = u;
    fir.apply(B, L, u, y, hyena::execution_context::serial());
    fir.apply(B, L, in_place, in_place, hyena::execution_context(2));
    EXPECT_EQ(in_place, y) << "method " << int(method);
    std::vector<float> three(u.size());
    fir.apply(B, L, u, three, hyena::execution_context(3));
    EXPECT_EQ(three, y) << "method " << int(method);
  }
}

// A non-finite input at t0 reaches the outputs t0 .. t0+K-1, as in a direct
// sum, and no others: the FFT blocks that hold it are summed directly.
TEST(GroupedFir, ByFftKeepsANonFiniteInputWhereADirectSumPutsIt) {
  const index_t C = 2, K = 128, L = 3000;
  const auto h = hyena::test::random_vector<double>(K, 31);
  const hyena::grouped_fir<double> fft(C, 1, K, h, fir_taps::convolution, {}, fir_method::fft),
      direct(C, 1, K, h, fir_taps::convolution, {}, fir_method::direct);
  for (double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()})
    for (index_t t0 : {index_t(0), index_t(500), index_t(896), index_t(897), index_t(2999)}) {
      auto u = hyena::test::random_vector<double>(C * L, 32);
      u[t0] = bad;  // row 0 only
      std::vector<double> y(u.size()), expected(u.size());
      fft.apply(1, L, u, y);
      direct.apply(1, L, u, expected);
      for (index_t i = 0; i < C * L; ++i) {
        const index_t t = i % L;
        if (i < L && t >= t0 && t < t0 + K) {
          EXPECT_FALSE(std::isfinite(y[i])) << "t0 " << t0 << " t " << t;
          // The same non-finite value: +-Inf with the direct sum's sign, or NaN.
          EXPECT_TRUE(y[i] == expected[i] || (std::isnan(y[i]) && std::isnan(expected[i])))
              << "t0 " << t0 << " t " << t << ": " << y[i] << " vs " << expected[i];
        } else {
          ASSERT_TRUE(std::isfinite(y[i])) << "t0 " << t0 << " row " << i / L << " t " << t;
          EXPECT_NEAR(y[i], expected[i], 1e-12) << "t0 " << t0 << " row " << i / L << " t " << t;
        }
      }
    }
}

TEST(GroupedFir, InPlaceIsExact) {
  const index_t B = 2, C = 4, L = 301, K = 7;
  const auto h = hyena::test::random_vector<float>(2 * K, 1), skip = hyena::test::random_vector<float>(C, 2);
  const auto u = hyena::test::random_vector<float>(B * C * L, 3);
  const hyena::grouped_fir<float> fir(C, 2, K, h, fir_taps::convolution, skip);
  std::vector<float> y(u.size()), in_place = u;
  fir.apply(B, L, u, y);
  fir.apply(B, L, in_place, in_place);
  EXPECT_EQ(in_place, y);
}

// Decoding: a prefill of P samples, then one step per sample, gives the
// whole sequence's outputs bit for bit (the same products in the same
// order: L = 40 is below one FFT block, so apply() sums directly even at
// K = 128), for prompts shorter and longer than the filter.
template <class T>
void check_steps(fir_taps order, index_t K) {
  const index_t B = 2, C = 6, G = 3, L = 40;
  const auto h = hyena::test::random_vector<T>(G * K, 11), skip = hyena::test::random_vector<T>(C, 12);
  const auto u = hyena::test::random_vector<T>(B * C * L, 13);
  const hyena::grouped_fir<T> fir(C, G, K, h, order, skip);
  std::vector<T> whole(u.size());
  fir.apply(B, L, u, whole);
  for (index_t P : {index_t(0), index_t(1), index_t(2), index_t(3), K - 1, K, K + 1, index_t(39)}) {
    if (P >= L) continue;
    auto state = fir.make_state(B);
    std::vector<T> got(u.size(), std::numeric_limits<T>::quiet_NaN());
    if (P > 0) {
      std::vector<T> prompt(B * C * P), out(B * C * P);
      for (index_t r = 0; r < B * C; ++r)
        for (index_t t = 0; t < P; ++t) prompt[r * P + t] = u[r * L + t];
      fir.apply(B, P, prompt, out);
      fir.remember(state, P, prompt);
      for (index_t r = 0; r < B * C; ++r)
        for (index_t t = 0; t < P; ++t) got[r * L + t] = out[r * P + t];
    }
    std::vector<T> u_t(B * C), y_t(B * C);
    for (index_t t = P; t < L; ++t) {
      for (index_t r = 0; r < B * C; ++r) u_t[r] = u[r * L + t];
      fir.step(state, u_t, y_t);
      for (index_t r = 0; r < B * C; ++r) got[r * L + t] = y_t[r];
    }
    EXPECT_EQ(std::memcmp(got.data(), whole.data(), got.size() * sizeof(T)), 0) << "prompt " << P << " K " << K;
  }
}

TEST(GroupedFir, StepsEqualTheWholeSequenceBitForBit) {
  for (fir_taps order : {fir_taps::correlation, fir_taps::convolution})
    for (index_t K : {1, 3, 7, 128}) {
      check_steps<float>(order, K);
      check_steps<double>(order, K);
    }
}

// A prefill long enough for the FFT (P >= one block), then steps: each
// step's output is the whole sequence's to the FFT's rounding (the steps sum
// directly), in double within 1e-12 of outputs of size ~1 (random taps and
// inputs in [-1, 1), K = 128: sums of ~10; the FFT's error is ~1e-15).
TEST(GroupedFir, StepsAfterAnFftPrefillContinueTheWholeSequence) {
  const index_t B = 2, C = 4, K = 128, L = 1100;
  const auto h = hyena::test::random_vector<double>(2 * K, 41), skip = hyena::test::random_vector<double>(C, 42);
  const auto u = hyena::test::random_vector<double>(B * C * L, 43);
  const hyena::grouped_fir<double> fir(C, 2, K, h, fir_taps::convolution, skip);
  ASSERT_TRUE(fir.uses_fft());
  std::vector<double> whole(u.size());
  fir.apply(B, L, u, whole, hyena::execution_context::serial());
  const index_t P = 1000;
  std::vector<double> prompt(B * C * P), out(B * C * P);
  for (index_t r = 0; r < B * C; ++r)
    for (index_t t = 0; t < P; ++t) prompt[r * P + t] = u[r * L + t];
  fir.apply(B, P, prompt, out);
  auto state = fir.make_state(B);
  fir.remember(state, P, prompt);
  double worst = 0;
  for (index_t r = 0; r < B * C; ++r)
    for (index_t t = 0; t < P; ++t) worst = std::max(worst, std::fabs(out[r * P + t] - whole[r * L + t]));
  std::vector<double> u_t(B * C), y_t(B * C);
  for (index_t t = P; t < L; ++t) {
    for (index_t r = 0; r < B * C; ++r) u_t[r] = u[r * L + t];
    fir.step(state, u_t, y_t);
    for (index_t r = 0; r < B * C; ++r) worst = std::max(worst, std::fabs(y_t[r] - whole[r * L + t]));
  }
  EXPECT_LT(worst, 1e-12);
}

TEST(GroupedFir, RejectsBadInput) {
  using hyena::test::expect_invalid;
  const std::vector<float> h(6, 0.5f), skip(4, 0.5f), u(8), y(8);
  expect_invalid([&] { hyena::grouped_fir<float>(0, 1, 3, h, fir_taps::correlation); }, {"channels", ">= 1"});
  expect_invalid([&] { hyena::grouped_fir<float>(4, 0, 3, h, fir_taps::correlation); }, {"groups", ">= 1"});
  expect_invalid([&] { hyena::grouped_fir<float>(4, 2, 0, h, fir_taps::correlation); }, {"taps", ">= 1"});
  expect_invalid([&] { hyena::grouped_fir<float>(4, 3, 2, h, fir_taps::correlation); },
                 {"3 filter groups do not divide 4 channels"});
  expect_invalid([&] { hyena::grouped_fir<float>(4, 2, 2, h, fir_taps::correlation); }, {"h", "groups*taps"});
  expect_invalid([&] { hyena::grouped_fir<float>(4, 2, 3, h, fir_taps::correlation, std::vector<float>(3)); },
                 {"skip", "channels = 4"});
  auto nan_h = h;
  nan_h[4] = std::numeric_limits<float>::quiet_NaN();
  expect_invalid([&] { hyena::grouped_fir<float>(4, 2, 3, nan_h, fir_taps::correlation); }, {"h[4]", "not finite"});
  auto inf_skip = skip;
  inf_skip[1] = std::numeric_limits<float>::infinity();
  expect_invalid([&] { hyena::grouped_fir<float>(4, 2, 3, h, fir_taps::convolution, inf_skip); },
                 {"skip[1]", "not finite"});

  const hyena::grouped_fir<float> fir(4, 2, 3, h, fir_taps::correlation);
  std::vector<float> out(8);
  expect_invalid([&] { fir.apply(1, 3, u, out); }, {"u", "elements"});
  expect_invalid([&] { fir.apply(0, 2, u, out); }, {"batch"});
  auto other = hyena::grouped_fir<float>(4, 2, 2, std::vector<float>(4, 1.0f), fir_taps::correlation).make_state(1);
  std::vector<float> u_t(4), y_t(4);
  expect_invalid([&] { fir.step(other, u_t, y_t); }, {"make_state of another filter"});
  auto state = fir.make_state(2);
  expect_invalid([&] { fir.step(state, u_t, y_t); }, {"u_t", "batch*channels = 8"});
  expect_invalid([&] { fir.remember(state, 2, u); }, {"u", "batch*channels*length"});
}

}  // namespace
