// local_attention: sliding-window softmax attention against the naive banded
// reference and softmax_attention, its causality, workspace, default query
// tile, threads and input checks.
#include <hyena/baselines/local_attention.hpp>
#include <hyena/baselines/softmax_attention.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
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
class LocalAttention : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(LocalAttention, Precisions);

TYPED_TEST(LocalAttention, MatchesReference) {
  using T = TypeParam;
  std::uint32_t seed = 400;
  for (const auto& s : hyena::test::small_shapes()) {
    const attention_operands<T> in(s, seed += 3);
    std::vector<T> o(s.elements());
    // Windows from one key (attend to self only) to beyond the length.
    for (index_t w : {index_t(1), index_t(3), index_t(8), s.length, s.length + 5}) {
      const auto exact = reference_softmax_attention(s, in.q, in.k, in.v, w);
      for (const tiles& t : {tiles{0, 0}, tiles{5, 3}, tiles{2, 7}, tiles{1, 1}}) {
        if (t.first == 1 && s.length > 33) continue;  // as in tile_choices()
        hyena::local_attention<T>(w, t.first, t.second).apply(s, in.q, in.k, in.v, o);
        hyena::test::expect_error_within(relative_l2_error(o, exact), core_tolerance<T>(s.length),
                                         "local " + s.describe() + " window " + std::to_string(w) + " tiles " +
                                             std::to_string(t.first) + "x" + std::to_string(t.second));
      }
    }
  }
}

TYPED_TEST(LocalAttention, WindowCoveringSequenceEqualsSoftmax) {
  using T = TypeParam;
  std::uint32_t seed = 500;
  for (const auto& s : hyena::test::small_shapes()) {
    const attention_operands<T> in(s, seed += 3);
    std::vector<T> full(s.elements()), o(s.elements());
    hyena::softmax_attention<T>().apply(s, in.q, in.k, in.v, full);
    for (index_t w : {s.length, s.length + 1, std::numeric_limits<index_t>::max()}) {
      hyena::local_attention<T>(w).apply(s, in.q, in.k, in.v, o);
      hyena::test::expect_error_within(relative_l2_error(o, full), hyena::test::core_pair_tolerance<T>(s.length),
                                       "local vs softmax " + s.describe() + " window " + std::to_string(w));
    }
  }
}

// See large_score_scale in support/attention_cases.hpp.
TYPED_TEST(LocalAttention, LargeScoresStayAccurate) {
  using T = TypeParam;
  std::uint32_t seed = 600;
  for (const attention_shape& s : hyena::test::large_score_shapes()) {
    const attention_operands<T> in(s, seed += 3, hyena::test::large_score_scale);
    std::vector<T> o(s.elements());
    const auto banded = reference_softmax_attention(s, in.q, in.k, in.v, 10);
    hyena::local_attention<T>(10, 4, 3).apply(s, in.q, in.k, in.v, o);
    hyena::test::expect_error_within(relative_l2_error(o, banded), hyena::test::large_score_tolerance<T>(s, 10),
                                      "local large scores " + s.describe());
  }
}

TYPED_TEST(LocalAttention, IsCausal) { hyena::test::expect_causal(hyena::local_attention<TypeParam>(6, 4, 3), "local"); }

TYPED_TEST(LocalAttention, WorkspaceIsReportedAndReused) {
  using T = TypeParam;
  const attention_shape s = hyena::test::workspace_shape;
  hyena::test::check_steady_workspace_on_thread_counts(hyena::local_attention<T>(10));
  // One slice per thread, at most one per head (6 here), all but the last
  // padded to whole lines.
  const index_t tile = 5 * 3 + 2 * 5;
  EXPECT_EQ(with_threads(hyena::local_attention<T>(4, 5, 3), 4).workspace_bytes(s),
            (3 * padded_to_lines<T>(tile) + tile) * sizeof(T));
}

TYPED_TEST(LocalAttention, ThreadCountsGiveIdenticalBits) {
  hyena::test::check_core_thread_counts_agree(hyena::local_attention<TypeParam>(20, 9, 5), "local");  // 9*5 + 2*9
}

// The default is every hardware thread, as for every object that computes.
TYPED_TEST(LocalAttention, RunsOnEveryHardwareThreadByDefault) {
  EXPECT_EQ(hyena::local_attention<TypeParam>(4).execution().threads(), hyena::execution_context().threads());
}

// The automatic query tile follows small windows, not below 16.
TYPED_TEST(LocalAttention, DefaultQueryTileFollowsTheWindow) {
  using T = TypeParam;
  EXPECT_EQ(hyena::local_attention<T>(40).query_tile(64), 40u);
  EXPECT_EQ(hyena::local_attention<T>(3).query_tile(64), 16u);
  EXPECT_EQ(hyena::local_attention<T>(1000).query_tile(64), 128u);
}

TYPED_TEST(LocalAttention, RejectsBadInput) {
  using T = TypeParam;
  hyena::test::check_core_rejects_bad_input(hyena::local_attention<T>(3), "local_attention::apply");
  hyena::test::expect_invalid([] { hyena::local_attention<T>(0); }, {"local_attention", "window", "0"});
}

}  // namespace
