// detail/aligned_allocator.hpp: vectors whose data start on simd_alignment
// bytes, and the variant that leaves trivially copyable elements unwritten.
#include <hyena/detail/aligned_allocator.hpp>

#include <gtest/gtest.h>

#include <complex>
#include <cstdint>
#include <string>

namespace {

template <class Vector>
bool aligned(const Vector& v) {
  return reinterpret_cast<std::uintptr_t>(v.data()) % hyena::detail::simd_alignment == 0;
}

TEST(AlignedAllocator, DataStartOnTheSimdAlignment) {
  for (std::size_t n : {1u, 3u, 17u, 1000u}) {
    hyena::detail::aligned_vector<float> f(n);
    hyena::detail::aligned_vector<double> d(n, 2.0);
    hyena::detail::uninitialized_aligned_vector<std::complex<float>> c(n);
    EXPECT_TRUE(aligned(f)) << n;
    EXPECT_TRUE(aligned(d)) << n;
    EXPECT_TRUE(aligned(c)) << n;
    EXPECT_EQ(f[n - 1], 0.0f);  // aligned_vector value-initialises
    EXPECT_EQ(d[n - 1], 2.0);
    f.resize(3 * n);
    EXPECT_TRUE(aligned(f)) << n;
  }
}

TEST(AlignedAllocator, UninitializedVariantStillConstructsWhatNeedsIt) {
  // Non-trivial elements are constructed as usual; given values are kept.
  hyena::detail::uninitialized_aligned_vector<std::string> s(3);
  EXPECT_EQ(s[2], "");
  hyena::detail::uninitialized_aligned_vector<double> d(4, 1.5);
  EXPECT_EQ(d[3], 1.5);
  d.push_back(2.5);
  EXPECT_EQ(d.back(), 2.5);
  EXPECT_TRUE(aligned(d));
}

}  // namespace
