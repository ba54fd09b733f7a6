// BF16 weight storage (weight_matrix): the conversions, linear() and
// gated_mlp() on BF16 weights against plain loops in long double over the
// widened values, bit-identity with T storage of the same values where the
// same GEMM runs, thread-count independence, a whole StripedHyena 2 model
// stored as BF16, and the errors.
#include <hyena/io/safetensors_writer.hpp>
#include <hyena/io/sh2_loader.hpp>
#include <hyena/model/gated_mlp.hpp>
#include <hyena/model/linear.hpp>
#include <hyena/model/striped_hyena_model.hpp>
#include <hyena/model/weight_matrix.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "support/expect_error.hpp"
#include "support/numerics.hpp"
#include "support/reference.hpp"

namespace weight_matrix_test {

namespace {

using hyena::index_t;
using hyena::weight_matrix;

TEST(Bfloat16, WidensExactlyAndRoundsToNearestEven) {
  using hyena::detail::bf16_to_float;
  using hyena::detail::float_to_bf16;
  EXPECT_EQ(float_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_float(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_float(0xc0a0), -5.0f);
  // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even 1;
  // 1 + 3 * 2^-8 halfway between 1 + 2^-7 and 1 + 2^-6: to the even 1 + 2^-6.
  EXPECT_EQ(float_to_bf16(1.0f + 0x1p-8f), 0x3f80);
  EXPECT_EQ(float_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);
  EXPECT_EQ(float_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81);  // above the tie: up
  // Every bfloat16 survives the round trip.
  for (std::uint32_t b = 0; b < 0x10000; ++b) {
    const auto bits = static_cast<std::uint16_t>(b);
    if (!hyena::detail::bf16_is_finite(bits)) continue;
    ASSERT_EQ(float_to_bf16(bf16_to_float(bits)), bits) << b;
  }
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(bf16_to_float(float_to_bf16(std::numeric_limits<float>::max())), std::numeric_limits<float>::infinity());
  EXPECT_FALSE(hyena::detail::bf16_is_finite(0x7f80));
  EXPECT_FALSE(hyena::detail::bf16_is_finite(0xffc0));
  EXPECT_TRUE(hyena::detail::bf16_is_finite(0x7f7f));
}

// y = x W^T + b against long double over W's widened values. Bound per
// output: (I + 2) u sum_i |w_i x_i| + |b| u, the classical worst case of an
// I-term sum in T (any order: GEMM tiles or eight lanes) plus the bias
// addition. A widening that drops or shifts bits misses it by orders.
template <class T>
void check_linear(index_t O, index_t I, index_t rows, const hyena::execution_context& exec) {
  SCOPED_TRACE("O " + std::to_string(O) + " I " + std::to_string(I) + " rows " + std::to_string(rows));
  const auto w = weight_matrix<T>::rounded_to_bf16(hyena::test::random_vector<T>(O * I, 3, 1.0));
  ASSERT_TRUE(w.is_bf16());
  const auto wide = w.widened();
  const auto bias = hyena::test::random_vector<T>(O, 4, 1.0);
  const auto x = hyena::test::random_vector<T>(rows * I, 5, 1.0);
  std::vector<T> y(rows * O);
  hyena::linear<T>(w, bias, O, I, rows, x, y, exec);
  const double u = hyena::test::unit_roundoff<T>();
  for (index_t r = 0; r < rows; ++r)
    for (index_t o = 0; o < O; ++o) {
      long double exact = bias[o], absolute = 0;
      for (index_t i = 0; i < I; ++i) {
        exact += (long double)wide[o * I + i] * x[r * I + i];
        absolute += std::fabs((long double)wide[o * I + i] * x[r * I + i]);
      }
      const double bound = double(I + 2) * u * double(absolute) + u * std::fabs(double(bias[o]));
      ASSERT_LE(std::fabs(double(y[r * O + o] - exact)), bound) << "row " << r << " output " << o;
    }
}

template <class T>
class WeightMatrix : public ::testing::Test {};
using precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(WeightMatrix, precisions);

TYPED_TEST(WeightMatrix, LinearMatchesTheWidenedValues) {
  using T = TypeParam;
  // Under 8 rows the matrix-vector path, from 8 the GEMM on widened panels;
  // odd, prime and tile-straddling sizes (tiles are 256).
  for (const auto& [O, I, rows] : std::vector<std::array<index_t, 3>>{
           {1, 1, 1}, {5, 7, 1}, {300, 37, 3}, {13, 1000, 7}, {300, 37, 8}, {257, 130, 300}, {3, 9, 513}})
    check_linear<T>(O, I, rows, hyena::execution_context(2));
}

// Where the GEMM runs (8 rows and more), BF16 storage computes exactly what
// T storage of the widened values does: the same tiles, the same GEMM. Under
// 8 rows, its own eight-lane dot products: the same bits for 1 and 2 threads.
TYPED_TEST(WeightMatrix, GemmPathEqualsTStorageAndThreadsDoNotChangeBits) {
  using T = TypeParam;
  const index_t O = 300, I = 77;
  const auto bf16 = weight_matrix<T>::rounded_to_bf16(hyena::test::random_vector<T>(O * I, 6, 1.0));
  const weight_matrix<T> wide(bf16.widened());
  const auto bias = hyena::test::random_vector<T>(O, 7, 1.0);
  for (index_t rows : {1, 5, 8, 300}) {
    SCOPED_TRACE(rows);
    const auto x = hyena::test::random_vector<T>(rows * I, 8, 1.0);
    std::vector<T> one(rows * O), two(rows * O), t_storage(rows * O);
    hyena::linear<T>(bf16, bias, O, I, rows, x, one, hyena::execution_context(1));
    hyena::linear<T>(bf16, bias, O, I, rows, x, two, hyena::execution_context(2));
    hyena::linear<T>(wide, bias, O, I, rows, x, t_storage, hyena::execution_context(2));
    EXPECT_EQ(one, two);
    if (rows >= hyena::detail::bf16_vector_rows) {
      EXPECT_EQ(one, t_storage);
    }
  }
}

TYPED_TEST(WeightMatrix, GatedMlpOnBf16EqualsTheWidenedMlp) {
  using T = TypeParam;
  const index_t D = 24, I = 300;  // I not a multiple of the 256-wide tiles
  hyena::gated_mlp_weights<T> bf16;
  bf16.d_model = D, bf16.inner = I, bf16.gelu = true;
  bf16.l1 = weight_matrix<T>::rounded_to_bf16(hyena::test::random_vector<T>(I * D, 1, 0.5));
  bf16.l2 = weight_matrix<T>::rounded_to_bf16(hyena::test::random_vector<T>(I * D, 2, 0.5));
  bf16.l3 = weight_matrix<T>::rounded_to_bf16(hyena::test::random_vector<T>(D * I, 3, 0.5));
  bf16.validate();
  auto wide = bf16;
  wide.l1 = bf16.l1.widened(), wide.l2 = bf16.l2.widened(), wide.l3 = bf16.l3.widened();
  ASSERT_FALSE(wide.l1.is_bf16());
  for (index_t rows : {1, 3, 40}) {
    SCOPED_TRACE(rows);
    const auto z = hyena::test::random_vector<T>(rows * D, 4, 1.0);
    std::vector<T> hidden(rows * 2 * I), a(rows * D), b(rows * D);
    hyena::gated_mlp<T>(bf16, rows, z, hidden, a, hyena::execution_context(2));
    hyena::gated_mlp<T>(wide, rows, z, hidden, b, hyena::execution_context(2));
    if (rows >= hyena::detail::bf16_vector_rows) {
      EXPECT_EQ(a, b);
    } else {  // summation orders differ: three I- or D-term sums, each within I u of the terms' size
      EXPECT_LE(hyena::test::relative_l2_error(a, b), 3 * double(I) * hyena::test::unit_roundoff<T>());
    }
  }
}

TEST(WeightMatrixErrors, NameTheMatrix) {
  using hyena::test::expect_invalid;
  hyena::gated_mlp_weights<float> w;
  w.d_model = 4, w.inner = 8;
  w.l1 = weight_matrix<float>::rounded_to_bf16(std::vector<float>(32, 0.5f));
  w.l2 = std::vector<float>(32, 0.5f);
  w.l3 = weight_matrix<float>::rounded_to_bf16(std::vector<float>(31, 0.5f));
  expect_invalid([&] { w.validate(); }, {"l3 has 31 elements", "d_model*inner"});
  w.l3 = weight_matrix<float>::rounded_to_bf16(std::vector<float>(32, 0.5f));
  w.validate();
  w.l1.bf16_bits[5] = 0x7fc0;  // NaN
  expect_invalid([&] { w.validate(); }, {"l1[5]", "not finite"});
  w.l1.bf16_bits[5] = 0x3f80;
  w.l2.bf16_bits.assign(32, 0x3f80);  // both storages
  expect_invalid([&] { w.validate(); }, {"l2 holds both T values and BF16 bits"});
  std::vector<float> x(4), y(2);
  expect_invalid([&] { hyena::linear<float>(w.l1, {}, 2, 4, 1, x, y); }, {"weight has 32 elements", "out*in"});
}

// A whole model: the sh2_tiny_shared dump's weights rounded to BF16, written
// as a BF16 checkpoint and loaded back (the loader keeps BF16), against the
// same model with the widened values in float: the forward (GEMMs: the same
// bits) and decoding, whose one-row steps take the matrix-vector path
// (within float rounding of the forward: 2e-6, as the float decoder's test).
TEST(WeightMatrixModel, Bf16CheckpointLoadsAsBf16AndRunsLikeTheWidenedModel) {
  const auto dir = hyena::test::reference_dir() / "stripedhyena2" / "sh2_tiny_shared";
  const auto config = hyena::load_sh2_config((dir / "config.json").string());
  const auto params = hyena::safetensors_file::load((dir / "params.safetensors").string());
  auto rounded = hyena::load_sh2_weights<float>(params, config);
  hyena::round_matrices_to_bf16(rounded);
  hyena::safetensors_writer out;
  for (const auto& name : params.names()) {
    auto values = params.read<float>(name);
    const bool matrix = name.find("mlp.l") != std::string::npos || name.find("projections.weight") != std::string::npos ||
                        name.find("out_filter_dense.weight") != std::string::npos ||
                        name.find("Wqkv.weight") != std::string::npos || name.find("out_proj.weight") != std::string::npos;
    if (!matrix) {
      out.add(name, params.info(name).shape, hyena::span<const float>(values));
      continue;
    }
    std::vector<std::uint16_t> bits(values.size());
    for (std::size_t k = 0; k < bits.size(); ++k) bits[k] = hyena::detail::float_to_bf16(values[k]);
    out.add_bf16(name, params.info(name).shape, hyena::span<const std::uint16_t>(bits));
  }
  const auto file = hyena::safetensors_file::parse(out.bytes(), "bf16.safetensors");
  auto loaded = hyena::load_sh2_weights<float>(file, config);
  auto widened = loaded;
  index_t bf16_matrices = 0;
  for (std::size_t i = 0; i < loaded.blocks.size(); ++i)
    std::visit(
        [&](auto& b) {
          auto& r = std::get<std::decay_t<decltype(b)>>(rounded.blocks[i]);
          auto& w = std::get<std::decay_t<decltype(b)>>(widened.blocks[i]);
          for (auto [m, ref, wide] : {std::tuple{&b.mlp.l1, &r.mlp.l1, &w.mlp.l1}, std::tuple{&b.mlp.l3, &r.mlp.l3, &w.mlp.l3},
                                      std::tuple{&b.out_weight, &r.out_weight, &w.out_weight}}) {
            EXPECT_TRUE(m->is_bf16());
            EXPECT_EQ(m->bf16_bits, ref->bf16_bits);  // the file's bits, kept
            *wide = m->widened();
            bf16_matrices += m->is_bf16();
          }
          w.mlp.l2 = b.mlp.l2.widened();
          if constexpr (std::is_same_v<std::decay_t<decltype(b)>, hyena::sh2_attention_block_weights<float>>)
            w.qkv = b.qkv.widened();
          else
            w.projections = b.projections.widened();
        },
        loaded.blocks[i]);
  EXPECT_EQ(bf16_matrices, 3 * index_t(loaded.blocks.size()));
  const hyena::sh2_model<float> bf16(loaded), wide(widened);

  const auto io = hyena::safetensors_file::load((dir / "io.safetensors").string());
  const auto ids = io.read<std::int64_t>("input_ids");
  const index_t B = io.info("input_ids").shape[0], L = io.info("input_ids").shape[1], V = 512;
  std::vector<float> a(B * L * V), b(B * L * V);
  bf16.forward(B, L, ids, a, {}, hyena::execution_context(2));
  wide.forward(B, L, ids, b, {}, hyena::execution_context(2));
  EXPECT_EQ(a, b);

  // Prefill 100 tokens, step 30, against the forward's logits at those positions.
  const index_t P = 100, N = 30;
  auto state = bf16.make_state(B, P + N);
  std::vector<std::int64_t> prompt(B * P), step_ids(B);
  for (index_t r = 0; r < B; ++r)
    for (index_t t = 0; t < P; ++t) prompt[r * P + t] = ids[r * L + t];
  std::vector<float> last(B * V), logits(B * V);
  bf16.prefill(state, P, prompt, last, {}, hyena::execution_context(2));
  double worst = 0;
  for (index_t t = P; t < P + N; ++t) {
    for (index_t r = 0; r < B; ++r) step_ids[r] = ids[r * L + t];
    bf16.step(state, step_ids, logits, {}, hyena::execution_context(2));
    for (index_t r = 0; r < B; ++r) {
      std::vector<float> got(logits.begin() + r * V, logits.begin() + (r + 1) * V);
      std::vector<float> want(a.begin() + (r * L + t) * V, a.begin() + (r * L + t + 1) * V);
      worst = std::max(worst, hyena::test::relative_max_error(got, want));
    }
  }
  EXPECT_LE(worst, 2e-6);
}

}  // namespace

}  // namespace weight_matrix_test
