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

namespace {

using hyena::index_t;
using hyena::test::relative_l2_error;

// The dumps are float32 results of PyTorch (docs/reference_dumps.md), measured against
// float64 to ~1e-7..1e-6 relative. Both sides round every stage once or a few
// times, so tolerances are small multiples of the float unit roundoff u:
//  - projections, short conv, gating: each output rounded a few times on each
//    side: 8u = 4.8e-7 (measured worst: 1.3e-7);
//  - the filter MLP: 4 layers of sines of arguments up to |phi*a| ~ 10, whose
//    rounding the following layers carry: 16u = 9.5e-7 (measured worst 2.9e-7);
//  - each FFT convolution step adds about u*log2(n) rms (forward and inverse
//    transform); 2u*log2(n) per step (measured worst step error 2e-7).
// Wrong maths (shift 0 instead of 0.05, the other filter layout, a missing
// skip term) moves these stages by 1e-3 or more.
constexpr double u32 = 5.96e-8;
constexpr double projection_tolerance = 8 * u32;
constexpr double filter_tolerance = 16 * u32;

template <class T>
double step_tolerance(index_t length) {
  return filter_tolerance + 2 * u32 * std::log2(double(hyena::causal_conv_fft_size(length)) + 1);
}

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
            filter_tolerance, name + " " + "filter_mlp_out");
  hyena::test::expect_error_within(relative_l2_error(op.filter_generator().response(L),
                                   hyena::test::transpose(ref.stages.read<double>("filter_h"), 1, L, F)),
            filter_tolerance, name + " " + "filter_h");
  const auto steps = op.step_filters_at(L);
  hyena::test::expect_error_within(relative_l2_error(steps.k, ref.stages.read<double>("k", {N - 1, D, L})),
                                   filter_tolerance, name + " " + "k");
  EXPECT_EQ(steps.skip, ref.stages.read<T>("filter_bias", {N - 1, D})) << "filter_bias is a plain copy";

  // Data stages through one traced forward.
  const auto u = ref.io.read<T>("input");
  std::vector<T> out(u.size());
  hyena::hyena_workspace<T> ws;
  hyena::hyena_trace<T> trace;
  op.forward(B, L, u, out, ws, &trace);
  hyena::test::expect_error_within(relative_l2_error(trace.in_proj, hyena::test::transpose(ref.stages.read<double>("in_proj_out"),
                                   B, L, S)),
            projection_tolerance, name + " " + "in_proj_out");
  hyena::test::expect_error_within(relative_l2_error(trace.short_conv, ref.stages.read<double>("short_conv", {B, S, L})),
                                   projection_tolerance, name + " " + "short_conv");
  for (index_t o = 0; o + 1 < N; ++o) {
    const std::string stage = "step" + std::to_string(o);
    hyena::test::expect_error_within(relative_l2_error(trace.step_in[o], ref.stages.read<double>(stage + "_in", {B, D, L})),
                                   projection_tolerance + double(o) * step_tolerance<T>(L), name + " " + stage + "_in");
    hyena::test::expect_error_within(relative_l2_error(trace.step_out[o], ref.stages.read<double>(stage + "_out", {B, D, L})),
                                   double(o + 1) * step_tolerance<T>(L), name + " " + stage + "_out");
  }
  hyena::test::expect_error_within(relative_l2_error(trace.out_proj_in,
                              hyena::test::transpose(ref.stages.read<double>("out_proj_in", {B, L, D}),
                                   B, L, D)),
            double(N - 1) * step_tolerance<T>(L), name + " " + "out_proj_in");
  const auto expected = ref.io.read<double>("output", {B, L, D});
  hyena::test::expect_error_within(relative_l2_error(out, expected),
                                   double(N - 1) * step_tolerance<T>(L) + projection_tolerance, name + " " + "output");
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
