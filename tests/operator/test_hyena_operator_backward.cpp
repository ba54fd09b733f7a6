// Gradients of the order-N Hyena operator: every weight and the input
// against central finite differences of forward(), for orders 2-4, both
// filter layouts, the window on and off, L = 1, odd, prime and even
// lengths, batch > 1; float against double; thread counts; bad input.
#include <hyena/operator/hyena_operator.hpp>
#include <hyena/operator/hyena_operator_backward.hpp>
#include <hyena/operator/weights.hpp>

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "support/expect_error.hpp"
#include "support/gradient_check.hpp"
#include "support/numerics.hpp"

// A named namespace: tests/CMakeLists.txt compiles each folder as one unity
// translation unit, where these helpers would clash with another file's.
namespace hyena_operator_backward_test {

namespace {

using hyena::index_t;
using hyena::test::dot;
using hyena::test::expect_error_within;
using hyena::test::expect_gradient;
using hyena::test::expect_invalid;
using hyena::test::finite_difference_gradient;
using hyena::test::random_vector;
using hyena::test::relative_l2_error;

hyena::hyena_config small_config(index_t order, index_t max_length, index_t short_filter_size = 3) {
  hyena::hyena_config config;
  config.d_model = 3;
  config.order = order;
  config.max_length = max_length;
  config.filter_width = 4;
  config.emb_dim = 3;
  config.inner_layers = 1;
  config.short_filter_size = short_filter_size;
  return config;
}

// Every trainable member of the operator, by its PyTorch-side meaning.
std::vector<std::pair<std::string, std::vector<double>*>> members(hyena::hyena_weights<double>& w) {
  auto& f = w.filter;
  std::vector<std::pair<std::string, std::vector<double>*>> out = {
      {"in_proj_weight", &w.in_proj_weight},
      {"in_proj_bias", &w.in_proj_bias},
      {"out_proj_weight", &w.out_proj_weight},
      {"out_proj_bias", &w.out_proj_bias},
      {"short_filter_weight", &w.short_filter_weight},
      {"short_filter_bias", &w.short_filter_bias},
      {"filter z", &f.positions.z},
      {"filter first_weight", &f.first_weight},
      {"filter first_bias", &f.first_bias},
      {"filter frequency", &f.frequency},
      {"filter last_weight", &f.last_weight},
      {"filter deltas", &f.deltas},
      {"filter bias", &f.bias}};
  for (index_t j = 0; j < f.inner_layers(); ++j) {
    out.emplace_back("filter inner_weights[" + std::to_string(j) + "]", &f.inner_weights[j]);
    out.emplace_back("filter inner_biases[" + std::to_string(j) + "]", &f.inner_biases[j]);
  }
  return out;
}

TEST(HyenaOperatorBackward, MatchesFiniteDifferencesOfTheForward) {
  struct operator_case {
    index_t order, batch, length, max_length, short_filter_size;
    hyena::filter_layout layout;
    bool modulate;
  };
  using hyena::filter_layout;
  for (const operator_case oc : {operator_case{2, 2, 1, 4, 3, filter_layout::blocked, true},
                                 operator_case{2, 3, 10, 12, 4, filter_layout::interleaved, true},
                                 operator_case{3, 2, 13, 13, 3, filter_layout::interleaved, true},
                                 operator_case{3, 1, 7, 9, 2, filter_layout::blocked, false},
                                 operator_case{4, 2, 5, 6, 3, filter_layout::blocked, true},
                                 operator_case{4, 1, 9, 9, 3, filter_layout::interleaved, true}}) {
    auto weights = hyena::random_hyena_weights<double>(
        small_config(oc.order, oc.max_length, oc.short_filter_size), 100 + oc.order * 10 + oc.length);
    hyena::hyena_options options;
    options.layout = oc.layout;
    options.modulation.modulate = oc.modulate;
    options.modulation.shift = oc.modulate ? 0.1 : 0.0;
    const index_t B = oc.batch, L = oc.length, D = weights.d_model;
    auto u = random_vector<double>(B * L * D, 81);
    const auto r = random_vector<double>(B * L * D, 82);
    auto loss = [&] { return dot(r, hyena::hyena_operator<double>(weights, options).forward(B, L, u)); };

    const hyena::hyena_operator<double> op(weights, options);
    auto grads = hyena::zero_gradients(weights);
    std::vector<double> du(u.size());
    hyena::hyena_backward<double>(op, B, L, u, r, du, grads);

    const std::string at = " order=" + std::to_string(oc.order) + " B=" + std::to_string(B) +
                           " L=" + std::to_string(L) + " " + hyena::filter_layout_name(oc.layout) +
                           (oc.modulate ? "" : " no window");
    expect_gradient(du, finite_difference_gradient(u, loss), "du" + at);
    auto grad_members = members(grads);
    auto weight_members = members(weights);
    for (std::size_t i = 0; i < weight_members.size(); ++i)
      expect_gradient(*grad_members[i].second, finite_difference_gradient(*weight_members[i].second, loss),
                      grad_members[i].first + at);
  }
}

// The float backward against the double one on the same (float-rounded)
// weights and data: each gradient goes through the forward recomputed in
// float plus a backward of the same structure (one more correlation per
// step), so the forward's error model applies with twice the steps.
TEST(HyenaOperatorBackward, FloatAgreesWithDouble) {
  hyena::hyena_config config = small_config(3, 300);
  config.d_model = 8;
  config.filter_width = 16;
  const auto wf = hyena::random_hyena_weights<float>(config, 9);
  const auto wd = hyena::random_hyena_weights<double>(config, 9);  // same draws, rounded differently
  hyena::hyena_weights<double> wfd = wd;
  // The double operator on exactly the float weights.
  auto widen = [](const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); };
  wfd.in_proj_weight = widen(wf.in_proj_weight);
  wfd.in_proj_bias = widen(wf.in_proj_bias);
  wfd.out_proj_weight = widen(wf.out_proj_weight);
  wfd.out_proj_bias = widen(wf.out_proj_bias);
  wfd.short_filter_weight = widen(wf.short_filter_weight);
  wfd.short_filter_bias = widen(wf.short_filter_bias);
  wfd.filter.positions.z = widen(wf.filter.positions.z);
  wfd.filter.positions.t = widen(wf.filter.positions.t);
  wfd.filter.first_weight = widen(wf.filter.first_weight);
  wfd.filter.first_bias = widen(wf.filter.first_bias);
  wfd.filter.frequency = widen(wf.filter.frequency);
  wfd.filter.inner_weights[0] = widen(wf.filter.inner_weights[0]);
  wfd.filter.inner_biases[0] = widen(wf.filter.inner_biases[0]);
  wfd.filter.last_weight = widen(wf.filter.last_weight);
  wfd.filter.deltas = widen(wf.filter.deltas);
  wfd.filter.bias = widen(wf.filter.bias);
  const hyena::hyena_operator<float> opf(wf);
  const hyena::hyena_operator<double> opd(wfd);
  const index_t B = 2, L = 257, D = config.d_model;
  const auto uf = random_vector<float>(B * L * D, 91), rf = random_vector<float>(B * L * D, 92);
  const std::vector<double> ud(uf.begin(), uf.end()), rd(rf.begin(), rf.end());
  auto gf = hyena::zero_gradients(wf);
  auto gd = hyena::zero_gradients(wfd);
  std::vector<float> duf(uf.size());
  std::vector<double> dud(ud.size());
  hyena::hyena_backward<float>(opf, B, L, uf, rf, duf, gf);
  hyena::hyena_backward<double>(opd, B, L, ud, rd, dud, gd);
  const index_t n = opf.prepared_filters(L)->steps.front().fft_size();
  const double tolerance = hyena::test::operator_tolerance<float>(2 * (config.order - 1) + 1, n);
  expect_error_within(relative_l2_error(duf, dud), tolerance, "du float vs double");
  expect_error_within(relative_l2_error(gf.in_proj_weight, gd.in_proj_weight), tolerance, "in_proj_weight");
  expect_error_within(relative_l2_error(gf.out_proj_weight, gd.out_proj_weight), tolerance, "out_proj_weight");
  expect_error_within(relative_l2_error(gf.short_filter_weight, gd.short_filter_weight), tolerance,
                      "short_filter_weight");
  expect_error_within(relative_l2_error(gf.filter.last_weight, gd.filter.last_weight), tolerance, "last_weight");
  expect_error_within(relative_l2_error(gf.filter.bias, gd.filter.bias), tolerance, "filter bias");
  expect_error_within(relative_l2_error(gf.filter.frequency, gd.filter.frequency), tolerance, "frequency");
}

TEST(HyenaOperatorBackward, ThreadCountsGiveIdenticalBits) {
  hyena::hyena_config config = small_config(3, 400);
  config.d_model = 24;
  config.filter_width = 16;
  const auto w = hyena::random_hyena_weights<float>(config, 5);
  const index_t B = 2, L = 333, D = config.d_model;
  const auto u = random_vector<float>(B * L * D, 93), r = random_vector<float>(B * L * D, 94);
  auto run = [&](unsigned threads) {
    hyena::hyena_operator<float> op(w);
    op.set_execution(hyena::execution_context(threads));
    auto g = hyena::zero_gradients(w);
    std::vector<float> du(u.size());
    hyena::hyena_backward<float>(op, B, L, u, r, du, g);
    return std::make_pair(du, g);
  };
  const auto one = run(1);
  for (unsigned threads : {2u, 3u}) {
    const auto many = run(threads);
    EXPECT_EQ(many.first, one.first) << threads;
    EXPECT_EQ(many.second.in_proj_weight, one.second.in_proj_weight) << threads;
    EXPECT_EQ(many.second.out_proj_weight, one.second.out_proj_weight) << threads;
    EXPECT_EQ(many.second.short_filter_weight, one.second.short_filter_weight) << threads;
    EXPECT_EQ(many.second.filter.last_weight, one.second.filter.last_weight) << threads;
    EXPECT_EQ(many.second.filter.bias, one.second.filter.bias) << threads;
    EXPECT_EQ(many.second.filter.positions.z, one.second.filter.positions.z) << threads;
  }
}

// Store mode: the forward that keeps the activations gives forward()'s
// output (the output gate in its own pass: the same products, so the same
// values up to a contraction the compiler may make differently), and the
// backward from them the recompute mode's gradients bit for bit (the same
// arithmetic on the same activations).
TEST(HyenaOperatorBackward, StoreModeEqualsRecomputeMode) {
  for (index_t order : {2, 3}) {
    hyena::hyena_config config = small_config(order, 64);
    config.d_model = 6;
    const auto w = hyena::random_hyena_weights<float>(config, 17);
    hyena::hyena_options options;
    options.layout = hyena::filter_layout::interleaved;
    const hyena::hyena_operator<float> op(w, options);
    const index_t B = 3, L = 61, D = config.d_model;
    const auto u = random_vector<float>(B * L * D, 95), r = random_vector<float>(B * L * D, 96);

    hyena::hyena_activations<float> saved;
    hyena::hyena_backward_workspace<float> ws;
    std::vector<float> out(u.size());
    hyena::forward_for_backward<float>(op, B, L, u, out, saved, ws);
    EXPECT_EQ(saved.batch(), B);
    EXPECT_EQ(saved.length(), L);
    EXPECT_EQ(saved.bytes(), index_t(B * (2 * (order + 1) + order - 1) * D * L * sizeof(float)));
    EXPECT_LE(relative_l2_error(out, op.forward(B, L, u)), 4 * hyena::test::unit_roundoff<float>()) << order;

    auto stored = hyena::zero_gradients(w), recomputed = hyena::zero_gradients(w);
    std::vector<float> du_stored(u.size()), du_recomputed(u.size());
    hyena::hyena_backward<float>(op, saved, u, r, du_stored, stored, ws);
    hyena::hyena_backward<float>(op, B, L, u, r, du_recomputed, recomputed, ws);
    EXPECT_EQ(du_stored, du_recomputed) << order;
    EXPECT_EQ(stored.in_proj_weight, recomputed.in_proj_weight) << order;
    EXPECT_EQ(stored.short_filter_weight, recomputed.short_filter_weight) << order;
    EXPECT_EQ(stored.out_proj_weight, recomputed.out_proj_weight) << order;
    EXPECT_EQ(stored.filter.bias, recomputed.filter.bias) << order;
    EXPECT_EQ(stored.filter.last_weight, recomputed.filter.last_weight) << order;
    EXPECT_EQ(stored.filter.frequency, recomputed.filter.frequency) << order;
    EXPECT_EQ(stored.filter.positions.z, recomputed.filter.positions.z) << order;

    // du may be u itself (the weights' gradients read u before du is written).
    std::vector<float> in_place(u);
    auto in_place_grads = hyena::zero_gradients(w);
    hyena::hyena_backward<float>(op, B, L, in_place, r, in_place, in_place_grads, ws);
    EXPECT_EQ(in_place, du_recomputed) << order;
    EXPECT_EQ(in_place_grads.in_proj_weight, recomputed.in_proj_weight) << order;
  }
}

TEST(HyenaOperatorBackward, StoreModeRejectsActivationsOfAnotherOperatorOrShape) {
  const auto w = hyena::random_hyena_weights<double>(small_config(2, 8), 1);
  const hyena::hyena_operator<double> op(w), twin(w);
  const index_t B = 2, L = 5, D = 3;
  std::vector<double> u(B * L * D, 0.5), dout(B * L * D, 1.0), du(B * L * D), out(B * L * D);
  auto grads = hyena::zero_gradients(w);
  hyena::hyena_backward_workspace<double> ws;
  hyena::hyena_activations<double> saved;
  expect_invalid([&] { hyena::hyena_backward<double>(op, saved, u, dout, du, grads, ws); },
                 {"the activations were not made by this operator's forward_for_backward"});
  hyena::forward_for_backward<double>(op, B, L, u, out, saved, ws);
  expect_invalid([&] { hyena::hyena_backward<double>(twin, saved, u, dout, du, grads, ws); },
                 {"not made by this operator"});
  std::vector<double> shorter(B * (L - 1) * D, 0.5);
  expect_invalid([&] { hyena::hyena_backward<double>(op, saved, shorter, shorter, du, grads, ws); },
                 {"the activations are of batch 2 and length 5 (30 values), u has 24 and dout 24"});
  std::vector<double> bad_u(u);
  bad_u[7] = std::numeric_limits<double>::quiet_NaN();
  expect_invalid([&] { hyena::hyena_backward<double>(op, saved, bad_u, dout, du, grads, ws); },
                 {"u[0][2][1]", "not finite"});
  std::vector<double> wrong_out(B * L * D + 1);
  expect_invalid([&] { hyena::forward_for_backward<double>(op, B, L, u, wrong_out, saved, ws); },
                 {"out has 31 elements"});
  EXPECT_EQ(grads.in_proj_weight, std::vector<double>(w.in_proj_weight.size(), 0.0));
}

TEST(HyenaOperatorBackward, RejectsBadInput) {
  const auto w = hyena::random_hyena_weights<double>(small_config(2, 8), 1);
  const hyena::hyena_operator<double> op(w);
  const index_t B = 2, L = 5, D = 3;
  std::vector<double> u(B * L * D, 0.5), dout(B * L * D, 1.0), du(B * L * D);
  auto grads = hyena::zero_gradients(w);
  expect_invalid([&] { hyena::hyena_backward<double>(op, 0, L, u, dout, du, grads); }, {"batch must be >= 1"});
  expect_invalid([&] { hyena::hyena_backward<double>(op, B, 9, u, dout, du, grads); },
                 {"input length 9 exceeds max_length 8"});
  std::vector<double> short_dout(B * L * D - 1);
  expect_invalid([&] { hyena::hyena_backward<double>(op, B, L, u, short_dout, du, grads); },
                 {"dout has 29 elements", "batch*length*d_model = 2*5*3"});
  // Gradients made for another operator (order 3: more streams).
  auto other = hyena::zero_gradients(hyena::random_hyena_weights<double>(small_config(3, 8), 1));
  expect_invalid([&] { hyena::hyena_backward<double>(op, B, L, u, dout, du, other); },
                 {"the gradient of in_proj_weight has 36 elements, expected 27", "zero_gradients"});
  // A non-finite upstream gradient or input is refused, naming [b][t][d].
  dout[1 * L * D + 2 * D + 1] = std::numeric_limits<double>::infinity();
  expect_invalid([&] { hyena::hyena_backward<double>(op, B, L, u, dout, du, grads); },
                 {"dout[1][2][1] = inf is not finite"});
  dout[1 * L * D + 2 * D + 1] = 1.0;
  u[4] = std::numeric_limits<double>::quiet_NaN();
  expect_invalid([&] { hyena::hyena_backward<double>(op, B, L, u, dout, du, grads); }, {"u[0][1][1]", "not finite"});
  // Nothing was added by the refused calls.
  EXPECT_EQ(grads.in_proj_weight, std::vector<double>(w.in_proj_weight.size(), 0.0));

  // Finite u and dout whose forward overflows float: the pass stops at the
  // first non-finite row, naming the step, rather than spreading it.
  auto huge = hyena::random_hyena_weights<float>(small_config(2, 8), 1);
  for (auto& x : huge.in_proj_weight) x *= 1e20f;
  const hyena::hyena_operator<float> overflowing(huge);
  std::vector<float> uf(B * L * D, 1e20f), doutf(B * L * D, 1.0f), duf(B * L * D);
  auto gf = hyena::zero_gradients(huge);
  expect_invalid([&] { hyena::hyena_backward<float>(overflowing, B, L, uf, doutf, duf, gf); },
                 {"hyena_backward: ", "step 0", "not finite"});
}

}  // namespace

}  // namespace hyena_operator_backward_test
