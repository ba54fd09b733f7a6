// The language model against an all-naive double-precision forward, and its
// input checks. The checkpoint loader and the config parser are tested in
// tests/io/test_lm_loader.cpp and tests/io/test_lm_config.cpp.
#include <hyena/model/hyena_lm.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/naive_lm.hpp"
#include "support/numerics.hpp"

namespace {

using hyena::index_t;
using hyena::test::random_ids;
using hyena::test::expect_error_within;
using hyena::test::relative_l2_error;

template <class T>
class HyenaLm : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(HyenaLm, Precisions);

// Tolerance of the whole model against the exact forward: 3x the model
// sqrt(n_layer) * fft_conv_error(n) (each block's error about one long
// convolution's, independent blocks adding in quadrature), derived in
// support/numerics.hpp. Measured with 3 layers: float 1.5e-7..2.0e-7 and
// double 3.1e-16..5.5e-16 (hidden and logits) against tolerances of
// 6.2e-7..1.1e-6 and 1.2e-15..2.0e-15: 3.9x to 5.7x (float) and 3.0x to
// 3.8x (double) margin; 7.1x / 3.6x with 2 layers in ShiftAndEpsilon.
template <class T>
double model_tolerance(index_t n_layer, index_t length) {
  return hyena::test::lm_tolerance<T>(n_layer, hyena::causal_conv_fft_size(length));
}

TYPED_TEST(HyenaLm, MatchesNaiveForwardForOddLengths) {
  using T = TypeParam;
  const index_t n_layer = 3, D = 24, H = 40, V = 16, l_max = 101, B = 2;
  const auto weights = hyena::test::random_lm_weights<T>(n_layer, D, H, V, l_max, 7);
  const auto exact_weights = hyena::test::to_double(weights);
  const hyena::hyena_lm<T> model(weights);
  EXPECT_EQ(model.n_layer(), n_layer);
  EXPECT_EQ(model.d_model(), D);
  EXPECT_EQ(model.d_inner(), H);
  EXPECT_EQ(model.padded_vocab_size(), V);
  EXPECT_EQ(model.max_length(), l_max);
  hyena::hyena_lm_workspace<T> ws;  // one workspace across lengths, larger and smaller
  for (index_t L : {1, 7, 33, 97, 3}) {
    const auto ids = random_ids(B * L, V, std::uint32_t(L));
    std::vector<T> hidden(B * L * D), logits(B * L * V);
    model.forward(B, L, ids, hidden, logits, ws);
    const auto expected = hyena::test::naive_lm_forward(exact_weights, B, L, ids, 0.05, 1e-5, false);
    const std::string at = std::string(sizeof(T) == 4 ? "float" : "double") + " L " + std::to_string(L);
    expect_error_within(relative_l2_error(hidden, expected.hidden), model_tolerance<T>(n_layer, L), at + " hidden");
    expect_error_within(relative_l2_error(logits, expected.logits), model_tolerance<T>(n_layer, L), at + " logits");
  }
}

TYPED_TEST(HyenaLm, ShiftAndEpsilonReachTheModel) {
  using T = TypeParam;
  const index_t D = 8, V = 16, L = 9;
  const auto weights = hyena::test::random_lm_weights<T>(2, D, 16, V, 16, 3);
  const auto ids = random_ids(L, V, 4);
  hyena::hyena_lm_options no_shift;
  no_shift.mixer.modulation.shift = 0.0;
  hyena::hyena_lm_options eps;
  eps.layer_norm_epsilon = 1e-1;
  const auto base = hyena::hyena_lm<T>(weights).forward(1, L, ids).logits;
  const auto expected = hyena::test::naive_lm_forward(hyena::test::to_double(weights), 1, L, ids, 0.0, 1e-1, false);
  const auto both = [&] {
    hyena::hyena_lm_options o = no_shift;
    o.layer_norm_epsilon = 1e-1;
    return hyena::hyena_lm<T>(weights, o).forward(1, L, ids).logits;
  }();
  EXPECT_GT(relative_l2_error(hyena::hyena_lm<T>(weights, no_shift).forward(1, L, ids).logits, base), 1e-4);
  EXPECT_GT(relative_l2_error(hyena::hyena_lm<T>(weights, eps).forward(1, L, ids).logits, base), 1e-4);
  expect_error_within(relative_l2_error(both, expected.logits), model_tolerance<T>(2, L),
                      std::string(sizeof(T) == 4 ? "float" : "double") + " shift 0, eps 0.1, L 9 logits");
}

TYPED_TEST(HyenaLm, TraceRecordsEveryStageAndChangesNothing) {
  using T = TypeParam;
  const index_t D = 8, H = 12, V = 16, L = 11, B = 2;
  const hyena::hyena_lm<T> model(hyena::test::random_lm_weights<T>(2, D, H, V, 32, 5));
  const auto ids = random_ids(B * L, V, 6);
  hyena::hyena_lm_workspace<T> ws;
  hyena::hyena_lm_trace<T> trace;
  std::vector<T> hidden(B * L * D), logits(B * L * V);
  model.forward(B, L, ids, hidden, logits, ws, &trace);
  const auto plain = model.forward(B, L, ids);
  EXPECT_EQ(hidden, plain.hidden);
  EXPECT_EQ(logits, plain.logits);
  ASSERT_EQ(trace.layers.size(), 2u);
  EXPECT_EQ(trace.embeddings.size(), B * L * D);
  for (const auto& l : trace.layers) {
    EXPECT_EQ(l.mlp_act.size(), B * L * H);
    // r_mid = r_in + mixer_out and r_out = r_mid + mlp_out, element by element.
    for (index_t i = 0; i < B * L * D; ++i) EXPECT_EQ(l.residual_out[i], T(l.residual_mid[i] + l.mlp_out[i]));
  }
  for (index_t i = 0; i < B * L * D; ++i)
    EXPECT_EQ(trace.layers[0].residual_mid[i], T(trace.embeddings[i] + trace.layers[0].mixer_out[i]));
}

TYPED_TEST(HyenaLm, BitIdenticalForEveryThreadCountAndBatchElement) {
  using T = TypeParam;
  const index_t D = 8, V = 16, L = 300, B = 2;  // > 256 rows per sequence: several GEMM blocks
  const auto weights = hyena::test::random_lm_weights<T>(1, D, 16, V, 300, 8);
  const auto ids = random_ids(B * L, V, 9);
  hyena::hyena_lm<T> one(weights), three(weights);
  one.set_execution(1);
  three.set_execution(3);
  const auto a = one.forward(B, L, ids);
  const auto b = three.forward(B, L, ids);
  EXPECT_EQ(a.hidden, b.hidden);
  EXPECT_EQ(a.logits, b.logits);
  // Sequences are independent: the second one alone gives its batch rows.
  const std::vector<std::int64_t> second(ids.begin() + L, ids.end());
  const auto c = one.forward(1, L, second);
  EXPECT_LE(relative_l2_error(c.logits, std::vector<T>(a.logits.begin() + L * V, a.logits.end())),
            4 * hyena::test::unit_roundoff<T>());
}

TYPED_TEST(HyenaLm, RejectsBadInputs) {
  using T = TypeParam;
  const index_t D = 8, V = 16, l_max = 20;
  const hyena::hyena_lm<T> model(hyena::test::random_lm_weights<T>(1, D, 16, V, l_max, 10));
  hyena::hyena_lm_workspace<T> ws;
  auto message = [&](index_t B, index_t L, std::vector<std::int64_t> ids, index_t hidden_size, index_t logits_size) {
    std::vector<T> hidden(hidden_size), logits(logits_size);
    try {
      model.forward(B, L, ids, hidden, logits, ws);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  const index_t L = l_max + 1;
  EXPECT_NE(message(1, L, std::vector<std::int64_t>(L, 7), L * D, L * V)
                .find("input length 21 exceeds the model's max_length 20"),
            std::string::npos);
  std::vector<std::int64_t> ids(10, 7);
  ids[4] = 16;
  EXPECT_NE(message(2, 5, ids, 10 * D, 10 * V).find("token id 16 at batch 0, position 4"), std::string::npos);
  ids[4] = 7;
  ids[8] = -1;
  EXPECT_NE(message(2, 5, ids, 10 * D, 10 * V).find("token id -1 at batch 1, position 3"), std::string::npos);
  ids[8] = 7;
  EXPECT_NE(message(2, 5, ids, 10 * D, 10 * V + 1).find("logits"), std::string::npos);
  EXPECT_NE(message(2, 5, ids, 10 * D - 1, 10 * V).find("hidden"), std::string::npos);
  EXPECT_NE(message(0, 5, {}, 0, 0).find("batch must be >= 1"), std::string::npos);
  EXPECT_EQ(message(2, 5, ids, 10 * D, 0), "no exception") << "empty logits skip the head";
  hyena::hyena_lm_options too_big;
  too_big.vocab_size = V + 1;
  EXPECT_THROW(hyena::hyena_lm<T>(hyena::test::random_lm_weights<T>(1, D, 16, V, l_max, 10), too_big),
               std::invalid_argument);
}

}  // namespace

namespace {

// Weights built in memory are checked as thoroughly as loaded ones: every
// non-finite value is rejected naming the member and its layer.
TEST(HyenaLmWeights, RejectsNonFiniteWeightsNamingTheMemberAndLayer) {
  const auto good = hyena::test::random_lm_weights<float>(2, 8, 16, 16, 64, 3);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  struct bad_case {
    std::function<void(hyena::hyena_lm_weights<float>&)> spoil;
    std::string named;
  };
  const std::vector<bad_case> cases = {
      {[&](auto& w) { w.word_embeddings[5] = nan; }, "word_embeddings[5]"},
      {[&](auto& w) { w.layers[0].mlp.fc1_weight[3] = nan; }, "layers[0].mlp: hyena::feed_forward_weights: fc1_weight[3]"},
      {[&](auto& w) { w.layers[1].mlp.fc2_bias[1] = nan; }, "layers[1].mlp: hyena::feed_forward_weights: fc2_bias[1]"},
      {[&](auto& w) { w.layers[1].norm1.weight[2] = nan; }, "layers[1].norm1.weight[2]"},
      {[&](auto& w) { w.final_norm.weight[0] = nan; }, "final_norm.weight[0]"},
      {[&](auto& w) { w.layers[1].mixer.out_proj_bias[4] = nan; }, "layers[1].mixer: hyena::hyena_weights: out_proj_bias[4]"},
  };
  for (const auto& c : cases) {
    auto w = good;
    c.spoil(w);
    try {
      hyena::hyena_lm<float> model(std::move(w));
      ADD_FAILURE() << "accepted a NaN at " << c.named;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(c.named), std::string::npos) << e.what();
    }
  }
}

}  // namespace
