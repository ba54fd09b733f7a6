// detail/exp_float.hpp: the vectorizable float exp behind the MLP's GELU,
// against std::exp in long double, and its saturation; select_float.
#include <hyena/detail/exp_float.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

namespace {

float from_bits(std::uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// Relative error in units of float's ulp at the result: the Cephes
// polynomial is good to about 1 ulp on the reduced interval, and the
// reduction (ln2 split in two) is exact to float for these |n| <= 127, so
// the model is ~1 ulp; the bound is 2. Every 251st float of [-87.3, 88].
TEST(ExpFloat, WithinTwoUlpsOverItsRange) {
  double worst = 0;
  float worst_at = 0;
  for (std::uint64_t bits = 0; bits < (std::uint64_t(1) << 32); bits += 251) {
    const float x = from_bits(static_cast<std::uint32_t>(bits));
    if (!(x >= -87.3f && x <= 88.0f)) continue;
    const long double expected = std::exp(static_cast<long double>(x));
    const double ulp = std::ldexp(1.0, std::ilogb(static_cast<double>(expected)) - 23);
    const double err = static_cast<double>(std::fabs(hyena::detail::exp_float(x) - expected)) / ulp;
    if (err > worst) worst = err, worst_at = x;
  }
  EXPECT_LE(worst, 2.0) << "at x = " << worst_at;
  if (std::getenv("HYENA_PRINT_ERRORS") != nullptr) std::printf("[error] exp_float worst %.3f ulp at %g\n", worst, double(worst_at));
  EXPECT_GT(worst, 0.4) << "the sweep must reach rounding: a sweep that measured nothing";
}

TEST(ExpFloat, SaturatesToFiniteNormalValues) {
  const float big = hyena::detail::exp_float(88.0f);
  EXPECT_TRUE(std::isfinite(big));
  EXPECT_EQ(hyena::detail::exp_float(1e30f), big);
  EXPECT_EQ(hyena::detail::exp_float(std::numeric_limits<float>::infinity()), big);
  const float small = hyena::detail::exp_float(-87.3f);
  EXPECT_GE(small, std::numeric_limits<float>::min()) << "normal, never a denormal or 0";
  EXPECT_EQ(hyena::detail::exp_float(-1e30f), small);
  EXPECT_EQ(hyena::detail::exp_float(-std::numeric_limits<float>::infinity()), small);
  EXPECT_EQ(hyena::detail::exp_float(std::numeric_limits<float>::quiet_NaN()), small) << "documented: NaN -> 2^-126";
  EXPECT_EQ(hyena::detail::exp_float(0.0f), 1.0f);
}

TEST(ExpFloat, SelectFloatPicksByCondition) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(hyena::detail::select_float(true, 1.5f, nan), 1.5f);
  EXPECT_TRUE(std::isnan(hyena::detail::select_float(false, 1.5f, nan)));
  EXPECT_TRUE(std::signbit(hyena::detail::select_float(true, -0.0f, 1.0f)));
  EXPECT_EQ(hyena::detail::select_float(false, -0.0f, -7.25f), -7.25f);
}

}  // namespace
