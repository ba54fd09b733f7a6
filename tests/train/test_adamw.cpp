// AdamW, gradient clipping and the learning-rate schedule against their
// definitions (torch.optim.AdamW's update written out in long double), and
// the list of an operator's trained tensors. (A training run with them:
// tests/model/test_hyena_lm_backward.cpp.)
#include <hyena/operator/hyena_operator_backward.hpp>
#include <hyena/operator/weights.hpp>
#include <hyena/train/adamw.hpp>
#include <hyena/train/trainable_parameters.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "support/expect_error.hpp"
#include "support/numerics.hpp"

namespace {

using hyena::index_t;
using hyena::test::expect_invalid;
using hyena::test::random_vector;

// Two tensors of a toy model, with their gradients.
struct toy {
  std::vector<double> a{1.0, -2.0, 0.5}, b{3.0};
  std::vector<double> ga{0.5, -0.25, 0.0}, gb{-1.0};
  std::vector<hyena::named_parameter<double>> parameters() { return {{"a", &a, &ga}, {"b", &b, &gb}}; }
};

TEST(AdamW, FollowsTorchsUpdateOverSeveralSteps) {
  toy t;
  hyena::adamw_options options;
  options.weight_decay = 0.1;
  hyena::adamw<double> optimizer(options);
  // The reference: the update of torch.optim.AdamW's documentation, in long double.
  std::vector<long double> p{1.0L, -2.0L, 0.5L}, m(3, 0), v(3, 0);
  const long double lr = 0.01L;
  for (int step = 1; step <= 3; ++step) {
    optimizer.step(t.parameters(), double(lr));
    for (int j = 0; j < 3; ++j) {
      const long double g = t.ga[j];
      p[j] -= lr * 0.1L * p[j];
      m[j] = 0.9L * m[j] + 0.1L * g;
      v[j] = 0.999L * v[j] + 0.001L * g * g;
      const long double mhat = m[j] / (1 - std::pow(0.9L, step)), vhat = v[j] / (1 - std::pow(0.999L, step));
      p[j] -= lr * mhat / (std::sqrt(vhat) + 1e-8L);
      // A double computation of the same expression: a few roundings.
      EXPECT_NEAR(t.a[j], double(p[j]), 1e-15) << "step " << step << " a[" << j << "]";
    }
  }
  EXPECT_EQ(optimizer.steps(), 3u);
  // A zero gradient moves a weight only by the decoupled decay.
  EXPECT_NEAR(t.a[2], 0.5 * std::pow(1 - 0.01 * 0.1, 3), 1e-15);
}

TEST(AdamW, MinimisesAQuadratic) {
  std::vector<double> p = random_vector<double>(8, 1), target = random_vector<double>(8, 2), g(8);
  hyena::adamw_options options;
  options.weight_decay = 0.0;
  hyena::adamw<double> optimizer(options);
  for (int step = 0; step < 400; ++step) {
    for (int j = 0; j < 8; ++j) g[j] = 2 * (p[j] - target[j]);
    optimizer.step({{"p", &p, &g}}, hyena::warmup_cosine_learning_rate(index_t(step), 20, 400, 0.05));
  }
  for (int j = 0; j < 8; ++j) EXPECT_NEAR(p[j], target[j], 1e-3) << j;
}

TEST(AdamW, ClipsByGlobalNorm) {
  toy t;
  // norm = sqrt(0.25 + 0.0625 + 1) = 1.1456...
  const double norm = std::sqrt(0.25 + 0.0625 + 1.0);
  auto parameters = t.parameters();
  EXPECT_DOUBLE_EQ(hyena::clip_gradient_norm(parameters, 10.0), norm);  // under: unchanged
  EXPECT_EQ(t.gb[0], -1.0);
  EXPECT_DOUBLE_EQ(hyena::clip_gradient_norm(parameters, 0.5), norm);
  EXPECT_NEAR(hyena::global_gradient_norm(parameters), 0.5, 1e-6);  // torch's norm + 1e-6 denominator
  EXPECT_NEAR(t.gb[0], -0.5 / (norm + 1e-6), 1e-15);
}

TEST(AdamW, WarmupCosineSchedule) {
  EXPECT_DOUBLE_EQ(hyena::warmup_cosine_learning_rate(0, 10, 110, 1.0), 0.1);
  EXPECT_DOUBLE_EQ(hyena::warmup_cosine_learning_rate(9, 10, 110, 1.0), 1.0);
  EXPECT_DOUBLE_EQ(hyena::warmup_cosine_learning_rate(10, 10, 110, 1.0), 1.0);
  EXPECT_NEAR(hyena::warmup_cosine_learning_rate(60, 10, 110, 1.0, 0.2), 0.6, 1e-15);
  EXPECT_DOUBLE_EQ(hyena::warmup_cosine_learning_rate(110, 10, 110, 1.0, 0.2), 0.2);
}

TEST(AdamW, TrainableParametersAreTheStateDictsTrainedKeys) {
  hyena::hyena_config config;
  config.d_model = 4;
  config.max_length = 8;
  config.inner_layers = 1;
  auto w = hyena::random_hyena_weights<float>(config, 1);
  auto g = hyena::zero_gradients(w);
  std::vector<std::string> names;
  for (const auto& p : hyena::trainable_parameters(w, g)) names.push_back(p.name);
  const std::vector<std::string> expected = {
      "in_proj.weight", "in_proj.bias", "out_proj.weight", "out_proj.bias", "short_filter.weight",
      "short_filter.bias", "filter_fn.bias", "filter_fn.pos_emb.z", "filter_fn.implicit_filter.0.weight",
      "filter_fn.implicit_filter.0.bias", "filter_fn.implicit_filter.1.freq", "filter_fn.implicit_filter.2.weight",
      "filter_fn.implicit_filter.2.bias", "filter_fn.implicit_filter.4.weight"};
  EXPECT_EQ(names, expected);
  hyena::hyena_trainable all;
  all.deltas = true;
  all.positions_z = false;
  names.clear();
  for (const auto& p : hyena::trainable_parameters(w, g, all)) names.push_back(p.name);
  EXPECT_EQ(names.back(), "filter_fn.modulation.deltas");
  EXPECT_EQ(std::count(names.begin(), names.end(), "filter_fn.pos_emb.z"), 0);
}

TEST(AdamW, RejectsBadInput) {
  expect_invalid([] { hyena::adamw<double>(hyena::adamw_options{1.0, 0.999, 1e-8, 0.0}); }, {"beta1 and beta2"});
  toy t;
  hyena::adamw<double> optimizer;
  expect_invalid([&] { optimizer.step(t.parameters(), -1.0); }, {"learning_rate must be finite and >= 0, got -1"});
  optimizer.step(t.parameters(), 0.01);
  toy other;
  other.a.push_back(0.0);
  other.ga.push_back(0.0);
  expect_invalid([&] { optimizer.step(other.parameters(), 0.01); },
                 {"parameter 0 is a of 4 elements", "the optimizer's state has a of 3"});
  const std::vector<double> before = t.a;
  t.gb[0] = std::numeric_limits<double>::quiet_NaN();
  expect_invalid([&] { optimizer.step(t.parameters(), 0.01); }, {"the gradient of b[0] = nan is not finite"});
  EXPECT_EQ(t.a, before);  // refused before any change
  auto parameters = t.parameters();
  expect_invalid([&] { hyena::clip_gradient_norm(parameters, 1.0); }, {"the gradient of b[0]", "not finite"});
  expect_invalid([&] { hyena::clip_gradient_norm(parameters, 0.0); }, {"max_norm must be > 0"});
}

}  // namespace
