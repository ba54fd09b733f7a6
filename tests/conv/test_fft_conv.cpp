// The FFT causal convolution against the direct O(L^2) definition.
#include <hyena/conv/direct_conv.hpp>
#include <hyena/conv/fft_conv.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <iomanip>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/expect_error.hpp"
#include "support/numerics.hpp"

// A named namespace: tests/CMakeLists.txt compiles each folder as one unity
// translation unit, where these helpers would clash with another file's.
namespace fft_conv_test {

namespace {

using hyena::test::expect_error_within;
using hyena::test::expect_invalid;

using hyena::index_t;
using hyena::test::fft_conv_tolerance;
using hyena::test::random_vector;
using hyena::test::relative_l2_error;

template <class T>
class FftConv : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(FftConv, Precisions);

struct case_shape {
  index_t batch, channels, length;
};

// FFT result vs the direct convolution (double/long double accumulation) for
// one shape; returns the relative L2 error after checking it against
// fft_conv_tolerance (its model and the measured errors: support/numerics.hpp).
template <class T>
double check_against_direct(const case_shape& s, std::uint32_t seed) {
  const index_t C = s.channels, L = s.length, B = s.batch;
  // Filters that decay like Hyena's, so long and short taps both matter.
  auto k = random_vector<T>(C * L, seed);
  for (index_t c = 0; c < C; ++c)
    for (index_t t = 0; t < L; ++t) k[c * L + t] *= static_cast<T>(std::exp(-3.0 * double(t) / double(L)));
  const auto skip = random_vector<T>(C, seed + 1);
  const auto u = random_vector<T>(B * C * L, seed + 2);
  std::vector<T> fast(u.size()), exact(u.size());

  hyena::fft_filter<T> filter(C, L, k, skip);
  hyena::causal_conv(filter, B, u, fast);
  hyena::direct_causal_conv<T>(k, skip, {B, C, L}, u, exact);

  const double err = relative_l2_error(fast, exact);
  std::ostringstream at;
  at << (sizeof(T) == 4 ? "float" : "double") << " B=" << B << " C=" << C << " L=" << L << " n=" << filter.fft_size();
  expect_error_within(err, fft_conv_tolerance<T>(filter.fft_size()), at.str());
  return err;
}

TYPED_TEST(FftConv, MatchesDirectAcrossShapes) {
  // L covers 1, tiny, odd, prime, powers of two and their neighbours, and
  // lengths whose 2L-1 is not a fast size.
  std::uint32_t seed = 1;
  for (index_t L : {1, 2, 3, 7, 64, 97, 127, 128, 1000})
    for (index_t C : {1, 5, 64})
      for (index_t B : {1, 3}) check_against_direct<TypeParam>({B, C, L}, seed++);
  // 4097 = 2^12 + 1 (the worst case for power-of-two padding); C = 64 would
  // make the O(L^2) reference dominate the suite, so C in {1, 5}.
  for (index_t C : {1, 5}) check_against_direct<TypeParam>({3, C, 4097}, seed++);
}

TYPED_TEST(FftConv, MatchesDirectAtLength65536) {
  const double err = check_against_direct<TypeParam>({1, 1, 65536}, 99);
  std::ostringstream text;
  text << std::setprecision(3) << err;  // std::to_string would print 0.000000
  this->RecordProperty("relative_l2_error", text.str());
}

TYPED_TEST(FftConv, FftSizeIsFastAndLinear) {
  for (index_t L : {1, 2, 3, 7, 97, 1000, 4097}) {
    std::vector<TypeParam> k(L, TypeParam(1));
    hyena::fft_filter<TypeParam> filter(1, L, k);
    EXPECT_GE(filter.fft_size(), 2 * L - 1);
    EXPECT_EQ(filter.fft_size(), hyena::causal_conv_fft_size(L));
  }
}

// A circular convolution would wrap the tail of u onto its head. With k = 1
// everywhere, y[t] = sum_{s<=t} u[s]; y[0] must be u[0] alone.
TYPED_TEST(FftConv, IsLinearNotCircular) {
  const index_t L = 50;
  std::vector<TypeParam> k(L, TypeParam(1)), u(L, TypeParam(0)), y(L);
  u[L - 1] = TypeParam(1);  // a spike at the end: a wrap would move it to the start
  u[0] = TypeParam(2);
  hyena::fft_filter<TypeParam> filter(1, L, k);
  hyena::causal_conv(filter, 1, u, y);
  std::vector<double> expected(L, 2.0);
  expected[L - 1] = 3.0;
  // A wrap would be off by 1 at t = 0 (7% relative L2). Measured 0.9u / 1.2u
  // (float / double) against the model's 3.3u (n = 100): the sums of exact
  // integers round less than random data; the tolerance is 11x-15x above.
  expect_error_within(relative_l2_error(y, expected), fft_conv_tolerance<TypeParam>(filter.fft_size()),
                      "k = 1, spikes at 0 and L-1");
}

TYPED_TEST(FftConv, IsCausal) {
  using T = TypeParam;
  const index_t C = 4, L = 257, t0 = 100;
  const auto k = random_vector<T>(C * L, 7);
  auto u = random_vector<T>(2 * C * L, 8);
  std::vector<T> y0(u.size()), y1(u.size());
  hyena::fft_filter<T> filter(C, L, k);
  hyena::causal_conv(filter, 2, u, y0);
  for (index_t row = 0; row < 2 * C; ++row)
    for (index_t t = t0; t < L; ++t) u[row * L + t] += T(1000);  // a large change from t0 on
  hyena::causal_conv(filter, 2, u, y1);
  // Outputs before t0 differ only by FFT rounding, which scales with the
  // largest values in the transform (~1000 * sqrt(L) here): relative to
  // those, the convolution's error. Measured 2.6u / 2.4u against the model's
  // 3.6u (n = 525); the tolerance is 5.6x / 6.0x above.
  double leak = 0;
  for (index_t row = 0; row < 2 * C; ++row)
    for (index_t t = 0; t < t0; ++t) leak = std::max(leak, std::fabs(double(y0[row * L + t]) - double(y1[row * L + t])));
  expect_error_within(leak / (1000.0 * std::sqrt(double(L))), fft_conv_tolerance<T>(filter.fft_size()),
                      "leak before t0 / (1000 sqrt(L))");
  // ...and the perturbation does reach t0 itself.
  EXPECT_GT(std::fabs(double(y0[t0]) - double(y1[t0])), 1.0);
}

TYPED_TEST(FftConv, IsLinear) {
  using T = TypeParam;
  const index_t C = 3, L = 97, B = 2;
  const auto k = random_vector<T>(C * L, 11), a = random_vector<T>(B * C * L, 12),
             b = random_vector<T>(B * C * L, 13);
  const auto skip = random_vector<T>(C, 14);
  std::vector<T> mix(a.size()), ya(a.size()), yb(a.size()), ymix(a.size()), combo(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) mix[i] = T(2) * a[i] - T(3) * b[i];
  hyena::fft_filter<T> filter(C, L, k, skip);
  hyena::causal_conv(filter, B, a, ya);
  hyena::causal_conv(filter, B, b, yb);
  hyena::causal_conv(filter, B, mix, ymix);
  for (std::size_t i = 0; i < a.size(); ++i) combo[i] = T(2) * ya[i] - T(3) * yb[i];
  // Two sides, each a convolution's error, in quadrature: sqrt(2) x the
  // model, 4.8u at n = 196. Measured 3.6u / 3.9u (5.4x / 5.0x below).
  expect_error_within(relative_l2_error(ymix, combo), std::sqrt(2.0) * fft_conv_tolerance<T>(filter.fft_size()),
                      "conv(2a - 3b) vs 2 conv(a) - 3 conv(b)");
}

TYPED_TEST(FftConv, SkipTermAddsDTimesU) {
  using T = TypeParam;
  const index_t C = 5, L = 64, B = 3;
  const auto k = random_vector<T>(C * L, 21), u = random_vector<T>(B * C * L, 22);
  const std::vector<T> skip = {T(0.5), T(-1), T(2), T(0), T(3)};
  std::vector<T> with(u.size()), without(u.size());
  hyena::causal_conv(hyena::fft_filter<T>(C, L, k, skip), B, u, with);
  hyena::causal_conv(hyena::fft_filter<T>(C, L, k), B, u, without);
  std::vector<double> diff(u.size()), expected(u.size());
  for (index_t row = 0; row < B * C; ++row)
    for (index_t t = 0; t < L; ++t) {
      const std::size_t i = row * L + t;
      diff[i] = double(with[i]) - double(without[i]);
      expected[i] = double(skip[row % C]) * double(u[i]);
    }
  // Both runs share every transform (same filter, same input), so they
  // differ only by the skip term's roundings and the subtraction: model
  // u/sqrt(2) of the convolution's output, tolerance 4x it. Measured 0.51u
  // / 0.46u (5.5x / 6.1x below).
  expect_error_within(relative_l2_error(diff, expected) * relative_l2_error(expected, std::vector<double>(u.size())) /
                          relative_l2_error(without, std::vector<double>(u.size())),
                      4 * hyena::test::unit_roundoff<T>() / std::sqrt(2.0),
                      "skip term, error relative to the convolution");
}

TYPED_TEST(FftConv, InPlaceEqualsOutOfPlace) {
  using T = TypeParam;
  const index_t C = 3, L = 33, B = 2;
  const auto k = random_vector<T>(C * L, 31), skip = random_vector<T>(C, 32);
  auto u = random_vector<T>(B * C * L, 33);
  std::vector<T> y(u.size());
  hyena::fft_filter<T> filter(C, L, k, skip);
  hyena::causal_conv(filter, B, u, y);
  hyena::causal_conv(filter, B, u, u);
  EXPECT_EQ(u, y);
}

// One prepared filter shared by several threads, each with its own workspace,
// gives bit-identical results to a single thread.
TYPED_TEST(FftConv, SharedFilterAcrossThreadsIsBitIdentical) {
  using T = TypeParam;
  const index_t C = 16, L = 1000, B = 2;
  const auto k = random_vector<T>(C * L, 41), skip = random_vector<T>(C, 42),
             u = random_vector<T>(B * C * L, 43);
  const hyena::fft_filter<T> filter(C, L, k, skip);
  std::vector<T> expected(u.size());
  hyena::causal_conv(filter, B, u, expected);

  const int threads = 4;
  std::vector<std::vector<T>> results(threads, std::vector<T>(u.size()));
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i)
    pool.emplace_back([&, i] {
      hyena::fft_conv_workspace<T> ws;
      for (int rep = 0; rep < 5; ++rep) hyena::causal_conv(filter, B, u, results[i], ws);
    });
  for (auto& t : pool) t.join();
  for (int i = 0; i < threads; ++i) EXPECT_EQ(results[i], expected) << "thread " << i;
}

TYPED_TEST(FftConv, ThreadCountDoesNotChangeResults) {
  using T = TypeParam;
  const index_t C = 7, L = 300, B = 3;
  const auto k = random_vector<T>(C * L, 51), u = random_vector<T>(B * C * L, 52);
  const hyena::fft_filter<T> filter(C, L, k);
  std::vector<T> one(u.size()), many(u.size());
  hyena::causal_conv(filter, B, u, one, 1);
  for (unsigned threads : {2u, 3u, 0u}) {
    hyena::causal_conv(filter, B, u, many, threads);
    EXPECT_EQ(many, one) << threads;
  }
}

// A workspace that served a longer filter must not leak its row into a
// shorter one's zero padding.
TYPED_TEST(FftConv, WorkspaceReusedAcrossLengthsGivesFreshResults) {
  using T = TypeParam;
  const auto k_long = random_vector<T>(2 * 100, 61), u_long = random_vector<T>(2 * 100, 62);
  const auto k_short = random_vector<T>(2 * 30, 63), u_short = random_vector<T>(2 * 30, 64);
  const hyena::fft_filter<T> long_filter(2, 100, k_long), short_filter(2, 30, k_short);
  std::vector<T> y_long(200), reused(60), fresh(60);
  hyena::fft_conv_workspace<T> ws;
  hyena::causal_conv(long_filter, 1, u_long, y_long, ws);
  hyena::causal_conv(short_filter, 1, u_short, reused, ws);
  hyena::causal_conv(short_filter, 1, u_short, fresh);
  EXPECT_EQ(reused, fresh);
}

// A bank made by a generator, block by block, is the bank made from stored
// taps, bit for bit, whatever the thread count; every channel is generated
// exactly once, in blocks of block_rows.
TYPED_TEST(FftConv, GeneratedBankEqualsStoredTaps) {
  using T = TypeParam;
  constexpr index_t block = hyena::fft_filter<T>::block_rows;
  const index_t C = 2 * block + 5, L = 97, B = 2;  // a partial last block
  const auto k = random_vector<T>(C * L, 71), skip = random_vector<T>(C, 72), u = random_vector<T>(B * C * L, 73);
  const hyena::fft_filter<T> stored(C, L, k, skip);
  std::vector<T> expected(u.size()), actual(u.size());
  hyena::causal_conv(stored, B, u, expected);
  for (unsigned threads : {1u, 2u, 0u}) {
    std::mutex mutex;
    std::vector<int> calls(C, 0);
    const auto generated = hyena::fft_filter<T>::generate(
        C, L,
        [&](index_t c0, index_t c1, T* rows) {
          {
            std::lock_guard<std::mutex> lock(mutex);
            EXPECT_EQ(c0 % block, 0u);
            EXPECT_EQ(c1, std::min(C, c0 + block));
            for (index_t c = c0; c < c1; ++c) ++calls[c];
          }
          std::copy(k.begin() + c0 * L, k.begin() + c1 * L, rows);
        },
        skip, hyena::fft_planning::estimate, threads);
    EXPECT_EQ(calls, std::vector<int>(C, 1)) << threads;
    for (index_t c = 0; c < C; ++c) {
      ASSERT_EQ(generated.skip(c), stored.skip(c));
      for (index_t i = 0; i < stored.fft_size() / 2 + 1; ++i)
        ASSERT_EQ(generated.spectrum(c)[i], stored.spectrum(c)[i]) << "c=" << c << " i=" << i;
    }
    hyena::causal_conv(generated, B, u, actual);
    EXPECT_EQ(actual, expected) << threads;
  }
}

TYPED_TEST(FftConv, RejectsBadInput) {
  using T = TypeParam;
  const std::vector<T> k(15, T(1)), u(30), short_u(29);
  std::vector<T> y(30), short_y(10);
  expect_invalid([&] { hyena::fft_filter<T>(0, 5, k); }, {"channels", "0"});
  expect_invalid([&] { hyena::fft_filter<T>(3, 0, k); }, {"length", "0"});
  expect_invalid([&] { hyena::fft_filter<T>(3, 4, k); }, {"k", "15", "3*4", "12"});
  expect_invalid([&] { hyena::fft_filter<T>(3, 5, k, std::vector<T>(2)); }, {"skip", "2", "3"});
  auto nan_at_20_5 = [](index_t c0, index_t c1, T* rows) {
    std::fill(rows, rows + (c1 - c0) * 7, T(1));
    if (c0 <= 20 && 20 < c1) rows[(20 - c0) * 7 + 5] = std::numeric_limits<T>::quiet_NaN();
  };
  expect_invalid([&] { hyena::fft_filter<T>::generate(40, 7, nan_at_20_5); }, {"k[20][5]", "not finite"});
  expect_invalid([&] { hyena::fft_filter<T>::generate(40, 7, nan_at_20_5, {}, hyena::fft_planning::estimate, 2); },
                 {"k[20][5]", "not finite"});
  auto throws = [](index_t, index_t, T*) { throw std::runtime_error("generator failed"); };
  EXPECT_THROW(hyena::fft_filter<T>::generate(40, 7, throws, {}, hyena::fft_planning::estimate, 2),
               std::runtime_error);
  const hyena::fft_filter<T> filter(3, 5, k);
  expect_invalid([&] { hyena::causal_conv(filter, 0, u, y); }, {"batch", "0"});
  expect_invalid([&] { hyena::causal_conv(filter, 2, short_u, y); }, {"u", "29", "2*3*5", "30"});
  expect_invalid([&] { hyena::causal_conv(filter, 2, u, short_y); }, {"y", "10", "30"});
  expect_invalid([&] { hyena::causal_conv(filter, 3, u, y); }, {"u", "30", "3*3*5", "45"});
}

}  // namespace

}  // namespace fft_conv_test
