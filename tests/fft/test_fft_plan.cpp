// FFTW plan wrappers: round trips, sharing, concurrent planning, wisdom.
#include <hyena/fft/plan.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "support/numerics.hpp"

namespace {

template <class T>
class FftPlan : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(FftPlan, Precisions);

TYPED_TEST(FftPlan, ForwardMatchesNaiveDftAndInverseIsUnnormalised) {
  using T = TypeParam;
  for (hyena::index_t n : {1, 2, 3, 7, 16, 30, 97}) {
    hyena::real_fft<T> fft(n);
    EXPECT_EQ(fft.spectrum_size(), n / 2 + 1);
    hyena::fft_real_buffer<T> x(n), back(n);
    hyena::fft_complex_buffer<T> X(fft.spectrum_size());
    const auto data = hyena::test::random_vector<T>(n, static_cast<std::uint32_t>(n));
    std::copy(data.begin(), data.end(), x.begin());
    fft.forward(x.data(), X.data());
    // Naive DFT in long double.
    const long double pi = 3.141592653589793238462643383279502884L;
    for (hyena::index_t f = 0; f < fft.spectrum_size(); ++f) {
      long double re = 0, im = 0;
      for (hyena::index_t t = 0; t < n; ++t) {
        const long double ph = -2 * pi * (long double)(f * t % n) / (long double)n;
        re += x[t] * std::cos(ph);
        im += x[t] * std::sin(ph);
      }
      const double tol = 8 * hyena::test::unit_roundoff<T>() * std::sqrt(double(n)) * 4;
      EXPECT_NEAR(X[f].real(), double(re), tol) << "n=" << n << " f=" << f;
      EXPECT_NEAR(X[f].imag(), double(im), tol) << "n=" << n << " f=" << f;
    }
    fft.inverse(X.data(), back.data());
    // Back and forth: two transforms, against fft_conv_error's three and the
    // skip term, so that model (2.2u-3.3u) is within 2.7x of the measured
    // relative L2 errors (0.9u-2.1u from n = 2 to 30) and 1.2x under the
    // prime n = 97 (3.2u / 4.0u: FFTW's prime-size algorithm rounds more).
    // The tolerance is 4x the model: 3.3x-11x the measurements.
    std::vector<double> scaled(n);
    for (hyena::index_t t = 0; t < n; ++t) scaled[t] = double(back[t]) / double(n);
    hyena::test::expect_error_within(hyena::test::relative_l2_error(scaled, data), hyena::test::fft_conv_tolerance<T>(n),
                                     "round trip n=" + std::to_string(n));
  }
}

// The convolution reads its input row again after the forward FFT (for the
// skip term), so forward() must leave it bit-for-bit unchanged under every
// planning mode, at sizes whose plans differ (powers of two, 3/5/7-smooth,
// a prime).
TYPED_TEST(FftPlan, ForwardLeavesItsInputUnchanged) {
  using T = TypeParam;
  for (auto planning : {hyena::fft_planning::estimate, hyena::fft_planning::measure})
    for (hyena::index_t n : {1, 2, 64, 96, 210, 1024, 4096, 4099, 6000}) {
      const hyena::real_fft<T> fft(n, planning);
      hyena::fft_real_buffer<T> x(n);
      hyena::fft_complex_buffer<T> X(fft.spectrum_size());
      const auto data = hyena::test::random_vector<T>(n, static_cast<std::uint32_t>(n + 11));
      std::copy(data.begin(), data.end(), x.begin());
      fft.forward(x.data(), X.data());
      for (hyena::index_t t = 0; t < n; ++t) ASSERT_EQ(x[t], data[t]) << "n=" << n << " t=" << t;
    }
}

TYPED_TEST(FftPlan, SharedPlansAreCachedPerSizeAndPlanning) {
  auto a = hyena::real_fft<TypeParam>::shared(128);
  auto b = hyena::real_fft<TypeParam>::shared(128);
  auto c = hyena::real_fft<TypeParam>::shared(96);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(a.get(), c.get());
  EXPECT_EQ(c->size(), 96u);
}

// FFTW's planner is not thread-safe: many threads planning and destroying
// plans at once must neither crash nor corrupt (run under TSan in CI).
TYPED_TEST(FftPlan, ConcurrentPlanningIsSafe) {
  using T = TypeParam;
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      int good = 1;
      for (hyena::index_t n = 10 + i; n < 200; n += 17) {
        hyena::real_fft<T> fft(n);
        hyena::fft_real_buffer<T> x(n, T(1)), y(n);
        hyena::fft_complex_buffer<T> X(fft.spectrum_size());
        fft.forward(x.data(), X.data());
        fft.inverse(X.data(), y.data());
        for (hyena::index_t t = 0; t < n; ++t) good &= std::fabs(double(y[t]) - double(n)) < 1e-3 * double(n);
      }
      ok[i] = good;
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 8; ++i) EXPECT_EQ(ok[i], 1) << i;
}

TYPED_TEST(FftPlan, WisdomRoundTrips) {
  using T = TypeParam;
  hyena::real_fft<T> planned(360, hyena::fft_planning::measure);
  const std::string wisdom = hyena::export_fft_wisdom<T>();
  EXPECT_FALSE(wisdom.empty());
  hyena::forget_fft_wisdom<T>();
  EXPECT_NO_THROW(hyena::import_fft_wisdom<T>(wisdom));
  EXPECT_THROW(hyena::import_fft_wisdom<T>("not wisdom"), std::invalid_argument);
}

TYPED_TEST(FftPlan, RejectsBadSizes) {
  EXPECT_THROW(hyena::real_fft<TypeParam>(0), std::invalid_argument);
  EXPECT_THROW(hyena::real_fft<TypeParam>(hyena::index_t(1) << 40), std::invalid_argument);
}

}  // namespace
