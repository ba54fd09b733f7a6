// hyena/detail/exp_float.hpp: e^x in float, written so that loops over it vectorize.
//
// glibc's expf is a call per element: a loop over it stays scalar, and in the
// GELU of an LM's MLPs (one per hidden activation, forward and backward) it
// took a fifth of a training step. This one is branch-free arithmetic that
// the compiler turns into whatever vectors the target has (SSE2 .. AVX-512),
// with no ISA assumed in the source.
#pragma once

#include <cstdint>
#include <cstring>

namespace hyena::detail {

/// cond ? a : b for floats, by bit masks: unlike ?:, it never lets the
/// compiler move a's or b's arithmetic (a division, say) under a branch,
/// which would stop the loop around it from vectorizing without AVX-512's
/// masked instructions.
inline float select_float(bool cond, float a, float b) noexcept {
  std::uint32_t ia, ib;
  std::memcpy(&ia, &a, sizeof ia);
  std::memcpy(&ib, &b, sizeof ib);
  const std::uint32_t mask = 0u - static_cast<std::uint32_t>(cond);
  const std::uint32_t bits = (ia & mask) | (ib & ~mask);
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

/// e^x for float, saturating: x is clamped to [-87.3, 88.0], so the result
/// lies in [2^-126, e^88 ~ 1.65e38] (finite, normal; never inf or 0) and NaN
/// maps to 2^-126. Callers that need the limits handle |x| > 87 themselves.
/// Relative error within 2 ulp (measured worst 1 ulp on [-87, 88], tests).
///
/// Method: x = n ln2 + r with n = round(x / ln2), |r| <= ln2 / 2, ln2 split
/// in two (Cody-Waite) so r is exact to float; e^r by a degree-6 polynomial
/// (Cephes' expf coefficients, minimax on that interval); 2^n from its
/// exponent bits.
inline float exp_float(float x) noexcept {
  constexpr float lowest = -87.3f, highest = 88.0f;
  x = select_float(x > lowest, x, lowest);  // also NaN -> lowest: comparisons with NaN are false
  x = select_float(x < highest, x, highest);
  // round(x / ln2) by the 1.5 * 2^23 trick: exact for |x / ln2| < 2^22.
  constexpr float round_magic = 12582912.0f;
  const float n = (x * 1.44269504088896341f + round_magic) - round_magic;
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  // n in [-126, 127] after the clamps: 2^n is a normal float.
  const std::int32_t bits = (static_cast<std::int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

}  // namespace hyena::detail
