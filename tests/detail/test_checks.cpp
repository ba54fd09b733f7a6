// detail/checks.hpp: the argument checks every public entry point uses, and
// the messages they build (function, argument, sizes).
#include <hyena/detail/checks.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/expect_error.hpp"

namespace {

using hyena::index_t;
using hyena::test::expect_invalid;
constexpr index_t max_index = std::numeric_limits<index_t>::max();

TEST(Checks, ConcatJoinsAnyStreamableParts) {
  EXPECT_EQ(hyena::detail::concat("a", 1, '-', 2.5, std::string("z")), "a1-2.5z");
}

TEST(Checks, CheckedMulThrowsInsteadOfWrapping) {
  using hyena::detail::checked_mul;
  EXPECT_EQ(checked_mul(6, 7, "x"), 42u);
  EXPECT_EQ(checked_mul(0, max_index, "x"), 0u);
  EXPECT_EQ(checked_mul(2, 3, 4, "x"), 24u);
  EXPECT_THROW(checked_mul(index_t(1) << 32, index_t(1) << 32, "rows*cols"), std::length_error);
  try {
    checked_mul(max_index, 2, 1, "batch*length");
    FAIL() << "no exception";
  } catch (const std::length_error& e) {
    EXPECT_NE(std::string(e.what()).find("batch*length overflows"), std::string::npos) << e.what();
  }
}

TEST(Checks, RequireAllocatableNamesTheBytes) {
  EXPECT_NO_THROW(hyena::detail::require_allocatable(1000, 8, "small"));
  EXPECT_THROW(hyena::detail::require_allocatable(max_index / 2, 4, "huge"), std::length_error);
  try {
    hyena::detail::require_allocatable(index_t(1) << 60, 8, "workspace");
    FAIL() << "no exception";
  } catch (const std::length_error& e) {
    EXPECT_NE(std::string(e.what()).find("workspace needs"), std::string::npos) << e.what();
  }
}

TEST(Checks, SizeAndPositivityChecksNameTheArgument) {
  EXPECT_NO_THROW(hyena::detail::require_positive(1, "f", "n"));
  expect_invalid([] { hyena::detail::require_positive(0, "f", "n"); }, {"hyena::f", "n must be >= 1, got 0"});
  EXPECT_NO_THROW(hyena::detail::require_size(6, 6, "f", "u", "2*3"));
  expect_invalid([] { hyena::detail::require_size(5, 6, "f", "u", "batch*length = ", 2, "*", 3); },
                 {"hyena::f", "u has 5 elements, expected batch*length = 2*3 = 6"});
}

TEST(Checks, FirstNonFiniteFindsNanAndInfinities) {
  using hyena::detail::first_non_finite;
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(first_non_finite(std::vector<double>{1, -2, 1e308}), 3u);
  EXPECT_EQ(first_non_finite(std::vector<double>{}), 0u);
  EXPECT_EQ(first_non_finite(std::vector<double>{1, std::nan(""), inf}), 1u);
  EXPECT_EQ(first_non_finite(std::vector<float>{0, 0, -std::numeric_limits<float>::infinity()}), 2u);
  EXPECT_NO_THROW(hyena::detail::require_finite(std::vector<float>{1, 2}, "owner", "w"));
  expect_invalid([&] { hyena::detail::require_finite(std::vector<double>{0, inf}, "owner", "w"); },
                 {"hyena::owner", "w[1]", "not finite"});
}

}  // namespace
