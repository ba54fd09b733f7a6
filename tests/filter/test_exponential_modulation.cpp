// decay_rates and apply_exponential_modulation (docs/implicit_filter.md) against plain loops
// in long double written from the formulas.
#include <hyena/filter/exponential_modulation.hpp>
#include <hyena/filter/positional_features.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "support/expect_error.hpp"
#include "support/numerics.hpp"

namespace {

using hyena::index_t;
using hyena::test::expect_error_within;
using hyena::test::expect_invalid;
using hyena::test::unit_roundoff;

template <class T>
class ExponentialModulation : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ExponentialModulation, Precisions);

std::string precision_name(std::size_t bytes) { return bytes == 4 ? "float" : "double"; }

// deltas_c = linspace(ln(target)/slow, ln(target)/fast, F), in long double.
std::vector<long double> exact_rates(index_t F, const hyena::exponential_modulation_config& c) {
  const long double lo = std::log(static_cast<long double>(c.target)) / static_cast<long double>(c.slow_decay_pct);
  const long double hi = std::log(static_cast<long double>(c.target)) / static_cast<long double>(c.fast_decay_pct);
  std::vector<long double> d(F);
  for (index_t i = 0; i < F; ++i)
    d[i] = F == 1 ? lo : lo + (hi - lo) * static_cast<long double>(i) / static_cast<long double>(F - 1);
  return d;
}

// The rates are computed in double and rounded to T once. In double: log
// (glibc, within 1 ulp: 2u_d), two divisions, hi - lo, * c, / (F-1), + lo:
// lo and hi share a sign, so nothing cancels and the result is within ~8u_d
// of exact relative to the larger end |hi|; the final rounding to T adds
// u_T |delta_c| <= u_T |hi|. Tolerance: (u_T + 8u_d) max|delta|, absolute.
template <class T>
double rates_tolerance() {
  return unit_roundoff<T>() + 8 * unit_roundoff<double>();
}

TYPED_TEST(ExponentialModulation, DecayRatesMatchTheFormula) {
  using T = TypeParam;
  hyena::exponential_modulation_config other;
  other.target = 1e-3;
  other.fast_decay_pct = 0.1;
  other.slow_decay_pct = 2.0;
  for (const auto& config : {hyena::exponential_modulation_config{}, other})
    for (index_t F : {1, 2, 3, 7, 31, 64, 97}) {  // 1, odd, prime
      const auto got = hyena::decay_rates<T>(F, config);
      const auto want = exact_rates(F, config);
      ASSERT_EQ(got.size(), F);
      double worst = 0, scale = 0;
      for (index_t c = 0; c < F; ++c) {
        worst = std::max(worst, double(std::fabs(static_cast<long double>(got[c]) - want[c])));
        scale = std::max(scale, double(std::fabs(want[c])));
        EXPECT_LT(got[c], T(0)) << "rates are negative";
      }
      expect_error_within(worst / scale, rates_tolerance<T>(),
                          precision_name(sizeof(T)) + " decay_rates F " + std::to_string(F) + " target " +
                              std::to_string(config.target));
    }
  // The defaults' rates (docs/implicit_filter.md, "The decay window"): from -3.070 to -15.351.
  const auto d = hyena::decay_rates<double>(5);
  EXPECT_NEAR(d.front(), -3.0701, 1e-4);
  EXPECT_NEAR(d.back(), -15.3506, 1e-4);
}

// h[c][n] * (exp(-t_n |delta_c|) + shift) in long double, or h itself when
// the window is off.
std::vector<long double> exact_window(const std::vector<long double>& h, index_t channels, index_t length,
                                      const std::vector<long double>& t, const std::vector<long double>& deltas,
                                      double shift, bool modulate) {
  std::vector<long double> out(h);
  if (!modulate) return out;
  for (index_t c = 0; c < channels; ++c)
    for (index_t n = 0; n < length; ++n)
      out[c * length + n] = h[c * length + n] * (std::exp(-t[n] * std::fabs(deltas[c])) + static_cast<long double>(shift));
  return out;
}

// Tolerance, relative to each tap: the library forms x = t * -|delta| in T
// (one rounding: relative error u in x, hence |x| u in exp(x)), evaluates
// Eigen's vectorised exp (a few ulps: allow 2u), adds shift >= 0 (u of the
// window) and multiplies by h (u). With shift >= 0 nothing cancels, so each
// tap is within (|x|max + 4) u of exact, |x|max = max t * max |delta|. 2u more
// for margin on Eigen's exp (not specified to the ulp): (|x|max + 6) u.
template <class T>
double window_tolerance(double max_abs_x) {
  return (max_abs_x + 6) * unit_roundoff<T>();
}

template <class T>
std::vector<long double> widen(const std::vector<T>& v) {
  return std::vector<long double>(v.begin(), v.end());
}

TYPED_TEST(ExponentialModulation, WindowMatchesPlainLoopOnAndOff) {
  using T = TypeParam;
  std::uint32_t seed = 1;
  for (index_t channels : {1, 3, 7})
    for (index_t L : {1, 2, 13, 97, 101})  // L = 1 is t = [0]: the window is 1 + shift
      for (double shift : {0.0, 0.05, 0.7})
        for (bool modulate : {true, false}) {
          hyena::exponential_modulation_config config;
          config.shift = shift;
          config.modulate = modulate;
          // t from the real grid; rates from the defaults, with signs flipped
          // on odd channels (the window uses |delta|) and one larger rate.
          const auto t = hyena::positional_features<T>::closed_form(L, 3).t;
          auto deltas = hyena::decay_rates<T>(channels);
          for (index_t c = 1; c < channels; c += 2) deltas[c] = -deltas[c];
          deltas[channels - 1] *= T(2.5);
          const auto h0 = hyena::test::random_vector<T>(channels * L, seed++);
          auto h = h0;
          hyena::apply_exponential_modulation(h.data(), channels, L, t.data(), deltas.data(), config);
          const std::string at = precision_name(sizeof(T)) + " channels " + std::to_string(channels) + " L " +
                                 std::to_string(L) + " shift " + std::to_string(shift) +
                                 (modulate ? " on" : " off");
          if (!modulate) {
            EXPECT_EQ(h, h0) << at << ": with modulate = false the bank must be untouched, shift included";
            continue;
          }
          const auto want = exact_window(widen(h0), channels, L, widen(t), widen(deltas), shift, true);
          double worst = 0, max_abs_x = 0;
          for (index_t c = 0; c < channels; ++c)
            for (index_t n = 0; n < L; ++n) {
              const std::size_t i = c * L + n;
              max_abs_x = std::max(max_abs_x, double(t[n]) * std::fabs(double(deltas[c])));
              worst = std::max(worst, double(std::fabs((static_cast<long double>(h[i]) - want[i]) / want[i])));
            }
          if (L == 97 || L == 1)
            expect_error_within(worst, window_tolerance<T>(max_abs_x), at);
          else
            EXPECT_LE(worst, window_tolerance<T>(max_abs_x)) << at;
          // The window really acts: at t = 1 the last channel (|delta| >= 7.6)
          // keeps less than e^-7.6 = 5e-4 of its tap.
          if (L > 1 && shift == 0.0) {
            EXPECT_LT(std::fabs(double(h[channels * L - 1])), 1e-3 * std::fabs(double(h0[channels * L - 1]))) << at;
          }
        }
}

// Only the first `channels` rows of `length` taps are touched.
TYPED_TEST(ExponentialModulation, TouchesOnlyTheGivenRowsAndTaps) {
  using T = TypeParam;
  const index_t L = 11;
  const auto t = hyena::positional_features<T>::closed_form(L, 3).t;
  const auto deltas = hyena::decay_rates<T>(4);
  std::vector<T> h(3 * L + 5, T(1));
  hyena::apply_exponential_modulation(h.data(), 3, L, t.data(), deltas.data(), hyena::exponential_modulation_config{});
  for (index_t i = 3 * L; i < h.size(); ++i) EXPECT_EQ(h[i], T(1)) << i;
  EXPECT_EQ(h[0], T(1)) << "t_0 = 0: window 1";
  EXPECT_LT(h[L - 1], T(1));
}

TEST(ExponentialModulation, DecayRatesRejectBadInput) {
  expect_invalid([] { (void)hyena::decay_rates<float>(0); }, {"decay_rates", "channels must be >= 1, got 0"});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (double bad : {0.0, -1.0, nan}) {
    hyena::exponential_modulation_config c;
    c.target = bad;
    expect_invalid([&] { (void)hyena::decay_rates<float>(4, c); }, {"target and decay percentages must be > 0"});
    c = {};
    c.fast_decay_pct = bad;
    expect_invalid([&] { (void)hyena::decay_rates<float>(4, c); }, {"target and decay percentages must be > 0"});
    c = {};
    c.slow_decay_pct = bad;
    expect_invalid([&] { (void)hyena::decay_rates<float>(4, c); }, {"target and decay percentages must be > 0"});
  }
}

}  // namespace
