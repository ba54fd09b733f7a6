// hyena/conv/grouped_fir.hpp: grouped explicit FIR filters, the short and
// medium filters of StripedHyena 2 (Evo 2's hcs and hcm blocks, and the
// 3-tap featurizer before them).
//
// G filters of K taps serve C channels, C/G consecutive channels each:
// channel c uses filter g(c) = c / (C/G), as PyTorch's
// h.repeat_interleave(C/G, 0) does. Two tap orders, both in the reference:
//
//   fir_taps::correlation  y[c,t] = sum_j h[g,j] u[c,t-(K-1)+j]
//                          (PyTorch's conv1d: tap K-1 multiplies the current sample)
//   fir_taps::convolution  y[c,t] = sum_k h[g,k] u[c,t-k]
//                          (a true convolution: h[0] multiplies the current sample)
//
// plus D[c] u[c,t] when skips are given; u = 0 before t = 0. Two ways to
// sum a whole sequence (fir_method): directly, O(K) per output, or by FFT
// in overlap-save blocks (overlap_save_fir.hpp), O(log K) per output; the
// automatic choice takes the FFT from fft_min_taps taps on, where
// bench_fft_conv's BM_fir pair measured it faster. step() always sums
// directly (one output needs K products either way).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "../core/config.hpp"
#include "../core/execution.hpp"
#include "../core/shape.hpp"
#include "../core/span.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "overlap_save_fir.hpp"
#include "short_conv.hpp"

namespace hyena {

/// Which end of a filter's taps multiplies the current sample (see the top of this header).
enum class fir_taps { correlation, convolution };

/// How grouped_fir::apply sums a sequence: `automatic` (by FFT from
/// grouped_fir<T>::fft_min_taps taps on, directly below), or always one way.
enum class fir_method { automatic, direct, fft };

/// A bank of G causal FIR filters shared by groups of channels. Immutable;
/// apply() and step() are const and safe to call from many threads.
template <class T>
class grouped_fir {
  static_assert(detail::is_real_v<T>, "hyena::grouped_fir<T> needs T = float or double");

 public:
  /// From this many taps on, fir_method::automatic sums by FFT (measured:
  /// bench_fft_conv's BM_fir_direct against BM_fir_fft).
  static constexpr index_t fft_min_taps = 64;

  /// h: [groups][taps] in `order`; skip: [channels] or empty. Throws
  /// std::invalid_argument on zero sizes, groups that do not divide
  /// channels, spans of the wrong size or non-finite values.
  grouped_fir(index_t channels, index_t groups, index_t taps, span_arg<const T> h, fir_taps order,
              span_arg<const T> skip = {}, fir_method method = fir_method::automatic)
      : channels_(channels), groups_(groups), taps_(taps), order_(order), has_skip_(!skip.empty()) {
    detail::require_positive(channels, "grouped_fir", "channels");
    detail::require_positive(groups, "grouped_fir", "groups");
    detail::require_positive(taps, "grouped_fir", "taps");
    if (channels % groups != 0)
      detail::throw_invalid("hyena::grouped_fir: ", groups, " filter groups do not divide ", channels, " channels");
    detail::require_size(h.size(), detail::checked_mul(groups, taps, "groups*taps"), "grouped_fir", "h",
                         "groups*taps = ", groups, "*", taps);
    if (has_skip_) detail::require_size(skip.size(), channels, "grouped_fir", "skip", "channels = ", channels);
    detail::require_finite(h, "grouped_fir", "h");
    detail::require_finite(skip, "grouped_fir", "skip");
    // Every channel's taps in correlation order, the skip folded into the tap
    // on the current sample: one kernel (short_causal_conv) for both orders,
    // in place included, and the step sums exactly as the whole sequence does.
    const index_t per_group = channels / groups, K = taps;
    weights_.resize(detail::checked_mul(channels, K, "channels*taps"));
    for (index_t c = 0; c < channels; ++c) {
      const T* hg = h.data() + (c / per_group) * K;
      T* w = weights_.data() + c * K;
      for (index_t j = 0; j < K; ++j) w[j] = order == fir_taps::correlation ? hg[j] : hg[K - 1 - j];
      if (has_skip_) w[K - 1] += skip[c];
    }
    if (method == fir_method::fft || (method == fir_method::automatic && taps >= fft_min_taps)) {
      std::vector<T> h_conv(h.size());  // true-convolution order: h_conv[g][0] on the current sample
      for (index_t g = 0; g < groups; ++g)
        for (index_t k = 0; k < K; ++k)
          h_conv[g * K + k] = order == fir_taps::convolution ? h[g * K + k] : h[g * K + K - 1 - k];
      fft_.emplace(channels, groups, taps, h_conv, skip);
    }
  }

  index_t channels() const noexcept { return channels_; }
  index_t groups() const noexcept { return groups_; }
  index_t taps() const noexcept { return taps_; }
  fir_taps order() const noexcept { return order_; }
  bool has_skip() const noexcept { return has_skip_; }
  /// Whether apply() sums by FFT (rows of at least one block) or directly.
  bool uses_fft() const noexcept { return fft_.has_value(); }

  /// Channel c's taps in correlation order, with its skip added to the last
  /// (current-sample) tap: taps() values.
  span<const T> channel_taps(index_t c) const noexcept {
    return span<const T>(weights_.data() + c * taps_, taps_);
  }

  /// y = h * u (+ D u) for u, y: [batch][channels][length], rows split
  /// over `exec`'s threads (each row's result does not depend on the split).
  /// By FFT if uses_fft() and the rows fill an overlap-save block, directly
  /// otherwise. y may be u itself but must not partially overlap it. Throws
  /// std::invalid_argument on zero sizes or mismatched spans.
  void apply(index_t batch, index_t length, span_arg<const T> u, span_arg<T> y,
             const execution_context& exec = {}) const {
    const signal_shape shape{batch, channels_, length};
    shape.require_nonempty("grouped_fir::apply");
    detail::require_size(u.size(), shape.elements(), "grouped_fir::apply", "u", shape);
    detail::require_size(y.size(), shape.elements(), "grouped_fir::apply", "y", shape);
    if (fft_ && length >= fft_->block_outputs()) {
      fft_->apply(batch, length, u, y, exec);
      return;
    }
    // Channel ranges of every sequence: contiguous rows with contiguous taps.
    exec.parallel_for(channels_, 2 * batch * length * taps_, [&](index_t c0, index_t c1, unsigned) {
      const index_t n = (c1 - c0) * length;
      for (index_t b = 0; b < batch; ++b) {
        const index_t first = (b * channels_ + c0) * length;
        short_causal_conv<T>(span<const T>(weights_.data() + c0 * taps_, (c1 - c0) * taps_), {}, taps_,
                             signal_shape{1, c1 - c0, length}, span<const T>(u.data() + first, n),
                             span<T>(y.data() + first, n));
      }
    });
  }

  /// A fresh decoding state for `batch` sequences: the last taps()-1 inputs of every row.
  short_conv_state<T> make_state(index_t batch) const { return short_conv_state<T>(batch, channels_, taps_); }

  /// After apply() on the first `length` samples of u [batch][channels][length]
  /// (a prefill), makes `state` what `length` steps would have left.
  void remember(short_conv_state<T>& state, index_t length, span_arg<const T> u) const {
    require_state(state, "remember");
    detail::require_positive(length, "grouped_fir::remember", "length");
    detail::require_size(u.size(), detail::checked_mul(state.rows(), length, "rows*length"), "grouped_fir::remember",
                         "u", "batch*channels*length = ", state.rows(), "*", length);
    for (index_t row = 0; row < state.rows(); ++row) state.remember(row, u.data() + row * length, length);
  }

  /// One sample of every row: u_t, y_t [batch][channels]. y_t equals
  /// apply()'s output at this position: bit for bit where apply() sums
  /// directly (the same products in the same order), to the FFT's rounding
  /// where it sums by FFT (uses_fft() and rows of at least one block). y_t
  /// may be u_t itself.
  void step(short_conv_state<T>& state, span_arg<const T> u_t, span_arg<T> y_t) const {
    require_state(state, "step");
    detail::require_size(u_t.size(), state.rows(), "grouped_fir::step", "u_t", "batch*channels = ", state.rows());
    detail::require_size(y_t.size(), state.rows(), "grouped_fir::step", "y_t", "batch*channels = ", state.rows());
    for (index_t row = 0; row < state.rows(); ++row)
      y_t[row] = state.step(row, weights_.data() + (row % channels_) * taps_, T(0), u_t[row]);
  }

 private:
  void require_state(const short_conv_state<T>& state, const char* function) const {
    if (state.kernel_size() != taps_ || state.rows() % channels_ != 0)
      detail::throw_invalid("hyena::grouped_fir::", function, ": the state holds ", state.rows(), " rows of ",
                            state.kernel_size(), "-tap filters, not a multiple of ", channels_, " channels of ",
                            taps_, " taps (make_state of another filter?)");
  }

  index_t channels_, groups_, taps_;
  fir_taps order_;
  bool has_skip_;
  std::vector<T> weights_;  // [channels][taps], correlation order, skip folded in
  std::optional<overlap_save_fir<T>> fft_;
};

}  // namespace hyena
