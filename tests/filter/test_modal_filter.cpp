// The modal (pole-residue) long filter of StripedHyena 2's hcl blocks
// (SPEC.md 3.5 and 5): its response, its FFT convolution and its decoder,
// against plain loops in long double.
#include <hyena/conv/fft_conv.hpp>
#include <hyena/filter/modal_filter.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "support/expect_error.hpp"
#include "support/numerics.hpp"

namespace {

using hyena::index_t;

// Log-poles in [-2, -0.001]: memories from half a sample to a thousand, as
// trained Evo 2 filters have; residues in [-1, 1].
struct modes {
  std::vector<double> log_poles, residues, skip;
};

modes random_modes(index_t C, index_t S, std::uint32_t seed) {
  modes m;
  m.log_poles = hyena::test::random_vector<double>(C * S, seed);
  for (auto& lp : m.log_poles) lp = -0.001 - 1.999 * std::fabs(lp);
  m.residues = hyena::test::random_vector<double>(C * S, seed + 1);
  m.skip = hyena::test::random_vector<double>(C, seed + 2);
  return m;
}

template <class T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

template <class T>
hyena::modal_filter<T> make_filter(index_t C, index_t S, const modes& m, bool with_skip = true) {
  return hyena::modal_filter<T>(C, S, cast<T>(m.log_poles), cast<T>(m.residues),
                                with_skip ? cast<T>(m.skip) : std::vector<T>{});
}

// The modes as the filter sees them (rounded to T), in long double.
template <class T>
std::vector<long double> rounded(const std::vector<double>& v) {
  std::vector<long double> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = static_cast<long double>(static_cast<T>(v[i]));
  return out;
}

TEST(ModalFilter, ResponseIsASumOfExponentials) {
  // One channel, two modes: h[t] = 2 * 0.5^t - 1 * 0.25^t.
  const std::vector<double> lp = {std::log(0.5), std::log(0.25)}, r = {2, -1};
  const auto h = hyena::modal_filter<double>(1, 2, lp, r).response(4);
  const std::vector<double> expected = {1, 0.75, 0.4375, 0.234375};
  for (index_t t = 0; t < 4; ++t) EXPECT_NEAR(h[t], expected[t], 1e-15) << t;
}

// h[c,t] against sum_s R exp(t log p) in long double. Bound per element:
// one rounding to T (u_T |h|, and T's smallest subnormal where h is that
// small) plus the double sum's error, below sum_s |R p^t| (|t0 log p| + 2*64
// + 2 + S + 4) u_double: exp(t0 log p) of a rounded argument, up to 64
// multiplications by p (each its own rounding and p's), S additions and a
// few more (see response()).
template <class T>
void check_response() {
  const index_t C = 5, S = 16;
  const auto m = random_modes(C, S, 3);
  const auto lp = rounded<T>(m.log_poles), r = rounded<T>(m.residues);
  for (index_t L : {1, 2, 63, 64, 65, 300, 4099}) {
    const auto h = make_filter<T>(C, S, m).response(L);
    index_t bad = 0;
    for (index_t c = 0; c < C; ++c)
      for (index_t t = 0; t < L; ++t) {
        long double exact = 0, scale = 0;
        for (index_t s = 0; s < S; ++s) {
          const long double argument = lp[c * S + s] * static_cast<long double>(t);
          const long double term = r[c * S + s] * std::exp(argument);
          exact += term;
          scale += std::fabs(term) * (std::fabs(argument) + 2 * 64 + 2 + S + 4);
        }
        const double bound = hyena::test::unit_roundoff<T>() * double(std::fabs(exact)) +
                             double(std::numeric_limits<T>::denorm_min()) +
                             hyena::test::unit_roundoff<double>() * double(scale);
        // In double: long double's wider range keeps terms (e^-8000) that double flushes to 0.
        if (double(std::fabs(static_cast<long double>(h[c * L + t]) - exact)) > bound) ++bad;
      }
    EXPECT_EQ(bad, 0) << "L " << L;
  }
}

TEST(ModalFilter, ResponseMatchesNaiveFloat) { check_response<float>(); }
TEST(ModalFilter, ResponseMatchesNaiveDouble) { check_response<double>(); }

// y = h * u + D u by direct O(L^2) summation in long double, from h in long double.
template <class T>
std::vector<double> naive_modal_conv(const modes& m, index_t B, index_t C, index_t S, index_t L,
                                     const std::vector<T>& u) {
  const auto lp = rounded<T>(m.log_poles), r = rounded<T>(m.residues), d = rounded<T>(m.skip);
  std::vector<long double> h(C * L, 0.0L);
  for (index_t c = 0; c < C; ++c)
    for (index_t t = 0; t < L; ++t)
      for (index_t s = 0; s < S; ++s) h[c * L + t] += r[c * S + s] * std::exp(lp[c * S + s] * (long double)t);
  std::vector<double> y(B * C * L);
  for (index_t b = 0; b < B; ++b)
    for (index_t c = 0; c < C; ++c) {
      const T* ur = u.data() + (b * C + c) * L;
      for (index_t t = 0; t < L; ++t) {
        long double acc = d[c] * ur[t];
        for (index_t k = 0; k <= t; ++k) acc += h[c * L + k] * ur[t - k];
        y[(b * C + c) * L + t] = double(acc);
      }
    }
  return y;
}

// The whole-sequence path: prepare(L) + causal_conv, against the exact
// result. Model: the FFT convolution's (fft_conv_error, tests/support/
// numerics.hpp) and the response's own error in quadrature; the latter is
// one rounding to T plus, in double, a random walk over up to 64 products by
// p (sqrt(64) = 8 roundings; see response()). Tolerance 4x the model.
template <class T>
void check_convolution() {
  const index_t B = 2, C = 4, S = 16;
  const auto m = random_modes(C, S, 21);
  const auto filter = make_filter<T>(C, S, m);
  for (index_t L : {1, 2, 7, 97, 300, 1000}) {
    const auto u = hyena::test::random_vector<T>(B * C * L, std::uint32_t(L));
    const auto bank = filter.prepare(L);
    std::vector<T> y(u.size());
    hyena::causal_conv(bank, B, u, y);
    hyena::test::expect_error_within(hyena::test::relative_l2_error(y, naive_modal_conv(m, B, C, S, L, u)),
                                     4 * std::hypot(hyena::test::fft_conv_error<T>(bank.fft_size()),
                                                    8 * hyena::test::unit_roundoff<double>()),
                                     "modal conv L " + std::to_string(L));
  }
}

TEST(ModalFilter, ConvolutionMatchesNaiveFloat) { check_convolution<float>(); }
TEST(ModalFilter, ConvolutionMatchesNaiveDouble) { check_convolution<double>(); }

// The prefill's state x[s] = sum_k p^k u[P-1-k] against long double; the
// double recurrence's error is below (P + 2) u_double sum_k |p^k u|.
TEST(ModalFilter, PrefillStateIsTheModalSum) {
  const index_t B = 2, C = 3, S = 8;
  const auto m = random_modes(C, S, 31);
  const auto filter = make_filter<float>(C, S, m);
  const auto lp = rounded<float>(m.log_poles);
  for (index_t P : {1, 2, 5, 300}) {
    const auto u = hyena::test::random_vector<float>(B * C * P, std::uint32_t(P) + 1);
    auto state = filter.make_state(B);
    filter.prefill(state, P, u);
    EXPECT_EQ(state.position(), P);
    index_t bad = 0;
    for (index_t row = 0; row < B * C; ++row)
      for (index_t s = 0; s < S; ++s) {
        long double exact = 0, scale = 0;
        const long double p = std::exp(lp[(row % C) * S + s]);
        for (index_t k = 0; k < P; ++k) {
          const long double term = std::pow(p, (long double)k) * u[row * P + P - 1 - k];
          exact += term;
          scale += std::fabs(term);
        }
        const double err = std::fabs(double(state.values()[row * S + s] - exact));
        if (err > double(P + 2) * hyena::test::unit_roundoff<double>() * double(scale) + 1e-300) ++bad;
      }
    EXPECT_EQ(bad, 0) << "P " << P;
  }
}

// Decoding: prefill P samples, step the rest; the stepped outputs against the
// exact convolution (long double). The decoder runs in double and rounds
// each output once: u_T, plus the double recurrence's own error, which a
// first-order recurrence accumulates over its memory: at most ~2 roundings
// per step over min(t, 1/(1 - p)) <= L steps. Tolerance 4x that. (The FFT
// path is held to its own tolerance above, so the two paths agree to the
// sum.) Prompts from 1 sample on (SPEC.md 5: the reference's own cache is
// wrong below 6).
template <class T>
void check_decoding() {
  const index_t B = 2, C = 4, S = 16, L = 300;
  const auto m = random_modes(C, S, 41);
  const auto filter = make_filter<T>(C, S, m);
  const auto u = hyena::test::random_vector<T>(B * C * L, 42);
  const auto exact = naive_modal_conv(m, B, C, S, L, u);
  const double tolerance =
      4 * (hyena::test::unit_roundoff<T>() + 2.0 * double(L) * hyena::test::unit_roundoff<double>());
  for (index_t P : {1, 2, 3, 4, 5, 6, 7, 8, 100, 299}) {
    auto state = filter.make_state(B);
    std::vector<T> prompt(B * C * P);
    for (index_t r = 0; r < B * C; ++r)
      for (index_t t = 0; t < P; ++t) prompt[r * P + t] = u[r * L + t];
    filter.prefill(state, P, prompt);
    std::vector<T> got, u_t(B * C), y_t(B * C);
    std::vector<double> expected;
    for (index_t t = P; t < L; ++t) {
      for (index_t r = 0; r < B * C; ++r) u_t[r] = u[r * L + t];
      filter.step(state, u_t, y_t);
      for (index_t r = 0; r < B * C; ++r) {
        got.push_back(y_t[r]);
        expected.push_back(exact[r * L + t]);
      }
    }
    EXPECT_EQ(state.position(), L);
    hyena::test::expect_error_within(hyena::test::relative_l2_error(got, expected), tolerance,
                                     "modal decode, prompt " + std::to_string(P));
  }
}

TEST(ModalFilter, DecodingMatchesTheExactConvolutionFloat) { check_decoding<float>(); }
TEST(ModalFilter, DecodingMatchesTheExactConvolutionDouble) { check_decoding<double>(); }

TEST(ModalFilter, ResetStartsOver) {
  const auto m = random_modes(2, 4, 51);
  const auto filter = make_filter<double>(2, 4, m);
  auto state = filter.make_state(1);
  const std::vector<double> u = {1, 2, 3, 4};
  filter.prefill(state, 2, u);
  state.reset();
  EXPECT_EQ(state.position(), 0);
  for (double x : state.values()) EXPECT_EQ(x, 0.0);
  filter.prefill(state, 2, u);  // fresh again
  EXPECT_EQ(state.bytes(), index_t(2 * 4 * sizeof(double)));
}

// A growing mode stepped long enough leaves float's range: the output is
// +-Inf, as float arithmetic gives, not a conversion UBSan would flag.
TEST(ModalFilter, StepBeyondFloatRangeGivesInfinity) {
  const std::vector<float> lp = {1.0f}, r = {1.0f};  // p = e: x_t grows like e^t
  const hyena::modal_filter<float> filter(1, 1, lp, r);
  auto state = filter.make_state(1);
  std::vector<float> y(1);
  const std::vector<float> one = {1.0f}, minus = {-1.0f};
  float previous = 0;
  for (int t = 0; t < 100; ++t) {  // e^88 ~ 1.7e38 < FLT_MAX < e^89
    filter.step(state, one, y);
    ASSERT_TRUE(y[0] >= previous) << t;  // growing, then Inf
    previous = y[0];
  }
  EXPECT_EQ(y[0], std::numeric_limits<float>::infinity());
  auto down = filter.make_state(1);
  for (int t = 0; t < 100; ++t) filter.step(down, minus, y);
  EXPECT_EQ(y[0], -std::numeric_limits<float>::infinity());
}

TEST(ModalFilter, RejectsBadInput) {
  using hyena::test::expect_invalid;
  const std::vector<float> lp(8, -0.5f), r(8, 1.0f), d(2, 1.0f);
  expect_invalid([&] { hyena::modal_filter<float>(0, 4, lp, r); }, {"channels", ">= 1"});
  expect_invalid([&] { hyena::modal_filter<float>(2, 0, lp, r); }, {"state_size", ">= 1"});
  expect_invalid([&] { hyena::modal_filter<float>(2, 3, lp, r); }, {"log_poles", "channels*state_size = 2*3"});
  expect_invalid([&] { hyena::modal_filter<float>(2, 4, lp, std::vector<float>(7)); }, {"residues"});
  expect_invalid([&] { hyena::modal_filter<float>(2, 4, lp, r, std::vector<float>(3)); }, {"skip", "channels = 2"});
  auto nan_lp = lp;
  nan_lp[5] = std::numeric_limits<float>::quiet_NaN();
  expect_invalid([&] { hyena::modal_filter<float>(2, 4, nan_lp, r); }, {"log_poles[5]", "not finite"});
  auto inf_r = r;
  inf_r[0] = -std::numeric_limits<float>::infinity();
  expect_invalid([&] { hyena::modal_filter<float>(2, 4, lp, inf_r); }, {"residues[0]", "not finite"});

  const hyena::modal_filter<float> filter(2, 4, lp, r, d);
  expect_invalid([&] { filter.response(0); }, {"length", ">= 1"});
  // Growing modes overflow long before t = 10^5: the bank says so rather than convolving Inf.
  const hyena::modal_filter<float> growing(2, 4, std::vector<float>(8, 0.01f), r);
  expect_invalid([&] { growing.prepare(100000); }, {"h[0][", "overflows float", "log_pole > 0"});
  std::vector<float> rows(2 * 5);
  expect_invalid([&] { filter.response(1, 3, 5, rows.data()); }, {"channels [1, 3)", "[0, 2)"});

  auto state = filter.make_state(2);
  std::vector<float> u(2 * 2 * 3), u_t(4), y_t(4);
  expect_invalid([&] { filter.prefill(state, 3, std::vector<float>(5)); }, {"u", "batch*channels*length"});
  expect_invalid([&] { filter.step(state, std::vector<float>(3), y_t); }, {"u_t", "batch*channels = 4"});
  filter.prefill(state, 3, u);
  expect_invalid([&] { filter.prefill(state, 3, u); }, {"fresh"});
  auto other = hyena::modal_filter<float>(2, 2, std::vector<float>(4, -1.0f), std::vector<float>(4, 1.0f)).make_state(2);
  expect_invalid([&] { filter.step(other, u_t, y_t); }, {"make_state of another filter"});
}

}  // namespace
