// hyena_weights<T>: validate() names each wrong member; random_hyena_weights
// gives the documented shapes, ranges and per-unit frequencies, the same
// weights for a seed and other weights for another; streams().
#include <hyena/operator/weights.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/expect_error.hpp"

namespace {

using hyena::index_t;
using hyena::test::expect_invalid;

template <class T>
class HyenaWeights : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(HyenaWeights, Precisions);

hyena::hyena_config config(index_t d_model, index_t order, index_t max_length, index_t width = 7, index_t emb_dim = 5,
                           index_t inner = 2, index_t kernel = 3) {
  hyena::hyena_config c;
  c.d_model = d_model;
  c.order = order;
  c.max_length = max_length;
  c.filter_width = width;
  c.emb_dim = emb_dim;
  c.inner_layers = inner;
  c.short_filter_size = kernel;
  c.sine_frequency = 3.0;
  return c;
}

template <class T>
bool all_finite(const std::vector<T>& v) {
  return std::all_of(v.begin(), v.end(), [](T x) { return std::isfinite(x); });
}

// |x| <= bound for every entry; draws are made in double and rounded to T,
// which may carry one just below the bound to just above it: half an ulp.
template <class T>
bool within(const std::vector<T>& v, double bound) {
  const double slack = 1 + std::numeric_limits<T>::epsilon() / 2;
  return std::all_of(v.begin(), v.end(), [&](T x) { return std::fabs(double(x)) <= bound * slack; });
}

// Sizes 1 (one channel, a one-point grid, no inner layer, a 1-tap short
// filter), odd and prime widths and grids, orders 2..5.
TYPED_TEST(HyenaWeights, RandomWeightsHaveTheDocumentedShapesAndRanges) {
  using T = TypeParam;
  const std::vector<hyena::hyena_config> configs = {config(1, 2, 1, 1, 3, 0, 1), config(5, 3, 97, 7, 5, 1, 4),
                                                    config(3, 5, 13, 11, 9, 2, 3), config(2, 4, 2, 16, 3, 3, 7)};
  for (const auto& c : configs) {
    const auto w = hyena::random_hyena_weights<T>(c, 42);
    const index_t D = c.d_model, N = c.order, S = (N + 1) * D, F = D * (N - 1), M = c.filter_width,
                  E = c.emb_dim, K = c.short_filter_size;
    const std::string at = "D " + std::to_string(D) + " N " + std::to_string(N) + " M " + std::to_string(M);
    EXPECT_EQ(w.d_model, D) << at;
    EXPECT_EQ(w.order, N) << at;
    EXPECT_EQ(w.short_filter_size, K) << at;
    EXPECT_EQ(w.streams(), S) << at;
    EXPECT_EQ(w.in_proj_weight.size(), S * D) << at;
    EXPECT_EQ(w.in_proj_bias.size(), S) << at;
    EXPECT_EQ(w.out_proj_weight.size(), D * D) << at;
    EXPECT_EQ(w.out_proj_bias.size(), D) << at;
    EXPECT_EQ(w.short_filter_weight.size(), S * K) << at;
    EXPECT_EQ(w.short_filter_bias.size(), S) << at;
    const auto& f = w.filter;
    EXPECT_EQ(f.max_length(), c.max_length) << at;
    EXPECT_EQ(f.emb_dim(), E) << at;
    EXPECT_EQ(f.width, M) << at;
    EXPECT_EQ(f.channels, F) << at;
    EXPECT_EQ(f.inner_layers(), c.inner_layers) << at;
    EXPECT_EQ(f.first_weight.size(), M * E) << at;
    EXPECT_EQ(f.first_bias.size(), M) << at;
    EXPECT_EQ(f.frequency.size(), M) << at;
    for (index_t j = 0; j < c.inner_layers; ++j) {
      EXPECT_EQ(f.inner_weights[j].size(), M * M) << at;
      EXPECT_EQ(f.inner_biases[j].size(), M) << at;
    }
    EXPECT_EQ(f.last_weight.size(), F * M) << at;
    EXPECT_EQ(f.deltas.size(), F) << at;
    EXPECT_EQ(f.bias.size(), F) << at;

    // Linear layers U(±1/sqrt(fan_in)), the short conv U(±1/sqrt(K)).
    EXPECT_TRUE(within(w.in_proj_weight, 1 / std::sqrt(double(D))) && within(w.in_proj_bias, 1 / std::sqrt(double(D))))
        << at;
    EXPECT_TRUE(within(w.out_proj_weight, 1 / std::sqrt(double(D))) && within(w.out_proj_bias, 1 / std::sqrt(double(D))))
        << at;
    EXPECT_TRUE(within(w.short_filter_weight, 1 / std::sqrt(double(K))) &&
                within(w.short_filter_bias, 1 / std::sqrt(double(K))))
        << at;
    EXPECT_TRUE(within(f.first_weight, 1 / std::sqrt(double(E))) && within(f.first_bias, 1 / std::sqrt(double(E))))
        << at;
    for (index_t j = 0; j < c.inner_layers; ++j)
      EXPECT_TRUE(within(f.inner_weights[j], 1 / std::sqrt(double(M))) &&
                  within(f.inner_biases[j], 1 / std::sqrt(double(M))))
          << at;
    EXPECT_TRUE(within(f.last_weight, 1 / std::sqrt(double(M)))) << at;
    // The filter bias is N(0, 1): finite (and, for this seed, within 6 sigma).
    EXPECT_TRUE(all_finite(f.bias) && within(f.bias, 6.0)) << at;
    // phi_m = w * U(0.5, 1.5), one per unit: all distinct (ties have
    // probability ~0 for doubles drawn from mt19937_64).
    for (T phi : f.frequency) {
      EXPECT_GE(double(phi), T(0.5 * c.sine_frequency)) << at;
      EXPECT_LE(double(phi), T(1.5 * c.sine_frequency)) << at;
    }
    EXPECT_EQ(std::set<T>(f.frequency.begin(), f.frequency.end()).size(), M) << at << ": one frequency per unit";
    // z, t and deltas are the closed forms, exactly.
    const auto closed = hyena::positional_features<T>::closed_form(c.max_length, E);
    EXPECT_EQ(f.positions.z, closed.z) << at;
    EXPECT_EQ(f.positions.t, closed.t) << at;
    EXPECT_EQ(f.deltas, hyena::decay_rates<T>(F, c.modulation)) << at;
    EXPECT_NO_THROW(w.validate()) << at;
  }
}

// Every parameter of a hyena_weights, for comparing two of them member by member.
template <class T>
std::vector<std::pair<std::string, std::vector<T>>> members(const hyena::hyena_weights<T>& w) {
  std::vector<std::pair<std::string, std::vector<T>>> m = {
      {"in_proj_weight", w.in_proj_weight},         {"in_proj_bias", w.in_proj_bias},
      {"out_proj_weight", w.out_proj_weight},       {"out_proj_bias", w.out_proj_bias},
      {"short_filter_weight", w.short_filter_weight}, {"short_filter_bias", w.short_filter_bias},
      {"first_weight", w.filter.first_weight},     {"first_bias", w.filter.first_bias},
      {"frequency", w.filter.frequency},           {"last_weight", w.filter.last_weight},
      {"bias", w.filter.bias}};
  for (std::size_t j = 0; j < w.filter.inner_weights.size(); ++j) {
    m.emplace_back("inner_weights[" + std::to_string(j) + "]", w.filter.inner_weights[j]);
    m.emplace_back("inner_biases[" + std::to_string(j) + "]", w.filter.inner_biases[j]);
  }
  return m;
}

TYPED_TEST(HyenaWeights, RandomWeightsAreDeterministicPerSeedAndFinite) {
  using T = TypeParam;
  const auto c = config(5, 3, 31, 9, 5, 2, 3);
  const auto a = members(hyena::random_hyena_weights<T>(c, 1));
  const auto again = members(hyena::random_hyena_weights<T>(c, 1));
  const auto other = members(hyena::random_hyena_weights<T>(c, 2));
  ASSERT_EQ(a.size(), other.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].second, again[i].second) << a[i].first << ": same seed, same weights";
    EXPECT_NE(a[i].second, other[i].second) << a[i].first << ": another seed, other weights";
    EXPECT_TRUE(all_finite(a[i].second)) << a[i].first;
  }
  // The two precisions draw the same numbers: float weights are the double
  // ones rounded.
  const auto d = members(hyena::random_hyena_weights<double>(c, 1));
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t k = 0; k < a[i].second.size(); ++k)
      ASSERT_EQ(a[i].second[k], T(d[i].second[k])) << a[i].first << "[" << k << "]";
}

// The frequencies scale with sine_frequency and are the only thing it changes.
TYPED_TEST(HyenaWeights, SineFrequencyScalesPhiOnly) {
  using T = TypeParam;
  auto c = config(4, 2, 16, 8);
  const auto w3 = hyena::random_hyena_weights<T>(c, 5);
  c.sine_frequency = 12.0;
  const auto w12 = hyena::random_hyena_weights<T>(c, 5);
  // 12 u_m and 4 (3 u_m), each rounded to T once (the * 4 is exact): within
  // half an ulp each of the value, so eps |phi| apart at most; 2 eps |phi|.
  for (index_t m = 0; m < c.filter_width; ++m)
    EXPECT_NEAR(double(w12.filter.frequency[m]), 4 * double(w3.filter.frequency[m]),
                2 * std::numeric_limits<T>::epsilon() * double(w12.filter.frequency[m]))
        << m;
  const auto a = members(w3), b = members(w12);
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].first != "frequency") {
      EXPECT_EQ(a[i].second, b[i].second) << a[i].first;
    }
}

TEST(HyenaWeights, Streams) {
  hyena::hyena_weights<float> w;
  w.d_model = 1;
  w.order = 2;
  EXPECT_EQ(w.streams(), 3u);
  w.d_model = 7;
  w.order = 5;
  EXPECT_EQ(w.streams(), 42u);
  w.d_model = std::numeric_limits<index_t>::max() / 2;
  EXPECT_THROW((void)w.streams(), std::length_error);
}

// One wrong member at a time: the message names it (and its expected shape).
TYPED_TEST(HyenaWeights, ValidateNamesEachWrongMember) {
  using T = TypeParam;
  const auto good = hyena::random_hyena_weights<T>(config(3, 3, 11, 5, 5, 2, 4), 9);
  ASSERT_NO_THROW(good.validate());
  const T nan = std::numeric_limits<T>::quiet_NaN(), inf = std::numeric_limits<T>::infinity();
  auto broken = [&](const std::function<void(hyena::hyena_weights<T>&)>& edit, std::initializer_list<const char*> parts) {
    auto w = good;
    edit(w);
    expect_invalid([&] { w.validate(); }, parts);
  };
  using W = hyena::hyena_weights<T>;
  // Hyperparameters.
  broken([](W& w) { w.d_model = 0; }, {"hyena_weights", "d_model must be >= 1, got 0"});
  broken([](W& w) { w.order = 1; }, {"hyena_weights", "order must be >= 2, got 1"});
  broken([](W& w) { w.short_filter_size = 0; }, {"hyena_weights", "short_filter_size must be >= 1, got 0"});
  broken([](W& w) { w.short_filter_size = 3; }, {"short_filter_weight has 48 elements, expected",
                                                  "(order+1)*d_model*short_filter_size = 4*3*3 = 36"});
  broken([](W& w) { w.d_model = 4; }, {"in_proj_weight has 36 elements", "4*4*4 = 64"});
  // Each member of the wrong size, with its expected shape.
  broken([](W& w) { w.in_proj_weight.pop_back(); },
         {"in_proj_weight has 35 elements, expected (order+1)*d_model*d_model = 4*3*3 = 36"});
  broken([](W& w) { w.in_proj_bias.push_back(0); }, {"in_proj_bias has 13 elements, expected (order+1)*d_model = 4*3 = 12"});
  broken([](W& w) { w.out_proj_weight.clear(); }, {"out_proj_weight has 0 elements, expected d_model*d_model = 3*3 = 9"});
  broken([](W& w) { w.out_proj_bias.pop_back(); }, {"out_proj_bias has 2 elements, expected d_model = 3"});
  broken([](W& w) { w.short_filter_weight.pop_back(); },
         {"short_filter_weight has 47 elements, expected (order+1)*d_model*short_filter_size = 4*3*4 = 48"});
  broken([](W& w) { w.short_filter_bias.pop_back(); },
         {"short_filter_bias has 11 elements, expected (order+1)*d_model = 4*3 = 12"});
  // Each member holding a NaN or an infinity, with the index.
  broken([&](W& w) { w.in_proj_weight[7] = nan; }, {"in_proj_weight[7]", "is not finite"});
  broken([&](W& w) { w.in_proj_bias[0] = inf; }, {"in_proj_bias[0]", "is not finite"});
  broken([&](W& w) { w.out_proj_weight[8] = -inf; }, {"out_proj_weight[8]", "is not finite"});
  broken([&](W& w) { w.out_proj_bias[2] = nan; }, {"out_proj_bias[2]", "is not finite"});
  broken([&](W& w) { w.short_filter_weight[47] = nan; }, {"short_filter_weight[47]", "is not finite"});
  broken([&](W& w) { w.short_filter_bias[5] = inf; }, {"short_filter_bias[5]", "is not finite"});
  // The implicit filter: its channel count against d_model*(order-1), then
  // its own members (implicit_filter_weights::validate).
  broken([](W& w) { w.filter.channels = 5; },
         {"the implicit filter has 5 channels, expected d_model*(order-1) = 3*2 = 6"});
  broken([](W& w) { w.filter.positions.z.pop_back(); }, {"implicit_filter", "z has 54 elements", "11*5"});
  broken([](W& w) { w.filter.positions.t.pop_back(); }, {"implicit_filter", "t has 10 elements", "max_length = 11"});
  broken([](W& w) { w.filter.first_weight.pop_back(); }, {"first_weight has 24 elements", "width*emb_dim = 5*5"});
  broken([](W& w) { w.filter.first_bias.pop_back(); }, {"first_bias has 4 elements", "width = 5"});
  broken([](W& w) { w.filter.frequency.pop_back(); }, {"frequency has 4 elements", "width = 5"});
  broken([](W& w) { w.filter.inner_weights[1].pop_back(); }, {"inner_weights[1] has 24 elements", "width*width = 5*5"});
  broken([](W& w) { w.filter.inner_biases[0].pop_back(); }, {"inner_biases[0] has 4 elements", "width = 5"});
  broken([](W& w) { w.filter.inner_biases.pop_back(); }, {"2 inner weights but 1 inner biases"});
  broken([](W& w) { w.filter.last_weight.pop_back(); }, {"last_weight has 29 elements", "channels*width = 6*5"});
  broken([](W& w) { w.filter.deltas.pop_back(); }, {"deltas has 5 elements", "channels = 6"});
  broken([](W& w) { w.filter.bias.pop_back(); }, {"bias has 5 elements", "channels = 6"});
  broken([](W& w) { w.filter.width = 0; }, {"implicit_filter", "width must be >= 1, got 0"});
  broken([](W& w) { w.filter.positions.emb_dim = 4; }, {"emb_dim must be odd and >= 3, got 4"});
  broken([&](W& w) { w.filter.frequency[3] = nan; }, {"frequency[3]", "is not finite"});
  broken([&](W& w) { w.filter.deltas[0] = -inf; }, {"deltas[0]", "is not finite"});
  broken([&](W& w) { w.filter.positions.z[10] = inf; }, {"z[10]", "is not finite"});
}

TEST(HyenaWeights, RandomWeightsRejectBadConfigs) {
  expect_invalid([] { (void)hyena::random_hyena_weights<float>(config(0, 2, 8), 1); },
                 {"random_hyena_weights", "d_model must be >= 1, got 0"});
  expect_invalid([] { (void)hyena::random_hyena_weights<float>(config(4, 1, 8), 1); },
                 {"random_hyena_weights", "order must be >= 2, got 1"});
  expect_invalid([] { (void)hyena::random_hyena_weights<float>(config(4, 2, 0), 1); },
                 {"positional_features", "max_length must be >= 1, got 0"});
  expect_invalid([] { (void)hyena::random_hyena_weights<float>(config(4, 2, 8, 7, 4), 1); },
                 {"emb_dim must be odd and >= 3, got 4"});
  expect_invalid([] { (void)hyena::random_hyena_weights<float>(config(4, 2, 8, 0), 1); },
                 {"implicit_filter", "width must be >= 1, got 0"});
  expect_invalid([] { (void)hyena::random_hyena_weights<float>(config(4, 2, 8, 7, 5, 2, 0), 1); },
                 {"short_filter_size must be >= 1, got 0"});
}

}  // namespace
