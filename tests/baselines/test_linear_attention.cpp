// linear_attention: elu+1 feature maps and chunked running sums against the
// naive reference, its causality, workspace, threads and input checks.
#include <hyena/baselines/linear_attention.hpp>

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
using hyena::test::reference_linear_attention;
using hyena::test::relative_l2_error;
using hyena::test::with_threads;

template <class T>
class LinearAttention : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(LinearAttention, Precisions);

TYPED_TEST(LinearAttention, MatchesReference) {
  using T = TypeParam;
  std::uint32_t seed = 300;
  for (const auto& s : hyena::test::small_shapes()) {
    const attention_operands<T> in(s, seed += 3);
    const auto exact = reference_linear_attention(s, in.q, in.k, in.v);
    std::vector<T> o(s.elements());
    // The default, one token per chunk (pure recurrence), and chunks that
    // divide none of the lengths or exceed some.
    for (index_t chunk : {64, 1, 5, 16}) {
      hyena::linear_attention<T>(chunk).apply(s, in.q, in.k, in.v, o);
      hyena::test::expect_error_within(relative_l2_error(o, exact), core_tolerance<T>(s.length),
                                       "linear " + s.describe() + " chunk " + std::to_string(chunk));
    }
  }
}

TYPED_TEST(LinearAttention, IsCausal) { hyena::test::expect_causal(hyena::linear_attention<TypeParam>(4), "linear"); }

TYPED_TEST(LinearAttention, WorkspaceIsReportedAndReused) {
  using T = TypeParam;
  const attention_shape s = hyena::test::workspace_shape;
  hyena::test::check_steady_workspace_on_thread_counts(hyena::linear_attention<T>());
  // The sizes the documentation promises, on one thread ...
  EXPECT_EQ(with_threads(hyena::linear_attention<T>(32), 1).workspace_bytes(s),
            (2 * 32 * 16 + 32 * 32 + 16 * 16 + 16) * sizeof(T));
  EXPECT_EQ(with_threads(hyena::linear_attention<T>(64), 1).workspace_bytes(s),  // chunk clipped to the length
            (2 * 50 * 16 + 50 * 50 + 16 * 16 + 16) * sizeof(T));
  // ... and on several: one slice per thread, all but the last padded to whole lines.
  const index_t linear = 2 * 32 * 16 + 32 * 32 + 16 * 16 + 16;
  EXPECT_EQ(with_threads(hyena::linear_attention<T>(32), 3).workspace_bytes(s),
            (2 * padded_to_lines<T>(linear) + linear) * sizeof(T));
}

TYPED_TEST(LinearAttention, ThreadCountsGiveIdenticalBits) {
  // 2*13*16 + 13^2 + 16^2 + 16 per thread
  hyena::test::check_core_thread_counts_agree(hyena::linear_attention<TypeParam>(13), "linear");
}

// The default is every hardware thread, as for every object that computes.
TYPED_TEST(LinearAttention, RunsOnEveryHardwareThreadByDefault) {
  EXPECT_EQ(hyena::linear_attention<TypeParam>().execution().threads(), hyena::execution_context().threads());
}

TYPED_TEST(LinearAttention, RejectsBadInput) {
  using T = TypeParam;
  hyena::test::check_core_rejects_bad_input(hyena::linear_attention<T>(), "linear_attention::apply");
  hyena::test::expect_invalid([] { hyena::linear_attention<T>(0); }, {"linear_attention", "chunk", "0"});
}

}  // namespace
