// hyena/conv/overlap_save_fir.hpp: long explicit FIR filters by FFT, in
// overlap-save blocks.
//
//   y[c,t] = sum_{k<K} h[g(c),k] u[c,t-k] + D[c] u[c,t]     (u = 0 before t = 0)
//
// on channel-major [batch][channels][length] rows, G filters of K taps in
// true-convolution order (h[g][0] multiplies the current sample), channel c
// using filter c / (C/G). A direct sum costs K multiply-adds per output; an
// FFT of the whole row would need each filter's spectrum at the row's length.
// Overlap-save cuts a row into blocks of M = n - K + 1 outputs, each from one
// real FFT of n inputs (the block and the K - 1 samples before it): the
// circular wrap-around lands only on the first K - 1 outputs of the block,
// which are dropped. The filter spectra are those of the taps zero-padded to
// n, fixed at construction whatever the row's length, and a block's work
// stays in cache: O(n log n / M) per output, n = 8K rounded up to a power of
// two so M is 7/8 of n or more.
//
// A block whose inputs are not all finite is summed directly instead, so a
// NaN or Inf reaches exactly the outputs a direct sum gives it (its own
// position and the K - 1 after) and never an earlier one. (Finite inputs
// near T's largest values can still overflow inside a block's FFT where a
// direct sum would not; at float's 1e38 that is far outside activations.)
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <memory>
#include <vector>

#include "../core/config.hpp"
#include "../core/execution.hpp"
#include "../core/shape.hpp"
#include "../core/span.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "../fft/plan.hpp"
#include "fft_conv.hpp"

namespace hyena {

/// A bank of G causal FIR filters of K taps, shared by groups of channels,
/// transformed once for overlap-save FFT convolution of rows of any length.
/// Immutable; apply() is const and safe to call from many threads at once.
template <class T>
class overlap_save_fir {
  static_assert(detail::is_real_v<T>, "hyena::overlap_save_fir<T> needs T = float or double");

 public:
  using complex_type = std::complex<T>;

  /// h: [groups][taps] in true-convolution order; skip: [channels] or empty.
  /// Throws std::invalid_argument on zero sizes, groups that do not divide
  /// channels, spans of the wrong size or non-finite values.
  overlap_save_fir(index_t channels, index_t groups, index_t taps, span_arg<const T> h, span_arg<const T> skip = {},
                   fft_planning planning = fft_planning::estimate)
      : channels_(channels), groups_(groups), taps_(taps) {
    detail::require_positive(channels, "overlap_save_fir", "channels");
    detail::require_positive(groups, "overlap_save_fir", "groups");
    detail::require_positive(taps, "overlap_save_fir", "taps");
    if (channels % groups != 0)
      detail::throw_invalid("hyena::overlap_save_fir: ", groups, " filter groups do not divide ", channels,
                            " channels");
    detail::require_size(h.size(), detail::checked_mul(groups, taps, "groups*taps"), "overlap_save_fir", "h",
                         "groups*taps = ", groups, "*", taps);
    if (!skip.empty()) detail::require_size(skip.size(), channels, "overlap_save_fir", "skip", "channels = ", channels);
    detail::require_finite(h, "overlap_save_fir", "h");
    detail::require_finite(skip, "overlap_save_fir", "skip");
    if (taps > index_t(1) << 26) detail::throw_invalid("hyena::overlap_save_fir: ", taps, " taps exceed 2^26");
    index_t n = 16;
    while (n < 8 * taps) n *= 2;
    fft_ = real_fft<T>::shared(n, planning);
    taps_values_.assign(h.begin(), h.end());
    skip_.assign(channels, T(0));
    if (!skip.empty()) std::copy(skip.begin(), skip.end(), skip_.begin());
    stride_ = (fft_->spectrum_size() + 7) / 8 * 8;  // 64-byte aligned spectra, as FFTW's new-array execution needs
    spectra_.resize(detail::checked_mul(groups, stride_, "groups*spectrum_size"));
    fft_real_buffer<T> padded(n, T(0));
    const T scale = T(1) / static_cast<T>(n);  // the inverse transform's 1/n, folded in once
    for (index_t g = 0; g < groups; ++g) {
      std::transform(h.data() + g * taps, h.data() + (g + 1) * taps, padded.begin(), [scale](T v) { return v * scale; });
      fft_->forward(padded.data(), spectra_.data() + g * stride_);
    }
  }

  index_t channels() const noexcept { return channels_; }
  index_t groups() const noexcept { return groups_; }
  index_t taps() const noexcept { return taps_; }
  /// n: the FFT size of one block.
  index_t block_fft_size() const noexcept { return fft_->size(); }
  /// M = n - K + 1: the outputs one block gives.
  index_t block_outputs() const noexcept { return fft_->size() - taps_ + 1; }
  /// Bytes of the stored spectra, taps and skips (the plan is shared).
  index_t bytes() const noexcept {
    return spectra_.size() * sizeof(complex_type) + (taps_values_.size() + skip_.size()) * sizeof(T);
  }

  /// y = h * u + D u for u, y: [batch][channels][length]. y may be u itself
  /// (in place) but must not partially overlap it. Rows are split over
  /// `exec`'s threads; each row's result does not depend on the split.
  /// Allocates one block's buffers per thread. Throws std::invalid_argument
  /// on zero sizes or mismatched spans.
  void apply(index_t batch, index_t length, span_arg<const T> u, span_arg<T> y,
             const execution_context& exec = {}) const {
    const signal_shape shape{batch, channels_, length};
    shape.require_nonempty("overlap_save_fir::apply");
    detail::require_size(u.size(), shape.elements(), "overlap_save_fir::apply", "u", shape);
    detail::require_size(y.size(), shape.elements(), "overlap_save_fir::apply", "y", shape);
    const index_t n = fft_->size(), M = block_outputs(), blocks = (length + M - 1) / M;
    const index_t work_per_row = blocks * detail::fft_conv_row_work(n);
    exec.parallel_for(shape.rows(), work_per_row, [&](index_t first, index_t last, unsigned) {
      fft_real_buffer<T> segment(n), output(n);
      fft_complex_buffer<T> spectrum(fft_->spectrum_size());
      for (index_t row = first; row < last; ++row)
        apply_row(row % channels_, length, u.data() + row * length, y.data() + row * length, segment.data(),
                  spectrum.data(), output.data());
    });
  }

 private:
  // One row. Blocks run last to first: block b reads inputs from
  // b*M - (K-1) on and writes outputs from b*M on, so every input it reads
  // is still unwritten when y is u (in place).
  void apply_row(index_t c, index_t L, const T* u, T* y, T* segment, complex_type* spectrum, T* output) const {
    const index_t n = fft_->size(), K = taps_, M = block_outputs();
    const index_t g = c / (channels_ / groups_);
    const T d = skip_[c];
    const index_t blocks = (L + M - 1) / M;
    for (index_t b = blocks; b-- > 0;) {
      const index_t t0 = b * M, outputs = std::min(M, L - t0);
      // segment[j] = u[t0 - (K-1) + j] for j < K-1+outputs, zeros elsewhere.
      const index_t lead = std::min(K - 1, t0);  // real samples before t0
      const index_t zeros_before = K - 1 - lead, used = K - 1 + outputs;
      std::fill(segment, segment + zeros_before, T(0));
      std::copy(u + t0 - lead, u + t0 + outputs, segment + zeros_before);
      std::fill(segment + used, segment + n, T(0));
      if (detail::finite_prefix(segment, used) < used) {
        direct_block(g, d, segment, outputs, y + t0);
        continue;
      }
      fft_->forward(segment, spectrum);
      detail::multiply_spectra(spectrum, spectra_.data() + g * stride_, fft_->spectrum_size());
      // Out of place, as in fft_conv_row: bench_fft_conv's BM_fir_fft took
      // 0.71-0.92 of its in-place time at K = 16-128.
      fft_->inverse(spectrum, output);
      const T* conv = output + (K - 1);
      const T* current = segment + (K - 1);
      for (index_t t = 0; t < outputs; ++t) y[t0 + t] = conv[t] + d * current[t];
    }
  }

  // The direct sum of one block from its segment (a non-finite input in it).
  void direct_block(index_t g, T d, const T* segment, index_t outputs, T* y) const {
    const T* h = taps_values_.data() + g * taps_;
    const index_t K = taps_;
    for (index_t t = 0; t < outputs; ++t) {
      const T* current = segment + (K - 1) + t;
      // The skip folded into the current tap, as grouped_fir's direct sum
      // does: an Inf input then gives (h0 + D) Inf there, not 0 * Inf = NaN.
      T sum = (h[0] + d) * current[0];
      for (index_t k = 1; k < K; ++k) sum += h[k] * *(current - k);  // k samples back
      y[t] = sum;
    }
  }

  index_t channels_, groups_, taps_;
  index_t stride_ = 0;
  std::shared_ptr<const real_fft<T>> fft_;
  detail::uninitialized_aligned_vector<complex_type> spectra_;  // [groups][stride], scaled by 1/n
  std::vector<T> taps_values_;                                  // [groups][taps], for non-finite blocks
  std::vector<T> skip_;
};

}  // namespace hyena
