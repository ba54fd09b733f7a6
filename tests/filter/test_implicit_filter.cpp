// The implicit filter's block-by-block path (hidden + response_rows, what the
// operator uses to prepare filters) against the naive double-precision MLP.
#include <hyena/operator/weights.hpp>
#include <hyena/filter/implicit_filter.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "support/expect_error.hpp"
#include "support/naive_hyena.hpp"
#include "support/numerics.hpp"

namespace {

using hyena::test::expect_invalid;

using hyena::index_t;

template <class T>
class ImplicitFilter : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ImplicitFilter, Precisions);

// random_hyena_weights draws one sine frequency per hidden unit, so a unit
// evaluated with another unit's frequency shows in the bank.
template <class T>
hyena::implicit_filter<T> make_filter(index_t max_length, index_t d_model, index_t order,
                                      const hyena::exponential_modulation_config& modulation = {}) {
  hyena::hyena_config c;
  c.d_model = d_model;
  c.order = order;
  c.max_length = max_length;
  c.filter_width = 16;
  c.emb_dim = 5;
  c.sine_frequency = 3.0;
  return hyena::implicit_filter<T>(hyena::random_hyena_weights<T>(c, 7).filter, modulation);
}

// Each row against the naive bank, built with the filter's own window
// settings (modulate, shift). Errors are absolute, not relative to a
// row: a sine of an argument x computed in T is off by ~u|x| (|x| reaches
// ~15 here: phi in [1.5, 4.5] times sums of 16 unit-sized terms), and the
// last Linear sums 16 such errors with unit weights, while a row may cancel
// to far less than its terms. So the error is measured against the whole
// bank's largest tap. Model: 8u for R+2 layers of 16-term dot products and
// sines; measured 1.5u-2.4u at L = 1 (a single position) and 3.3u-9.8u from
// L = 2 on (worst: double, window off, the MLP at L = 31; float 7.6u). The
// tolerance is 4x the model, 32u: 3.3x the worst measurement.
template <class T>
void expect_rows_match(const hyena::implicit_filter<T>& filter, index_t length, const std::vector<index_t>& ids,
                       unsigned threads) {
  const auto hidden = filter.hidden(length, threads);
  std::vector<T> rows(ids.size() * length);
  filter.response_rows(hidden, ids, rows.data());
  const auto exact =
      hyena::test::naive_filter_bank(filter.weights(), length, filter.modulation().shift, filter.modulation().modulate);
  double scale = 0;
  for (double v : exact) scale = std::max(scale, std::fabs(v));
  double worst = 0;
  for (std::size_t i = 0; i < ids.size(); ++i)
    for (index_t n = 0; n < length; ++n)
      worst = std::max(worst, std::fabs(double(rows[i * length + n]) - exact[ids[i] * length + n]));
  hyena::test::expect_error_within(worst / scale, 32 * hyena::test::unit_roundoff<T>(),
                                   "response_rows L=" + std::to_string(length) + " threads " +
                                       std::to_string(threads) + " modulate " +
                                       std::to_string(int(filter.modulation().modulate)) + " shift " +
                                       std::to_string(filter.modulation().shift));
}

// The window on (the default, and with a shift) and off: modulate = false
// must leave the MLP's output untouched, shift included.
std::vector<hyena::exponential_modulation_config> window_settings() {
  hyena::exponential_modulation_config on, shifted, off;
  shifted.shift = 0.05;
  off.modulate = false;
  off.shift = 0.05;  // ignored when modulate is false
  return {on, shifted, off};
}

TYPED_TEST(ImplicitFilter, ResponseRowsMatchNaiveBank) {
  for (const auto& modulation : window_settings()) {
    const auto filter = make_filter<TypeParam>(1100, 6, 3, modulation);  // 12 channels
    // L = 1, odd, prime, and 513 / 1100 (across the 512-position blocks).
    for (index_t L : {1, 2, 7, 97, 513, 1100}) {
      expect_rows_match(filter, L, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 1);
      expect_rows_match(filter, L, {11, 3, 3, 0}, 2);  // any order, repeats allowed
      expect_rows_match(filter, L, {5}, 0);
    }
  }
}

// The whole bank (response) and the MLP output (mlp) against the naive bank
// with and without the window; same tolerance as above.
TYPED_TEST(ImplicitFilter, ResponseAndMlpMatchNaiveBank) {
  using T = TypeParam;
  for (const auto& modulation : window_settings()) {
    const auto filter = make_filter<T>(101, 5, 2, modulation);  // 5 channels, prime grid
    for (index_t L : {1, 31, 101}) {
      const auto exact = hyena::test::naive_filter_bank(filter.weights(), L, modulation.shift, modulation.modulate);
      const auto unwindowed = hyena::test::naive_filter_bank(filter.weights(), L, 0.0, false);
      for (const auto& [got, want, what] :
           {std::make_tuple(filter.response(L), exact, "response"), std::make_tuple(filter.mlp(L), unwindowed, "mlp")}) {
        double scale = 0, worst = 0;
        for (double v : want) scale = std::max(scale, std::fabs(v));
        for (std::size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::fabs(double(got[i]) - want[i]));
        hyena::test::expect_error_within(worst / scale, 32 * hyena::test::unit_roundoff<T>(),
                                         std::string(what) + " L " + std::to_string(L) + " modulate " +
                                             std::to_string(int(modulation.modulate)) + " shift " +
                                             std::to_string(modulation.shift));
      }
    }
  }
}

// The block path and the whole-bank path (response) agree: both are the
// same MLP, so the operator's prepared filters equal step_filters_at's.
TYPED_TEST(ImplicitFilter, ResponseRowsAgreeWithWholeBank) {
  using T = TypeParam;
  const auto filter = make_filter<T>(700, 4, 2);
  const index_t L = 700, F = filter.channels();
  const auto bank = filter.response(L, 2);
  std::vector<index_t> ids(F);
  for (index_t c = 0; c < F; ++c) ids[c] = c;
  std::vector<T> rows(F * L);
  filter.response_rows(filter.hidden(L), ids, rows.data());
  EXPECT_LE(hyena::test::relative_max_error(rows, bank), 4 * hyena::test::unit_roundoff<T>());
}

TYPED_TEST(ImplicitFilter, HiddenDoesNotDependOnThreads) {
  const auto filter = make_filter<TypeParam>(1500, 4, 2);
  const auto one = filter.hidden(1500, 1);
  for (unsigned threads : {2u, 3u, 0u}) EXPECT_TRUE(filter.hidden(1500, threads) == one) << threads;
}

TYPED_TEST(ImplicitFilter, RejectsBadInput) {
  using T = TypeParam;
  const auto filter = make_filter<T>(50, 2, 2);
  std::vector<T> rows(100);
  const std::vector<index_t> too_big = {2}, ok = {1};
  expect_invalid([&] { (void)filter.hidden(0); }, {"length", "0"});
  expect_invalid([&] { (void)filter.hidden(51); }, {"51", "max_length 50"});
  const auto hidden = filter.hidden(50);
  expect_invalid([&] { filter.response_rows(hidden, too_big, rows.data()); }, {"channel 2", "channels 2"});
  const typename hyena::implicit_filter<T>::activations wrong(3, 50);
  expect_invalid([&] { filter.response_rows(wrong, ok, rows.data()); }, {"3 rows", "width 16"});
}

}  // namespace
