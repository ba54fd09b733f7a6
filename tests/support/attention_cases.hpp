// What the attention baseline tests share: tolerances, shapes, operands and
// tiles, and the checks every core passes the same way (causality, steady
// workspace, bit-identical thread counts, rejected input). Each core's own
// test file (tests/baselines/test_<core>.cpp) runs them on that core.
#pragma once

#include <hyena/baselines/attention_common.hpp>
#include <hyena/core/execution.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "support/attention_reference.hpp"
#include "support/expect_error.hpp"
#include "support/numerics.hpp"

namespace hyena::test {

// Predicted relative L2 error (over all outputs) of a core against the
// long-double reference, reading `keys` keys per query at most (L, or the
// window): u*sqrt((1 + log2(keys))/2).
//
// Each output is a weighted mean of v. The weights exp(score) carry the
// score dot product's and exp's few roundings, which average out over the
// mean to ~u; the GEMM sums over the keys are blocked (Eigen sums vector
// lanes, then the lanes in a tree), so their roundings add in quadrature
// over ~log2(keys) levels rather than keys terms. head_dim does not show:
// the measured errors at head_dim 8 and 16 agree within the scatter.
//
// Measured on small_shapes() (worst over every core, tile, window, chunk
// and both precisions, in units of u; model in brackets): L = 1: 0 for the
// softmax cores (one key: o = v exactly), 1.08 linear [0.71]; L = 2: 0.28-
// 1.31 [0.99]; L = 7: 0.75-1.44 [1.39]; L = 33: 1.04-1.64 [1.77]; L = 100:
// 1.29-1.86 [1.98]. The model is within 1.4x of the worst case at each L
// and within 2x of the typical one (above L = 1).
template <class T>
double core_error(index_t keys) {
  return unit_roundoff<T>() * std::sqrt((1.0 + std::log2(double(keys))) / 2.0);
}

// Tolerance of a core against the reference: 4x core_error, 2.6x the worst
// measurement (linear attention, L = 1) and 3.0x-4.3x from L = 2 on. A real
// defect (a wrong mask, a missed rescale) gives errors of 1e-3 and more; q
// scaled by 1 + 1e-5 before the softmax core fails 31 of its 32 cases with
// L >= 2 (float and double), by 1 + 1e-6 every double one.
template <class T>
double core_tolerance(index_t length) {
  return 4.0 * core_error<T>(length);
}

// Two cores against each other (tiled or local against softmax): both
// errors, independent, add in quadrature: 3x sqrt(2)*core_error. Measured
// 0.35u-2.40u against the model's 1.4u-2.8u (L = 2 .. 100), 3.5x-12x below
// the tolerance (0 at L = 1).
template <class T>
double core_pair_tolerance(index_t length) {
  return 3.0 * std::sqrt(2.0) * core_error<T>(length);
}

// Shapes for the core tests: L in {1, 2, 7, 33, 100} (tiny, odd, prime-ish,
// longer than every tile used), head_dim 8 and 16, and (batch, heads) either
// (1, 1) or (2, 3).
inline std::vector<attention_shape> small_shapes() {
  std::vector<attention_shape> shapes;
  for (index_t L : {1, 2, 7, 33, 100})
    for (index_t dh : {8, 16}) {
      shapes.push_back({1, 1, L, dh});
      shapes.push_back({2, 3, L, dh});
    }
  return shapes;
}

// Uniform(-scale, scale) q and k (scale sets the size of the scores) and
// Uniform(-1, 1) v, in [batch][heads][length][head_dim].
template <class T>
struct attention_operands {
  std::vector<T> q, k, v;
  attention_operands(const attention_shape& s, std::uint32_t seed, double scale = 1.0)
      : q(random_vector<T>(s.elements(), seed, scale)),
        k(random_vector<T>(s.elements(), seed + 1, scale)),
        v(random_vector<T>(s.elements(), seed + 2)) {}
};

using tiles = std::pair<index_t, index_t>;  // (query_tile, key_tile); 0 = default

// Tiles that divide none of the lengths above 1 or several, equal and
// unequal (so diagonal tiles are cut in different places), and the default;
// 1 x 1 tiles too on the shorter lengths (at L = 100 they would only make
// the suite slow under sanitizers).
inline std::vector<tiles> tile_choices(index_t length) {
  std::vector<tiles> choices = {{0, 0}, {5, 3}, {3, 5}, {4, 4}, {16, 7}};
  if (length <= 33) choices.push_back({1, 1});
  return choices;
}

// Scores of +-100 and more (q and k scaled by large_score_scale): exp would
// overflow float without the row maximum subtracted, and the online softmax
// rescales its running sums many times. An exponent's rounding error is
// u*|score|, which would grow like scale^2; measured, the error grows only
// like scale/2 (large scores make the softmax nearly one-hot, and then
// little is averaged). Model: (scale/2)*core_error(keys), keys = min(L,
// window). Measured (float / double, units of u): softmax 8.3 / 8.3 at L =
// 100 and 3.6 / 5.5 at L = 33 [model 7.9, 7.1]; tiled 6.3 / 7.6 and 3.3 /
// 3.5; local (window 10) 4.4 / 5.8 and 1.5 / 3.2 [5.9]. The tolerance is 4x
// the model: 3.8x the worst measurement.
inline constexpr double large_score_scale = 8;
inline std::vector<attention_shape> large_score_shapes() {
  return {attention_shape{2, 3, 100, 16}, attention_shape{1, 2, 33, 8}};
}
template <class T>
double large_score_tolerance(const attention_shape& s, index_t window = 0) {
  const index_t keys = window == 0 ? s.length : std::min(s.length, window);
  return 4.0 * (large_score_scale / 2) * core_error<T>(keys);
}

// Outputs before t0 are bit-identical after q, k and v change from t0 on:
// masked keys enter the GEMMs as exact zeros (and a row's own GEMM
// arithmetic does not depend on other rows' values), so there is nothing to
// round differently. The change does reach t0 itself.
template <class Core>
void expect_causal(const Core& core, const char* what) {
  using T = typename Core::value_type;
  const attention_shape s{2, 3, 37, 8};
  attention_operands<T> in(s, 700);
  std::vector<T> before(s.elements()), after(s.elements());
  core.apply(s, in.q, in.k, in.v, before);
  const index_t t0 = s.length / 2;
  for (index_t b = 0; b < s.batch; ++b)
    for (index_t h = 0; h < s.heads; ++h)
      for (index_t t = t0; t < s.length; ++t)
        for (index_t j = 0; j < s.head_dim; ++j) {
          const std::size_t i = attention_index(s, b, h, t, j);
          in.q[i] += T(3);
          in.k[i] -= T(2);
          in.v[i] += T(5);
        }
  core.apply(s, in.q, in.k, in.v, after);
  for (index_t b = 0; b < s.batch; ++b)
    for (index_t h = 0; h < s.heads; ++h) {
      for (index_t t = 0; t < t0; ++t)
        for (index_t j = 0; j < s.head_dim; ++j) {
          const std::size_t i = attention_index(s, b, h, t, j);
          ASSERT_EQ(before[i], after[i]) << what << " b " << b << " h " << h << " t " << t;
        }
      const std::size_t i = attention_index(s, b, h, t0, 0);
      EXPECT_NE(before[i], after[i]) << what << " b " << b << " h " << h << " t0 " << t0;
    }
}

// A copy of a core or layer set to run on `threads` threads.
template <class Object>
Object with_threads(Object object, unsigned threads) {
  object.set_execution(threads);
  return object;
}

// n elements rounded up to whole 64-byte lines: the stride between threads'
// scratch slices.
template <class T>
index_t padded_to_lines(index_t n) {
  const index_t line = 64 / sizeof(T);
  return (n + line - 1) / line * line;
}

// The shape the workspace tests use: 6 heads of 50 x 16.
inline constexpr attention_shape workspace_shape{2, 3, 50, 16};

// The workspace reaches the size workspace_bytes() reports on the first call
// and neither grows nor moves on later calls of the same shape.
template <class Core>
void check_steady_workspace(const Core& core, const attention_shape& s) {
  using T = typename Core::value_type;
  const attention_operands<T> in(s, 1000);
  std::vector<T> o(s.elements());
  attention_workspace<T> ws;
  core.apply(s, in.q, in.k, in.v, o, ws);
  EXPECT_EQ(ws.bytes(), core.workspace_bytes(s)) << s.describe();
  const T* scratch = ws.scratch(0);
  for (int rep = 0; rep < 2; ++rep) core.apply(s, in.q, in.k, in.v, o, ws);
  EXPECT_EQ(ws.bytes(), core.workspace_bytes(s));
  EXPECT_EQ(ws.scratch(0), scratch);
}

// check_steady_workspace on 1, 3 and all hardware threads (0).
template <class Core>
void check_steady_workspace_on_thread_counts(const Core& core) {
  for (unsigned threads : {1u, 3u, 0u}) check_steady_workspace(with_threads(core, threads), workspace_shape);
}

// A core gives the same bits on 1, 2, 3 and all hardware threads (0), with
// one workspace reused across the counts. batch 2 with 5 heads splits
// unevenly over 2 and 3 threads; each core's scratch per thread is not a
// whole number of 64-byte lines, so a thread's slice would start at a
// different alignment if slices were not padded.
template <class Core>
void check_core_thread_counts_agree(const Core& core, const char* what) {
  using T = typename Core::value_type;
  const attention_shape s{2, 5, 101, 16};
  const attention_operands<T> in(s, 1200);
  attention_workspace<T> ws;
  std::vector<T> expected(s.elements()), o(s.elements());
  with_threads(core, 1).apply(s, in.q, in.k, in.v, expected, ws);
  for (unsigned threads : {2u, 3u, 0u}) {
    std::fill(o.begin(), o.end(), T(0));
    with_threads(core, threads).apply(s, in.q, in.k, in.v, o, ws);
    EXPECT_EQ(o, expected) << what << " core, threads " << threads;
  }
}

// Zero extents, spans of the wrong size and an output overlapping an input
// are rejected with messages naming `name` ("softmax_attention::apply") and
// the operand; inputs may alias one another.
template <class Core>
void check_core_rejects_bad_input(const Core& core, const char* name) {
  using T = typename Core::value_type;
  const attention_shape s{2, 3, 5, 4};  // 120 elements
  std::vector<T> q(120), k(120), v(120), o(120), short_v(119);
  expect_invalid([&] { core.apply({0, 3, 5, 4}, q, k, v, o); }, {name, "batch", "0"});
  expect_invalid([&] { core.apply({2, 0, 5, 4}, q, k, v, o); }, {name, "heads", "0"});
  expect_invalid([&] { core.apply({2, 3, 0, 4}, q, k, v, o); }, {name, "length", "0"});
  expect_invalid([&] { core.apply({2, 3, 5, 0}, q, k, v, o); }, {name, "head_dim", "0"});
  expect_invalid([&] { core.apply(s, std::vector<T>(121), k, v, o); }, {name, "q", "121", "2*3*5*4", "120"});
  expect_invalid([&] { core.apply(s, q, std::vector<T>(60), v, o); }, {name, "k", "60", "120"});
  expect_invalid([&] { core.apply(s, q, k, short_v, o); }, {name, "v", "119", "120"});
  std::vector<T> empty_o;
  expect_invalid([&] { core.apply(s, q, k, v, empty_o); }, {name, "o", "0", "120"});
  // The output may not share memory with an input (o is written while inputs are read).
  expect_invalid([&] { core.apply(s, q, k, v, q); }, {name, "o", "q"});
  std::vector<T> big(240);
  expect_invalid([&] {
    core.apply(s, q, k, span<const T>(big.data(), 120), span<T>(big.data() + 60, 120));
  }, {name, "o", "v"});
  // Inputs may alias one another (self-attention on one array).
  EXPECT_NO_THROW(core.apply(s, q, q, q, o));
}

}  // namespace hyena::test
