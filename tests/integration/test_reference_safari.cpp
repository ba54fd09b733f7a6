// The operator against the PyTorch reference (safari @ 02220c69) stage by
// stage, for every configuration dumped in shared/reference/safari.
#include <hyena/io/operator_weights.hpp>
#include <hyena/operator/hyena_operator.hpp>
#include <hyena/filter/positional_features.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "support/numerics.hpp"
#include "support/reference.hpp"

// A named namespace: tests/CMakeLists.txt compiles each folder as one unity
// translation unit, where these helpers would clash with another file's.
namespace reference_safari_test {

namespace {

using hyena::index_t;
using hyena::test::relative_l2_error;

// Error models, relative L2 against the float32 dump (docs/reference_dumps.md).
// The dump rounds every stage in float, so the difference measures its
// rounding (and, in float, ours: the two are correlated, since both sides do
// the same float operations, and the float runs measure no more than the
// double ones). u is float's unit roundoff in both precisions. Each model
// predicts the measured error; the tolerance is 3x it.
//  - filter stages (filter_mlp_out, filter_h, k): 4u. Sines of arguments up
//    to ~10 round to ~u|x| absolute and the following layers carry that;
//    measured 2.9u-4.8u (float) and 4.0u-4.4u (double) on every dump.
//  - a D-term projection (in_proj_out, and short_conv, which averages three
//    of its outputs): u*sqrt(D/8). The partial sums round independently and
//    add in quadrature; measured (double) 0.89u / 1.38u / 1.85u at D = 8 /
//    16 / 32 (in_proj) and 0.74u / 1.2u / 1.52u (short_conv); in float ours
//    rounds in the dump's order (0 to 1.0u).
//  - the gate product x_i * v (step0_in) has both factors' errors: sqrt(2) x
//    the projection; measured (double) 0.92u / 1.85u / 2.23u.
//  - each FFT convolution step adds the dump's float FFT error, modelled as
//    ours (fft_conv_error<float>(n), support/numerics.hpp: 3.3u at n = 128,
//    3.6u at n = 512); independent steps add in quadrature: step o's output
//    sqrt(o+1) x it, its input and out_proj_in the gate's error on top.
//    Measured (double) step0_out 2.1u-2.6u, step1_out 2.9u, out_proj_in
//    3.0u-3.3u against 3.3u-3.6u, 5.1u, 3.9u-5.8u.
//  - the output: out_proj_in's error scaled by the share g of the output's
//    norm that passes through out_proj (the rest is its bias, exact on both
//    sides), plus a projection's rounding. Measured (double) 1.0u-2.2u.
// At L = 1 (d8_l1_o2) the convolution is one product and a sum and the
// measured step errors are 0.4u-1.2u, so the FFT model overstates them up to
// 3.6x there. Margins (tolerance / measured): filter stages 2.5x-4.2x,
// projections and gates 3.0x-7.3x, convolution steps and out_proj_in
// 3.6x-9.0x, outputs 4.1x-6.5x; only at L = 1 (out_proj_in 17x) and where
// our float in_proj rounds like the dump's (0 or 28x) are they larger. Run
// with HYENA_PRINT_ERRORS=1 for every stage's margin.
// Wrong maths (shift 0 instead of 0.05, the other filter layout, a missing
// skip term) moves these stages by 1e-3 or more; in_proj and the filter's
// last layer scaled by 1 + 1e-6 fail every stage of every dump but the
// output at L = 1 (the older tolerances let step0_out and the output pass).
constexpr double u32 = 5.96e-8;
constexpr double multiple = 3;
constexpr double filter_model = 4 * u32;

double projection_model(index_t d_model) { return u32 * std::sqrt(double(d_model) / 8); }
double gate_model(index_t d_model) { return std::sqrt(2.0) * projection_model(d_model); }
double conv_model(index_t length) { return hyena::test::fft_conv_error<float>(hyena::causal_conv_fft_size(length)); }
double step_in_model(index_t o, index_t d_model, index_t length) {
  return std::hypot(gate_model(d_model), std::sqrt(double(o)) * conv_model(length));
}
double step_out_model(index_t o, index_t length) { return std::sqrt(double(o + 1)) * conv_model(length); }

class SafariReference : public ::testing::TestWithParam<std::string> {};

template <class T>
void check_case(const std::string& name) {
  SCOPED_TRACE(name);
  const hyena::test::reference_case ref("safari", name);
  const auto& resolved = ref.config["resolved"];
  hyena::hyena_options options;
  options.layout = ref.config["impl"] == "src" ? hyena::filter_layout::interleaved : hyena::filter_layout::blocked;
  options.modulation.shift = resolved["shift"].get<double>();
  options.modulation.modulate = resolved["modulate"].get<bool>();
  const hyena::hyena_operator<T> op(hyena::load_hyena_weights<T>(ref.params), options);

  const auto& in_info = ref.io.info("input");
  const index_t B = in_info.shape[0], L = in_info.shape[1], D = in_info.shape[2];
  ASSERT_EQ(D, op.d_model());
  ASSERT_EQ(op.order(), resolved["order"].get<index_t>());
  ASSERT_EQ(op.max_length(), resolved["l_max"].get<index_t>());
  const index_t N = op.order(), S = (N + 1) * D;

  // Filter stages (data-independent): ĥ, h, k_o, D_o.
  const auto mlp = op.filter_generator().mlp(L);
  const index_t F = D * (N - 1);
  hyena::test::expect_error_within(relative_l2_error(mlp, hyena::test::transpose(ref.stages.read<double>("filter_mlp_out"),
                                   1, L, F)),
            multiple * filter_model, name + " " + "filter_mlp_out");
  hyena::test::expect_error_within(relative_l2_error(op.filter_generator().response(L),
                                   hyena::test::transpose(ref.stages.read<double>("filter_h"), 1, L, F)),
            multiple * filter_model, name + " " + "filter_h");
  const auto steps = op.step_filters_at(L);
  hyena::test::expect_error_within(relative_l2_error(steps.k, ref.stages.read<double>("k", {N - 1, D, L})),
                                   multiple * filter_model, name + " " + "k");
  EXPECT_EQ(steps.skip, ref.stages.read<T>("filter_bias", {N - 1, D})) << "filter_bias is a plain copy";

  // Data stages through one traced forward.
  const auto u = ref.io.read<T>("input");
  std::vector<T> out(u.size());
  hyena::hyena_workspace<T> ws;
  hyena::hyena_trace<T> trace;
  op.forward(B, L, u, out, ws, &trace);
  hyena::test::expect_error_within(relative_l2_error(trace.in_proj, hyena::test::transpose(ref.stages.read<double>("in_proj_out"),
                                   B, L, S)),
            multiple * projection_model(D), name + " " + "in_proj_out");
  hyena::test::expect_error_within(relative_l2_error(trace.short_conv, ref.stages.read<double>("short_conv", {B, S, L})),
                                   multiple * projection_model(D), name + " " + "short_conv");
  for (index_t o = 0; o + 1 < N; ++o) {
    const std::string stage = "step" + std::to_string(o);
    hyena::test::expect_error_within(relative_l2_error(trace.step_in[o], ref.stages.read<double>(stage + "_in", {B, D, L})),
                                   multiple * step_in_model(o, D, L), name + " " + stage + "_in");
    hyena::test::expect_error_within(relative_l2_error(trace.step_out[o], ref.stages.read<double>(stage + "_out", {B, D, L})),
                                   multiple * step_out_model(o, L), name + " " + stage + "_out");
  }
  hyena::test::expect_error_within(relative_l2_error(trace.out_proj_in,
                              hyena::test::transpose(ref.stages.read<double>("out_proj_in", {B, L, D}),
                                   B, L, D)),
            multiple * step_in_model(N - 1, D, L), name + " " + "out_proj_in");
  const auto expected = ref.io.read<double>("output", {B, L, D});
  // g: the share of the output's norm that is out_proj's product, not its bias.
  std::vector<double> bias(expected.size());
  for (std::size_t i = 0; i < bias.size(); ++i) bias[i] = double(op.weights().out_proj_bias[i % D]);
  const double g = relative_l2_error(bias, expected);
  hyena::test::expect_error_within(relative_l2_error(out, expected),
                                   multiple * std::hypot(g * step_in_model(N - 1, D, L), projection_model(D)),
                                   name + " output (g " + std::to_string(g) + ")");
  // The traced and the fused (untraced) forward agree to rounding.
  const auto fused = op.forward(B, L, u);
  EXPECT_LE(relative_l2_error(fused, out), 4 * hyena::test::unit_roundoff<T>());
}

TEST_P(SafariReference, EveryStageFloat) { check_case<float>(GetParam()); }
TEST_P(SafariReference, EveryStageDouble) { check_case<double>(GetParam()); }

// z, t and deltas from their closed forms match the stored buffers to float
// rounding (the loader never uses the closed forms: trained checkpoints differ).
TEST_P(SafariReference, ClosedFormsReproduceStoredBuffers) {
  const hyena::test::reference_case ref("safari", GetParam());
  const auto w = hyena::load_hyena_weights<double>(ref.params);
  const auto closed = hyena::positional_features<float>::closed_form(w.filter.max_length(), w.filter.emb_dim());
  // Values are O(1): 2 ulps of 1.0 in float is 2.4e-7 absolute.
  EXPECT_LE(hyena::test::relative_max_error(closed.z, w.filter.positions.z), 2.4e-7);
  EXPECT_LE(hyena::test::relative_max_error(closed.t, w.filter.positions.t), 2.4e-7);
  const auto deltas = hyena::decay_rates<double>(w.filter.channels);
  // deltas reach -15.35: float rounding of a float32 linspace, relative 2u.
  EXPECT_LE(hyena::test::relative_max_error(deltas, w.filter.deltas), 2.4e-7);
}

TEST(SafariReferenceData, IsPresent) {
  EXPECT_EQ(hyena::test::reference_cases("safari").size(), 5u)
      << "expected the five safari dumps under " << hyena::test::reference_dir() / "safari";
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SafariReference);
INSTANTIATE_TEST_SUITE_P(AllDumps, SafariReference,
                         ::testing::ValuesIn(hyena::test::reference_cases("safari")),
                         [](const auto& test_info) { return test_info.param; });

}  // namespace

}  // namespace reference_safari_test
