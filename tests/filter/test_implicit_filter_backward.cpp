// Gradients of the implicit filter's weights against central finite
// differences of its forward (response()), with the window on and off, a
// shift, a decay rate of either sign, lengths 1 to max_length; thread
// counts; bad input.
#include <hyena/filter/implicit_filter.hpp>
#include <hyena/filter/implicit_filter_backward.hpp>
#include <hyena/operator/weights.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "support/expect_error.hpp"
#include "support/gradient_check.hpp"
#include "support/numerics.hpp"

namespace {

using hyena::index_t;
using hyena::test::dot;
using hyena::test::expect_gradient;
using hyena::test::expect_invalid;
using hyena::test::finite_difference_gradient;
using hyena::test::random_vector;

// F = 6 filters of a 5-wide MLP with two inner layers on an 11-point grid,
// E = 5; the second decay rate made positive (the window uses |delta|), the third 0.
hyena::implicit_filter_weights<double> small_filter(index_t inner_layers, std::uint64_t seed) {
  hyena::hyena_config config;
  config.d_model = 3;
  config.order = 3;
  config.max_length = 11;
  config.filter_width = 5;
  config.emb_dim = 5;
  config.inner_layers = inner_layers;
  auto w = hyena::random_hyena_weights<double>(config, seed).filter;
  w.deltas[1] = -w.deltas[1];
  w.deltas[2] = 0.0;  // |delta| has no derivative at 0: PyTorch's (and the central difference's) is 0
  return w;
}

// Every trainable member, by name, for the finite differences.
std::vector<std::pair<std::string, std::vector<double>*>> members(hyena::implicit_filter_weights<double>& w) {
  std::vector<std::pair<std::string, std::vector<double>*>> out = {
      {"z", &w.positions.z},         {"first_weight", &w.first_weight}, {"first_bias", &w.first_bias},
      {"frequency", &w.frequency},   {"last_weight", &w.last_weight},   {"deltas", &w.deltas}};
  for (index_t j = 0; j < w.inner_layers(); ++j) {
    out.emplace_back("inner_weights[" + std::to_string(j) + "]", &w.inner_weights[j]);
    out.emplace_back("inner_biases[" + std::to_string(j) + "]", &w.inner_biases[j]);
  }
  return out;
}

TEST(ImplicitFilterBackward, MatchesFiniteDifferencesOfTheResponse) {
  struct filter_case {
    index_t inner_layers, length;
    bool modulate;
    double shift;
  };
  for (const filter_case fc : {filter_case{2, 11, true, 0.0}, filter_case{2, 7, true, 0.25},
                               filter_case{1, 1, true, 0.0}, filter_case{0, 5, false, 0.0},
                               filter_case{2, 4, false, 0.0}}) {
    auto weights = small_filter(fc.inner_layers, 7 + fc.length);
    hyena::exponential_modulation_config modulation;
    modulation.modulate = fc.modulate;
    modulation.shift = fc.shift;
    const index_t L = fc.length, F = weights.channels;
    const auto r = random_vector<double>(F * L, 61);
    auto loss = [&] { return dot(r, hyena::implicit_filter<double>(weights, modulation).response(L)); };

    const hyena::implicit_filter<double> filter(weights, modulation);
    auto grads = hyena::zero_gradients(weights);
    hyena::implicit_filter_backward<double>(filter, L, r, grads);
    auto grad_members = members(grads);
    auto weight_members = members(weights);
    const std::string at = " R=" + std::to_string(fc.inner_layers) + " L=" + std::to_string(L) +
                           (fc.modulate ? " window shift=" + std::to_string(fc.shift) : " no window");
    for (std::size_t i = 0; i < weight_members.size(); ++i)
      expect_gradient(*grad_members[i].second, finite_difference_gradient(*weight_members[i].second, loss),
                      grad_members[i].first + at);
    // Buffers and the skips are not the bank's: untouched.
    EXPECT_EQ(grads.positions.t, std::vector<double>(weights.positions.t.size(), 0.0));
    EXPECT_EQ(grads.bias, std::vector<double>(F, 0.0));
  }
}

TEST(ImplicitFilterBackward, ThreadCountsGiveIdenticalBitsAndCallsAccumulate) {
  hyena::hyena_config config;
  config.d_model = 40;
  config.order = 2;
  config.max_length = 1500;
  config.filter_width = 16;
  auto weights = hyena::random_hyena_weights<float>(config, 3).filter;
  const hyena::implicit_filter<float> filter(weights, {});
  const index_t L = 1300;
  const auto dh = random_vector<float>(40 * L, 71);
  auto once = hyena::zero_gradients(weights);
  hyena::implicit_filter_backward<float>(filter, L, dh, once, hyena::execution_context(1));
  for (unsigned threads : {2u, 3u}) {
    auto g = hyena::zero_gradients(weights);
    hyena::implicit_filter_backward<float>(filter, L, dh, g, hyena::execution_context(threads));
    EXPECT_EQ(g.last_weight, once.last_weight) << threads;
    EXPECT_EQ(g.deltas, once.deltas) << threads;
    EXPECT_EQ(g.frequency, once.frequency) << threads;
    EXPECT_EQ(g.first_weight, once.first_weight) << threads;
    EXPECT_EQ(g.positions.z, once.positions.z) << threads;
  }
  // A second call adds the same again. Not bit for bit twice: a GEMM adds
  // its partial sums into the destination block by block, so accumulating
  // rounds differently from one sum. The difference is the GEMM's rounding:
  // a few u times sqrt(L) at most for these O(1) sums of L = 1300 terms.
  auto twice = hyena::zero_gradients(weights);
  hyena::implicit_filter_backward<float>(filter, L, dh, twice);
  hyena::implicit_filter_backward<float>(filter, L, dh, twice);
  std::vector<float> doubled(once.last_weight);
  for (auto& x : doubled) x *= 2;
  hyena::test::expect_error_within(hyena::test::relative_l2_error(twice.last_weight, doubled),
                                   std::sqrt(double(L)) * hyena::test::unit_roundoff<float>(),
                                   "two calls against twice one");
}

TEST(ImplicitFilterBackward, RejectsBadInput) {
  const auto weights = small_filter(2, 5);
  const hyena::implicit_filter<double> filter(weights, {});
  auto grads = hyena::zero_gradients(weights);
  std::vector<double> dh(6 * 4, 1.0);
  expect_invalid([&] { hyena::implicit_filter_backward<double>(filter, 0, {}, grads); },
                 {"length must be in [1, max_length = 11], got 0"});
  expect_invalid([&] { hyena::implicit_filter_backward<double>(filter, 12, dh, grads); }, {"got 12"});
  expect_invalid([&] { hyena::implicit_filter_backward<double>(filter, 5, dh, grads); },
                 {"dh has 24 elements", "channels*length = 6*5"});
  auto other = hyena::zero_gradients(small_filter(1, 5));
  expect_invalid([&] { hyena::implicit_filter_backward<double>(filter, 4, dh, other); },
                 {"the gradient has 1 inner layers, expected 2"});
  other = grads;
  other.last_weight.pop_back();
  expect_invalid([&] { hyena::implicit_filter_backward<double>(filter, 4, dh, other); },
                 {"the gradient of filter last_weight has 29 elements, expected 30"});
  dh[5] = std::numeric_limits<double>::quiet_NaN();
  expect_invalid([&] { hyena::implicit_filter_backward<double>(filter, 4, dh, grads); }, {"dh[5]", "not finite"});
}

}  // namespace
