// hyena/detail/bfloat16.hpp: bfloat16 bit patterns to and from float.
//
// bfloat16 is the upper half of an IEEE float (sign, 8 exponent bits, 7
// mantissa bits): widening is a shift, exact for every input; narrowing
// rounds to nearest, ties to even.
#pragma once

#include <cstdint>
#include <cstring>

namespace hyena::detail {

/// The float a bfloat16 bit pattern stands for (exact, NaN payloads included).
inline float bf16_to_float(std::uint16_t bits) noexcept {
  const std::uint32_t wide = static_cast<std::uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &wide, sizeof f);
  return f;
}

/// `f` rounded to the nearest bfloat16, ties to even; NaN stays a (quiet) NaN,
/// and values beyond bfloat16's range round to infinity as in IEEE.
inline std::uint16_t float_to_bf16(float f) noexcept {
  std::uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x0040u);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>(bits >> 16);
}

/// Whether a bfloat16 bit pattern is finite (its exponent is not all ones).
inline bool bf16_is_finite(std::uint16_t bits) noexcept { return (bits & 0x7f80u) != 0x7f80u; }

}  // namespace hyena::detail
