// The block MLP against the naive one.
#include <hyena/model/feed_forward.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "support/naive_lm.hpp"
#include "support/numerics.hpp"

namespace {

using hyena::index_t;

template <class T>
class FeedForward : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(FeedForward, Precisions);

template <class T>
hyena::feed_forward_weights<T> random_mlp(index_t D, index_t H, std::uint32_t seed) {
  hyena::feed_forward_weights<T> w;
  w.d_model = D;
  w.d_inner = H;
  w.fc1_weight = hyena::test::random_vector<T>(H * D, seed, 1.0);
  w.fc1_bias = hyena::test::random_vector<T>(H, seed + 1);
  w.fc2_weight = hyena::test::random_vector<T>(D * H, seed + 2, 0.3);
  w.fc2_bias = hyena::test::random_vector<T>(D, seed + 3);
  return w;
}

// Two dot products of D and H terms whose partial sums round independently:
// each adds ~u*sqrt(terms/8) relative (the projection model of the
// reference-dump tests), in quadrature: u*sqrt((D + H)/8) = 2.8u for D = 24,
// H = 40 (the GELU's few roundings are inside it). Measured: float 1.9u-2.5u,
// double 2.9u-3.9u over 1, 5 and 300 rows. The tolerance is 4x the model,
// 11.3u: 2.9x the worst measurement.
TYPED_TEST(FeedForward, MatchesNaiveAcrossRowBlocks) {
  using T = TypeParam;
  for (index_t rows : {1, 5, 300}) {  // 300: two tiles of rows
    const index_t D = 24, H = 40;
    const auto w = random_mlp<T>(D, H, std::uint32_t(rows));
    const auto x = hyena::test::random_vector<T>(rows * D, 9);
    std::vector<T> hidden(rows * H), out(rows * D);
    hyena::feed_forward<T>(w, rows, x, hidden, out, 3);
    const auto expected = hyena::test::naive_mlp(std::vector<double>(x.begin(), x.end()), w);
    const double tol = 4 * std::sqrt(double(D + H) / 8) * hyena::test::unit_roundoff<T>();
    hyena::test::expect_error_within(hyena::test::relative_l2_error(out, expected), tol,
                                     "feed_forward rows " + std::to_string(rows));
    std::vector<T> hidden1(rows * H), out1(rows * D);
    hyena::feed_forward<T>(w, rows, x, hidden1, out1, 1);
    EXPECT_EQ(out, out1) << "thread count changes nothing";
    EXPECT_EQ(hidden, hidden1);
  }
}

// Widths beyond one 256-output tile: D = 300 (tiles 256 + 44), H = 600
// (256 + 256 + 88), rows 1, 7 and 260 (256 + 4). Same error model as above,
// u*sqrt((D + H)/8) = 10.6u, tolerance 4x, 42u; threads change no bit.
TYPED_TEST(FeedForward, MatchesNaiveAcrossOutputTiles) {
  using T = TypeParam;
  const index_t D = 300, H = 600;
  const auto w = random_mlp<T>(D, H, 77);
  for (index_t rows : {1, 7, 260}) {
    const auto x = hyena::test::random_vector<T>(rows * D, 78);
    const auto expected = hyena::test::naive_mlp(std::vector<double>(x.begin(), x.end()), w);
    const double tol = 4 * std::sqrt(double(D + H) / 8) * hyena::test::unit_roundoff<T>();
    std::vector<std::vector<T>> outs, hiddens;
    for (unsigned threads : {1u, 2u, 3u}) {
      std::vector<T> hidden(rows * H), out(rows * D);
      hyena::feed_forward<T>(w, rows, x, hidden, out, threads);
      hyena::test::expect_error_within(hyena::test::relative_l2_error(out, expected), tol,
                                       "feed_forward rows " + std::to_string(rows));
      outs.push_back(out);
      hiddens.push_back(hidden);
    }
    for (std::size_t i = 1; i < outs.size(); ++i) {
      EXPECT_EQ(outs[i], outs[0]) << rows << " rows, thread count " << i;
      EXPECT_EQ(hiddens[i], hiddens[0]) << rows << " rows, thread count " << i;
    }
  }
}

TYPED_TEST(FeedForward, HiddenHoldsTheActivations) {
  using T = TypeParam;
  const auto w = random_mlp<T>(3, 4, 1);
  const std::vector<T> x = {T(0.1), T(-0.2), T(0.3)};
  std::vector<T> hidden(4), out(3);
  hyena::feed_forward<T>(w, 1, x, hidden, out);
  for (index_t j = 0; j < 4; ++j) {
    double pre = w.fc1_bias[j];
    for (index_t d = 0; d < 3; ++d) pre += double(w.fc1_weight[j * 3 + d]) * double(x[d]);
    EXPECT_NEAR(double(hidden[j]), hyena::test::naive_gelu_tanh(pre), 8 * hyena::test::unit_roundoff<T>());
  }
}

TYPED_TEST(FeedForward, RejectsMismatchedSizes) {
  using T = TypeParam;
  auto w = random_mlp<T>(3, 4, 1);
  std::vector<T> x(6), hidden(8), out(6), short_hidden(7);
  EXPECT_THROW(hyena::feed_forward<T>(w, 2, x, short_hidden, out), std::invalid_argument);
  EXPECT_THROW(hyena::feed_forward<T>(w, 3, x, hidden, out), std::invalid_argument);
  w.fc2_bias.pop_back();
  EXPECT_THROW(hyena::feed_forward<T>(w, 2, x, hidden, out), std::invalid_argument);
}

}  // namespace
