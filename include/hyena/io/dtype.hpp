// hyena/io/dtype.hpp: the element types of safetensors files, their names
// and sizes, and exact conversions of the 16-bit float formats.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "../core/config.hpp"
#include "../detail/bfloat16.hpp"

namespace hyena {

/// Element types this library reads. Files with other dtypes (U8, BOOL,
/// F8_*, ...) are rejected as unsupported.
enum class dtype { f32, f64, f16, bf16, i64, i32 };

namespace detail {

/// One row per dtype: its name in a safetensors header and its bytes per
/// element, the table dtype_name, dtype_size and parse_dtype read.
struct dtype_row {
  dtype type;
  const char* name;
  std::size_t size;
};
inline constexpr dtype_row dtype_rows[] = {{dtype::f32, "F32", 4}, {dtype::f64, "F64", 8},
                                           {dtype::f16, "F16", 2}, {dtype::bf16, "BF16", 2},
                                           {dtype::i64, "I64", 8}, {dtype::i32, "I32", 4}};

/// The row of `t`, or nullptr for a value outside the enumeration.
inline const dtype_row* find_dtype_row(dtype t) noexcept {
  for (const dtype_row& row : dtype_rows)
    if (row.type == t) return &row;
  return nullptr;
}

}  // namespace detail

/// The name a safetensors header uses: "F32", "F64", "F16", "BF16", "I64", "I32".
inline const char* dtype_name(dtype t) noexcept {
  const detail::dtype_row* row = detail::find_dtype_row(t);
  return row ? row->name : "?";
}

/// Bytes per element.
inline std::size_t dtype_size(dtype t) noexcept {
  const detail::dtype_row* row = detail::find_dtype_row(t);
  return row ? row->size : 0;
}

/// IEEE 754 binary16 bits to float. Exact for every input: normals,
/// subnormals (down to 2^-24), signed zeros, infinities; NaNs stay NaN with
/// their sign and payload (so a quiet NaN stays quiet).
inline float f16_bits_to_float(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu;
  std::uint32_t mantissa = h & 0x3ffu;
  std::uint32_t bits = 0;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    // Rebias 15 -> 127.
    bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {
    // Subnormal: mantissa * 2^-24, a normal float. Shift the leading one up
    // to the implicit-bit position, lowering the exponent once per shift;
    // 113 is the float exponent field of 2^-14, the binary16 subnormal scale.
    std::uint32_t e = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --e;
    }
    bits = sign | (e << 23) | ((mantissa & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

/// bfloat16 bits to float: bfloat16 is the upper half of a float, so this is
/// exact for every input, NaN payloads included.
inline float bf16_bits_to_float(std::uint16_t h) noexcept { return detail::bf16_to_float(h); }
namespace detail {

static_assert(std::numeric_limits<float>::is_iec559 && std::numeric_limits<double>::is_iec559,
              "hyena's safetensors code reinterprets IEEE 754 bit patterns as float and double");

/// Unsigned little-endian integer from bytes, whatever the host's byte order
/// (compilers turn this into one load on little-endian machines).
template <class U>
inline U load_le(const std::uint8_t* p) noexcept {
  static_assert(std::is_unsigned_v<U>, "load_le reads unsigned integers");
  U v = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i) v = static_cast<U>(v | (static_cast<U>(p[i]) << (8 * i)));
  return v;
}

template <class U>
inline void store_le(U v, std::uint8_t* p) noexcept {
  static_assert(std::is_unsigned_v<U>, "store_le writes unsigned integers");
  for (std::size_t i = 0; i < sizeof(U); ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

template <class To, class From>
inline To bit_cast(const From& from) noexcept {
  static_assert(sizeof(To) == sizeof(From), "bit_cast needs equal sizes");
  To to;
  std::memcpy(&to, &from, sizeof to);
  return to;
}

inline bool parse_dtype(const std::string& s, dtype& out) noexcept {
  for (const dtype_row& row : dtype_rows)
    if (s == row.name) {
      out = row.type;
      return true;
    }
  return false;
}

inline bool is_float_dtype(dtype t) noexcept {
  return t == dtype::f32 || t == dtype::f64 || t == dtype::f16 || t == dtype::bf16;
}

template <class T>
inline constexpr bool is_safetensors_element_v =
    std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, std::int64_t> ||
    std::is_same_v<T, std::int32_t>;

template <class T>
inline const char* cpp_type_name() noexcept {
  if constexpr (std::is_same_v<T, float>)
    return "float";
  else if constexpr (std::is_same_v<T, double>)
    return "double";
  else if constexpr (std::is_same_v<T, std::int64_t>)
    return "int64";
  else
    return "int32";
}

template <class T>
inline constexpr dtype dtype_of() noexcept {
  if constexpr (std::is_same_v<T, float>)
    return dtype::f32;
  else if constexpr (std::is_same_v<T, double>)
    return dtype::f64;
  else if constexpr (std::is_same_v<T, std::int64_t>)
    return dtype::i64;
  else
    return dtype::i32;
}
}  // namespace detail
}  // namespace hyena
