// attention_common.hpp: the operand shape, the caller-owned workspace, and
// the detail helpers every attention core sizes and checks with (default
// tile, per-thread scratch slices, overlap and operand checks, row-major views).
#include <hyena/baselines/attention_common.hpp>

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <vector>

#include "support/expect_error.hpp"

namespace {

using hyena::attention_shape;
using hyena::attention_workspace;
using hyena::index_t;
using hyena::test::expect_invalid;

TEST(AttentionShape, CountsAndDescribesItsExtents) {
  const attention_shape s{2, 3, 7, 8};
  EXPECT_EQ(s.head_count(), 6u);
  EXPECT_EQ(s.head_elements(), 56u);
  EXPECT_EQ(s.elements(), 336u);
  EXPECT_EQ(s.describe(), "batch*heads*length*head_dim = 2*3*7*8");
  EXPECT_TRUE(s == (attention_shape{2, 3, 7, 8}));
  EXPECT_TRUE(s != (attention_shape{2, 3, 7, 9}));
  EXPECT_EQ(attention_shape{}.elements(), 1u);  // every extent defaults to 1
}

TEST(AttentionShape, RejectsZeroExtentsAndOverflow) {
  EXPECT_NO_THROW((attention_shape{2, 3, 7, 8}.require_nonempty("f")));
  expect_invalid([] { attention_shape{0, 3, 7, 8}.require_nonempty("f"); }, {"f", "batch", "0"});
  expect_invalid([] { attention_shape{2, 0, 7, 8}.require_nonempty("f"); }, {"f", "heads", "0"});
  expect_invalid([] { attention_shape{2, 3, 0, 8}.require_nonempty("f"); }, {"f", "length", "0"});
  expect_invalid([] { attention_shape{2, 3, 7, 0}.require_nonempty("f"); }, {"f", "head_dim", "0"});
  const index_t huge = index_t(1) << 40;
  EXPECT_THROW((void)(attention_shape{huge, huge, 1, 1}.elements()), std::length_error);
  EXPECT_THROW((void)(attention_shape{1, 1, huge, huge}.elements()), std::length_error);
}

TEST(AttentionWorkspace, GrowsOnDemandAndNeverShrinks) {
  attention_workspace<float> ws;
  EXPECT_EQ(ws.bytes(), 0u);
  float* scratch = ws.scratch(100);
  ASSERT_NE(scratch, nullptr);
  EXPECT_EQ(ws.bytes(), 100 * sizeof(float));
  EXPECT_EQ(ws.scratch(10), scratch);  // asking for less keeps the array
  EXPECT_EQ(ws.bytes(), 100 * sizeof(float));
  // The two arrays are independent: activations leave the scratch in place.
  ws.activations(50);
  EXPECT_EQ(ws.bytes(), 150 * sizeof(float));
  EXPECT_EQ(ws.scratch(100), scratch);
  ws.scratch(200);
  EXPECT_EQ(ws.bytes(), 250 * sizeof(float));
}

TEST(AttentionCommon, DefaultTileFitsTheCacheBudget) {
  using hyena::detail::default_attention_tile;
  // (4 * tile * head_dim + tile^2) elements within 1 MiB.
  EXPECT_EQ(default_attention_tile<float>(64), 128u);
  EXPECT_EQ(default_attention_tile<double>(64), 128u);
  EXPECT_EQ(default_attention_tile<float>(1024), 32u);  // 64 rows: 4*64*1024 + 64^2 floats, just over 1 MiB
  EXPECT_EQ(default_attention_tile<double>(1024), 16u);
  EXPECT_EQ(default_attention_tile<float>(std::numeric_limits<index_t>::max()), 16u);
}

TEST(AttentionCommon, ScratchSlicesStartOnWholeLines) {
  using hyena::detail::attention_scratch_size;
  using hyena::detail::attention_slice_stride;
  // 64-byte lines: 16 floats or 8 doubles.
  EXPECT_EQ(attention_slice_stride<float>(1), 16u);
  EXPECT_EQ(attention_slice_stride<float>(16), 16u);
  EXPECT_EQ(attention_slice_stride<float>(17), 32u);
  EXPECT_EQ(attention_slice_stride<double>(17), 24u);
  // Every slice but the last is padded.
  EXPECT_EQ(attention_scratch_size<float>(17, 1), 17u);
  EXPECT_EQ(attention_scratch_size<float>(17, 3), 2 * 32u + 17);
  EXPECT_THROW((void)attention_slice_stride<float>(std::numeric_limits<index_t>::max()), std::length_error);
  EXPECT_THROW((void)attention_scratch_size<float>(index_t(1) << 40, index_t(1) << 30), std::length_error);
}

TEST(AttentionCommon, OperandChecksNameTheOverlap) {
  using hyena::detail::require_disjoint;
  std::vector<float> a(10);
  EXPECT_NO_THROW(require_disjoint<float>(a.data(), 5, a.data() + 5, 5, "f", "x", "y"));  // adjacent
  EXPECT_NO_THROW(require_disjoint<float>(a.data(), 0, a.data(), 10, "f", "x", "y"));     // empty
  expect_invalid([&] { require_disjoint<float>(a.data(), 6, a.data() + 5, 5, "f", "x", "y"); },
                 {"hyena::f", "x overlaps y"});
  expect_invalid([&] { require_disjoint<float>(a.data() + 5, 5, a.data(), 6, "f", "x", "y"); },
                 {"hyena::f", "x overlaps y"});
}

TEST(AttentionCommon, MatrixViewIsRowMajor) {
  std::vector<double> data = {1, 2, 3, 4, 5, 6};
  const auto m = hyena::detail::matrix_view(data.data(), 2, 3);
  EXPECT_EQ(m.rows(), 2);
  EXPECT_EQ(m.cols(), 3);
  EXPECT_EQ(m(0, 2), 3.0);
  EXPECT_EQ(m(1, 0), 4.0);
  EXPECT_EQ(hyena::detail::attention_scale<double>(16), 0.25);
  EXPECT_EQ(hyena::detail::attention_scale<float>(4), 0.5f);
}

}  // namespace
