// detail/aligned_allocator.hpp: vectors whose data start on simd_alignment
// bytes (huge_page_bytes from huge_page_threshold on), and the variant that
// leaves trivially copyable elements unwritten.
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

TEST(AlignedAllocator, LargeArraysStartOnAHugePage) {
  // Just below and at the threshold, and a vector grown across it (the
  // deallocation must use the alignment its allocation had: ASan checks).
  const std::size_t at = hyena::detail::huge_page_threshold / sizeof(float);
  hyena::detail::aligned_vector<float> below(at - 1), large(at);
  EXPECT_TRUE(aligned(below));
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(large.data()) % hyena::detail::huge_page_bytes, 0u);
  large.back() = 3.0f;
  EXPECT_EQ(large.front(), 0.0f);
  below.resize(2 * at, 1.0f);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(below.data()) % hyena::detail::huge_page_bytes, 0u);
  EXPECT_EQ(below[at - 2], 0.0f);
  EXPECT_EQ(below.back(), 1.0f);
  below.resize(16);
  below.shrink_to_fit();  // back below the threshold
  EXPECT_TRUE(aligned(below));
  hyena::detail::uninitialized_aligned_vector<std::complex<double>> spectra(at);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(spectra.data()) % hyena::detail::huge_page_bytes, 0u);
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
