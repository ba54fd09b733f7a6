// tiled_attention: FlashAttention's tiling with the online softmax against the
// naive reference and softmax_attention, its causality, workspace, default
// tiles, threads and input checks.
#include <hyena/baselines/softmax_attention.hpp>
#include <hyena/baselines/tiled_attention.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "support/attention_cases.hpp"

namespace {

using hyena::attention_shape;
using hyena::index_t;
using hyena::test::attention_operands;
using hyena::test::core_tolerance;
using hyena::test::padded_to_lines;
using hyena::test::reference_softmax_attention;
using hyena::test::relative_l2_error;
using hyena::test::tiles;
using hyena::test::with_threads;

template <class T>
class TiledAttention : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(TiledAttention, Precisions);

TYPED_TEST(TiledAttention, MatchesReferenceAndSoftmax) {
  using T = TypeParam;
  std::uint32_t seed = 200;
  for (const auto& s : hyena::test::small_shapes()) {
    const attention_operands<T> in(s, seed += 3);
    const auto exact = reference_softmax_attention(s, in.q, in.k, in.v);
    std::vector<T> full(s.elements()), o(s.elements());
    hyena::softmax_attention<T>().apply(s, in.q, in.k, in.v, full);
    const double tol = core_tolerance<T>(s.length);
    const double pair_tol = hyena::test::core_pair_tolerance<T>(s.length);
    for (const tiles& t : hyena::test::tile_choices(s.length)) {
      hyena::tiled_attention<T>(t.first, t.second).apply(s, in.q, in.k, in.v, o);
      const std::string what = s.describe() + " tiles " + std::to_string(t.first) + "x" + std::to_string(t.second);
      hyena::test::expect_error_within(relative_l2_error(o, exact), tol, "tiled " + what);
      // Two independent errors: they add in quadrature (core_pair_tolerance).
      hyena::test::expect_error_within(relative_l2_error(o, full), pair_tol, "tiled vs softmax " + what);
    }
  }
}

// See large_score_scale in support/attention_cases.hpp.
TYPED_TEST(TiledAttention, LargeScoresStayAccurate) {
  using T = TypeParam;
  std::uint32_t seed = 600;
  for (const attention_shape& s : hyena::test::large_score_shapes()) {
    const attention_operands<T> in(s, seed += 3, hyena::test::large_score_scale);
    std::vector<T> o(s.elements());
    const auto exact = reference_softmax_attention(s, in.q, in.k, in.v);
    hyena::tiled_attention<T>(5, 3).apply(s, in.q, in.k, in.v, o);
    hyena::test::expect_error_within(relative_l2_error(o, exact), hyena::test::large_score_tolerance<T>(s),
                                      "tiled large scores " + s.describe());
  }
}

TYPED_TEST(TiledAttention, IsCausal) { hyena::test::expect_causal(hyena::tiled_attention<TypeParam>(5, 3), "tiled"); }

TYPED_TEST(TiledAttention, WorkspaceIsReportedAndReused) {
  using T = TypeParam;
  const attention_shape s = hyena::test::workspace_shape;
  hyena::test::check_steady_workspace_on_thread_counts(hyena::tiled_attention<T>());
  hyena::test::check_steady_workspace_on_thread_counts(hyena::tiled_attention<T>(32, 16));
  // The sizes the documentation promises, on one thread ...
  EXPECT_EQ(with_threads(hyena::tiled_attention<T>(32, 16), 1).workspace_bytes(s),
            (32 * 16 + 2 * 32) * sizeof(T));
  EXPECT_EQ(with_threads(hyena::tiled_attention<T>(500, 500), 1).workspace_bytes(s),
            (50 * 50 + 2 * 50) * sizeof(T));
  // ... and on several: one slice per thread, all but the last padded to whole lines.
  const index_t tile = 5 * 3 + 2 * 5;
  EXPECT_EQ(with_threads(hyena::tiled_attention<T>(5, 3), 2).workspace_bytes(s),
            (padded_to_lines<T>(tile) + tile) * sizeof(T));
}

TYPED_TEST(TiledAttention, ThreadCountsGiveIdenticalBits) {
  hyena::test::check_core_thread_counts_agree(hyena::tiled_attention<TypeParam>(13, 7), "tiled");  // 13*7 + 2*13
}

// The default is every hardware thread, as for every object that computes.
TYPED_TEST(TiledAttention, RunsOnEveryHardwareThreadByDefault) {
  EXPECT_EQ(hyena::tiled_attention<TypeParam>().execution().threads(), hyena::execution_context().threads());
}

TYPED_TEST(TiledAttention, DefaultTilesFollowTheCacheBudget) {
  using T = TypeParam;
  // 4 * 128 * dh + 128^2 elements must fit 1 MiB.
  EXPECT_EQ(hyena::tiled_attention<T>().query_tile(64), 128u);
  EXPECT_EQ(hyena::tiled_attention<T>().key_tile(64), 128u);
  EXPECT_EQ(hyena::tiled_attention<T>(7, 9).query_tile(64), 7u);
  EXPECT_EQ(hyena::tiled_attention<T>(7, 9).key_tile(64), 9u);
  const index_t big_head = 1024;  // 4*128*1024 elements are 2 or 4 MiB: too big
  EXPECT_LT(hyena::tiled_attention<T>().query_tile(big_head), 128u);
}

TYPED_TEST(TiledAttention, RejectsBadInput) {
  hyena::test::check_core_rejects_bad_input(hyena::tiled_attention<TypeParam>(), "tiled_attention::apply");
}

}  // namespace
