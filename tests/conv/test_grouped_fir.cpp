// Grouped explicit FIR filters (StripedHyena 2's hcs / hcm and the short
// featurizer) against the formulas of SPEC.md sections 3.1, 3.3 and 3.4,
// written out as plain loops in double.
#include <hyena/conv/grouped_fir.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "support/expect_error.hpp"
#include "support/numerics.hpp"

namespace {

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
              hyena::grouped_fir<T>(C, G, K, hT, order, skipT).apply(B, L, uT, y);
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
// order), for prompts shorter and longer than the filter.
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
