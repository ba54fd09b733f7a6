// dtype.hpp: the dtype table (names, sizes, parsing), the element types'
// dtypes, little-endian loads and stores, and the exact 16-bit float conversions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <hyena/io/dtype.hpp>
#include <limits>

namespace {

using hyena::dtype;

TEST(Dtype, NamesSizesAndParsingAgree) {
  const struct {
    dtype type;
    const char* name;
    std::size_t size;
    bool is_float;
  } expected[] = {{dtype::f32, "F32", 4, true},   {dtype::f64, "F64", 8, true},  {dtype::f16, "F16", 2, true},
                  {dtype::bf16, "BF16", 2, true}, {dtype::i64, "I64", 8, false}, {dtype::i32, "I32", 4, false}};
  for (const auto& e : expected) {
    EXPECT_STREQ(hyena::dtype_name(e.type), e.name);
    EXPECT_EQ(hyena::dtype_size(e.type), e.size) << e.name;
    EXPECT_EQ(hyena::detail::is_float_dtype(e.type), e.is_float) << e.name;
    dtype parsed = e.type == dtype::f32 ? dtype::i32 : dtype::f32;
    EXPECT_TRUE(hyena::detail::parse_dtype(e.name, parsed)) << e.name;
    EXPECT_EQ(parsed, e.type) << e.name;
  }
  // Other names (lower case, real safetensors dtypes this library does not
  // read) are not parsed and leave the output alone.
  for (const char* name : {"f32", "U8", "BOOL", "F8_E4M3", ""}) {
    dtype parsed = dtype::i64;
    EXPECT_FALSE(hyena::detail::parse_dtype(name, parsed)) << name;
    EXPECT_EQ(parsed, dtype::i64) << name;
  }
  // A value outside the enumeration has no name or size.
  const auto outside = static_cast<dtype>(99);
  EXPECT_STREQ(hyena::dtype_name(outside), "?");
  EXPECT_EQ(hyena::dtype_size(outside), 0u);
}

TEST(Dtype, ElementTypesMapToTheirDtypes) {
  EXPECT_EQ(hyena::detail::dtype_of<float>(), dtype::f32);
  EXPECT_EQ(hyena::detail::dtype_of<double>(), dtype::f64);
  EXPECT_EQ(hyena::detail::dtype_of<std::int64_t>(), dtype::i64);
  EXPECT_EQ(hyena::detail::dtype_of<std::int32_t>(), dtype::i32);
  EXPECT_STREQ(hyena::detail::cpp_type_name<std::int64_t>(), "int64");
  static_assert(hyena::detail::is_safetensors_element_v<float>);
  static_assert(!hyena::detail::is_safetensors_element_v<std::int16_t>);
}

TEST(Dtype, LittleEndianLoadsAndStores) {
  const std::uint8_t bytes[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
  EXPECT_EQ(hyena::detail::load_le<std::uint16_t>(bytes), 0x0201u);
  EXPECT_EQ(hyena::detail::load_le<std::uint32_t>(bytes), 0x04030201u);
  EXPECT_EQ(hyena::detail::load_le<std::uint64_t>(bytes), 0x0807060504030201u);
  std::uint8_t out[8] = {};
  hyena::detail::store_le<std::uint64_t>(0x0807060504030201u, out);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(out[i], bytes[i]) << i;
  EXPECT_EQ(hyena::detail::bit_cast<std::uint32_t>(1.5f), 0x3fc00000u);
}

// ---------------------------------------------------------------------------
// Half precision

TEST(HalfPrecision, F16BitPatterns) {
  EXPECT_EQ(hyena::f16_bits_to_float(0x3c00), 1.0f);
  EXPECT_EQ(hyena::f16_bits_to_float(0xc100), -2.5f);
  EXPECT_EQ(hyena::f16_bits_to_float(0x7bff), 65504.0f);                  // max
  EXPECT_EQ(hyena::f16_bits_to_float(0x0400), std::ldexp(1.0f, -14));     // min normal
  EXPECT_EQ(hyena::f16_bits_to_float(0x0001), std::ldexp(1.0f, -24));     // min subnormal
  EXPECT_EQ(hyena::f16_bits_to_float(0x03ff), std::ldexp(1023.0f, -24));  // max subnormal
  EXPECT_EQ(hyena::f16_bits_to_float(0x8200), -std::ldexp(1.0f, -15));
  EXPECT_EQ(hyena::f16_bits_to_float(0x3555), 0.333251953125f);  // 2^-2 * (1 + 341/1024)
  const float neg_zero = hyena::f16_bits_to_float(0x8000);
  EXPECT_EQ(neg_zero, 0.0f);
  EXPECT_TRUE(std::signbit(neg_zero));
  EXPECT_EQ(hyena::f16_bits_to_float(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(hyena::f16_bits_to_float(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(hyena::f16_bits_to_float(0x7e00)));  // quiet NaN
  EXPECT_TRUE(std::isnan(hyena::f16_bits_to_float(0x7c01)));  // signalling NaN, smallest payload
  EXPECT_TRUE(std::signbit(hyena::f16_bits_to_float(0xfe00)));
}

// Every binary16 value against an independent formula: (-1)^s * 2^(e-15) * (1 + m/1024),
// or 2^-14 * m/1024 for subnormals.
TEST(HalfPrecision, F16AllPatternsMatchFormula) {
  for (std::uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const auto h = static_cast<std::uint16_t>(bits);
    const int s = (bits >> 15) & 1, e = (bits >> 10) & 0x1f, m = bits & 0x3ff;
    const float got = hyena::f16_bits_to_float(h);
    if (e == 31) {
      EXPECT_EQ(std::isnan(got), m != 0) << std::hex << bits;
      if (m == 0) {
        EXPECT_TRUE(std::isinf(got)) << std::hex << bits;
      }
      EXPECT_EQ(std::signbit(got), s == 1) << std::hex << bits;
      continue;
    }
    const double magnitude = e == 0 ? std::ldexp(double(m), -24) : std::ldexp(1.0 + m / 1024.0, e - 15);
    const double expected = s ? -magnitude : magnitude;
    ASSERT_EQ(double(got), expected) << std::hex << bits;
    ASSERT_EQ(std::signbit(got), s == 1) << std::hex << bits;
  }
}

TEST(HalfPrecision, Bf16BitPatterns) {
  EXPECT_EQ(hyena::bf16_bits_to_float(0x3f80), 1.0f);
  EXPECT_EQ(hyena::bf16_bits_to_float(0xc020), -2.5f);
  EXPECT_EQ(hyena::bf16_bits_to_float(0x7f7f), 0x1.fep127f);             // max
  EXPECT_EQ(hyena::bf16_bits_to_float(0x0001), std::ldexp(1.0f, -133));  // min subnormal
  EXPECT_EQ(hyena::bf16_bits_to_float(0x0080), std::numeric_limits<float>::min());
  EXPECT_EQ(hyena::bf16_bits_to_float(0x7f80), std::numeric_limits<float>::infinity());
  EXPECT_EQ(hyena::bf16_bits_to_float(0xff80), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(hyena::bf16_bits_to_float(0x7fc0)));
  EXPECT_TRUE(std::isnan(hyena::bf16_bits_to_float(0x7f81)));
  EXPECT_TRUE(std::signbit(hyena::bf16_bits_to_float(0x8000)));
}

}  // namespace
