// Test helpers: deterministic random data and normalised error measures.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace hyena::test {

/// Uniform(-scale, scale) values from a fixed seed: every run sees the same data.
template <class T>
std::vector<T> random_vector(std::size_t n, std::uint32_t seed, double scale = 1.0) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(-scale, scale);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(dist(gen));
  return v;
}

/// ||a - b||_2 / ||b||_2 with b the reference, accumulated in long double.
template <class A, class B>
double relative_l2_error(const A& actual, const B& reference) {
  // Unequal sizes are a bug in the test, not an error of any size.
  if (actual.size() != reference.size())
    throw std::invalid_argument("relative_l2_error: actual has " + std::to_string(actual.size()) +
                                " elements, reference " + std::to_string(reference.size()));
  long double num = 0, den = 0;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    const long double d = static_cast<long double>(actual[i]) - static_cast<long double>(reference[i]);
    num += d * d;
    den += static_cast<long double>(reference[i]) * static_cast<long double>(reference[i]);
  }
  if (den == 0) return static_cast<double>(std::sqrt(num));
  return static_cast<double>(std::sqrt(num / den));
}

/// max_i |a_i - b_i| / max_i |b_i|.
template <class A, class B>
double relative_max_error(const A& actual, const B& reference) {
  long double worst = 0, scale = 0;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    worst = std::fmax(worst, std::fabs(static_cast<long double>(actual[i]) -
                                       static_cast<long double>(reference[i])));
    scale = std::fmax(scale, std::fabs(static_cast<long double>(reference[i])));
  }
  return static_cast<double>(scale == 0 ? worst : worst / scale);
}

/// Unit roundoff of T (half an ulp of 1): 6e-8 for float, 1.1e-16 for double.
template <class T>
constexpr double unit_roundoff() {
  return std::numeric_limits<T>::epsilon() / 2;
}

/// Tolerance of an FFT-based result against an exact one. The floating-point
/// FFT's relative L2 error grows like u*log2(n) (Cooley-Tukey error analysis:
/// each of the log2(n) butterfly stages adds O(u)); a convolution runs a
/// forward and an inverse transform plus one pointwise product, and random
/// data sit near the rms, not the worst case, so 8*u*log2(n) covers both
/// transforms with a margin of ~2x over what the tests measure.
template <class T>
double fft_tolerance(std::size_t fft_size) {
  const double log2n = std::fmax(1.0, std::log2(static_cast<double>(fft_size)));
  return 8.0 * unit_roundoff<T>() * log2n;
}

}  // namespace hyena::test

#include <cstdio>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

namespace hyena::test {

/// EXPECT err <= tolerance; with HYENA_PRINT_ERRORS set in the environment
/// also prints both, so the margins behind the stated tolerances can be read off.
inline void expect_error_within(double err, double tolerance, const std::string& what) {
  if (std::getenv("HYENA_PRINT_ERRORS") != nullptr)
    std::printf("[error] %-48s %10.3g  (tolerance %9.3g, %5.1fx margin)\n", what.c_str(), err, tolerance,
                err > 0 ? tolerance / err : 0.0);
  EXPECT_LE(err, tolerance) << what;
}

}  // namespace hyena::test
