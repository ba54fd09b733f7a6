// RMSNorm with eps outside the root (StripedHyena 2, SPEC.md 2), against the formula in long double.
#include <hyena/model/rms_norm.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "support/expect_error.hpp"
#include "support/numerics.hpp"

// A named namespace: tests/CMakeLists.txt compiles each folder as one unity
// translation unit, where these helpers would clash with another file's.
namespace rms_norm_test {

namespace {

using hyena::index_t;

TEST(RmsNorm, EpsIsAddedToTheRootNotUnderIt) {
  // x = (3, 4): rms = sqrt(12.5); eps = 1 gives x / (sqrt(12.5) + 1), not x / sqrt(13.5).
  const std::vector<double> x = {3, 4}, scale = {1, 2};
  std::vector<double> y(2);
  hyena::rms_norm<double>(1, 2, x, scale, 1.0, y);
  const double d = std::sqrt(12.5) + 1;
  EXPECT_DOUBLE_EQ(y[0], 3 / d);
  EXPECT_DOUBLE_EQ(y[1], 2 * 4 / d);
}

// Each element within 4 roundings of T (the final product, the reciprocal,
// the root, the rounding to T) plus the double sum of squares' error (width/2
// + 4 double roundings after the root) of the exact value.
template <class T>
void check_naive() {
  for (index_t width : {1, 7, 32, 1920})
    for (index_t rows : {1, 3}) {
      const auto x = hyena::test::random_vector<T>(rows * width, std::uint32_t(width + rows), 3.0);
      const auto scale = hyena::test::random_vector<T>(width, 5);
      std::vector<T> y(x.size()), in_place = x;
      hyena::rms_norm<T>(rows, width, x, scale, 1e-6, y);
      hyena::rms_norm<T>(rows, width, in_place, scale, 1e-6, in_place);
      EXPECT_EQ(in_place, y);
      for (index_t r = 0; r < rows; ++r) {
        long double squares = 0;
        for (index_t i = 0; i < width; ++i) squares += (long double)x[r * width + i] * x[r * width + i];
        const long double d = std::sqrt(squares / width) + 1e-6L;
        for (index_t i = 0; i < width; ++i) {
          const long double exact = scale[i] * (x[r * width + i] / d);
          const double bound = 4 * hyena::test::unit_roundoff<T>() +
                               double(width / 2 + 4) * hyena::test::unit_roundoff<double>();
          EXPECT_LE(double(std::fabs(y[r * width + i] - exact)), bound * double(std::fabs(exact)))
              << "width " << width << " row " << r << " i " << i;
        }
      }
    }
}

TEST(RmsNorm, MatchesTheFormulaFloat) { check_naive<float>(); }
TEST(RmsNorm, MatchesTheFormulaDouble) { check_naive<double>(); }

TEST(RmsNorm, AZeroRowStaysZero) {
  const std::vector<float> x(4, 0.0f), scale(4, 1.0f);
  for (double eps : {1e-6, 0.0}) {  // eps = 0: the limit, not 0/0
    std::vector<float> y(4, 1.0f);
    hyena::rms_norm<float>(1, 4, x, scale, eps, y);
    EXPECT_EQ(y, x) << eps;
  }
}

TEST(RmsNorm, RejectsBadInput) {
  using hyena::test::expect_invalid;
  const std::vector<float> x(6), scale(3);
  std::vector<float> y(6);
  expect_invalid([&] { hyena::rms_norm<float>(0, 3, x, scale, 1e-6, y); }, {"rows", ">= 1"});
  expect_invalid([&] { hyena::rms_norm<float>(2, 3, x, std::vector<float>(2), 1e-6, y); }, {"scale", "width = 3"});
  expect_invalid([&] { hyena::rms_norm<float>(3, 3, x, scale, 1e-6, y); }, {"x", "rows*width"});
  expect_invalid([&] { hyena::rms_norm<float>(2, 3, x, scale, -1, y); }, {"eps"});
  expect_invalid([&] { hyena::rms_norm<float>(2, 3, x, scale, std::numeric_limits<double>::quiet_NaN(), y); },
                 {"eps"});
}

}  // namespace

}  // namespace rms_norm_test
