// StripedHyena 2's pieces against the reference (vortex @ cb229ae5) dump
// shared/reference/stripedhyena2/sh2_tiny_shared, stage by stage, each from
// the dump's own input to that stage: RMSNorms and gated MLPs of every block
// and the final norm (SPEC.md 2), the 3-tap featurizer of every Hyena block,
// then each block's inner filter and gate (SPEC.md 3.1-3.5). Blocks: 0 hcs
// (7 taps, 2 groups), 1 hcm (128 taps, 2 groups, D skip), 2 hcl (modal,
// 16 modes, D skip), 3 attention (4 heads, 2 kv heads, head_dim 8). Then
// each whole block (sh2_hyena_block, sh2_attention_block) from its dumped
// input, every stage it traces, and the whole model (sh2_model) from the
// token ids to the logits.
#include <hyena/conv/fft_conv.hpp>
#include <hyena/conv/grouped_fir.hpp>
#include <hyena/filter/modal_filter.hpp>
#include <hyena/io/safetensors_reader.hpp>
#include <hyena/io/sh2_loader.hpp>
#include <hyena/model/gated_mlp.hpp>
#include <hyena/model/rms_norm.hpp>
#include <hyena/model/striped_attention_block.hpp>
#include <hyena/model/striped_hyena_block.hpp>
#include <hyena/model/striped_hyena_model.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "support/numerics.hpp"
#include "support/reference.hpp"

// A named namespace: tests/CMakeLists.txt compiles each folder as one unity
// translation unit, where these helpers would clash with another file's.
namespace reference_stripedhyena2_test {

namespace {

using hyena::index_t;
using hyena::test::unit_roundoff;

constexpr index_t B = 2, L = 300, D = 32, inner = 96;

std::filesystem::path case_dir() { return hyena::test::reference_dir() / "stripedhyena2" / "sh2_tiny_shared"; }

struct dump {
  hyena::safetensors_file params = hyena::safetensors_file::load((case_dir() / "params.safetensors").string());
  hyena::safetensors_file stages = hyena::safetensors_file::load((case_dir() / "stages.safetensors").string());
};

// Error models, relative L2 against the float32 dump, u = float's unit
// roundoff (the dump's rounding dominates in both precisions); tolerance 3x:
//  - the featurizer: 3 products summed, in the dump and (in float) in ours:
//    u*sqrt(3) each side;
//  - a gated filter x2 * F(x1 * v): the two products (2u) and F: hcs sums 7
//    products directly (u*sqrt(7)); hcm and hcl convolve by float FFT of
//    size 2L in the dump (fft_conv_error<float>(2L), support/numerics.hpp),
//    and ours by FFT (hcl) or directly (hcm) again, so twice that in
//    quadrature.
double featurizer_error() { return std::sqrt(2.0 * 3.0) * unit_roundoff<float>(); }
double gated_error(double filter_error) {
  return std::sqrt(filter_error * filter_error + 4.0 * unit_roundoff<float>() * unit_roundoff<float>());
}
double fft_filter_error() { return std::sqrt(2.0) * hyena::test::fft_conv_error<float>(2 * L); }

//  - RMSNorm: the dump's x^2, D-term sum, root, division and product in
//    float, ours in double rounded once: ~2u each side, 2u*sqrt(2);
//  - the gated MLP: three float GEMMs in the dump (D, D and `inner` terms;
//    partial sums round independently: u*sqrt(terms/8) each, the model of
//    test_reference_safari.cpp) and the gate's product, on both sides.
double rms_norm_error() { return 2.0 * std::sqrt(2.0) * unit_roundoff<float>(); }
double mlp_error() { return std::sqrt(2.0) * unit_roundoff<float>() * std::sqrt((2.0 * D + inner) / 8.0 + 2.0); }

// [B][L][C] (time-major, as the dump stores module tensors) -> [B][C][L].
template <class T>
std::vector<T> channel_major(const std::vector<T>& x, index_t C) {
  return hyena::test::transpose(x, B, L, C);
}

// zc [B][3D][L] -> x2, x1, v [B][D][L]: channel i of each is projection row 3i, 3i+1, 3i+2.
template <class T>
void split(const std::vector<T>& zc, std::vector<T>& x2, std::vector<T>& x1, std::vector<T>& v) {
  x2.resize(B * D * L), x1.resize(B * D * L), v.resize(B * D * L);
  for (index_t b = 0; b < B; ++b)
    for (index_t i = 0; i < D; ++i)
      for (index_t t = 0; t < L; ++t) {
        x2[(b * D + i) * L + t] = zc[(b * 3 * D + 3 * i) * L + t];
        x1[(b * D + i) * L + t] = zc[(b * 3 * D + 3 * i + 1) * L + t];
        v[(b * D + i) * L + t] = zc[(b * 3 * D + 3 * i + 2) * L + t];
      }
}

template <class T>
class ReferenceStripedHyena2 : public ::testing::Test {};
using precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ReferenceStripedHyena2, precisions);

TYPED_TEST(ReferenceStripedHyena2, NormsAndMlpsOfEveryBlock) {
  using T = TypeParam;
  const dump d;
  std::vector<T> y(B * L * D), hidden(B * L * 2 * inner);
  for (int block = 0; block < 4; ++block) {
    const std::string p = "blocks." + std::to_string(block) + ".";
    const std::string input = block == 0 ? "embedding_out" : "blocks." + std::to_string(block - 1) + ".out";
    hyena::rms_norm<T>(B * L, D, d.stages.read<T>(input, {B, L, D}), d.params.read<T>(p + "pre_norm.scale", {D}),
                       1e-6, y);
    hyena::test::expect_error_within(
        hyena::test::relative_l2_error(y, d.stages.read<double>(p + "pre_norm_out", {B, L, D})), 3 * rms_norm_error(),
        p + "pre_norm_out");
    hyena::rms_norm<T>(B * L, D, d.stages.read<T>(p + "post_norm_in", {B, L, D}),
                       d.params.read<T>(p + "post_norm.scale", {D}), 1e-6, y);
    hyena::test::expect_error_within(
        hyena::test::relative_l2_error(y, d.stages.read<double>(p + "post_norm_out", {B, L, D})), 3 * rms_norm_error(),
        p + "post_norm_out");
    hyena::gated_mlp_weights<T> mlp;
    mlp.d_model = D, mlp.inner = inner;
    mlp.l1 = d.params.read<T>(p + "mlp.l1.weight", {inner, D});
    mlp.l2 = d.params.read<T>(p + "mlp.l2.weight", {inner, D});
    mlp.l3 = d.params.read<T>(p + "mlp.l3.weight", {D, inner});
    mlp.gelu = block == 0;  // evo2_style_activations: GELU in layer 0 only
    hyena::gated_mlp<T>(mlp, B * L, d.stages.read<T>(p + "post_norm_out", {B, L, D}), hidden, y);
    hyena::test::expect_error_within(
        hyena::test::relative_l2_error(y, d.stages.read<double>(p + "mlp_out", {B, L, D})), 3 * mlp_error(),
        p + "mlp_out");
  }
  hyena::rms_norm<T>(B * L, D, d.stages.read<T>("blocks.3.out", {B, L, D}), d.params.read<T>("norm.scale", {D}),
                     1e-6, y);
  hyena::test::expect_error_within(
      hyena::test::relative_l2_error(y, d.stages.read<double>("final_norm_out", {B, L, D})), 3 * rms_norm_error(),
      "final_norm_out");
}

TYPED_TEST(ReferenceStripedHyena2, ShortFeaturizerOfEveryHyenaBlock) {
  using T = TypeParam;
  const dump d;
  for (int block = 0; block < 3; ++block) {
    const std::string p = "blocks." + std::to_string(block) + ".";
    const auto w = d.params.read<T>(p + "filter.short_filter_weight", {3 * D, 1, 3});
    const auto z = channel_major(d.stages.read<T>(p + "projections_out", {B, L, 3 * D}), 3 * D);
    const auto expected = d.stages.read<double>(p + "short_conv_out", {B, 3 * D, L});
    // Depthwise: one group per channel, PyTorch's conv1d tap order.
    const hyena::grouped_fir<T> featurizer(3 * D, 3 * D, 3, w, hyena::fir_taps::correlation);
    std::vector<T> zc(z.size());
    featurizer.apply(B, L, z, zc);
    hyena::test::expect_error_within(hyena::test::relative_l2_error(zc, expected), 3 * featurizer_error(),
                                     p + "short_conv_out");
  }
}

// x2 * F(x1 * v) from the dump's featurizer output, against filter_out.
template <class T, class Filter>
void check_gated(const dump& d, int block, Filter&& filter, double model) {
  const std::string p = "blocks." + std::to_string(block) + ".";
  const auto zc = d.stages.read<T>(p + "short_conv_out", {B, 3 * D, L});
  std::vector<T> x2, x1, v;
  split(zc, x2, x1, v);
  std::vector<T> w(B * D * L), y(B * D * L);
  for (index_t i = 0; i < B * D * L; ++i) w[i] = x1[i] * v[i];
  filter(w, y);
  for (index_t i = 0; i < B * D * L; ++i) y[i] *= x2[i];
  const auto expected = channel_major(d.stages.read<double>(p + "filter_out", {B, L, D}), D);
  hyena::test::expect_error_within(hyena::test::relative_l2_error(y, expected), 3 * model, p + "filter_out");
  if (d.stages.contains(p + "inner_fir_out")) {  // the same tensor, channel-major
    const auto inner_fir = d.stages.read<double>(p + "inner_fir_out", {B, D, L});
    hyena::test::expect_error_within(hyena::test::relative_l2_error(y, inner_fir), 3 * model, p + "inner_fir_out");
  }
}

TYPED_TEST(ReferenceStripedHyena2, HcsShortExplicitFilter) {
  using T = TypeParam;
  const dump d;
  const hyena::grouped_fir<T> hcs(D, 2, 7, d.params.read<T>("blocks.0.filter.h", {2, 1, 7}),
                                  hyena::fir_taps::correlation);
  check_gated<T>(d, 0, [&](const std::vector<T>& w, std::vector<T>& y) { hcs.apply(B, L, w, y); },
                 gated_error(std::sqrt(2.0 * 7.0) * unit_roundoff<float>()));
}

TYPED_TEST(ReferenceStripedHyena2, HcmMediumExplicitFilterWithSkip) {
  using T = TypeParam;
  const dump d;
  const hyena::grouped_fir<T> hcm(D, 2, 128, d.params.read<T>("blocks.1.filter.h", {2, 1, 128}),
                                  hyena::fir_taps::convolution, d.params.read<T>("blocks.1.filter.D", {D}));
  check_gated<T>(d, 1, [&](const std::vector<T>& w, std::vector<T>& y) { hcm.apply(B, L, w, y); },
                 gated_error(fft_filter_error()));
}

TYPED_TEST(ReferenceStripedHyena2, HclModalFilterResponse) {
  using T = TypeParam;
  const dump d;
  const auto lp = d.params.read<T>("blocks.2.filter.log_poles", {D, 16, 1});
  const auto r = d.params.read<T>("blocks.2.filter.residues", {D, 16});
  const auto h = hyena::modal_filter<T>(D, 16, lp, r).response(L);
  const auto expected = d.stages.read<double>("blocks.2.filter_h", {D, L});
  // The dump evaluates exp(t * log_pole) in float: the rounded argument is
  // off by ~|t log_pole| u, which exp turns into that relative error of the
  // term; the sum of 16 terms and the final rounding add (16 + 2) u. Per
  // element, against sum_s |R p^t|: a bound, not a model.
  index_t bad = 0;
  for (index_t c = 0; c < D; ++c)
    for (index_t t = 0; t < L; ++t) {
      double scale = 0;
      for (index_t s = 0; s < 16; ++s) {
        const double a = double(lp[c * 16 + s]) * double(t);
        scale += std::fabs(double(r[c * 16 + s])) * std::exp(a) * (std::fabs(a) + 16 + 2);
      }
      if (std::fabs(double(h[c * L + t]) - expected[c * L + t]) > unit_roundoff<float>() * scale) ++bad;
    }
  EXPECT_EQ(bad, 0);
}

TYPED_TEST(ReferenceStripedHyena2, HclModalFilterWithSkip) {
  using T = TypeParam;
  const dump d;
  const hyena::modal_filter<T> hcl(D, 16, d.params.read<T>("blocks.2.filter.log_poles", {D, 16, 1}),
                                   d.params.read<T>("blocks.2.filter.residues", {D, 16}),
                                   d.params.read<T>("blocks.2.filter.D", {D}));
  const auto bank = hcl.prepare(L);
  check_gated<T>(d, 2, [&](const std::vector<T>& w, std::vector<T>& y) { hyena::causal_conv(bank, B, w, y); },
                 gated_error(fft_filter_error()));
}

// Block `block`'s weights from the dump's state_dict keys.
template <class T>
hyena::sh2_hyena_block_weights<T> load_block(const dump& d, int block, hyena::sh2_filter_kind kind) {
  const std::string p = "blocks." + std::to_string(block) + ".";
  hyena::sh2_hyena_block_weights<T> w;
  w.d_model = D;
  w.kind = kind;
  w.pre_norm_scale = d.params.read<T>(p + "pre_norm.scale", {D});
  w.post_norm_scale = d.params.read<T>(p + "post_norm.scale", {D});
  w.projections = d.params.read<T>(p + "projections.weight", {3 * D, D});
  w.short_filter = d.params.read<T>(p + "filter.short_filter_weight", {3 * D, 1, 3});
  w.out_weight = d.params.read<T>(p + "out_filter_dense.weight", {D, D});
  w.out_bias = d.params.read<T>(p + "out_filter_dense.bias", {D});
  if (kind == hyena::sh2_filter_kind::hcl) {
    w.state_size = 16;
    w.log_poles = d.params.read<T>(p + "filter.log_poles", {D, 16, 1});
    w.residues = d.params.read<T>(p + "filter.residues", {D, 16});
  } else {
    w.filter_groups = 2;
    w.filter_taps = kind == hyena::sh2_filter_kind::hcs ? 7 : 128;
    w.filter_h = d.params.read<T>(p + "filter.h", {2, 1, w.filter_taps});
  }
  if (kind != hyena::sh2_filter_kind::hcs) w.filter_skip = d.params.read<T>(p + "filter.D", {D});
  w.mlp.d_model = D, w.mlp.inner = inner, w.mlp.gelu = block == 0;
  w.mlp.l1 = d.params.read<T>(p + "mlp.l1.weight", {inner, D});
  w.mlp.l2 = d.params.read<T>(p + "mlp.l2.weight", {inner, D});
  w.mlp.l3 = d.params.read<T>(p + "mlp.l3.weight", {D, inner});
  return w;
}

// A chain of stage error models: each stage of `block` is held to 3x the
// quadrature sum of the models up to and including it.
class stage_chain {
 public:
  stage_chain(const dump& d, std::string prefix, double start = 0) : d_(d), prefix_(std::move(prefix)), sum_(start) {}
  template <class T>
  void check(const std::vector<T>& got, const std::string& stage, const std::vector<index_t>& shape, double model) {
    sum_ += model * model;
    hyena::test::expect_error_within(
        hyena::test::relative_l2_error(got, d_.stages.read<double>(prefix_ + stage, shape)), 3 * std::sqrt(sum_),
        prefix_ + stage + " (whole block)");
  }

 private:
  const dump& d_;
  std::string prefix_;
  double sum_;
};

// The whole block against every stage: the errors of the stages above add
// up along the chain (each stage's input carries the earlier ones'), so each
// traced stage is held to 3x the quadrature sum of the models up to it:
// pre-norm, projection (u*sqrt(D/8) each side), featurizer, filter and
// gates, out projection, post-norm, MLP.
TYPED_TEST(ReferenceStripedHyena2, WholeHyenaBlocks) {
  using T = TypeParam;
  const dump d;
  const hyena::sh2_filter_kind kinds[] = {hyena::sh2_filter_kind::hcs, hyena::sh2_filter_kind::hcm,
                                          hyena::sh2_filter_kind::hcl};
  const double projection = std::sqrt(2.0 * D / 8.0) * unit_roundoff<float>();
  for (int block = 0; block < 3; ++block) {
    const std::string p = "blocks." + std::to_string(block) + ".";
    const hyena::sh2_hyena_block<T> layer(load_block<T>(d, block, kinds[block]));
    const std::string input = block == 0 ? "embedding_out" : "blocks." + std::to_string(block - 1) + ".out";
    const auto u = d.stages.read<T>(input, {B, L, D});
    std::vector<T> out(u.size());
    hyena::sh2_hyena_block_trace<T> trace;
    layer.forward(B, L, u, out, &trace);
    const double filter = block == 0 ? std::sqrt(2.0 * 7.0) * unit_roundoff<float>() : fft_filter_error();
    stage_chain chain(d, p);
    const std::vector<index_t> shape{B, L, D};
    chain.check(trace.pre_norm_out, "pre_norm_out", shape, rms_norm_error());
    chain.check(trace.projections_out, "projections_out", {B, L, 3 * D}, projection);
    chain.check(trace.filter_out, "filter_out", shape,
                gated_error(std::sqrt(featurizer_error() * featurizer_error() + filter * filter)));
    chain.check(trace.mixer_out, "mixer_out", shape, projection);
    chain.check(trace.post_norm_in, "post_norm_in", shape, 0);
    chain.check(trace.mlp_out, "mlp_out", shape, std::sqrt(rms_norm_error() * rms_norm_error() + mlp_error() * mlp_error()));
    chain.check(out, "out", shape, 0);
  }
}

// Causality, odd lengths and L = 1: the block on the first L' positions of
// the dumped input gives the first L' positions of the dumped output.
TYPED_TEST(ReferenceStripedHyena2, HyenaBlockPrefixes) {
  using T = TypeParam;
  const dump d;
  const hyena::sh2_filter_kind kinds[] = {hyena::sh2_filter_kind::hcs, hyena::sh2_filter_kind::hcm,
                                          hyena::sh2_filter_kind::hcl};
  for (int block = 0; block < 3; ++block) {
    const hyena::sh2_hyena_block<T> layer(load_block<T>(d, block, kinds[block]));
    const std::string input = block == 0 ? "embedding_out" : "blocks." + std::to_string(block - 1) + ".out";
    const auto u = d.stages.read<T>(input, {B, L, D});
    const auto expected = d.stages.read<double>("blocks." + std::to_string(block) + ".out", {B, L, D});
    for (index_t prefix : {1, 2, 7, 97, 128, 129}) {
      std::vector<T> up(B * prefix * D), out(B * prefix * D);
      std::vector<double> ep(B * prefix * D);
      for (index_t b = 0; b < B; ++b)
        for (index_t k = 0; k < prefix * D; ++k) {
          up[b * prefix * D + k] = u[b * L * D + k];
          ep[b * prefix * D + k] = expected[b * L * D + k];
        }
      layer.forward(B, prefix, up, out);
      // The whole block's tolerance for `out` above (1.9e-6 at most); the
      // residual stream dominates the output, so this is loose for it.
      hyena::test::expect_error_within(hyena::test::relative_l2_error(out, ep), 2e-6,
                                       "block " + std::to_string(block) + " prefix " + std::to_string(prefix));
    }
  }
}

template <class T>
hyena::sh2_attention_block_weights<T> load_attention_block(const dump& d, int block) {
  const std::string p = "blocks." + std::to_string(block) + ".";
  hyena::sh2_attention_block_weights<T> w;
  w.d_model = D, w.heads = 4, w.kv_heads = 2;
  w.pre_norm_scale = d.params.read<T>(p + "pre_norm.scale", {D});
  w.post_norm_scale = d.params.read<T>(p + "post_norm.scale", {D});
  w.qkv = d.params.read<T>(p + "inner_mha_cls.Wqkv.weight", {64, D});
  w.out_weight = d.params.read<T>(p + "inner_mha_cls.out_proj.weight", {D, D});
  w.out_bias = d.params.read<T>(p + "inner_mha_cls.out_proj.bias", {D});
  w.inv_freq = d.params.read<float>(p + "inner_mha_cls.rotary_emb.inv_freq", {4});
  w.mlp.d_model = D, w.mlp.inner = inner, w.mlp.gelu = block == 0;
  w.mlp.l1 = d.params.read<T>(p + "mlp.l1.weight", {inner, D});
  w.mlp.l2 = d.params.read<T>(p + "mlp.l2.weight", {inner, D});
  w.mlp.l3 = d.params.read<T>(p + "mlp.l3.weight", {D, inner});
  return w;
}

// The attention block against every stage, with the chained models of
// WholeHyenaBlocks: the rotary adds its product and the cos/sin roundings
// (2u); the softmax and the weighted sum of up to L values add the dump's
// float rounding of an L-term sum (u*sqrt(L/8), as a projection's).
TYPED_TEST(ReferenceStripedHyena2, WholeAttentionBlock) {
  using T = TypeParam;
  const dump d;
  const hyena::sh2_attention_block<T> layer(load_attention_block<T>(d, 3));
  const auto u = d.stages.read<T>("blocks.2.out", {B, L, D});
  std::vector<T> out(u.size());
  hyena::sh2_attention_block_trace<T> trace;
  layer.forward(B, L, u, out, &trace);
  const double projection = std::sqrt(2.0 * D / 8.0) * unit_roundoff<float>();
  stage_chain chain(d, "blocks.3.", rms_norm_error() * rms_norm_error());
  chain.check(trace.qkv_proj_out, "qkv_proj_out", {B, L, 64}, projection);
  chain.check(trace.v, "attn_v", {B, L, 2, 8}, 0);
  chain.check(trace.k_rot, "attn_k_rot", {B, L, 2, 8}, 2 * unit_roundoff<float>());
  chain.check(trace.q_rot, "attn_q_rot", {B, L, 4, 8}, 0);
  chain.check(trace.context, "attn_context", {B, L, 4, 8}, std::sqrt(2.0 * L / 8.0) * unit_roundoff<float>());
  chain.check(trace.mixer_out, "mixer_out", {B, L, D}, projection);
  chain.check(trace.post_norm_in, "post_norm_in", {B, L, D}, 0);
  chain.check(trace.mlp_out, "mlp_out", {B, L, D}, std::sqrt(rms_norm_error() * rms_norm_error() + mlp_error() * mlp_error()));
  chain.check(out, "out", {B, L, D}, 0);
}

// The whole model, ids to logits, against the float32 run's logits and the
// float64 run's: relative L2 within the chained budget of final_norm_out
// (1e-5; the unembedding adds u*sqrt(D/8) on both sides, far below it), and
// max|diff| within 1e-4 of max|logits|, the stated target.
TYPED_TEST(ReferenceStripedHyena2, WholeModelLogits) {
  using T = TypeParam;
  const dump d;
  const auto io = hyena::safetensors_file::load((case_dir() / "io.safetensors").string());
  // The loader's model (config.json's vortex config, params.safetensors)
  // and one assembled here from the tensors the stage tests read agree bit
  // for bit: the loader reads every key where the stage tests do.
  const auto model = hyena::load_sh2_model<T>((case_dir() / "params.safetensors").string(),
                                              (case_dir() / "config.json").string());
  hyena::sh2_model_weights<T> w;
  w.vocab_size = 512, w.d_model = D;
  w.embedding = d.params.read<T>("embedding_layer.weight", {512, D});
  w.final_norm_scale = d.params.read<T>("norm.scale", {D});
  w.blocks.emplace_back(load_block<T>(d, 0, hyena::sh2_filter_kind::hcs));
  w.blocks.emplace_back(load_block<T>(d, 1, hyena::sh2_filter_kind::hcm));
  w.blocks.emplace_back(load_block<T>(d, 2, hyena::sh2_filter_kind::hcl));
  w.blocks.emplace_back(load_attention_block<T>(d, 3));
  const hyena::sh2_model<T> assembled(std::move(w));
  const auto ids = io.read<std::int64_t>("input_ids", {B, L});
  std::vector<T> logits(B * L * 512), hidden(B * L * D);
  model.forward(B, L, ids, logits, hidden);
  std::vector<T> assembled_logits(logits.size());
  assembled.forward(B, L, ids, assembled_logits);
  EXPECT_EQ(logits, assembled_logits) << "load_sh2_model vs the stage tests' weights";
  // Four blocks, each within ~2e-6 (the whole-block tolerances above), in a chain.
  hyena::test::expect_error_within(
      hyena::test::relative_l2_error(hidden, d.stages.read<double>("final_norm_out", {B, L, D})), 1e-5,
      "final_norm_out (whole model)");
  for (const char* name : {"logits", "logits_f64"}) {
    const auto expected = io.read<double>(name, {B, L, 512});
    hyena::test::expect_error_within(hyena::test::relative_l2_error(logits, expected), 1e-5,
                                     std::string(name) + " (whole model)");
    hyena::test::expect_error_within(hyena::test::relative_max_error(logits, expected), 1e-4,
                                     std::string(name) + " (whole model, max-relative)");
  }
}

}  // namespace

}  // namespace reference_stripedhyena2_test
