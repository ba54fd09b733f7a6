// Size arithmetic near the limits: overflowing products and requests larger
// than memory fail with exceptions that name the sizes, before anything is
// allocated (none of these tests allocates more than a few bytes).
#include <hyena/conv/fft_conv.hpp>
#include <hyena/fft/plan.hpp>
#include <hyena/fft/size.hpp>
#include <hyena/operator/weights.hpp>
#include <hyena/filter/positional_features.hpp>
#include <hyena/core/shape.hpp>

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <string>

namespace {

using hyena::index_t;
constexpr index_t max_index = std::numeric_limits<index_t>::max();

template <class Exception, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const Exception& e) {
    return e.what();
  }
  return "no exception";
}

TEST(Sizes, ProductsThatOverflowAreRejected) {
  EXPECT_EQ(hyena::detail::checked_mul(index_t(1) << 31, index_t(1) << 32, "x"), index_t(1) << 63);
  const auto m = message_of<std::length_error>([] { hyena::detail::checked_mul(index_t(1) << 32, index_t(1) << 32, "a*b"); });
  EXPECT_NE(m.find("a*b overflows: 4294967296 * 4294967296"), std::string::npos) << m;
  const hyena::signal_shape huge{index_t(1) << 22, index_t(1) << 21, index_t(1) << 21};
  EXPECT_NO_THROW((void)huge.rows());
  EXPECT_THROW((void)huge.elements(), std::length_error);
  EXPECT_THROW(hyena::detail::checked_mul(max_index, 2, 1, "x"), std::length_error);
  EXPECT_EQ(hyena::detail::checked_mul(max_index, 1, "x"), max_index);
  EXPECT_EQ(hyena::detail::checked_mul(0, max_index, "x"), 0u);
}

TEST(Sizes, FftSizesNearTheLimit) {
  EXPECT_THROW(hyena::next_fast_fft_size(max_index), std::length_error);
  EXPECT_THROW(hyena::causal_conv_fft_size(max_index / 2 + 1), std::length_error);  // 2*L overflows
  // FFTW takes int sizes: anything above INT_MAX is refused before planning.
  const auto m = message_of<std::invalid_argument>([] { hyena::real_fft<float> fft(index_t(1) << 31); });
  EXPECT_NE(m.find("2147483648 exceeds FFTW's limit"), std::string::npos) << m;
}

TEST(Sizes, RequestsLargerThanMemoryNameTheSizes) {
  ASSERT_GT(hyena::detail::physical_memory_bytes(), 0u) << "this platform reports no memory size";
  // 2^40 floats * 4 workspace rows = 16 TiB: refused before allocating.
  hyena::fft_conv_workspace<float> ws;
  const auto m = message_of<std::length_error>([&] { ws.reserve(index_t(1) << 40); });
  EXPECT_NE(m.find("fft_conv_workspace rows"), std::string::npos) << m;
  EXPECT_NE(m.find("1099511627776 elements"), std::string::npos) << m;
  EXPECT_EQ(ws.bytes(), 0u);
  // A positional grid of 2^42 points.
  const auto z = message_of<std::length_error>([] { hyena::positional_features<float>::closed_form(index_t(1) << 42, 3); });
  EXPECT_NE(z.find("positional features"), std::string::npos) << z;
  // A fresh operator with an impossible filter grid fails the same way.
  hyena::hyena_config config;
  config.d_model = 4;
  config.max_length = index_t(1) << 42;
  EXPECT_THROW(hyena::random_hyena_weights<float>(config, 1), std::length_error);
}

}  // namespace
