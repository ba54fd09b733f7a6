// softmax_attention: the materialised L x L score matrix against the naive
// long-double reference, its causality, workspace, threads and input checks.
#include <hyena/baselines/softmax_attention.hpp>

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
using hyena::test::with_threads;

template <class T>
class SoftmaxAttention : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(SoftmaxAttention, Precisions);

TYPED_TEST(SoftmaxAttention, MatchesReference) {
  using T = TypeParam;
  std::uint32_t seed = 100;
  for (const auto& s : hyena::test::small_shapes()) {
    const attention_operands<T> in(s, seed += 3);
    const auto exact = reference_softmax_attention(s, in.q, in.k, in.v);
    std::vector<T> o(s.elements());
    hyena::softmax_attention<T>().apply(s, in.q, in.k, in.v, o);
    hyena::test::expect_error_within(relative_l2_error(o, exact), core_tolerance<T>(s.length),
                                      "softmax " + s.describe());
  }
}

// See large_score_scale in support/attention_cases.hpp.
TYPED_TEST(SoftmaxAttention, LargeScoresStayAccurate) {
  using T = TypeParam;
  std::uint32_t seed = 600;
  for (const attention_shape& s : hyena::test::large_score_shapes()) {
    const attention_operands<T> in(s, seed += 3, hyena::test::large_score_scale);
    std::vector<T> o(s.elements());
    const auto exact = reference_softmax_attention(s, in.q, in.k, in.v);
    hyena::softmax_attention<T>().apply(s, in.q, in.k, in.v, o);
    hyena::test::expect_error_within(relative_l2_error(o, exact), hyena::test::large_score_tolerance<T>(s),
                                      "softmax large scores " + s.describe());
  }
}

TYPED_TEST(SoftmaxAttention, IsCausal) { hyena::test::expect_causal(hyena::softmax_attention<TypeParam>(), "softmax"); }

TYPED_TEST(SoftmaxAttention, WorkspaceIsReportedAndReused) {
  using T = TypeParam;
  const attention_shape s = hyena::test::workspace_shape;
  hyena::test::check_steady_workspace_on_thread_counts(hyena::softmax_attention<T>());
  // The size the documentation promises, on one thread ...
  EXPECT_EQ(with_threads(hyena::softmax_attention<T>(), 1).workspace_bytes(s), 50 * 50 * sizeof(T));
  // ... and on several: one slice per thread, at most one per head (6 here),
  // all but the last padded to whole lines.
  const index_t scores = 50 * 50;
  EXPECT_EQ(with_threads(hyena::softmax_attention<T>(), 3).workspace_bytes(s),
            (2 * padded_to_lines<T>(scores) + scores) * sizeof(T));
  EXPECT_EQ(with_threads(hyena::softmax_attention<T>(), 100).workspace_bytes(s),
            (5 * padded_to_lines<T>(scores) + scores) * sizeof(T));
  // 0 threads means every hardware thread.
  const unsigned hardware = hyena::execution_context(0).threads();
  EXPECT_EQ(hyena::softmax_attention<T>().workspace_bytes(s),
            with_threads(hyena::softmax_attention<T>(), hardware).workspace_bytes(s));
}

TYPED_TEST(SoftmaxAttention, ThreadCountsGiveIdenticalBits) {
  hyena::test::check_core_thread_counts_agree(hyena::softmax_attention<TypeParam>(), "softmax");  // 101^2 scores
}

// The default is every hardware thread, as for every object that computes.
TYPED_TEST(SoftmaxAttention, RunsOnEveryHardwareThreadByDefault) {
  EXPECT_EQ(hyena::softmax_attention<TypeParam>().execution().threads(), hyena::execution_context().threads());
}

TYPED_TEST(SoftmaxAttention, RejectsBadInput) {
  hyena::test::check_core_rejects_bad_input(hyena::softmax_attention<TypeParam>(), "softmax_attention::apply");
}

}  // namespace
