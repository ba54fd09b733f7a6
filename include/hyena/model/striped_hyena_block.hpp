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
// (modal long filter, D skip; by FFT). hcm's 128 taps are applied by FFT
// in overlap-save blocks (grouped_fir, from fft_min_taps taps on). Module inputs and outputs are
// [batch][length][d_model]; the filters run channel-major inside.
#pragma once

#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../conv/fft_conv.hpp"
#include "../conv/grouped_fir.hpp"
#include "../conv/short_conv.hpp"
#include "../core/config.hpp"
#include "../core/execution.hpp"
#include "../core/span.hpp"
#include "../detail/aligned_allocator.hpp"
#include "../detail/checks.hpp"
#include "../detail/transpose.hpp"
#include "../detail/type_traits.hpp"
#include "../filter/modal_filter.hpp"
#include "gated_mlp.hpp"
#include "linear.hpp"
#include "rms_norm.hpp"
#include "striped_block_common.hpp"
#include "weight_matrix.hpp"

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
/// the comments, under blocks.N.); the norms and the MLP are in the base.
template <class T>
struct sh2_hyena_block_weights : sh2_block_weights<T> {
  sh2_filter_kind kind = sh2_filter_kind::hcs;
  index_t filter_groups = 0;  ///< hcs, hcm: G filters for d_model channels
  index_t filter_taps = 0;    ///< hcs, hcm: K (Evo 2: 7 and 128)
  index_t state_size = 0;     ///< hcl: S modes per channel (Evo 2: 16)
  weight_matrix<T> projections;    ///< projections.weight [3D][D] (T or BF16)
  std::vector<T> short_filter;     ///< filter.short_filter_weight [3D][1][3]
  std::vector<T> filter_h;         ///< filter.h [G][1][K] (hcs, hcm)
  std::vector<T> filter_skip;      ///< filter.D [D] (hcm, hcl)
  std::vector<T> log_poles;        ///< filter.log_poles [D][S][1] (hcl)
  std::vector<T> residues;         ///< filter.residues [D][S] (hcl)
  weight_matrix<T> out_weight;     ///< out_filter_dense.weight [D][D] (T or BF16)
  std::vector<T> out_bias;         ///< out_filter_dense.bias [D]

  /// Throws std::invalid_argument naming the first member of the wrong size
  /// or with a non-finite value (the filters check theirs when built).
  void validate() const {
    const char* owner = "sh2_hyena_block_weights";
    this->validate_norms_and_mlp(owner);
    const index_t D = this->d_model;
    auto need = [&](const std::vector<T>& v, index_t expected, const char* name, const char* shape) {
      detail::require_size(v.size(), expected, owner, name, shape, " (d_model ", D, ")");
      detail::require_finite(v, owner, name);
    };
    auto need_matrix = [&](const weight_matrix<T>& m, index_t expected, const char* name, const char* shape) {
      m.check_size(expected, owner, name, shape, " (d_model ", D, ")");
      m.require_finite(owner, name);
    };
    need_matrix(projections, detail::checked_mul(3 * D, D, "3*d_model*d_model"), "projections", "[3*d_model][d_model]");
    need(short_filter, detail::checked_mul(3 * D, 3, "3*d_model*3"), "short_filter", "[3*d_model][1][3]");
    need_matrix(out_weight, detail::checked_mul(D, D, "d_model*d_model"), "out_weight", "[d_model][d_model]");
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
  }
};

/// What forward() can record of a call, every stage [batch][length][width]
/// (as the reference dump stores them).
template <class T>
struct sh2_hyena_block_trace {
  std::vector<T> pre_norm_out, projections_out, filter_out, mixer_out, post_norm_in, mlp_out;
};

template <class T>
class sh2_hyena_block;

/// The decoding state of `batch` sequences for one Hyena block (made by its
/// make_state()): the featurizer's last 2 projections (pre-interleave) and
/// the inner filter's: the last K-1 values of x1*v (hcs, hcm) or the modal
/// state (hcl, S doubles per channel). bytes() counts them; one token's
/// scratch comes on top. Movable.
template <class T>
class sh2_hyena_block_state {
 public:
  index_t batch() const noexcept { return batch_; }
  /// Tokens taken so far (prefill and steps).
  index_t position() const noexcept { return position_; }
  index_t bytes() const noexcept {
    return featurizer_.bytes() + (fir_ ? fir_->bytes() : 0) + (modal_ ? modal_->bytes() : 0);
  }
  /// The featurizer's tails: [batch][3 d_model][2], the last two projections (pre-interleave).
  const short_conv_state<T>& featurizer() const noexcept { return featurizer_; }
  /// hcs, hcm: [batch][d_model][K-1], the last K-1 values of x1*v; null for hcl.
  const short_conv_state<T>* fir() const noexcept { return fir_ ? &*fir_ : nullptr; }
  /// hcl: the modal state; null for hcs, hcm.
  const modal_state<T>* modal() const noexcept { return modal_ ? &*modal_ : nullptr; }
  void reset() {
    featurizer_.reset();
    if (fir_) fir_->reset();
    if (modal_) modal_->reset();
    position_ = 0;
  }

 private:
  friend class sh2_hyena_block<T>;
  sh2_hyena_block_state(const void* owner, index_t batch, short_conv_state<T> featurizer)
      : owner_(owner), batch_(batch), featurizer_(std::move(featurizer)) {}
  const void* owner_;
  index_t batch_, position_ = 0;
  short_conv_state<T> featurizer_;
  std::optional<short_conv_state<T>> fir_;
  std::optional<modal_state<T>> modal_;
  std::vector<T> a_, z_, w_, f_, mixer_;  // one token's activations
  sh2_residual_mlp_scratch<T> tail_;
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
  /// filter: O(B D L K) for hcs (direct), O(B D L log K) for hcm (FFT in
  /// overlap-save blocks, see grouped_fir), O(B D L log L + D S L) for hcl. With
  /// `trace`, the stages it names are copied into it. Throws std::invalid_argument on
  /// zero sizes or mismatched spans.
  void forward(index_t batch, index_t length, span_arg<const T> u, span_arg<T> out,
               sh2_hyena_block_trace<T>* trace = nullptr, const execution_context& exec = {}) const {
    run(batch, length, u, out, trace, nullptr, exec);
  }

  // Decoding: make_state, prefill with the prompt's block inputs, then one
  // step per token. Each step's output is what forward() gives at that
  // position, to rounding (the FIR steps sum the products forward() sums
  // directly for short filters, and by FFT for hcm's long ones; hcl's
  // decoder runs in double, see modal_filter.hpp; GEMMs of 1 row and of L
  // rows may round differently).

  /// A fresh state for `batch` sequences.
  sh2_hyena_block_state<T> make_state(index_t batch) const {
    detail::require_positive(batch, "sh2_hyena_block::make_state", "batch");
    sh2_hyena_block_state<T> state(this, batch, featurizer_.make_state(batch));
    if (fir_) state.fir_.emplace(fir_->make_state(batch));
    if (modal_) state.modal_.emplace(modal_->make_state(batch));
    return state;
  }

  /// forward() on the first `length` inputs, leaving `state` ready to step
  /// from there. Throws std::invalid_argument on a state that is not fresh
  /// or of another block or batch, and as forward() does.
  void prefill(sh2_hyena_block_state<T>& state, index_t length, span_arg<const T> u, span_arg<T> out,
               const execution_context& exec = {}) const {
    check_state(state, "prefill");
    detail::require_fresh_state_for("sh2_hyena_block::prefill", state.position_, length, length, "tokens");
    run(state.batch_, length, u, out, nullptr, &state, exec);
  }

  /// One token of every sequence: u_t, out_t [batch][d_model] (out_t must
  /// not overlap u_t). O(B (D (3D + D + 3 inner) + D K or D S)).
  void step(sh2_hyena_block_state<T>& state, span_arg<const T> u_t, span_arg<T> out_t,
            const execution_context& exec = {}) const {
    check_state(state, "step");
    const index_t B = state.batch_, D = w_.d_model, n = B * D;
    detail::require_size(u_t.size(), n, "sh2_hyena_block::step", "u_t", "batch*d_model = ", B, "*", D);
    detail::require_size(out_t.size(), n, "sh2_hyena_block::step", "out_t", "batch*d_model = ", B, "*", D);
    auto& a = state.a_;
    auto& z = state.z_;
    auto& w = state.w_;
    auto& f = state.f_;
    a.resize(n), z.resize(3 * n), w.resize(n), f.resize(n), state.mixer_.resize(n);
    rms_norm<T>(B, D, u_t, w_.pre_norm_scale, w_.eps, a, exec);
    linear<T>(w_.projections, {}, 3 * D, D, B, a, z, exec);
    featurizer_.step(state.featurizer_, z, z);  // [batch][3D]: the featurizer's [batch][channels]
    for (index_t b = 0; b < B; ++b)
      for (index_t i = 0; i < D; ++i) w[b * D + i] = z[b * 3 * D + 3 * i + 1] * z[b * 3 * D + 3 * i + 2];
    if (fir_)
      fir_->step(*state.fir_, w, f);
    else
      modal_->step(*state.modal_, w, f);
    for (index_t b = 0; b < B; ++b)
      for (index_t i = 0; i < D; ++i) a[b * D + i] = z[b * 3 * D + 3 * i] * f[b * D + i];
    linear<T>(w_.out_weight, w_.out_bias, D, D, B, a, state.mixer_, exec);
    sh2_residual_mlp<T>(w_, B, u_t, state.mixer_, out_t, state.tail_, nullptr, nullptr, exec);
    ++state.position_;
  }

 private:
  void check_state(const sh2_hyena_block_state<T>& state, const char* function) const {
    if (state.owner_ != this)
      detail::throw_invalid("hyena::sh2_hyena_block::", function,
                            ": the state was made by another block (use this block's make_state)");
  }

  // forward(), and with `state` also the prefill of it.
  void run(index_t batch, index_t length, span_arg<const T> u, span_arg<T> out, sh2_hyena_block_trace<T>* trace,
           sh2_hyena_block_state<T>* state, const execution_context& exec) const {
    detail::require_positive(batch, "sh2_hyena_block::forward", "batch");
    detail::require_positive(length, "sh2_hyena_block::forward", "length");
    const index_t D = w_.d_model, B = batch, L = length;
    const index_t rows = detail::checked_mul(B, L, "batch*length"), n = detail::checked_mul(rows, D, "rows*d_model");
    detail::require_size(u.size(), n, "sh2_hyena_block::forward", "u", "batch*length*d_model = ", B, "*", L, "*", D);
    detail::require_size(out.size(), n, "sh2_hyena_block::forward", "out", "batch*length*d_model = ", B, "*", L,
                         "*", D);
    const index_t streams = detail::checked_mul(3, n, "3*batch*length*d_model");
    // Uninitialised: every value is written before it is read, by the
    // threads that use it (no serial zeroing pass over hundreds of MB).
    using activations = detail::uninitialized_aligned_vector<T>;
    activations a(n), z(streams), zc(streams), wv(n), f(n);
    rms_norm<T>(rows, D, u, w_.pre_norm_scale, w_.eps, a, exec);
    if (trace != nullptr) trace->pre_norm_out.assign(a.begin(), a.end());
    linear<T>(w_.projections, {}, 3 * D, D, rows, a, z, exec);
    // Channel-major for the filters: zc[b][c][t] = z[b][t][c].
    detail::transpose_batches(B, L, 3 * D, z.data(), zc.data(), exec);
    if (state != nullptr) featurizer_.remember(state->featurizer_, L, zc);
    featurizer_.apply(B, L, zc, zc, exec);
    // w = x1 * v: channels 3i+1 and 3i+2 of the featurized projections.
    exec.parallel_for(B * D, 2 * L, [&](index_t first, index_t last, unsigned) {
      for (index_t row = first; row < last; ++row) {
        const index_t b = row / D, i = row % D;
        const T* x1 = zc.data() + (b * 3 * D + 3 * i + 1) * L;
        const T* v = x1 + L;
        T* wr = wv.data() + row * L;
        for (index_t t = 0; t < L; ++t) wr[t] = x1[t] * v[t];
      }
    });
    if (state != nullptr) {
      if (fir_)
        fir_->remember(*state->fir_, L, wv);
      else
        modal_->prefill(*state->modal_, L, wv, exec);
      state->position_ = L;
    }
    if (fir_)
      fir_->apply(B, L, wv, f, exec);
    else
      causal_conv(modal_->prepare(L, fft_planning::estimate, exec), B, wv, f, exec);
    // y = x2 * F(w) channel-major (into f), then back to [b][t][i] (into a:
    // the normed input is used up).
    exec.parallel_for(B * D, 2 * L, [&](index_t first, index_t last, unsigned) {
      for (index_t row = first; row < last; ++row) {
        const index_t b = row / D, i = row % D;
        const T* x2 = zc.data() + (b * 3 * D + 3 * i) * L;
        T* fr = f.data() + row * L;
        for (index_t t = 0; t < L; ++t) fr[t] *= x2[t];
      }
    });
    activations& y = a;
    detail::transpose_batches(B, D, L, f.data(), y.data(), exec);
    activations& mixer = wv;  // w is used up too
    linear<T>(w_.out_weight, w_.out_bias, D, D, rows, y, mixer, exec);
    if (trace != nullptr) {
      trace->filter_out.assign(y.begin(), y.end());
      trace->mixer_out.assign(mixer.begin(), mixer.end());
      trace->projections_out.assign(z.begin(), z.end());
    }
    sh2_residual_mlp_scratch<T> scratch;
    sh2_residual_mlp<T>(w_, rows, u, mixer, out, scratch, trace ? &trace->post_norm_in : nullptr,
                        trace ? &trace->mlp_out : nullptr, exec);
  }

  sh2_hyena_block_weights<T> w_;
  grouped_fir<T> featurizer_;
  std::optional<grouped_fir<T>> fir_;
  std::optional<modal_filter<T>> modal_;
};

}  // namespace hyena
