// The depthwise short convolution, against PyTorch's Conv1d semantics written out by hand.
#include <hyena/conv/short_conv.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/numerics.hpp"

namespace {

using hyena::index_t;

// Conv1d(C, C, K, groups=C, padding=K-1)(u)[..., :L], spelled as PyTorch
// defines it: out[t'] = b + sum_j w[j] * padded[t' + j] with padded = K-1
// zeros, u, K-1 zeros, then keep the first L outputs.
std::vector<double> torch_conv1d_reference(const std::vector<double>& w, const std::vector<double>& b,
                                           index_t K, index_t B, index_t C, index_t L,
                                           const std::vector<double>& u) {
  std::vector<double> y(B * C * L);
  for (index_t bc = 0; bc < B * C; ++bc) {
    const index_t c = bc % C;
    std::vector<double> padded(L + 2 * (K - 1), 0.0);
    for (index_t t = 0; t < L; ++t) padded[K - 1 + t] = u[bc * L + t];
    for (index_t t = 0; t < L; ++t) {
      double acc = b[c];
      for (index_t j = 0; j < K; ++j) acc += w[c * K + j] * padded[t + j];
      y[bc * L + t] = acc;
    }
  }
  return y;
}

TEST(ShortConv, TapKMinus1MultipliesTheCurrentSample) {
  // One channel, K = 3, w = [0, 0, 1]: the identity. w = [1, 0, 0]: delay by 2.
  const std::vector<double> u = {1, 2, 3, 4};
  std::vector<double> y(4);
  hyena::short_causal_conv<double>(std::vector<double>{0, 0, 1}, {}, 3, {1, 1, 4}, u, y);
  EXPECT_EQ(y, u);
  hyena::short_causal_conv<double>(std::vector<double>{1, 0, 0}, std::vector<double>{10}, 3, {1, 1, 4}, u, y);
  EXPECT_EQ(y, (std::vector<double>{10, 10, 11, 12}));
}

TEST(ShortConv, MatchesConv1dForManyShapes) {
  std::uint32_t seed = 1;
  // L past 256 crosses the kernel's internal blocks (and leaves a short last
  // one); K = 70 takes its heap-buffer path.
  for (index_t K : {1, 2, 3, 4, 7, 70})
    for (index_t L : {1, 2, 3, 5, 64, 97, 256, 300, 513})
      for (index_t B : {1, 3}) {
        const index_t C = 5;
        const auto w = hyena::test::random_vector<double>(C * K, seed++);
        const auto b = hyena::test::random_vector<double>(C, seed++);
        const auto u = hyena::test::random_vector<double>(B * C * L, seed++);
        const auto expected = torch_conv1d_reference(w, b, K, B, C, L, u);
        std::vector<double> y(u.size());
        hyena::short_causal_conv<double>(w, b, K, {B, C, L}, u, y);
        // K+1 terms summed in double in the same order: measured 0 (bit for
        // bit) on every shape. A compiler that fuses a multiply-add on one
        // side only changes some of the K+1 roundings: model u*sqrt(K+1)
        // relative to the largest output, tolerance 4x it (was 1e-14*K, 45u*K).
        hyena::test::expect_error_within(hyena::test::relative_max_error(y, expected),
                                         4 * std::sqrt(double(K + 1)) * hyena::test::unit_roundoff<double>(),
                                         "K=" + std::to_string(K) + " L=" + std::to_string(L) + " B=" +
                                             std::to_string(B));
        // In place gives exactly the same numbers.
        auto inplace = u;
        hyena::short_causal_conv<double>(w, b, K, {B, C, L}, inplace, inplace);
        EXPECT_EQ(inplace, y);
      }
}

TEST(ShortConv, FloatMatchesDoubleReference) {
  const index_t K = 3, B = 2, C = 8, L = 31;
  const auto w = hyena::test::random_vector<double>(C * K, 5), b = hyena::test::random_vector<double>(C, 6),
             u = hyena::test::random_vector<double>(B * C * L, 7);
  const auto expected = torch_conv1d_reference(w, b, K, B, C, L, u);
  const std::vector<float> wf(w.begin(), w.end()), bf(b.begin(), b.end()), uf(u.begin(), u.end());
  std::vector<float> y(uf.size());
  hyena::short_causal_conv<float>(wf, bf, K, {B, C, L}, uf, y);
  // Inputs rounded to float (u/2 each) plus K+1 float operations, in
  // quadrature: model u*sqrt(K+2) = 2.2u of the largest output; measured
  // 1.4u. The tolerance is 3x the model, 4.8x the measurement (was 5u*(K+2),
  // 18x).
  hyena::test::expect_error_within(hyena::test::relative_max_error(y, expected),
                                   3 * std::sqrt(double(K + 2)) * hyena::test::unit_roundoff<float>(),
                                   "float K=3 L=31");
}

TEST(ShortConv, RejectsBadInput) {
  const std::vector<float> w(6), u(12);
  std::vector<float> y(12);
  EXPECT_THROW(hyena::short_causal_conv<float>(w, {}, 0, {1, 2, 6}, u, y), std::invalid_argument);
  EXPECT_THROW(hyena::short_causal_conv<float>(w, {}, 3, {1, 2, 5}, u, y), std::invalid_argument);
  EXPECT_THROW(hyena::short_causal_conv<float>(w, {}, 4, {1, 2, 6}, u, y), std::invalid_argument);
  EXPECT_THROW(hyena::short_causal_conv<float>(w, std::vector<float>(3), 3, {1, 2, 6}, u, y),
               std::invalid_argument);
  EXPECT_THROW(hyena::short_causal_conv<float>(w, {}, 3, {1, 0, 6}, u, y), std::invalid_argument);
}

// Stepping one time step at a time (after remembering a prefix) gives the
// very same numbers as the whole-row convolution: same products, same order.
TEST(ShortConvState, StepsEqualTheWholeRowConvolutionExactly) {
  const index_t B = 2, C = 3, L = 11;
  for (const index_t K : {1, 2, 3, 4})
    for (const index_t prefix : {index_t(0), index_t(1), index_t(5), L}) {
      const auto w = hyena::test::random_vector<float>(C * K, 1);
      const auto bias = hyena::test::random_vector<float>(C, 2);
      const auto u = hyena::test::random_vector<float>(B * C * L, 3);
      std::vector<float> whole(u.size());
      hyena::short_causal_conv<float>(w, bias, K, {B, C, L}, u, whole);
      hyena::short_conv_state<float> state(B, C, K);
      EXPECT_EQ(state.bytes(), B * C * (K - 1) * sizeof(float));
      for (index_t r = 0; r < B * C; ++r) state.remember(r, u.data() + r * L, prefix);
      for (index_t t = prefix; t < L; ++t)
        for (index_t r = 0; r < B * C; ++r) {
          const index_t c = r % C;
          ASSERT_EQ(state.step(r, w.data() + c * K, bias[c], u[r * L + t]), whole[r * L + t])
              << "K=" << K << " prefix=" << prefix << " row " << r << " t=" << t;
        }
    }
}

TEST(ShortConvState, RejectsZeroSizes) {
  EXPECT_THROW(hyena::short_conv_state<float>(0, 3, 3), std::invalid_argument);
  EXPECT_THROW(hyena::short_conv_state<float>(1, 3, 0), std::invalid_argument);
}

}  // namespace
