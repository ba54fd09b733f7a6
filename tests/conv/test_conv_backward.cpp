// Gradients of the FFT causal convolution and of the short depthwise
// convolution: against naive double loops of the closed forms, against
// central finite differences of the forward, across thread counts, and on
// bad input.
#include <hyena/conv/direct_conv.hpp>
#include <hyena/conv/fft_conv.hpp>
#include <hyena/conv/fft_conv_backward.hpp>
#include <hyena/conv/short_conv.hpp>
#include <hyena/conv/short_conv_backward.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "support/expect_error.hpp"
#include "support/gradient_check.hpp"
#include "support/numerics.hpp"

namespace {

using hyena::index_t;
using hyena::test::dot;
using hyena::test::expect_error_within;
using hyena::test::expect_gradient;
using hyena::test::expect_invalid;
using hyena::test::fft_conv_tolerance;
using hyena::test::finite_difference_gradient;
using hyena::test::random_vector;
using hyena::test::relative_l2_error;

template <class T>
class FftConvBackward : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(FftConvBackward, Precisions);

struct case_shape {
  index_t batch, channels, length;
};

// The closed forms (fft_conv_backward.hpp) as plain loops in long double.
struct naive_conv_gradients {
  std::vector<double> du, dk, dskip;
};
template <class T>
naive_conv_gradients naive_conv_backward(const case_shape& s, const std::vector<T>& k, const std::vector<T>& skip,
                                         const std::vector<T>& u, const std::vector<T>& dy) {
  const index_t B = s.batch, C = s.channels, L = s.length;
  naive_conv_gradients g{std::vector<double>(B * C * L), std::vector<double>(C * L), std::vector<double>(C)};
  for (index_t b = 0; b < B; ++b)
    for (index_t c = 0; c < C; ++c) {
      const index_t row = (b * C + c) * L;
      for (index_t t = 0; t < L; ++t) {
        long double sum = static_cast<long double>(skip[c]) * dy[row + t];
        for (index_t t2 = t; t2 < L; ++t2) sum += static_cast<long double>(k[c * L + t2 - t]) * dy[row + t2];
        g.du[row + t] = double(sum);
      }
    }
  for (index_t c = 0; c < C; ++c) {
    for (index_t lag = 0; lag < L; ++lag) {
      long double sum = 0;
      for (index_t b = 0; b < B; ++b)
        for (index_t t = lag; t < L; ++t)
          sum += static_cast<long double>(dy[(b * C + c) * L + t]) * u[(b * C + c) * L + t - lag];
      g.dk[c * L + lag] = double(sum);
    }
    long double sum = 0;
    for (index_t b = 0; b < B; ++b)
      for (index_t t = 0; t < L; ++t) sum += static_cast<long double>(dy[(b * C + c) * L + t]) * u[(b * C + c) * L + t];
    g.dskip[c] = double(sum);
  }
  return g;
}

// du, dk and dD against the naive loops. Each is one correlation computed
// like the forward's convolution (two forward transforms and an inverse,
// the spectra's product, the 1/n scaling, a few roundings after), so the
// forward's error model and tolerance apply (support/numerics.hpp); dD is a
// plain dot product, with the summation bound below.
TYPED_TEST(FftConvBackward, MatchesNaiveLoopsAtOddPrimeAndPowerOfTwoLengths) {
  using T = TypeParam;
  for (const case_shape s : {case_shape{1, 1, 1}, case_shape{3, 2, 1}, case_shape{2, 3, 2}, case_shape{1, 2, 13},
                             case_shape{3, 4, 64}, case_shape{2, 3, 97}, case_shape{1, 2, 1000}}) {
    const index_t B = s.batch, C = s.channels, L = s.length;
    auto k = random_vector<T>(C * L, 11);
    for (index_t c = 0; c < C; ++c)
      for (index_t t = 0; t < L; ++t) k[c * L + t] *= static_cast<T>(std::exp(-3.0 * double(t) / double(L)));
    const auto skip = random_vector<T>(C, 12);
    const auto u = random_vector<T>(B * C * L, 13);
    const auto dy = random_vector<T>(B * C * L, 14);
    hyena::fft_filter<T> filter(C, L, k, skip);
    std::vector<T> du(B * C * L), dk(C * L, T(0)), dskip(C, T(0));
    hyena::causal_conv_backward<T>(filter, B, u, dy, du, dk, dskip);
    const auto ref = naive_conv_backward(s, k, skip, u, dy);
    std::ostringstream at;
    at << (sizeof(T) == 4 ? "float" : "double") << " B=" << B << " C=" << C << " L=" << L;
    const double tolerance = fft_conv_tolerance<T>(filter.fft_size());
    expect_error_within(relative_l2_error(du, ref.du), tolerance, "du " + at.str());
    expect_error_within(relative_l2_error(dk, ref.dk), tolerance, "dk " + at.str());
    // dD[c] is a dot product of B*L terms summed in order: its rounding is
    // bounded (probabilistically, Higham's sqrt(n) u) by
    // sqrt(B L) u sum |dy u|, which cancellation can make large against
    // |dD| itself; 4x that bound, channel by channel.
    double worst = 0;
    for (index_t c = 0; c < C; ++c) {
      long double magnitude = 0;
      for (index_t b = 0; b < B; ++b)
        for (index_t t = 0; t < L; ++t)
          magnitude += std::fabs(static_cast<long double>(dy[(b * C + c) * L + t]) * u[(b * C + c) * L + t]);
      const double bound = std::sqrt(double(B * L)) * hyena::test::unit_roundoff<T>() * double(magnitude);
      worst = std::max(worst, std::fabs(double(dskip[c]) - ref.dskip[c]) / bound);
    }
    expect_error_within(worst, 4.0, "dskip / its rounding bound " + at.str());
  }
}

// The gradients are of the forward this library computes: central finite
// differences of sum(r ⊙ causal_conv(u; k, D)) with respect to every u, k
// and D (the forward is linear in each, so the differences are exact up to
// rounding; support/gradient_check.hpp for the tolerance).
TEST(FftConvBackwardDouble, MatchesFiniteDifferencesOfTheForward) {
  for (const case_shape s : {case_shape{2, 2, 1}, case_shape{2, 2, 7}, case_shape{3, 1, 13}}) {
    const index_t B = s.batch, C = s.channels, L = s.length;
    auto k = random_vector<double>(C * L, 21);
    auto skip = random_vector<double>(C, 22);
    auto u = random_vector<double>(B * C * L, 23);
    const auto r = random_vector<double>(B * C * L, 24);
    auto loss = [&] {
      hyena::fft_filter<double> filter(C, L, k, skip);
      std::vector<double> y(u.size());
      hyena::causal_conv<double>(filter, B, u, y);
      return dot(r, y);
    };
    hyena::fft_filter<double> filter(C, L, k, skip);
    std::vector<double> du(u.size()), dk(C * L, 0.0), dskip(C, 0.0);
    hyena::causal_conv_backward<double>(filter, B, u, r, du, dk, dskip);
    const std::string at = " B=" + std::to_string(B) + " C=" + std::to_string(C) + " L=" + std::to_string(L);
    expect_gradient(du, finite_difference_gradient(u, loss), "du" + at);
    expect_gradient(dk, finite_difference_gradient(k, loss), "dk" + at);
    expect_gradient(dskip, finite_difference_gradient(skip, loss), "dskip" + at);
  }
}

// Parameter gradients are added to (PyTorch's .grad), input gradients
// written: two calls on halves of a batch sum to one call on the whole, and
// du may be dy itself.
TYPED_TEST(FftConvBackward, AccumulatesParameterGradientsAndWritesInPlace) {
  using T = TypeParam;
  const index_t C = 3, L = 37;
  const auto k = random_vector<T>(C * L, 31), skip = random_vector<T>(C, 32);
  const auto u = random_vector<T>(2 * C * L, 33), dy = random_vector<T>(2 * C * L, 34);
  hyena::fft_filter<T> filter(C, L, k, skip);
  std::vector<T> du(2 * C * L), dk(C * L, T(0)), dskip(C, T(0));
  hyena::causal_conv_backward<T>(filter, 2, u, dy, du, dk, dskip);

  std::vector<T> halves_dk(C * L, T(0)), halves_dskip(C, T(0)), in_place(dy);
  for (index_t b = 0; b < 2; ++b) {
    const hyena::span<const T> ub(u.data() + b * C * L, C * L);
    const hyena::span<T> gb(in_place.data() + b * C * L, C * L);
    hyena::causal_conv_backward<T>(filter, 1, ub, gb, gb, halves_dk, halves_dskip);
  }
  EXPECT_EQ(in_place, du);  // same rows, same arithmetic: bit-identical
  // dk and dskip not wanted: empty spans, the same du.
  std::vector<T> du_only(2 * C * L);
  hyena::causal_conv_backward<T>(filter, 2, u, dy, du_only, {}, {});
  EXPECT_EQ(du_only, du);
  // Two sums of one element each against one sum of two: a few roundings.
  EXPECT_LE(relative_l2_error(halves_dk, dk), 16 * hyena::test::unit_roundoff<T>());
  EXPECT_LE(relative_l2_error(halves_dskip, dskip), 16 * hyena::test::unit_roundoff<T>());
}

TYPED_TEST(FftConvBackward, ThreadCountsGiveIdenticalBits) {
  using T = TypeParam;
  const index_t B = 3, C = 7, L = 129;
  const auto k = random_vector<T>(C * L, 41), skip = random_vector<T>(C, 42);
  const auto u = random_vector<T>(B * C * L, 43), dy = random_vector<T>(B * C * L, 44);
  hyena::fft_filter<T> filter(C, L, k, skip);
  std::vector<T> du1(B * C * L), dk1(C * L, T(0)), ds1(C, T(0));
  hyena::causal_conv_backward<T>(filter, B, u, dy, du1, dk1, ds1, hyena::execution_context(1));
  for (unsigned threads : {2u, 3u, 8u}) {
    std::vector<T> du(B * C * L), dk(C * L, T(0)), ds(C, T(0));
    hyena::fft_conv_backward_workspace<T> ws;
    hyena::causal_conv_backward<T>(filter, B, u, dy, du, dk, ds, ws, hyena::execution_context(threads));
    EXPECT_EQ(du, du1) << threads;
    EXPECT_EQ(dk, dk1) << threads;
    EXPECT_EQ(ds, ds1) << threads;
  }
}

TYPED_TEST(FftConvBackward, RejectsBadInput) {
  using T = TypeParam;
  const index_t C = 2, L = 5;
  hyena::fft_filter<T> filter(C, L, random_vector<T>(C * L, 1), random_vector<T>(C, 2));
  std::vector<T> u(2 * C * L, T(1)), dy(2 * C * L, T(1)), du(2 * C * L), dk(C * L), ds(C);
  expect_invalid([&] { hyena::causal_conv_backward<T>(filter, 0, u, dy, du, dk, ds); }, {"batch must be >= 1"});
  std::vector<T> short_dy(2 * C * L - 1);
  expect_invalid([&] { hyena::causal_conv_backward<T>(filter, 2, u, short_dy, du, dk, ds); },
                 {"dy has 19 elements", "batch*channels*length = 2*2*5"});
  std::vector<T> wrong_dk(C * L + 1);
  expect_invalid([&] { hyena::causal_conv_backward<T>(filter, 2, u, dy, du, wrong_dk, ds); },
                 {"dk has 11 elements", "channels*length = 2*5"});
  std::vector<T> wrong_skip(C + 1);
  expect_invalid([&] { hyena::causal_conv_backward<T>(filter, 2, u, dy, du, dk, wrong_skip); },
                 {"dskip has 3 elements"});
  // A non-finite gradient would spread over the row through the FFT:
  // refused, naming the row and the time step.
  dy[1 * L + 3] = std::numeric_limits<T>::quiet_NaN();
  expect_invalid([&] { hyena::causal_conv_backward<T>(filter, 2, u, dy, du, dk, ds); },
                 {"the upstream gradient dy at row 1, t = 3", "not finite"});
  dy[1 * L + 3] = T(1);
  u[3 * L] = std::numeric_limits<T>::infinity();
  expect_invalid([&] { hyena::causal_conv_backward<T>(filter, 2, u, dy, du, dk, ds); },
                 {"the forward input u at row 3, t = 0", "not finite"});
}

// The short convolution: its gradients against finite differences of the
// forward, for kernels shorter than, equal to and longer than the sequence.
TEST(ShortConvBackward, MatchesFiniteDifferencesOfTheForward) {
  struct conv_case {
    index_t batch, channels, length, kernel;
  };
  for (const conv_case s : {conv_case{2, 3, 9, 3}, conv_case{1, 2, 1, 3}, conv_case{2, 2, 4, 4},
                            conv_case{1, 2, 3, 5}, conv_case{3, 1, 6, 1}}) {
    const index_t B = s.batch, C = s.channels, L = s.length, K = s.kernel;
    auto w = random_vector<double>(C * K, 51), bias = random_vector<double>(C, 52);
    auto u = random_vector<double>(B * C * L, 53);
    const auto r = random_vector<double>(B * C * L, 54);
    const hyena::signal_shape shape{B, C, L};
    auto loss = [&] {
      std::vector<double> y(u.size());
      hyena::short_causal_conv<double>(w, bias, K, shape, u, y);
      return dot(r, y);
    };
    std::vector<double> du(u.size()), dw(C * K, 0.0), db(C, 0.0);
    hyena::short_causal_conv_backward<double>(w, K, shape, u, r, du, dw, db);
    const std::string at = " B=" + std::to_string(B) + " C=" + std::to_string(C) + " L=" + std::to_string(L) +
                           " K=" + std::to_string(K);
    expect_gradient(du, finite_difference_gradient(u, loss), "du" + at);
    expect_gradient(dw, finite_difference_gradient(w, loss), "dweight" + at);
    expect_gradient(db, finite_difference_gradient(bias, loss), "dbias" + at);
  }
}

TEST(ShortConvBackward, RejectsBadInput) {
  const index_t C = 2, L = 4, K = 3;
  std::vector<float> w(C * K), u(C * L), dy(C * L), du(C * L), dw(C * K), db(C);
  expect_invalid([&] { hyena::short_causal_conv_backward<float>(w, 0, {1, C, L}, u, dy, du, dw, db); },
                 {"kernel_size must be >= 1"});
  expect_invalid([&] { hyena::short_causal_conv_backward<float>(w, K, {1, C, L + 1}, u, dy, du, dw, db); },
                 {"u has 8 elements", "batch*channels*length = 1*2*5"});
  std::vector<float> wrong_dw(C * K - 1);
  expect_invalid([&] { hyena::short_causal_conv_backward<float>(w, K, {1, C, L}, u, dy, du, wrong_dw, db); },
                 {"dweight has 5 elements", "channels*kernel_size = 2*3"});
}

}  // namespace
