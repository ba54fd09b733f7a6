// hyena/model/striped_hyena_block.hpp: the Hyena blocks of StripedHyena 2
// (Evo 2), vortex's ParallelGatedConvBlock with its HyenaCascade (SPEC.md 3):
//
//   z   = RMSNorm_pre(u) Wp^T                  [B, L, 3D], no bias
//   zc  = featurizer(z)                        3 taps, depthwise, conv1d order
//   x2, x1, v = zc channels 3i, 3i+1, 3i+2     (interleaved projections)
//   y   = x2 * F(x1 * v)                       F: the block's inner filter
//   h   = u + (y Wo^T + bo)
//   out = h + mlp(RMSNorm_post(h))
//
// with F one of three kinds: hcs (short explicit FIR, conv1d tap order, no
// skip), hcm (medium explicit FIR, true-convolution order, D skip), hcl
// (modal long filter, D skip; by FFT). Module inputs and outputs are
// [batch][length][d_model]; the filters run channel-major inside.
#pragma once

#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../conv/fft_conv.hpp"
#include "../conv/grouped_fir.hpp"
#include "../core/config.hpp"
#include "../core/execution.hpp"
#include "../core/span.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "../filter/modal_filter.hpp"
#include "gated_mlp.hpp"
#include "linear.hpp"
#include "rms_norm.hpp"

namespace hyena {

/// The inner filter of a StripedHyena 2 Hyena block.
enum class sh2_filter_kind { hcs, hcm, hcl };

/// "hcs", "hcm" or "hcl".
inline const char* sh2_filter_kind_name(sh2_filter_kind kind) noexcept {
  switch (kind) {
    case sh2_filter_kind::hcs: return "hcs";
    case sh2_filter_kind::hcm: return "hcm";
    case sh2_filter_kind::hcl: return "hcl";
  }
  return "?";
}

/// One Hyena block's parameters, in vortex's layouts (its state_dict keys in
/// the comments, under blocks.N.).
template <class T>
struct sh2_hyena_block_weights {
  index_t d_model = 0;
  sh2_filter_kind kind = sh2_filter_kind::hcs;
  index_t filter_groups = 0;  ///< hcs, hcm: G filters for d_model channels
  index_t filter_taps = 0;    ///< hcs, hcm: K (Evo 2: 7 and 128)
  index_t state_size = 0;     ///< hcl: S modes per channel (Evo 2: 16)
  double eps = 1e-6;          ///< the RMSNorms'
  std::vector<T> pre_norm_scale;   ///< pre_norm.scale [D]
  std::vector<T> post_norm_scale;  ///< post_norm.scale [D]
  std::vector<T> projections;      ///< projections.weight [3D][D]
  std::vector<T> short_filter;     ///< filter.short_filter_weight [3D][1][3]
  std::vector<T> filter_h;         ///< filter.h [G][1][K] (hcs, hcm)
  std::vector<T> filter_skip;      ///< filter.D [D] (hcm, hcl)
  std::vector<T> log_poles;        ///< filter.log_poles [D][S][1] (hcl)
  std::vector<T> residues;         ///< filter.residues [D][S] (hcl)
  std::vector<T> out_weight;       ///< out_filter_dense.weight [D][D]
  std::vector<T> out_bias;         ///< out_filter_dense.bias [D]
  gated_mlp_weights<T> mlp;        ///< mlp.l1, l2, l3 (and whether its act is GELU)

  /// Throws std::invalid_argument naming the first member of the wrong size
  /// or with a non-finite value (the filters check theirs when built).
  void validate() const {
    const char* owner = "sh2_hyena_block_weights";
    detail::require_positive(d_model, owner, "d_model");
    const index_t D = d_model;
    if (!(eps >= 0) || !std::isfinite(eps)) detail::throw_invalid("hyena::", owner, ": eps must be finite and >= 0");
    auto need = [&](const std::vector<T>& v, index_t expected, const char* name, const char* shape) {
      detail::require_size(v.size(), expected, owner, name, shape, " (d_model ", D, ")");
      detail::require_finite(v, owner, name);
    };
    need(pre_norm_scale, D, "pre_norm_scale", "[d_model]");
    need(post_norm_scale, D, "post_norm_scale", "[d_model]");
    need(projections, detail::checked_mul(3 * D, D, "3*d_model*d_model"), "projections", "[3*d_model][d_model]");
    need(short_filter, detail::checked_mul(3 * D, 3, "3*d_model*3"), "short_filter", "[3*d_model][1][3]");
    need(out_weight, detail::checked_mul(D, D, "d_model*d_model"), "out_weight", "[d_model][d_model]");
    need(out_bias, D, "out_bias", "[d_model]");
    if (kind != sh2_filter_kind::hcs) need(filter_skip, D, "filter_skip", "[d_model]");
    // vortex picks the convolution from the filter's length (SPEC.md 3.3-3.4):
    // under 128 taps conv1d order without skip, from 128 on a true
    // convolution with D. A kind that disagrees would silently differ.
    if (kind == sh2_filter_kind::hcs && (filter_taps >= 128 || !filter_skip.empty()))
      detail::throw_invalid("hyena::", owner, ": an hcs filter has fewer than 128 taps and no skip (got ", filter_taps,
                            " taps, ", filter_skip.size(), " skips): vortex convolves longer ones as hcm");
    if (kind == sh2_filter_kind::hcm && filter_taps < 128)
      detail::throw_invalid("hyena::", owner, ": an hcm filter has at least 128 taps (got ", filter_taps,
                            "): vortex convolves shorter ones as hcs, in the other tap order and without D");
    if (mlp.d_model != D)
      detail::throw_invalid("hyena::", owner, ": mlp.d_model is ", mlp.d_model, ", the block's d_model ", D);
    mlp.validate();
  }
};

/// What forward() can record of a call, every stage [batch][length][width]
/// (as the reference dump stores them).
template <class T>
struct sh2_hyena_block_trace {
  std::vector<T> pre_norm_out, projections_out, filter_out, mixer_out, post_norm_in, mlp_out;
};

/// A StripedHyena 2 Hyena block (hcs, hcm or hcl). Immutable after
/// construction; forward() is const and may run from many threads at once.
template <class T>
class sh2_hyena_block {
  static_assert(detail::is_real_v<T>, "hyena::sh2_hyena_block<T> needs T = float or double");

 public:
  /// Throws std::invalid_argument on invalid weights (see validate()), and
  /// filter groups that do not divide d_model.
  explicit sh2_hyena_block(sh2_hyena_block_weights<T> weights)
      : w_((weights.validate(), std::move(weights))),
        featurizer_(3 * w_.d_model, 3 * w_.d_model, 3, w_.short_filter, fir_taps::correlation) {
    const index_t D = w_.d_model;
    switch (w_.kind) {
      case sh2_filter_kind::hcs:
        fir_.emplace(D, w_.filter_groups, w_.filter_taps, w_.filter_h, fir_taps::correlation);
        break;
      case sh2_filter_kind::hcm:
        fir_.emplace(D, w_.filter_groups, w_.filter_taps, w_.filter_h, fir_taps::convolution, w_.filter_skip);
        break;
      case sh2_filter_kind::hcl:
        modal_.emplace(D, w_.state_size, w_.log_poles, w_.residues, w_.filter_skip);
        break;
    }
  }

  const sh2_hyena_block_weights<T>& weights() const noexcept { return w_; }
  index_t d_model() const noexcept { return w_.d_model; }
  sh2_filter_kind kind() const noexcept { return w_.kind; }

  /// out = block(u) for u, out [batch][length][d_model] (out must not
  /// overlap u). Time O(B L D (3D + D + 3 inner)) for the GEMMs plus the
  /// filter: O(B D L K) for hcs / hcm, O(B D L log L + D S L) for hcl. With
  /// `trace`, the stages it names are copied into it. Throws std::invalid_argument on
  /// zero sizes or mismatched spans.
  void forward(index_t batch, index_t length, span_arg<const T> u, span_arg<T> out,
               sh2_hyena_block_trace<T>* trace = nullptr, const execution_context& exec = {}) const {
    detail::require_positive(batch, "sh2_hyena_block::forward", "batch");
    detail::require_positive(length, "sh2_hyena_block::forward", "length");
    const index_t D = w_.d_model, B = batch, L = length;
    const index_t rows = detail::checked_mul(B, L, "batch*length"), n = detail::checked_mul(rows, D, "rows*d_model");
    detail::require_size(u.size(), n, "sh2_hyena_block::forward", "u", "batch*length*d_model = ", B, "*", L, "*", D);
    detail::require_size(out.size(), n, "sh2_hyena_block::forward", "out", "batch*length*d_model = ", B, "*", L,
                         "*", D);
    const index_t streams = detail::checked_mul(3, n, "3*batch*length*d_model");
    std::vector<T> a(n), z(streams), zc(streams), wv(n), f(n);
    rms_norm<T>(rows, D, u, w_.pre_norm_scale, w_.eps, a, exec);
    if (trace != nullptr) trace->pre_norm_out = a;
    linear<T>(w_.projections, {}, 3 * D, D, rows, a, z, exec);
    // Channel-major for the filters: zc[b][c][t] = z[b][t][c].
    for (index_t b = 0; b < B; ++b)
      for (index_t t = 0; t < L; ++t)
        for (index_t c = 0; c < 3 * D; ++c) zc[(b * 3 * D + c) * L + t] = z[(b * L + t) * 3 * D + c];
    featurizer_.apply(B, L, zc, zc);
    // w = x1 * v: channels 3i+1 and 3i+2 of the featurized projections.
    for (index_t b = 0; b < B; ++b)
      for (index_t i = 0; i < D; ++i) {
        const T* x1 = zc.data() + (b * 3 * D + 3 * i + 1) * L;
        const T* v = x1 + L;
        T* wr = wv.data() + (b * D + i) * L;
        for (index_t t = 0; t < L; ++t) wr[t] = x1[t] * v[t];
      }
    if (fir_)
      fir_->apply(B, L, wv, f);
    else
      causal_conv(modal_->prepare(L, fft_planning::estimate, exec), B, wv, f, exec);
    // y = x2 * F(w), back to [b][t][i] (into a: the normed input is used up).
    std::vector<T>& y = a;
    for (index_t b = 0; b < B; ++b)
      for (index_t i = 0; i < D; ++i) {
        const T* x2 = zc.data() + (b * 3 * D + 3 * i) * L;
        const T* fr = f.data() + (b * D + i) * L;
        for (index_t t = 0; t < L; ++t) y[(b * L + t) * D + i] = x2[t] * fr[t];
      }
    std::vector<T>& mixer = wv;  // w is used up too
    linear<T>(w_.out_weight, w_.out_bias, D, D, rows, y, mixer, exec);
    std::vector<T>& h = f;
    for (index_t k = 0; k < n; ++k) h[k] = u[k] + mixer[k];
    if (trace != nullptr) {
      trace->filter_out = y;
      trace->mixer_out = mixer;
      trace->post_norm_in = h;
      trace->projections_out = z;
    }
    std::vector<T>& post = a;
    rms_norm<T>(rows, D, h, w_.post_norm_scale, w_.eps, post, exec);
    std::vector<T> hidden(detail::checked_mul(rows, 2 * w_.mlp.inner, "rows*2*inner"));
    gated_mlp<T>(w_.mlp, rows, post, hidden, out, exec);
    if (trace != nullptr) trace->mlp_out.assign(out.begin(), out.end());
    for (index_t k = 0; k < n; ++k) out[k] += h[k];
  }

 private:
  sh2_hyena_block_weights<T> w_;
  grouped_fir<T> featurizer_;
  std::optional<grouped_fir<T>> fir_;
  std::optional<modal_filter<T>> modal_;
};

}  // namespace hyena
