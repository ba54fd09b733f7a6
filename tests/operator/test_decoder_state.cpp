// Step-by-step decoding of the Hyena operator (make_state, prefill, step)
// against its full forward over the whole sequence.
#include <hyena/operator/decoder_state.hpp>
#include <hyena/operator/hyena_operator.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/expect_error.hpp"
#include "support/naive_hyena.hpp"
#include "support/numerics.hpp"

namespace {

using hyena::index_t;
using hyena::test::expect_error_within;
using hyena::test::expect_invalid;
using hyena::test::random_vector;
using hyena::test::relative_l2_error;
using hyena::test::worst_step_error;

template <class T>
class HyenaDecoder : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(HyenaDecoder, Precisions);

hyena::hyena_config small_config(index_t d_model, index_t order, index_t max_length) {
  hyena::hyena_config c;
  c.d_model = d_model;
  c.order = order;
  c.max_length = max_length;
  c.filter_width = 16;
  c.emb_dim = 5;
  c.sine_frequency = 3.0;
  return c;
}

// Decoding against the exact (double, O(L^2)) operator, at every step.
// A step's output is a sum over its whole history (every block the
// schedule ran, each an FFT convolution of a few u), so its absolute error
// is a few u of sum_s |k[s] x[t-s]|, while its value, a sum of terms of both
// signs, is about sqrt(t) times smaller than that: the relative error of one
// step grows like u*sqrt(t), not with the order (the gates do not amplify
// relative errors). Model: u*(2 + sqrt(L)), the worst step of a sequence of
// L. Measured worst step over orders 2-5 and both layouts, in u (float /
// double): L = 1, 2: 0.5-0.8 / 1.1-1.8; L = 13: 0.7-4.2 / 2.2-4.0;
// L = 97: 4.3-10.4 / 5.8-18.0; L = 300: 9.0-18.6 / 13.6-26.9, against the
// model's 3.0, 3.4, 5.6, 11.8, 19.3. Tolerance: 4x the model (2.6x the
// worst measurement, double N=3 L=97).
template <class T>
double decode_tolerance(index_t capacity) {
  return 4.0 * hyena::test::unit_roundoff<T>() * (2.0 + std::sqrt(double(capacity)));
}

// Prefill `prefill` tokens, then step the rest; returns out [B][L][D] and
// checks each step's error against the forward's output at that step.
template <class T>
std::vector<T> decode(const hyena::hyena_operator<T>& op, index_t B, index_t L, const std::vector<T>& u,
                      index_t prefill, index_t capacity) {
  const index_t D = op.d_model();
  auto state = op.make_state(B, capacity);
  std::vector<T> head_u(B * prefill * D), head_out(B * prefill * D);
  for (index_t b = 0; b < B; ++b)
    std::copy_n(u.data() + b * L * D, prefill * D, head_u.data() + b * prefill * D);
  op.prefill(state, prefill, head_u, head_out);
  EXPECT_EQ(state.position(), prefill);
  std::vector<T> out(B * L * D);
  for (index_t b = 0; b < B; ++b)
    std::copy_n(head_out.data() + b * prefill * D, prefill * D, out.data() + b * L * D);
  std::vector<T> ut(B * D), yt(B * D);
  for (index_t t = prefill; t < L; ++t) {
    for (index_t b = 0; b < B; ++b) std::copy_n(u.data() + (b * L + t) * D, D, ut.data() + b * D);
    op.step(state, ut, yt);
    for (index_t b = 0; b < B; ++b) std::copy_n(yt.data() + b * D, D, out.data() + (b * L + t) * D);
  }
  EXPECT_EQ(state.position(), L);
  return out;
}

// The prefill's outputs are forward()'s, whose error is spread evenly over a
// row rather than relative to each step: the whole output checks them.

TYPED_TEST(HyenaDecoder, StepsMatchTheFullForwardForOrders2To5) {
  using T = TypeParam;
  const index_t D = 6, Lmax = 300, B = 2;
  std::uint64_t seed = 100;
  for (const index_t order : {2, 3, 4, 5})
    for (const auto layout : {hyena::filter_layout::blocked, hyena::filter_layout::interleaved})
      for (const index_t L : {1, 2, 13, 97, 300}) {
        hyena::hyena_options options;
        options.layout = layout;
        options.modulation.shift = 0.05;
        options.online.direct_below = 8;  // FFT blocks from 8 samples on: both kinds run
        const hyena::hyena_operator<T> op(hyena::random_hyena_weights<T>(small_config(D, order, Lmax), seed++),
                                          options);
        const auto u = random_vector<T>(B * L * D, static_cast<std::uint32_t>(seed++));
        const auto full = op.forward(B, L, u);
        const auto exact = hyena::test::naive_hyena_forward(op.weights(), B, L, u, 0.05, true,
                                                            layout == hyena::filter_layout::interleaved);
        for (const index_t prefill : {index_t(0), index_t(1), L / 2, L - 1}) {
          if (prefill > L) continue;
          const auto out = decode(op, B, L, u, prefill, L);
          std::ostringstream at;
          at << (sizeof(T) == 4 ? "float" : "double") << " N=" << order << " "
             << hyena::filter_layout_name(layout) << " L=" << L << " prefill=" << prefill;
          // Every step against the exact operator; the whole output (the
          // prefill's part included) against forward().
          expect_error_within(worst_step_error(out, exact, B, L, D, prefill), decode_tolerance<T>(L),
                              at.str());
          expect_error_within(relative_l2_error(out, full), 2 * decode_tolerance<T>(L), at.str() + " vs forward");
        }
      }
}

TYPED_TEST(HyenaDecoder, AStateLongerThanTheSequenceDecodesTheSame) {
  using T = TypeParam;
  const index_t D = 4, L = 50, B = 3;
  const hyena::hyena_operator<T> op(hyena::random_hyena_weights<T>(small_config(D, 3, 256), 7));
  const auto u = random_vector<T>(B * L * D, 8);
  const auto exact = hyena::test::naive_hyena_forward(op.weights(), B, L, u, 0.0, true, false);
  const auto out = decode(op, B, L, u, 10, 256);
  expect_error_within(worst_step_error(out, exact, B, L, D, 10), decode_tolerance<T>(50), "capacity 256, L=50");
}

TYPED_TEST(HyenaDecoder, ResultsDoNotDependOnTheThreadCount) {
  using T = TypeParam;
  const index_t D = 48, L = 200, B = 2;
  hyena::hyena_operator<T> op(hyena::random_hyena_weights<T>(small_config(D, 2, L), 9));
  const auto u = random_vector<T>(B * L * D, 10);
  op.set_execution(1);
  const auto one = decode(op, B, L, u, 60, L);
  op.set_execution(2);
  const auto two = decode(op, B, L, u, 60, L);
  EXPECT_EQ(one, two);
}

TYPED_TEST(HyenaDecoder, ANonFiniteInputNeverChangesEarlierOutputs) {
  using T = TypeParam;
  const index_t D = 4, L = 80, B = 1, t0 = 37;
  const hyena::hyena_operator<T> op(hyena::random_hyena_weights<T>(small_config(D, 2, L), 11));
  const auto u = random_vector<T>(B * L * D, 12);
  const auto clean = decode(op, B, L, u, 0, L);
  for (const index_t prefill : {index_t(0), index_t(20), index_t(60)}) {
    auto poisoned = u;
    poisoned[t0 * D + 1] = std::numeric_limits<T>::infinity();
    const auto out = decode(op, B, L, poisoned, prefill, L);
    for (index_t i = 0; i < t0 * D; ++i)
      if (prefill == 0) ASSERT_EQ(out[i], clean[i]) << i;
      else ASSERT_NEAR(out[i], clean[i], 1e-4) << i;  // the prefill's FFT path rounds differently
    for (index_t i = t0 * D; i < L * D; ++i) ASSERT_TRUE(std::isnan(out[i])) << "prefill " << prefill << " at " << i;
  }
}

TYPED_TEST(HyenaDecoder, BadInputIsRejectedAndLeavesTheStateUnchanged) {
  using T = TypeParam;
  const index_t D = 4, Lmax = 16;
  const hyena::hyena_operator<T> op(hyena::random_hyena_weights<T>(small_config(D, 2, Lmax), 13));
  const hyena::hyena_operator<T> other(hyena::random_hyena_weights<T>(small_config(D, 2, Lmax), 14));
  expect_invalid([&] { op.make_state(1, Lmax + 1); }, {"make_state", "17", "max_length 16"});
  expect_invalid([&] { op.make_state(0, 4); }, {"make_state", "batch"});
  // A batch beyond memory is refused up front with its size, not by bad_alloc halfway.
  try {
    op.make_state(index_t(1) << 40, 4);
    ADD_FAILURE() << "make_state accepted a batch of 2^40";
  } catch (const std::length_error& e) {
    EXPECT_NE(std::string(e.what()).find("hyena_decoder_state"), std::string::npos) << e.what();
  }
  auto state = op.make_state(2, 4);
  std::vector<T> u(2 * D), y(2 * D);
  expect_invalid([&] { other.step(state, u, y); }, {"step", "another operator"});
  std::vector<T> out5(2 * 5 * D);
  expect_invalid([&] { op.prefill(state, 5, std::vector<T>(2 * 5 * D), out5); },
                 {"5 tokens", "capacity 4"});
  expect_invalid([&] { op.step(state, std::vector<T>(D), y); }, {"u_t", "batch*d_model = 2*4"});
  std::vector<T> out2(2 * 2 * D);
  expect_invalid([&] { op.prefill(state, 2, std::vector<T>(3), out2); }, {"u", "3 elements"});
  EXPECT_EQ(state.position(), 0u);
  op.prefill(state, 2, std::vector<T>(2 * 2 * D, T(0.5)), out2);
  expect_invalid([&] { op.prefill(state, 1, std::vector<T>(2 * D), y); }, {"fresh", "2 tokens"});
  op.step(state, u, y);
  op.step(state, u, y);
  expect_invalid([&] { op.step(state, u, y); }, {"full", "capacity 4"});
  EXPECT_EQ(state.position(), 4u);
  state.reset();
  EXPECT_EQ(state.position(), 0u);
  op.step(state, u, y);
}

TYPED_TEST(HyenaDecoder, StateBytesFollowTheDocumentedFormula) {
  using T = TypeParam;
  const index_t D = 5, N = 3, K = 3, B = 2, C = 40;
  const hyena::hyena_operator<T> op(hyena::random_hyena_weights<T>(small_config(D, N, 64), 15));
  const auto state = op.make_state(B, C);
  const index_t S = (N + 1) * D;
  // sizeof(T) B (S (K-1) + 2 (N-1) D C + S + 2 D), before any FFT block ran.
  EXPECT_EQ(state.bytes(), sizeof(T) * B * (S * (K - 1) + 2 * (N - 1) * D * C + S + 2 * D));
  EXPECT_GT(state.filter_bytes(), 0u);
  // States of one capacity share their filters.
  EXPECT_EQ(op.online_filters(C).get(), op.online_filters(C).get());
}

}  // namespace
