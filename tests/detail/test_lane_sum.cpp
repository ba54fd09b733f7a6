// detail/lane_sum.hpp: the vectorizable fixed-order sums behind the short
// convolution's weight gradients. They must add in exactly the stated order
// (lane k takes i = k mod 8, lanes combined in a fixed tree) whatever SIMD
// width the compiler picked, and be as accurate as a sum of n terms can be.
#include <hyena/detail/lane_sum.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "support/numerics.hpp"

namespace {

using hyena::index_t;

// The stated order, one lane at a time through volatile stores, so no
// compiler can vectorize or reorder it.
template <class T>
T stated_order(const std::vector<T>& a) {
  volatile T lane[8] = {};
  for (index_t i = 0; i < a.size(); ++i) lane[i % 8] = lane[i % 8] + a[i];
  return ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
}

template <class T>
class LaneSum : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(LaneSum, Precisions);

TYPED_TEST(LaneSum, AddsInTheStatedOrder) {
  using T = TypeParam;
  for (index_t n : {0, 1, 7, 8, 9, 64, 1000, 1023, 4099}) {
    const auto a = hyena::test::random_vector<T>(n, std::uint32_t(n) + 1), b = hyena::test::random_vector<T>(n, 7);
    // lane_sum bit for bit; lane_dot within the error bound of its order (a
    // build with FMA may fuse its products into the additions).
    EXPECT_EQ(hyena::detail::lane_sum(a.data(), n), stated_order(a))
        << "n = " << n;
    const T dot = hyena::detail::lane_dot(a.data(), b.data(), n);
    long double exact = 0;
    for (index_t i = 0; i < n; ++i) exact += static_cast<long double>(a[i]) * b[i];
    long double magnitude = 0;
    for (index_t i = 0; i < n; ++i) magnitude += std::fabs(static_cast<long double>(a[i]) * b[i]);
    // Each term passes through at most n / 8 + 4 additions (its lane, then
    // the tree), each rounding by u relative to a partial sum bounded by the
    // sum of magnitudes; plus the product's own rounding.
    const double bound = (double(n) / 8 + 5) * hyena::test::unit_roundoff<T>() * double(magnitude);
    EXPECT_LE(std::fabs(double(dot - exact)), bound) << "n = " << n;
  }
}

}  // namespace
