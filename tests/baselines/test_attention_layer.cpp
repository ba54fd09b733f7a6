// attention_layer: the input and output projections around each attention
// core against the naive long-double layer, causality, in-place use,
// workspace, threads and input checks.
#include <hyena/baselines/attention_layer.hpp>
#include <hyena/baselines/linear_attention.hpp>
#include <hyena/baselines/local_attention.hpp>
#include <hyena/baselines/softmax_attention.hpp>
#include <hyena/baselines/tiled_attention.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <thread>
#include <utility>
#include <string>
#include <vector>

#include "support/attention_cases.hpp"

namespace {

using hyena::attention_shape;
using hyena::attention_workspace;
using hyena::index_t;
using hyena::test::expect_invalid;
using hyena::test::random_vector;
using hyena::test::reference_attention_layer;
using hyena::test::reference_linear_attention;
using hyena::test::reference_softmax_attention;
using hyena::test::relative_l2_error;
using hyena::test::unit_roundoff;
using hyena::test::wide;
using hyena::test::with_threads;

template <class T>
class AttentionLayer : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(AttentionLayer, Precisions);

// A layer adds d_model-term projections around the core: v's error passes
// through the core to the output and the output projection adds its own,
// each a d_model-term sum whose partial sums round independently, ~u*sqrt(
// d_model/8) relative (as in the reference-dump tests' projection model);
// with the core's error (core_error, support/attention_cases.hpp) in
// quadrature: hypot(core_error(L), u*sqrt(d_model/4)). Measured (worst over
// the four cores, biases or not, batch 1 and 2, float / double, units of u):
// D = 16: L = 1: 2.4 / 2.3 [model 2.1], L = 7: 2.7 / 2.4 [2.4], L = 33:
// 2.8 / 2.8 [2.7]; D = 24: L = 1: 2.1 / 2.3 [2.6], L = 7: 3.0 / 2.5 [2.8],
// L = 33: 3.0 / 2.7 [3.0]. The tolerance is 3x the model: 2.7x-3.3x the
// worst measurement at each shape.
template <class T>
double layer_tolerance(index_t length, index_t d_model) {
  return 3.0 * std::hypot(hyena::test::core_error<T>(length), unit_roundoff<T>() * std::sqrt(double(d_model) / 4));
}

// Weights like PyTorch's Linear initialisation, Uniform(+-1/sqrt(d_model)),
// so activations stay O(1) through the projections.
template <class T>
struct layer_weights {
  std::vector<T> w_qkv, b_qkv, w_out, b_out;
  layer_weights(index_t d_model, std::uint32_t seed, bool biases = true) {
    const double bound = 1.0 / std::sqrt(double(d_model));
    w_qkv = random_vector<T>(3 * d_model * d_model, seed, bound);
    w_out = random_vector<T>(d_model * d_model, seed + 1, bound);
    if (biases) {
      b_qkv = random_vector<T>(3 * d_model, seed + 2, bound);
      b_out = random_vector<T>(d_model, seed + 3, bound);
    }
  }
};

template <class Core>
hyena::attention_layer<Core> make_layer(index_t d_model, index_t heads,
                                        const layer_weights<typename Core::value_type>& w,
                                        Core core) {
  return hyena::attention_layer<Core>(d_model, heads, w.w_qkv, w.b_qkv, w.w_out, w.b_out,
                                      std::move(core));
}

// Runs one layer on every (batch, length) and (d_model, heads) combination
// against the reference layer built around `core_reference`.
template <class Core, class Reference>
void check_layer(const Core& core, Reference&& core_reference, const char* what) {
  using T = typename Core::value_type;
  std::uint32_t seed = 800;
  // head_dim 16 with one head, 8 with three; one case without biases.
  for (const auto& dims : {std::pair<index_t, index_t>{16, 1}, std::pair<index_t, index_t>{24, 3}})
    for (bool biases : {true, false})
      for (index_t batch : {1, 2})
        for (index_t L : {1, 7, 33}) {
          const index_t D = dims.first, H = dims.second;
          const layer_weights<T> w(D, seed += 5, biases);
          const auto x = random_vector<T>(batch * L * D, seed + 4);
          const auto layer = make_layer(D, H, w, core);
          std::vector<T> y(x.size());
          layer.apply(batch, L, x, y);
          const auto exact = reference_attention_layer(D, H, batch, L, x, w.w_qkv, w.b_qkv,
                                                       w.w_out, w.b_out, core_reference);
          hyena::test::expect_error_within(relative_l2_error(y, exact), layer_tolerance<T>(L, D),
                                           std::string(what) + " D " + std::to_string(D) + " H " +
                                               std::to_string(H) + " batch " + std::to_string(batch) + " L " +
                                               std::to_string(L) + (biases ? "" : " no biases"));
        }
}

TYPED_TEST(AttentionLayer, LayersMatchReference) {
  using T = TypeParam;
  const auto softmax_ref = [](const attention_shape& s, const std::vector<wide>& q,
                              const std::vector<wide>& k, const std::vector<wide>& v) {
    return reference_softmax_attention(s, q, k, v);
  };
  const auto local_ref = [](const attention_shape& s, const std::vector<wide>& q,
                            const std::vector<wide>& k, const std::vector<wide>& v) {
    return reference_softmax_attention(s, q, k, v, 5);
  };
  const auto linear_ref = [](const attention_shape& s, const std::vector<wide>& q,
                             const std::vector<wide>& k, const std::vector<wide>& v) {
    return reference_linear_attention(s, q, k, v);
  };
  check_layer(hyena::softmax_attention<T>(), softmax_ref, "softmax");
  check_layer(hyena::tiled_attention<T>(5, 3), softmax_ref, "tiled");
  check_layer(hyena::linear_attention<T>(4), linear_ref, "linear");
  check_layer(hyena::local_attention<T>(5, 4, 3), local_ref, "local");
}

TYPED_TEST(AttentionLayer, LayerIsCausalAndWorksInPlace) {
  using T = TypeParam;
  const index_t D = 24, H = 3, B = 2, L = 29, t0 = 11;
  const layer_weights<T> w(D, 900);
  const auto layer = make_layer(D, H, w, hyena::tiled_attention<T>(4, 4));
  auto x = random_vector<T>(B * L * D, 901);
  std::vector<T> y0(x.size()), y1(x.size());
  layer.apply(B, L, x, y0);
  // In place gives the same bits: x is read completely before y is written.
  std::vector<T> inplace = x;
  layer.apply(B, L, inplace, inplace);
  EXPECT_EQ(inplace, y0);
  for (index_t b = 0; b < B; ++b)
    for (index_t i = t0 * D; i < L * D; ++i) x[b * L * D + i] += T(4);
  layer.apply(B, L, x, y1);
  for (index_t b = 0; b < B; ++b) {
    for (index_t i = 0; i < t0 * D; ++i)
      ASSERT_EQ(y0[b * L * D + i], y1[b * L * D + i]) << "b " << b << " t " << i / D;
    EXPECT_NE(y0[b * L * D + t0 * D], y1[b * L * D + t0 * D]);
  }
}

// A layer: 4 activations of batch*length*d_model plus the core's scratch,
// reached on the first call and neither grown nor moved on the next.
TYPED_TEST(AttentionLayer, WorkspaceIsReportedAndReused) {
  using T = TypeParam;
  const index_t D = 48, H = 3, B = 2, L = 50;
  const layer_weights<T> w(D, 1001);
  const auto layer = make_layer(D, H, w, hyena::tiled_attention<T>());
  const auto x = random_vector<T>(B * L * D, 1002);
  std::vector<T> y(x.size());
  attention_workspace<T> ws;
  layer.apply(B, L, x, y, ws);
  const index_t expected =
      4 * B * L * D * sizeof(T) + layer.attention().workspace_bytes(layer.core_shape(B, L));
  EXPECT_EQ(layer.workspace_bytes(B, L), expected);
  EXPECT_EQ(ws.bytes(), expected);
  const T* activations = ws.activations(0);
  layer.apply(B, L, x, y, ws);
  EXPECT_EQ(ws.bytes(), expected);
  EXPECT_EQ(ws.activations(0), activations);
}

// A layer around each core gives the same bits on 1, 2, 3 and all hardware
// threads (0), with one workspace reused across the counts: its length and
// token count span several 256-row projection blocks, and 5 heads split
// unevenly over 2 and 3 threads. (The cores alone: each core's test file.)
template <class Core>
void check_layer_thread_counts_agree(const Core& core, const char* what) {
  using T = typename Core::value_type;
  attention_workspace<T> ws;
  const index_t D = 40, H = 5, B = 2, L = 300;
  const layer_weights<T> w(D, 1201);
  const auto layer = make_layer(D, H, w, core);
  const auto x = random_vector<T>(B * L * D, 1202);
  std::vector<T> y_expected(x.size()), y(x.size());
  with_threads(layer, 1).apply(B, L, x, y_expected, ws);
  for (unsigned threads : {2u, 3u, 0u}) {
    std::fill(y.begin(), y.end(), T(0));
    with_threads(layer, threads).apply(B, L, x, y, ws);
    EXPECT_EQ(y, y_expected) << what << " layer, threads " << threads;
  }
}

TYPED_TEST(AttentionLayer, ThreadCountsGiveIdenticalBits) {
  using T = TypeParam;
  check_layer_thread_counts_agree(hyena::softmax_attention<T>(), "softmax");
  check_layer_thread_counts_agree(hyena::tiled_attention<T>(13, 7), "tiled");
  check_layer_thread_counts_agree(hyena::linear_attention<T>(13), "linear");
  check_layer_thread_counts_agree(hyena::local_attention<T>(20, 9, 5), "local");
}

TYPED_TEST(AttentionLayer, LayerSharesItsThreadCountWithItsCore) {
  using T = TypeParam;
  // The default is every hardware thread, as for every object that computes.
  const unsigned hardware = hyena::execution_context().threads();
  const layer_weights<T> w(8, 1300);
  auto layer = make_layer(8, 2, w, hyena::tiled_attention<T>());
  EXPECT_EQ(layer.execution().threads(), hardware);
  layer = make_layer(8, 2, w, with_threads(hyena::tiled_attention<T>(), 2));
  EXPECT_EQ(layer.execution().threads(), 2u);
  layer.set_execution(3);
  EXPECT_EQ(layer.execution().threads(), 3u);
  EXPECT_EQ(layer.attention().execution().threads(), 3u);
  // The layer's workspace follows: the core's scratch is sized for 3 threads.
  EXPECT_EQ(layer.workspace_bytes(2, 10),
            4 * 2 * 10 * 8 * sizeof(T) + layer.attention().workspace_bytes(layer.core_shape(2, 10)));
  EXPECT_EQ(layer.attention().workspace_size(layer.core_shape(2, 10)),
            with_threads(hyena::tiled_attention<T>(), 3).workspace_size(layer.core_shape(2, 10)));
}

// One layer shared by several threads, each with its own workspace, gives
// the single-thread result bit for bit.
TYPED_TEST(AttentionLayer, SharedLayerAcrossThreadsIsBitIdentical) {
  using T = TypeParam;
  const index_t D = 32, H = 2, B = 2, L = 64;
  const layer_weights<T> w(D, 1100);
  const auto layer = make_layer(D, H, w, hyena::tiled_attention<T>(16, 16));
  const auto x = random_vector<T>(B * L * D, 1101);
  std::vector<T> expected(x.size());
  layer.apply(B, L, x, expected);
  const int threads = 3;
  std::vector<std::vector<T>> results(threads, std::vector<T>(x.size()));
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i)
    pool.emplace_back([&, i] {
      attention_workspace<T> ws;
      for (int rep = 0; rep < 3; ++rep) layer.apply(B, L, x, results[i], ws);
    });
  for (auto& t : pool) t.join();
  for (int i = 0; i < threads; ++i) EXPECT_EQ(results[i], expected) << "thread " << i;
}

TYPED_TEST(AttentionLayer, RejectsBadInput) {
  using T = TypeParam;
  using layer = hyena::attention_layer<hyena::tiled_attention<T>>;
  const index_t D = 6;
  const std::vector<T> wqkv(3 * D * D), bqkv(3 * D), wout(D * D), bout(D), none;
  expect_invalid([&] { layer(0, 1, wqkv, bqkv, wout, bout); }, {"attention_layer", "d_model", "0"});
  expect_invalid([&] { layer(D, 0, wqkv, bqkv, wout, bout); }, {"attention_layer", "heads", "0"});
  expect_invalid([&] { layer(D, 4, wqkv, bqkv, wout, bout); }, {"d_model = 6", "not divisible", "heads = 4"});
  expect_invalid([&] { layer(D, 2, std::vector<T>(107), bqkv, wout, bout); },
                 {"qkv_weight", "107", "3*6*6", "108"});
  expect_invalid([&] { layer(D, 2, wqkv, std::vector<T>(17), wout, bout); }, {"qkv_bias", "17", "18"});
  expect_invalid([&] { layer(D, 2, wqkv, bqkv, std::vector<T>(35), bout); }, {"out_weight", "35", "36"});
  expect_invalid([&] { layer(D, 2, wqkv, bqkv, wout, std::vector<T>(5)); }, {"out_bias", "5", "6"});
  EXPECT_NO_THROW(layer(D, 2, wqkv, none, wout, none));  // biases are optional

  const layer ok(D, 3, wqkv, bqkv, wout, bout);
  std::vector<T> x(2 * 5 * D), y(2 * 5 * D);
  expect_invalid([&] { ok.apply(0, 5, x, y); }, {"attention_layer::apply", "batch", "0"});
  expect_invalid([&] { ok.apply(2, 0, x, y); }, {"attention_layer::apply", "length", "0"});
  expect_invalid([&] { ok.apply(2, 4, x, y); }, {"x", "60", "2*4*6", "48"});
  std::vector<T> short_y(59);
  expect_invalid([&] { ok.apply(2, 5, x, short_y); }, {"y", "59", "2*5*6", "60"});
}

}  // namespace
