// LayerNorm against a long-double two-pass reference.
#include <hyena/model/layer_norm.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "support/naive_lm.hpp"
#include "support/numerics.hpp"

namespace {

using hyena::index_t;

template <class T>
class LayerNorm : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(LayerNorm, Precisions);

// Statistics are summed in double. For float the only rounding of size
// u(T) is the final store: model u/2 (measured 0.42u-0.50u for widths 7 to
// 129), tolerance 4x it, 2u. For double every step rounds at u: centring,
// the correction, rstd (sqrt and divide), weight and bias, about five
// roundings whose rms is ~2u: model 2u (measured 0.72u-1.68u, growing with
// the width), tolerance 2x it, 4u (2.4x the worst measurement, width 129).
// Width 1 normalises to the bias exactly (0 in both).
template <class T>
double layer_norm_tolerance() {
  return sizeof(T) == 4 ? 2 * hyena::test::unit_roundoff<T>() : 4 * hyena::test::unit_roundoff<T>();
}

TYPED_TEST(LayerNorm, MatchesNaiveIncludingOffsetRows) {
  using T = TypeParam;
  for (index_t width : {1, 7, 32, 129})
    for (double offset : {0.0, 1e3}) {  // a common offset must not spoil the variance
      const index_t rows = 5;
      auto x = hyena::test::random_vector<T>(rows * width, std::uint32_t(width), 2.0);
      for (auto& v : x) v = static_cast<T>(v + offset);
      hyena::layer_norm_weights<T> w{hyena::test::random_vector<T>(width, 1), hyena::test::random_vector<T>(width, 2)};
      std::vector<T> y(x.size());
      hyena::layer_norm<T>(rows, width, x, w.weight, w.bias, 1e-5, y);
      const auto expected = hyena::test::naive_layer_norm(std::vector<double>(x.begin(), x.end()), width, w, 1e-5);
      hyena::test::expect_error_within(
          hyena::test::relative_l2_error(y, expected), layer_norm_tolerance<T>(),
          "layer_norm width " + std::to_string(width) + " offset " + std::to_string(offset));
      // In place gives the same bits.
      hyena::layer_norm<T>(rows, width, x, w.weight, w.bias, 1e-5, x);
      EXPECT_EQ(x, y);
    }
}

// Rows are split over threads in fixed blocks of 64: any thread count gives
// the same bits (300 rows: five blocks, the last one short).
TYPED_TEST(LayerNorm, SameBitsForEveryThreadCount) {
  using T = TypeParam;
  const index_t rows = 300, width = 24;
  const auto x = hyena::test::random_vector<T>(rows * width, 31, 2.0);
  hyena::layer_norm_weights<T> w{hyena::test::random_vector<T>(width, 32), hyena::test::random_vector<T>(width, 33)};
  std::vector<T> one(x.size()), two(x.size());
  hyena::layer_norm<T>(rows, width, x, w.weight, w.bias, 1e-5, one, hyena::execution_context(1));
  hyena::layer_norm<T>(rows, width, x, w.weight, w.bias, 1e-5, two, hyena::execution_context(2));
  EXPECT_EQ(one, two);
  const auto expected = hyena::test::naive_layer_norm(std::vector<double>(x.begin(), x.end()), width, w, 1e-5);
  hyena::test::expect_error_within(hyena::test::relative_l2_error(two, expected), layer_norm_tolerance<T>(),
                                   "layer_norm split over 2 threads");
}

TYPED_TEST(LayerNorm, EpsilonAndConstantRows) {
  using T = TypeParam;
  const std::vector<T> x = {T(1), T(2), T(3), T(4), T(5), T(5), T(5), T(5)};
  const std::vector<T> ones(4, T(1)), bias = {T(0.5), T(-0.5), T(0), T(1)};
  std::vector<T> y(8);
  hyena::layer_norm<T>(2, 4, x, ones, bias, 1e-5, y);
  // Row 0: mean 2.5, biased variance 1.25.
  EXPECT_NEAR(double(y[0]), -1.5 / std::sqrt(1.25 + 1e-5) + 0.5, 1e-6);
  // A constant row normalises to 0: the output is the bias.
  for (index_t i = 0; i < 4; ++i) EXPECT_EQ(y[4 + i], bias[i]);
  std::vector<T> y6(8);
  hyena::layer_norm<T>(2, 4, x, ones, bias, 1e-6, y6);
  EXPECT_GT(std::fabs(double(y6[0]) - double(y[0])), 1e-7) << "eps reaches the result";
  EXPECT_THROW(hyena::layer_norm<T>(2, 4, x, ones, bias, -1.0, y), std::invalid_argument);
  EXPECT_THROW(hyena::layer_norm<T>(2, 4, x, std::vector<T>(3), bias, 1e-5, y), std::invalid_argument);
  EXPECT_THROW(hyena::layer_norm<T>(3, 4, x, ones, bias, 1e-5, y), std::invalid_argument);
  EXPECT_THROW(hyena::layer_norm<T>(2, 0, x, ones, bias, 1e-5, y), std::invalid_argument);
}

}  // namespace
