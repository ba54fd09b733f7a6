// The attention baselines (softmax, tiled, linear and local attention, and
// their layers) against naive long-double references and against one another.
#include <hyena/baselines/attention_common.hpp>
#include <hyena/baselines/attention_layer.hpp>
#include <hyena/baselines/linear_attention.hpp>
#include <hyena/baselines/local_attention.hpp>
#include <hyena/baselines/softmax_attention.hpp>
#include <hyena/baselines/tiled_attention.hpp>
#include <hyena/core/execution.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/expect_error.hpp"
#include "support/attention_reference.hpp"
#include "support/numerics.hpp"

namespace {

using hyena::test::expect_invalid;

using hyena::attention_shape;
using hyena::attention_workspace;
using hyena::index_t;
using hyena::test::random_vector;
using hyena::test::reference_attention_layer;
using hyena::test::reference_linear_attention;
using hyena::test::reference_softmax_attention;
using hyena::test::relative_l2_error;
using hyena::test::unit_roundoff;
using hyena::test::wide;

template <class T>
class Attention : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Attention, Precisions);

// Tolerance of a core's output against the long-double reference, as a
// relative L2 error over all outputs; u is the unit roundoff of T.
// Each output is a weighted mean over at most L keys. The head_dim-term
// score dot products round with an rms error of about u*sqrt(head_dim)
// relative (independent roundings add in quadrature), which moves each
// weight exp(score) by as much; the sums over up to L keys add about
// u*sqrt(L); exp, the scale and the division add a few u. Errors of
// different outputs are independent, so the L2 norm over all of them follows
// the rms: u*(sqrt(L) + sqrt(head_dim)) times a constant of order one. We
// allow 2; every core measures at most 0.3 on these shapes in either
// precision (the GEMMs' blocked sums grow slower than the sqrt bound), while
// a real defect (a wrong mask, a missed rescale) gives errors of 1e-3 and
// more, far above either precision's allowance (1.7e-6 float, 3.1e-15 double
// at L = 100, head_dim = 16).
template <class T>
double core_tolerance(index_t length, index_t head_dim) {
  return 2.0 * unit_roundoff<T>() * (std::sqrt(double(length)) + std::sqrt(double(head_dim)));
}

// A layer adds two d_model-term projections around the core: the q, k, v
// and output sums each round like u*sqrt(d_model), on top of the core's
// error, so the core's bound gains a sqrt(d_model) term.
template <class T>
double layer_tolerance(index_t length, index_t head_dim, index_t d_model) {
  return core_tolerance<T>(length, head_dim) + 2.0 * unit_roundoff<T>() * std::sqrt(double(d_model));
}

// Shapes for the core tests: L in {1, 2, 7, 33, 100} (tiny, odd, prime-ish,
// longer than every tile used), head_dim 8 and 16, and (batch, heads) either
// (1, 1) or (2, 3).
std::vector<attention_shape> small_shapes() {
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
struct operands {
  std::vector<T> q, k, v;
  operands(const attention_shape& s, std::uint32_t seed, double scale = 1.0)
      : q(random_vector<T>(s.elements(), seed, scale)),
        k(random_vector<T>(s.elements(), seed + 1, scale)),
        v(random_vector<T>(s.elements(), seed + 2)) {}
};

using tiles = std::pair<index_t, index_t>;  // (query_tile, key_tile); 0 = default

// Tiles that divide none of the lengths above 1 or several, equal and
// unequal (so diagonal tiles are cut in different places), and the default;
// 1 x 1 tiles too on the shorter lengths (at L = 100 they would only make
// the suite slow under sanitizers).
std::vector<tiles> tile_choices(index_t length) {
  std::vector<tiles> choices = {{0, 0}, {5, 3}, {3, 5}, {4, 4}, {16, 7}};
  if (length <= 33) choices.push_back({1, 1});
  return choices;
}

TYPED_TEST(Attention, SoftmaxMatchesReference) {
  using T = TypeParam;
  std::uint32_t seed = 100;
  for (const auto& s : small_shapes()) {
    const operands<T> in(s, seed += 3);
    const auto exact = reference_softmax_attention(s, in.q, in.k, in.v);
    std::vector<T> o(s.elements());
    hyena::softmax_attention<T>().apply(s, in.q, in.k, in.v, o);
    EXPECT_LE(relative_l2_error(o, exact), core_tolerance<T>(s.length, s.head_dim)) << s.describe();
  }
}

TYPED_TEST(Attention, TiledMatchesReferenceAndSoftmax) {
  using T = TypeParam;
  std::uint32_t seed = 200;
  for (const auto& s : small_shapes()) {
    const operands<T> in(s, seed += 3);
    const auto exact = reference_softmax_attention(s, in.q, in.k, in.v);
    std::vector<T> full(s.elements()), o(s.elements());
    hyena::softmax_attention<T>().apply(s, in.q, in.k, in.v, full);
    const double tol = core_tolerance<T>(s.length, s.head_dim);
    for (const tiles& t : tile_choices(s.length)) {
      hyena::tiled_attention<T>(t.first, t.second).apply(s, in.q, in.k, in.v, o);
      EXPECT_LE(relative_l2_error(o, exact), tol)
          << s.describe() << " tiles " << t.first << "x" << t.second;
      // Both are within tol of the exact result, so within 2 tol of each other.
      EXPECT_LE(relative_l2_error(o, full), 2 * tol)
          << s.describe() << " tiles " << t.first << "x" << t.second;
    }
  }
}

TYPED_TEST(Attention, LinearMatchesReference) {
  using T = TypeParam;
  std::uint32_t seed = 300;
  for (const auto& s : small_shapes()) {
    const operands<T> in(s, seed += 3);
    const auto exact = reference_linear_attention(s, in.q, in.k, in.v);
    std::vector<T> o(s.elements());
    // The default, one token per chunk (pure recurrence), and chunks that
    // divide none of the lengths or exceed some.
    for (index_t chunk : {64, 1, 5, 16}) {
      hyena::linear_attention<T>(chunk).apply(s, in.q, in.k, in.v, o);
      EXPECT_LE(relative_l2_error(o, exact), core_tolerance<T>(s.length, s.head_dim))
          << s.describe() << " chunk " << chunk;
    }
  }
}

TYPED_TEST(Attention, LocalMatchesReference) {
  using T = TypeParam;
  std::uint32_t seed = 400;
  for (const auto& s : small_shapes()) {
    const operands<T> in(s, seed += 3);
    std::vector<T> o(s.elements());
    // Windows from one key (attend to self only) to beyond the length.
    for (index_t w : {index_t(1), index_t(3), index_t(8), s.length, s.length + 5}) {
      const auto exact = reference_softmax_attention(s, in.q, in.k, in.v, w);
      for (const tiles& t : {tiles{0, 0}, tiles{5, 3}, tiles{2, 7}, tiles{1, 1}}) {
        if (t.first == 1 && s.length > 33) continue;  // as in tile_choices()
        hyena::local_attention<T>(w, t.first, t.second).apply(s, in.q, in.k, in.v, o);
        EXPECT_LE(relative_l2_error(o, exact), core_tolerance<T>(s.length, s.head_dim))
            << s.describe() << " window " << w << " tiles " << t.first << "x" << t.second;
      }
    }
  }
}

TYPED_TEST(Attention, LocalWithWindowCoveringSequenceEqualsSoftmax) {
  using T = TypeParam;
  std::uint32_t seed = 500;
  for (const auto& s : small_shapes()) {
    const operands<T> in(s, seed += 3);
    std::vector<T> full(s.elements()), o(s.elements());
    hyena::softmax_attention<T>().apply(s, in.q, in.k, in.v, full);
    for (index_t w : {s.length, s.length + 1, std::numeric_limits<index_t>::max()}) {
      hyena::local_attention<T>(w).apply(s, in.q, in.k, in.v, o);
      EXPECT_LE(relative_l2_error(o, full), 2 * core_tolerance<T>(s.length, s.head_dim))
          << s.describe() << " window " << w;
    }
  }
}

// Scores of +-100 and more: exp would overflow float without the row maximum
// subtracted, and the online softmax rescales its running sums many times.
// An exponent's rounding error is u*|score|, so the bound grows with the
// scores, i.e. with scale^2 (measured growth is only ~scale: large scores
// make the softmax nearly one-hot, and then little is averaged).
TYPED_TEST(Attention, LargeScoresStayAccurate) {
  using T = TypeParam;
  const double scale = 8;
  std::uint32_t seed = 600;
  for (const attention_shape& s : {attention_shape{2, 3, 100, 16}, attention_shape{1, 2, 33, 8}}) {
    const operands<T> in(s, seed += 3, scale);
    const double tol = core_tolerance<T>(s.length, s.head_dim) * scale * scale;
    std::vector<T> o(s.elements());
    const auto exact = reference_softmax_attention(s, in.q, in.k, in.v);
    hyena::softmax_attention<T>().apply(s, in.q, in.k, in.v, o);
    EXPECT_LE(relative_l2_error(o, exact), tol) << "softmax " << s.describe();
    hyena::tiled_attention<T>(5, 3).apply(s, in.q, in.k, in.v, o);
    EXPECT_LE(relative_l2_error(o, exact), tol) << "tiled " << s.describe();
    const auto banded = reference_softmax_attention(s, in.q, in.k, in.v, 10);
    hyena::local_attention<T>(10, 4, 3).apply(s, in.q, in.k, in.v, o);
    EXPECT_LE(relative_l2_error(o, banded), tol) << "local " << s.describe();
  }
}

// Outputs before t0 are bit-identical after q, k and v change from t0 on:
// masked keys enter the GEMMs as exact zeros (and a row's own GEMM
// arithmetic does not depend on other rows' values), so there is nothing to
// round differently. The change does reach t0 itself.
template <class T, class Apply>
void expect_causal(const attention_shape& s, Apply&& apply, const char* what) {
  operands<T> in(s, 700);
  std::vector<T> before(s.elements()), after(s.elements());
  apply(s, in.q, in.k, in.v, before);
  const index_t t0 = s.length / 2;
  for (index_t b = 0; b < s.batch; ++b)
    for (index_t h = 0; h < s.heads; ++h)
      for (index_t t = t0; t < s.length; ++t)
        for (index_t j = 0; j < s.head_dim; ++j) {
          const std::size_t i = hyena::test::attention_index(s, b, h, t, j);
          in.q[i] += T(3);
          in.k[i] -= T(2);
          in.v[i] += T(5);
        }
  apply(s, in.q, in.k, in.v, after);
  for (index_t b = 0; b < s.batch; ++b)
    for (index_t h = 0; h < s.heads; ++h) {
      for (index_t t = 0; t < t0; ++t)
        for (index_t j = 0; j < s.head_dim; ++j) {
          const std::size_t i = hyena::test::attention_index(s, b, h, t, j);
          ASSERT_EQ(before[i], after[i]) << what << " b " << b << " h " << h << " t " << t;
        }
      const std::size_t i = hyena::test::attention_index(s, b, h, t0, 0);
      EXPECT_NE(before[i], after[i]) << what << " b " << b << " h " << h << " t0 " << t0;
    }
}

TYPED_TEST(Attention, CoresAreCausal) {
  using T = TypeParam;
  using span_in = hyena::span<const T>;
  using span_out = hyena::span<T>;
  const attention_shape s{2, 3, 37, 8};
  const auto with = [](const auto& core) {
    return [&core](const attention_shape& shape, span_in q, span_in k, span_in v, span_out o) {
      core.apply(shape, q, k, v, o);
    };
  };
  const hyena::softmax_attention<T> softmax;
  const hyena::tiled_attention<T> tiled(5, 3);
  const hyena::linear_attention<T> linear(4);
  const hyena::local_attention<T> local(6, 4, 3);
  expect_causal<T>(s, with(softmax), "softmax");
  expect_causal<T>(s, with(tiled), "tiled");
  expect_causal<T>(s, with(linear), "linear");
  expect_causal<T>(s, with(local), "local");
}

// ---------------------------------------------------------------------------
// Layers

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
          EXPECT_LE(relative_l2_error(y, exact), layer_tolerance<T>(L, D / H, D))
              << what << " D " << D << " H " << H << " batch " << batch << " L " << L
              << (biases ? "" : " no biases");
        }
}

TYPED_TEST(Attention, LayersMatchReference) {
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

TYPED_TEST(Attention, LayerIsCausalAndWorksInPlace) {
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

// ---------------------------------------------------------------------------
// Workspace, threads, defaults

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

// The workspace reaches the size workspace_bytes() reports on the first call
// and neither grows nor moves on later calls of the same shape.
template <class Core>
void check_steady_workspace(const Core& core, const attention_shape& s) {
  using T = typename Core::value_type;
  const operands<T> in(s, 1000);
  std::vector<T> o(s.elements());
  attention_workspace<T> ws;
  core.apply(s, in.q, in.k, in.v, o, ws);
  EXPECT_EQ(ws.bytes(), core.workspace_bytes(s)) << s.describe();
  const T* scratch = ws.scratch(0);
  for (int rep = 0; rep < 2; ++rep) core.apply(s, in.q, in.k, in.v, o, ws);
  EXPECT_EQ(ws.bytes(), core.workspace_bytes(s));
  EXPECT_EQ(ws.scratch(0), scratch);
}

TYPED_TEST(Attention, WorkspaceIsReportedAndReused) {
  using T = TypeParam;
  const attention_shape s{2, 3, 50, 16};
  for (unsigned threads : {1u, 3u, 0u}) {
    check_steady_workspace(with_threads(hyena::softmax_attention<T>(), threads), s);
    check_steady_workspace(with_threads(hyena::tiled_attention<T>(), threads), s);
    check_steady_workspace(with_threads(hyena::tiled_attention<T>(32, 16), threads), s);
    check_steady_workspace(with_threads(hyena::linear_attention<T>(), threads), s);
    check_steady_workspace(with_threads(hyena::local_attention<T>(10), threads), s);
  }
  // The sizes the documentation promises, on one thread ...
  EXPECT_EQ(with_threads(hyena::softmax_attention<T>(), 1).workspace_bytes(s), 50 * 50 * sizeof(T));
  EXPECT_EQ(with_threads(hyena::tiled_attention<T>(32, 16), 1).workspace_bytes(s),
            (32 * 16 + 2 * 32) * sizeof(T));
  EXPECT_EQ(with_threads(hyena::tiled_attention<T>(500, 500), 1).workspace_bytes(s),
            (50 * 50 + 2 * 50) * sizeof(T));
  EXPECT_EQ(with_threads(hyena::linear_attention<T>(32), 1).workspace_bytes(s),
            (2 * 32 * 16 + 32 * 32 + 16 * 16 + 16) * sizeof(T));
  EXPECT_EQ(with_threads(hyena::linear_attention<T>(64), 1).workspace_bytes(s),  // chunk clipped to the length
            (2 * 50 * 16 + 50 * 50 + 16 * 16 + 16) * sizeof(T));
  // ... and on several: one slice per thread, at most one per head (6 here),
  // all but the last padded to whole lines.
  const index_t scores = 50 * 50, tile = 5 * 3 + 2 * 5;
  EXPECT_EQ(with_threads(hyena::softmax_attention<T>(), 3).workspace_bytes(s),
            (2 * padded_to_lines<T>(scores) + scores) * sizeof(T));
  EXPECT_EQ(with_threads(hyena::softmax_attention<T>(), 100).workspace_bytes(s),
            (5 * padded_to_lines<T>(scores) + scores) * sizeof(T));
  EXPECT_EQ(with_threads(hyena::tiled_attention<T>(5, 3), 2).workspace_bytes(s),
            (padded_to_lines<T>(tile) + tile) * sizeof(T));
  EXPECT_EQ(with_threads(hyena::local_attention<T>(4, 5, 3), 4).workspace_bytes(s),
            (3 * padded_to_lines<T>(tile) + tile) * sizeof(T));
  const index_t linear = 2 * 32 * 16 + 32 * 32 + 16 * 16 + 16;
  EXPECT_EQ(with_threads(hyena::linear_attention<T>(32), 3).workspace_bytes(s),
            (2 * padded_to_lines<T>(linear) + linear) * sizeof(T));
  // 0 threads means every hardware thread.
  const unsigned hardware = hyena::execution_context(0).threads();
  EXPECT_EQ(hyena::softmax_attention<T>().workspace_bytes(s),
            with_threads(hyena::softmax_attention<T>(), hardware).workspace_bytes(s));

  // A layer: 4 activations of batch*length*d_model plus the core's scratch.
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

// Every core, and a layer around it, gives the same bits on 1, 2, 3 and all
// hardware threads (0), with one workspace reused across the counts. batch 2
// with 5 heads splits unevenly over 2 and 3 threads; the layer's length and
// token count span several 256-row projection blocks; each core's scratch
// per thread is not a whole number of 64-byte lines, so a thread's slice
// would start at a different alignment if slices were not padded.
template <class Core>
void check_thread_counts_agree(const Core& core, const char* what) {
  using T = typename Core::value_type;
  const attention_shape s{2, 5, 101, 16};
  const operands<T> in(s, 1200);
  attention_workspace<T> ws;
  std::vector<T> expected(s.elements()), o(s.elements());
  with_threads(core, 1).apply(s, in.q, in.k, in.v, expected, ws);
  for (unsigned threads : {2u, 3u, 0u}) {
    std::fill(o.begin(), o.end(), T(0));
    with_threads(core, threads).apply(s, in.q, in.k, in.v, o, ws);
    EXPECT_EQ(o, expected) << what << " core, threads " << threads;
  }

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

TYPED_TEST(Attention, ThreadCountsGiveIdenticalBits) {
  using T = TypeParam;
  check_thread_counts_agree(hyena::softmax_attention<T>(), "softmax");      // 101^2 scores
  check_thread_counts_agree(hyena::tiled_attention<T>(13, 7), "tiled");     // 13*7 + 2*13
  check_thread_counts_agree(hyena::linear_attention<T>(13), "linear");      // 2*13*16 + 13^2 + 16^2 + 16
  check_thread_counts_agree(hyena::local_attention<T>(20, 9, 5), "local");  // 9*5 + 2*9
}

TYPED_TEST(Attention, LayerSharesItsThreadCountWithItsCore) {
  using T = TypeParam;
  // The default is every hardware thread, as for every object that computes.
  const unsigned hardware = hyena::execution_context().threads();
  EXPECT_EQ(hyena::softmax_attention<T>().execution().threads(), hardware);
  EXPECT_EQ(hyena::tiled_attention<T>().execution().threads(), hardware);
  EXPECT_EQ(hyena::linear_attention<T>().execution().threads(), hardware);
  EXPECT_EQ(hyena::local_attention<T>(4).execution().threads(), hardware);
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
TYPED_TEST(Attention, SharedLayerAcrossThreadsIsBitIdentical) {
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

TYPED_TEST(Attention, DefaultTilesFollowTheCacheBudget) {
  using T = TypeParam;
  // 4 * 128 * dh + 128^2 elements must fit 1 MiB.
  EXPECT_EQ(hyena::tiled_attention<T>().query_tile(64), 128u);
  EXPECT_EQ(hyena::tiled_attention<T>().key_tile(64), 128u);
  EXPECT_EQ(hyena::tiled_attention<T>(7, 9).query_tile(64), 7u);
  EXPECT_EQ(hyena::tiled_attention<T>(7, 9).key_tile(64), 9u);
  const index_t big_head = 1024;  // 4*128*1024 elements are 2 or 4 MiB: too big
  EXPECT_LT(hyena::tiled_attention<T>().query_tile(big_head), 128u);
  // Local attention's automatic query tile follows small windows, not below 16.
  EXPECT_EQ(hyena::local_attention<T>(40).query_tile(64), 40u);
  EXPECT_EQ(hyena::local_attention<T>(3).query_tile(64), 16u);
  EXPECT_EQ(hyena::local_attention<T>(1000).query_tile(64), 128u);
}

// ---------------------------------------------------------------------------
// Bad input

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
    core.apply(s, q, k, hyena::span<const T>(big.data(), 120), hyena::span<T>(big.data() + 60, 120));
  }, {name, "o", "v"});
  // Inputs may alias one another (self-attention on one array).
  EXPECT_NO_THROW(core.apply(s, q, q, q, o));
}

TYPED_TEST(Attention, RejectsBadInput) {
  using T = TypeParam;
  check_core_rejects_bad_input(hyena::softmax_attention<T>(), "softmax_attention::apply");
  check_core_rejects_bad_input(hyena::tiled_attention<T>(), "tiled_attention::apply");
  check_core_rejects_bad_input(hyena::linear_attention<T>(), "linear_attention::apply");
  check_core_rejects_bad_input(hyena::local_attention<T>(3), "local_attention::apply");
  expect_invalid([] { hyena::local_attention<T>(0); }, {"local_attention", "window", "0"});
  expect_invalid([] { hyena::linear_attention<T>(0); }, {"linear_attention", "chunk", "0"});

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
