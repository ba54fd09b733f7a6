// GELU, tanh form, on its own: the model dump cannot tell it from the erf form.
#include <hyena/model/gelu.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "support/naive_lm.hpp"
#include "support/numerics.hpp"

namespace {

template <class T>
class Gelu : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Gelu, Precisions);

// Against the formula in long double, per value: tanh and the cubic each
// round once or twice in T, and 1 + tanh cancels for x < 0 where tanh -> -1,
// which turns tanh's absolute rounding (u) into a relative error of
// u / (1 + tanh) in the result. Model: 2u * max(1, |x|) absolute (measured
// worst: float 1.8u, double 2.0u); the tolerance is 4x it, 8u * max(1, |x|)
// (4.5x and 4.0x the measurements).
TYPED_TEST(Gelu, MatchesTheTanhFormula) {
  using T = TypeParam;
  const double u = hyena::test::unit_roundoff<T>();
  double worst = 0;
  for (int i = -4000; i <= 4000; ++i) {
    const T x = static_cast<T>(i / 400.0);  // [-10, 10] in steps of 1/400
    const double expected = hyena::test::naive_gelu_tanh(double(x));
    const double err = std::fabs(double(hyena::gelu_tanh(x)) - expected) / std::fmax(1.0, std::fabs(double(x)));
    worst = std::fmax(worst, err / u);
    ASSERT_LE(err, 8 * u) << "x = " << x;
  }
  hyena::test::expect_error_within(worst * u, 8 * u, "gelu_tanh vs formula (absolute, scaled)");
}

// The tanh form is not the erf form: they differ by ~1.6e-4 at x = 1 and by
// up to ~5e-4 near |x| = 2.2, far above either precision's rounding.
TYPED_TEST(Gelu, IsNotTheErfForm) {
  using T = TypeParam;
  EXPECT_GT(std::fabs(double(hyena::gelu_tanh(T(1))) - hyena::test::naive_gelu_erf(1.0)), 1e-4);
  double worst = 0;
  for (int i = -400; i <= 400; ++i) {
    const double x = i / 100.0;
    worst = std::fmax(worst, std::fabs(double(hyena::gelu_tanh(static_cast<T>(x))) - hyena::test::naive_gelu_erf(x)));
  }
  EXPECT_GT(worst, 4e-4);
  EXPECT_LT(worst, 6e-4);
}

TYPED_TEST(Gelu, KnownValuesAndLimits) {
  using T = TypeParam;
  const T inf = std::numeric_limits<T>::infinity();
  EXPECT_EQ(hyena::gelu_tanh(T(0)), T(0));
  EXPECT_EQ(hyena::gelu_tanh(inf), inf);
  EXPECT_EQ(hyena::gelu_tanh(-inf), T(0));
  EXPECT_TRUE(std::isnan(hyena::gelu_tanh(std::numeric_limits<T>::quiet_NaN())));
  EXPECT_EQ(hyena::gelu_tanh(T(1e30)), T(1e30)) << "saturates to x";
  EXPECT_EQ(hyena::gelu_tanh(T(-1e30)), T(0)) << "saturates to -0";
  // gelu(x) - gelu(-x) = x (x/2 plus an odd part, cancelling).
  for (const T x : {T(0.3), T(1.7), T(4)})
    EXPECT_NEAR(hyena::gelu_tanh(x) - hyena::gelu_tanh(-x), x, 4 * std::numeric_limits<T>::epsilon() * x);
  std::vector<T> v = {T(-1), T(0.5), T(2)};
  hyena::gelu_tanh_inplace<T>(v);
  EXPECT_EQ(v[1], hyena::gelu_tanh(T(0.5)));
  EXPECT_EQ(v[2], hyena::gelu_tanh(T(2)));
}

}  // namespace
