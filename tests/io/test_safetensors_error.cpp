// safetensors_error.hpp: the exception type and the helpers that build its
// messages (the file prefix, shapes, overflow-checked sizes, non-finite weights).
#include <gtest/gtest.h>

#include <cmath>
#include <hyena/io/safetensors_error.hpp>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/expect_error.hpp"

namespace {

using hyena::index_t;
using hyena::safetensors_error;
using hyena::test::expect_thrown;

TEST(SafetensorsError, IsARuntimeErrorNamingTheFile) {
  static_assert(std::is_base_of_v<std::runtime_error, safetensors_error>);
  const std::string what = expect_thrown<safetensors_error>(
      [] { hyena::detail::safetensors_fail("w.safetensors", "tensor \"", "x", "\": ", 3, " bytes"); }, {});
  EXPECT_EQ(what, "hyena: safetensors file \"w.safetensors\": tensor \"x\": 3 bytes");
}

TEST(SafetensorsError, FormatsShapesAndCutsLongOnes) {
  using hyena::detail::format_shape;
  EXPECT_EQ(format_shape({}), "[]");
  EXPECT_EQ(format_shape({2, 3, 4}), "[2, 3, 4]");
  EXPECT_EQ(format_shape(std::vector<index_t>(20, 1)),
            "[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, ... (20 dimensions)]");
}

TEST(SafetensorsError, MulFitsReportsOverflowInsteadOfWrapping) {
  index_t out = 7;
  EXPECT_TRUE(hyena::detail::mul_fits(0, std::numeric_limits<index_t>::max(), out));
  EXPECT_EQ(out, 0u);
  EXPECT_TRUE(hyena::detail::mul_fits(index_t(1) << 31, index_t(1) << 32, out));
  EXPECT_EQ(out, index_t(1) << 63);
  out = 7;
  EXPECT_FALSE(hyena::detail::mul_fits(index_t(1) << 32, index_t(1) << 32, out));
  EXPECT_EQ(out, 7u);  // left alone
}

TEST(SafetensorsError, NonFiniteWeightsNameTheTensorAndElement) {
  const std::vector<float> fine = {1, -2, 3};
  EXPECT_NO_THROW(hyena::detail::require_finite_tensor(fine, "w.safetensors", "a"));
  const std::vector<double> bad = {1, 2, std::nan(""), std::numeric_limits<double>::infinity()};
  expect_thrown<safetensors_error>([&] { hyena::detail::require_finite_tensor(bad, "w.safetensors", "a.b"); },
                                   {"w.safetensors", "tensor \"a.b\"", "element 2", "nan", "not finite"});
}

}  // namespace
