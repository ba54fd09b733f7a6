// The gated MLP of StripedHyena 2 (SPEC.md 2), against plain loops in long double.
#include <hyena/model/gated_mlp.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "support/expect_error.hpp"
#include "support/numerics.hpp"

namespace {

using hyena::index_t;

template <class T>
hyena::gated_mlp_weights<T> random_mlp(index_t D, index_t I, bool gelu, std::uint32_t seed) {
  hyena::gated_mlp_weights<T> w;
  w.d_model = D, w.inner = I, w.gelu = gelu;
  w.l1 = hyena::test::random_vector<T>(I * D, seed, 0.5);
  w.l2 = hyena::test::random_vector<T>(I * D, seed + 1, 0.5);
  w.l3 = hyena::test::random_vector<T>(D * I, seed + 2, 0.5);
  return w;
}

TEST(GatedMlp, GeluIsTheErfOne) {
  EXPECT_NEAR(hyena::gelu_erf(1.0), 0.5 * (1 + std::erf(1 / std::sqrt(2.0))), 1e-15);
  EXPECT_EQ(hyena::gelu_erf(0.0), 0.0);
  // -1.5 * Phi(-1.5); the tanh approximation gives -0.100428 here, off in the
  // 3rd digit: the erf one is what Evo 2 uses.
  EXPECT_NEAR(hyena::gelu_erf(-1.5), -0.10021080190328713, 1e-15);
  EXPECT_NEAR(hyena::gelu_erf(-1.5f), -0.10021080190328713f, 1e-7f);
}

// L2 error against the exact MLP, relative to the L2 norm of the outputs'
// absolute sums sum_i |l3 g_i| (so that cancellation in a few-term output,
// which no rounding model bounds relative to the output itself, does not
// count): three D- or I-term GEMM sums, the GELU and two products, each
// within u sqrt(terms) in the model of tests/support (numerics.hpp: partial
// sums round independently); tolerance 4x u * sqrt(D + I + 8).
template <class T>
void check_naive() {
  for (bool gelu : {true, false})
    for (index_t D : {1, 5, 32})
      for (index_t I : {3, 96, 300})
        for (index_t rows : {1, 7, 300}) {
          const auto w = random_mlp<T>(D, I, gelu, std::uint32_t(D * 1000 + I + rows));
          const auto z = hyena::test::random_vector<T>(rows * D, 9);
          std::vector<T> hidden(rows * 2 * I), out(rows * D);
          hyena::gated_mlp<T>(w, rows, z, hidden, out);
          std::vector<double> expected(rows * D), scale(rows * D);
          for (index_t r = 0; r < rows; ++r) {
            std::vector<long double> g(I);
            for (index_t i = 0; i < I; ++i) {
              long double a = 0, b = 0;
              for (index_t j = 0; j < D; ++j) {
                a += (long double)w.l1.values[i * D + j] * z[r * D + j];
                b += (long double)w.l2.values[i * D + j] * z[r * D + j];
              }
              if (gelu) a = 0.5L * a * (1 + std::erf(a / std::sqrt(2.0L)));
              g[i] = a * b;
            }
            for (index_t e = 0; e < D; ++e) {
              long double acc = 0, absolute = 0;
              for (index_t i = 0; i < I; ++i) {
                acc += (long double)w.l3.values[e * I + i] * g[i];
                absolute += std::fabs((long double)w.l3.values[e * I + i] * g[i]);
              }
              expected[r * D + e] = double(acc);
              scale[r * D + e] = double(absolute);
            }
          }
          double diff = 0, norm = 0;
          for (index_t k = 0; k < rows * D; ++k) {
            diff += (double(out[k]) - expected[k]) * (double(out[k]) - expected[k]);
            norm += scale[k] * scale[k];
          }
          hyena::test::expect_error_within(
              std::sqrt(diff / norm),
              4 * hyena::test::unit_roundoff<T>() * std::sqrt(double(D + I + 8)),
              "gated_mlp gelu " + std::to_string(gelu) + " D " + std::to_string(D) + " I " + std::to_string(I) +
                  " rows " + std::to_string(rows));
        }
}

TEST(GatedMlp, MatchesNaiveFloat) { check_naive<float>(); }
TEST(GatedMlp, MatchesNaiveDouble) { check_naive<double>(); }

TEST(GatedMlp, ThreadCountDoesNotChangeTheBits) {
  const auto w = random_mlp<float>(64, 512, true, 3);
  const auto z = hyena::test::random_vector<float>(600 * 64, 4);
  std::vector<float> hidden(600 * 1024), one(600 * 64), two(600 * 64);
  hyena::gated_mlp<float>(w, 600, z, hidden, one, hyena::execution_context(1));
  hyena::gated_mlp<float>(w, 600, z, hidden, two, hyena::execution_context(2));
  EXPECT_EQ(one, two);
}

TEST(GatedMlp, RejectsBadInput) {
  using hyena::test::expect_invalid;
  auto w = random_mlp<float>(4, 6, false, 1);
  std::vector<float> z(8), hidden(2 * 12), short_hidden(12), out(8);
  expect_invalid([&] { hyena::gated_mlp<float>(w, 2, z, short_hidden, out); }, {"hidden", "rows*2*inner"});
  expect_invalid([&] { hyena::gated_mlp<float>(w, 3, z, hidden, out); }, {"z", "rows*d_model"});
  w.l3.values.pop_back();
  expect_invalid([&] { hyena::gated_mlp<float>(w, 2, z, hidden, out); }, {"l3", "d_model*inner"});
  w = random_mlp<float>(4, 6, false, 1);
  w.l2.values[3] = std::nanf("");
  expect_invalid([&] { w.validate(); }, {"l2[3]", "not finite"});
}

}  // namespace
