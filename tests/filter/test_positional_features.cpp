// positional_features<T>::closed_form (docs/implicit_filter.md) against the formula written
// out again here in long double, and against the z, t buffers PyTorch stored in
// the reference dumps.
#include <hyena/filter/positional_features.hpp>
#include <hyena/io/safetensors_reader.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/expect_error.hpp"
#include "support/numerics.hpp"
#include "support/reference.hpp"

namespace {

using hyena::index_t;
using hyena::test::expect_error_within;
using hyena::test::unit_roundoff;

// The features of docs/implicit_filter.md in long double, from the formula, not the code:
// t_n = n/(Lmax-1) (0 for Lmax = 1), w_n = 2 pi n / Lmax, K = (E-1)/2 bands
// f = linspace(1e-4, K-1, K), z_n = [t_n, cos(f w_n), -sin(f w_n)].
// `phase` keeps f_j w_n for every periodic entry (0 for the t column), since
// the library's error there grows with it.
struct exact_features {
  std::vector<long double> z, t, phase;  // z and phase [Lmax][E], t [Lmax]
};

exact_features exact(index_t Lmax, index_t E) {
  const long double pi = 3.141592653589793238462643383279502884L;
  const index_t K = (E - 1) / 2;
  exact_features x;
  x.z.resize(Lmax * E);
  x.phase.assign(Lmax * E, 0.0L);
  x.t.resize(Lmax);
  for (index_t n = 0; n < Lmax; ++n) {
    const long double t = Lmax == 1 ? 0.0L : static_cast<long double>(n) / static_cast<long double>(Lmax - 1);
    const long double w = 2 * pi * static_cast<long double>(n) / static_cast<long double>(Lmax);
    x.t[n] = t;
    x.z[n * E] = t;
    for (index_t j = 0; j < K; ++j) {
      const long double f =
          K == 1 ? 1e-4L : 1e-4L + static_cast<long double>(j) * (static_cast<long double>(K - 1) - 1e-4L) /
                                       static_cast<long double>(K - 1);
      x.phase[n * E + 1 + j] = x.phase[n * E + 1 + K + j] = f * w;
      x.z[n * E + 1 + j] = std::cos(f * w);
      x.z[n * E + 1 + K + j] = -std::sin(f * w);
    }
  }
  return x;
}

// Per-entry error bound of closed_form<T>, in units of u (T's unit roundoff),
// first order. The phase f_j * w_n is built in T as the float32 reference
// builds it: f_j rounded to T (u, plus 4 double roundings of the linspace:
// 4u for T = double), 2 pi rounded to T (u), times n (u), divided by Lmax
// (u), times f_j (u): at most 9u relative, so 9u|phase| absolute in cos and
// sin (both 1-Lipschitz). The cosine and sine are then evaluated in double
// (glibc: within 1 ulp = 2u_double) and rounded to T (u): 2u. So
// |z - exact| <= (9 |phase| + 2) u for every periodic entry, and t (one
// double division, rounded to T) is within 2u. For float the double work
// adds ~1e-9 u, far below the margin; second-order terms are ~u^2 |phase|.
double bound_in_u(long double phase) { return 9.0 * static_cast<double>(std::fabs(phase)) + 2.0; }

// max over entries of |actual - exact| / bound_in_u(phase): the test passes
// when this is <= u. Also returns the plain worst absolute error for the log.
template <class V>
double worst_scaled_error(const V& actual, const std::vector<long double>& reference,
                          const std::vector<long double>& phase, double* worst_abs = nullptr) {
  double scaled = 0, absolute = 0;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    const double e = static_cast<double>(std::fabs(static_cast<long double>(actual[i]) - reference[i]));
    absolute = std::max(absolute, e);
    scaled = std::max(scaled, e / bound_in_u(phase[i]));
  }
  if (worst_abs) *worst_abs = absolute;
  return scaled;
}

template <class T>
class PositionalFeatures : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(PositionalFeatures, Precisions);

// Odd emb_dim from the smallest (3: one band at 1e-4) to the pile's 33 (16
// bands, phases up to ~94 rad); grids of 1 (t = [0]), 2, odd, prime (97, 101,
// 257) and HyenaDNA's 258 points.
TYPED_TEST(PositionalFeatures, MatchTheLongDoubleFormula) {
  using T = TypeParam;
  const double u = unit_roundoff<T>();
  for (index_t E : {3, 5, 7, 9, 11, 13, 33})
    for (index_t L : {1, 2, 3, 7, 64, 97, 101, 257, 258}) {
      const auto p = hyena::positional_features<T>::closed_form(L, E);
      const std::string at = std::string(sizeof(T) == 4 ? "float" : "double") + " E " + std::to_string(E) + " L " +
                             std::to_string(L);
      ASSERT_EQ(p.max_length, L) << at;
      ASSERT_EQ(p.emb_dim, E) << at;
      ASSERT_EQ(p.z.size(), L * E) << at;
      ASSERT_EQ(p.t.size(), L) << at;
      const auto x = exact(L, E);
      double worst_abs = 0;
      const double z_err = worst_scaled_error(p.z, x.z, x.phase, &worst_abs);
      const double t_err = worst_scaled_error(p.t, x.t, std::vector<long double>(L, 0.0L));
      if (E == 3 || E == 33)  // a few rows of the log, not 63
        expect_error_within(z_err, u, at + " z / (9|phase|+2)");
      else
        EXPECT_LE(z_err, u) << at << " (worst absolute error " << worst_abs << ")";
      EXPECT_LE(t_err, u) << at;
      // z's first column is t itself, the same value.
      for (index_t n = 0; n < L; ++n) ASSERT_EQ(p.z[n * E], p.t[n]) << at << " n " << n;
      // The grid's ends are exact: t_0 = 0, t_{L-1} = 1, z_0 = [0, 1.., -0..].
      EXPECT_EQ(p.t[0], T(0)) << at;
      EXPECT_EQ(p.t[L - 1], L == 1 ? T(0) : T(1)) << at;
      for (index_t j = 1; j < E; ++j) EXPECT_EQ(p.z[j], j <= (E - 1) / 2 ? T(1) : T(0)) << at << " j " << j;
    }
}

// The features depend on Lmax, not on a length: a grid of Lmax points is not
// the prefix of a longer grid (t_n = n/(Lmax-1), w_n = 2 pi n/Lmax).
TYPED_TEST(PositionalFeatures, DependOnTheGridSize) {
  using T = TypeParam;
  const auto a = hyena::positional_features<T>::closed_form(7, 5), b = hyena::positional_features<T>::closed_form(8, 5);
  EXPECT_NE(a.t[1], b.t[1]);
  EXPECT_NE(a.z[1 * 5 + 2], b.z[1 * 5 + 2]);  // cos(f_1 w_1): f_1 = 1, w_1 = 2 pi / Lmax
}

// Every safari dump (E = 3, Lmax 1, 64, 128, 256) and the HyenaDNA one (E = 5,
// Lmax 258: phases up to 2 pi) stores z and t as PyTorch computed them in
// float32. Two checks:
//  - the long-double formula against the stored buffers, to the bound above
//    with 5 instead of 9 (PyTorch builds the phase from float32 values:
//    linspace f, 2 pi, n, / Lmax, * f, five roundings) — this checks that the
//    formula in this file is the reference's;
//  - closed_form<float> against the stored buffers: both build the same
//    float32 phase by the same operations, so they differ only in the
//    rounding of cos/sin (ours within u of the exact value, PyTorch's float
//    kernels within 1 ulp = 2u) and in t (PyTorch's linspace may land 1 ulp
//    = 2u from n/(Lmax-1)): 3u absolute, values being at most 1.
struct dump_buffers {
  std::string name;
  std::vector<float> z, t;
  index_t Lmax = 0, E = 0;
};

std::vector<dump_buffers> all_dumps() {
  std::vector<dump_buffers> out;
  auto add = [&](const std::string& name, const std::filesystem::path& file, const std::string& prefix) {
    const auto params = hyena::safetensors_file::load(file.string());
    dump_buffers d;
    d.name = name;
    const auto& shape = params.info(prefix + "filter_fn.pos_emb.z").shape;
    d.Lmax = shape.at(1);
    d.E = shape.at(2);
    d.z = params.read<float>(prefix + "filter_fn.pos_emb.z", {1, d.Lmax, d.E});
    d.t = params.read<float>(prefix + "filter_fn.pos_emb.t", {1, d.Lmax, 1});
    out.push_back(std::move(d));
  };
  const auto dir = hyena::test::reference_dir();
  for (const auto& name : hyena::test::reference_cases("safari"))
    add("safari/" + name, dir / "safari" / name / "params.safetensors", "");
  for (const auto& name : hyena::test::reference_cases("hyenadna"))
    for (const char* layer : {"0", "1"})
      add("hyenadna/" + name + " layer " + layer, dir / "hyenadna" / name / "params.safetensors",
          std::string("backbone.layers.") + layer + ".mixer.");
  return out;
}

TEST(PositionalFeaturesReference, MatchTheDumpedBuffers) {
  const double u = unit_roundoff<float>();
  const auto dumps = all_dumps();
  ASSERT_EQ(dumps.size(), 7u) << "five safari dumps and the two layers of the HyenaDNA dump under "
                              << hyena::test::reference_dir();
  bool saw_one = false, saw_five = false;
  for (const auto& d : dumps) {
    saw_one = saw_one || d.Lmax == 1;
    saw_five = saw_five || d.E == 5;
    const auto x = exact(d.Lmax, d.E);
    double formula_scaled = 0;
    for (std::size_t i = 0; i < x.z.size(); ++i)
      formula_scaled = std::max(formula_scaled, std::fabs(double(d.z[i]) - double(x.z[i])) /
                                                    (5.0 * double(std::fabs(x.phase[i])) + 2.0));
    for (std::size_t n = 0; n < x.t.size(); ++n)
      formula_scaled = std::max(formula_scaled, std::fabs(double(d.t[n]) - double(x.t[n])) / 2.0);
    expect_error_within(formula_scaled, u, d.name + " dump vs formula / (5|phase|+2)");

    const auto p = hyena::positional_features<float>::closed_form(d.Lmax, d.E);
    double closed = 0;
    for (std::size_t i = 0; i < p.z.size(); ++i) closed = std::max(closed, std::fabs(double(p.z[i]) - double(d.z[i])));
    for (std::size_t n = 0; n < p.t.size(); ++n) closed = std::max(closed, std::fabs(double(p.t[n]) - double(d.t[n])));
    expect_error_within(closed, 3 * u, d.name + " closed_form<float> vs dump");
  }
  EXPECT_TRUE(saw_one) << "no dump with Lmax = 1";
  EXPECT_TRUE(saw_five) << "no dump with emb_dim 5";
}

template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "no exception of the expected type";
}

TEST(PositionalFeatures, RejectsBadSizes) {
  using pf = hyena::positional_features<float>;
  EXPECT_NE(error_of<std::invalid_argument>([] { pf::closed_form(0, 3); })
                .find("hyena::positional_features: max_length must be >= 1, got 0"),
            std::string::npos);
  for (index_t E : {0, 1, 2, 4, 6, 32}) {
    const auto m = error_of<std::invalid_argument>([&] { pf::closed_form(8, E); });
    EXPECT_NE(m.find("emb_dim must be odd and >= 3, got " + std::to_string(E)), std::string::npos) << m;
  }
  // Lmax * E overflows index_t: refused before any allocation.
  const index_t huge = std::numeric_limits<index_t>::max() / 2;
  const auto overflow = error_of<std::length_error>([&] { pf::closed_form(huge, 3); });
  EXPECT_NE(overflow.find("max_length*emb_dim overflows"), std::string::npos) << overflow;
  // Representable but larger than memory (2^40 * 3 floats): refused, naming z.
  const auto memory = error_of<std::length_error>([] { pf::closed_form(index_t(1) << 40, 3); });
  EXPECT_NE(memory.find("positional features z"), std::string::npos) << memory;
}

}  // namespace
