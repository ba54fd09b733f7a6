// hyena/conv/fft_conv.hpp: the causal long convolution, computed with FFTs in O(L log L).
//
//   y[b,c,t] = sum_{s=0..t} k[c,s] * u[b,c,t-s] + D[c] * u[b,c,t]
//
// on channel-major [batch][channels][length] signals (see shape.hpp).
//
// Non-finite input: an FFT would spread a NaN or Inf at step t0 over the
// whole row, the past included. A row whose first non-finite sample is at t0
// is therefore transformed as if it ended there: outputs before t0 are the
// exact (to rounding) convolution of the finite prefix, outputs from t0 on
// are NaN. Other rows are unaffected. Non-finite filters are rejected.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "../core/config.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "../fft/plan.hpp"
#include <Eigen/Core>

#include "../fft/size.hpp"
#include "../core/execution.hpp"
#include "../core/shape.hpp"
#include "../core/span.hpp"

namespace hyena {

/// A bank of causal filters k[channels][length] (plus optional skips
/// D[channels]) prepared for FFT convolution of signals of `length` samples.
///
/// Construction transforms each filter once, zero-padded to the fast FFT size
/// n >= 2*length - 1 (so the convolution is linear, never circular), and folds
/// the single 1/n normalisation into the stored spectrum. O(C n log n) time,
/// C*(n/2+1) complex numbers of memory; the transforms are split over
/// `exec`'s threads. Immutable and safe to share across threads;
/// the FFT plan is the process-wide shared one.
template <class T>
class fft_filter {
  static_assert(detail::is_real_v<T>, "hyena::fft_filter<T> needs T = float or double");

 public:
  using complex_type = std::complex<T>;

  /// k: [channels][length] taps; skip: [channels] or empty (no skip term).
  /// Throws std::invalid_argument on zero sizes, spans of the wrong size or
  /// non-finite taps.
  fft_filter(index_t channels, index_t length, span_arg<const T> k,
             span_arg<const T> skip = {},
             fft_planning planning = fft_planning::estimate, const execution_context& exec = {})
      : fft_filter((check_taps(channels, length, k.size()), channels), length, skip, planning) {
    transform_rows(
        [&](index_t c0, index_t c1, T* rows) { std::copy(k.data() + c0 * length, k.data() + c1 * length, rows); },
        exec);
  }

  /// The same bank from a generator, so the time-domain taps are never all
  /// in memory at once: make_rows(c0, c1, rows) writes filters c0 .. c1-1 to
  /// rows [(c1-c0)][length] (row-major). It is called for fixed blocks of
  /// block_rows channels, split over `exec`'s threads, from several threads
  /// at once: results do not depend on the thread count. The
  /// rows are checked for non-finite taps as the span constructor does.
  template <class MakeRows>
  static fft_filter generate(index_t channels, index_t length, MakeRows&& make_rows,
                             span_arg<const T> skip = {},
                             fft_planning planning = fft_planning::estimate,
                             const execution_context& exec = {}) {
    fft_filter bank(channels, length, skip, planning);
    bank.transform_rows(make_rows, exec);
    return bank;
  }

  /// Channels per make_rows call in generate().
  static constexpr index_t block_rows = 16;

  index_t channels() const noexcept { return channels_; }
  index_t length() const noexcept { return length_; }
  index_t fft_size() const noexcept { return fft_->size(); }
  /// Spectrum of channel c's filter, already scaled by 1/fft_size(): n/2+1 values.
  const complex_type* spectrum(index_t c) const noexcept {
    return spectra_.data() + c * stride_;
  }
  /// Skip weight D[c] (0 when the filter was built without skips).
  T skip(index_t c) const noexcept { return skip_[c]; }
  const real_fft<T>& fft() const noexcept { return *fft_; }
  /// Bytes of the stored spectra and skips (the plan is shared, not counted).
  index_t bytes() const noexcept {
    return spectra_.size() * sizeof(complex_type) + skip_.size() * sizeof(T);
  }

 private:
  static void check_taps(index_t channels, index_t length, index_t taps) {
    detail::require_positive(channels, "fft_filter", "channels");
    detail::require_positive(length, "fft_filter", "length");
    detail::require_size(taps, detail::checked_mul(channels, length, "channels*length"), "fft_filter", "k",
                         "channels*length = ", channels, "*", length);
  }

  // Checks sizes and skips, makes the plan and allocates the spectra.
  fft_filter(index_t channels, index_t length, span<const T> skip, fft_planning planning)
      : channels_(channels), length_(length) {
    detail::require_positive(channels, "fft_filter", "channels");
    detail::require_positive(length, "fft_filter", "length");
    if (!skip.empty())
      detail::require_size(skip.size(), channels, "fft_filter", "skip",
                           "channels = ", channels);
    detail::require_finite(skip, "fft_filter", "skip");
    fft_ = real_fft<T>::shared(causal_conv_fft_size(length), planning);
    // Each channel's spectrum starts on a 64-byte boundary, as FFTW's
    // new-array execution needs (8 complex values = 64 bytes for float).
    stride_ = (fft_->spectrum_size() + 7) / 8 * 8;
    const index_t spectrum_values = detail::checked_mul(channels, stride_, "channels*spectrum_size");
    detail::require_allocatable(spectrum_values, sizeof(complex_type), "fft_filter spectra (channels*spectrum_size)");
    spectra_.resize(spectrum_values);
    skip_.assign(channels, T(0));
    if (!skip.empty()) std::copy(skip.begin(), skip.end(), skip_.begin());
  }

  // Fills the spectra: each block of rows is made, checked, scaled by 1/n on
  // its way into the zero-padded row and transformed.
  template <class MakeRows>
  void transform_rows(MakeRows&& make_rows, const execution_context& exec) {
    const index_t n = fft_->size(), L = length_;
    const index_t blocks = (channels_ + block_rows - 1) / block_rows;
    const T scale = T(1) / static_cast<T>(n);
    exec.parallel_for(blocks, [&](index_t b0, index_t b1, unsigned) {
      fft_real_buffer<T> padded(n, T(0));
      fft_real_buffer<T> rows(std::min(block_rows, channels_) * L);
      for (index_t b = b0; b < b1; ++b) {
        const index_t c0 = b * block_rows, c1 = std::min(channels_, c0 + block_rows);
        make_rows(c0, c1, rows.data());
        for (index_t c = c0; c < c1; ++c) {
          const T* kc = rows.data() + (c - c0) * L;
          for (index_t t = 0; t < L; ++t)
            if (!std::isfinite(kc[t]))
              detail::throw_invalid("hyena::fft_filter: k[", c, "][", t, "] = ", kc[t], " is not finite");
          std::transform(kc, kc + L, padded.begin(), [scale](T v) { return v * scale; });
          fft_->forward(padded.data(), spectra_.data() + c * stride_);
        }
      }
    });
  }

  index_t channels_;
  index_t length_;
  index_t stride_ = 0;
  std::shared_ptr<const real_fft<T>> fft_;
  detail::uninitialized_aligned_vector<complex_type> spectra_;  // every value written by a forward FFT
  std::vector<T> skip_;
};

namespace detail {

/// One thread's arrays for one FFT row. The padded input row keeps its zero
/// tail between rows (the inverse FFT writes elsewhere, into `output`), so
/// each row costs L writes to load instead of n;
/// `written` remembers how far the last row reached, so a shorter row
/// clears only what a longer one left.
template <class T>
struct fft_row_buffers {
  fft_real_buffer<T> input;     // [0, written) data, zeros after
  fft_real_buffer<T> output;    // the inverse FFT's result
  fft_complex_buffer<T> spectrum;
  index_t written = 0;
  void reserve(index_t fft_size) {
    detail::require_allocatable(fft_size, 4 * sizeof(T), "fft_conv_workspace rows (fft_size)");
    if (input.size() < fft_size) input.resize(fft_size, T(0));
    if (output.size() < fft_size) output.resize(fft_size);
    if (spectrum.size() < fft_size / 2 + 1) spectrum.resize(fft_size / 2 + 1);
  }
};

}  // namespace detail

/// Work arrays for FFT convolutions: a padded input row, an output row and a
/// spectrum per thread. Grows on demand and never shrinks, so a workspace reused across
/// calls allocates only the first time (or when a call needs a larger FFT or
/// more threads). One workspace per concurrent call.
template <class T>
class fft_conv_workspace {
 public:
  fft_conv_workspace() = default;
  explicit fft_conv_workspace(index_t fft_size, unsigned threads = 1) { reserve(fft_size, threads); }

  void reserve(index_t fft_size, unsigned threads = 1) {
    if (slots_.size() < threads) slots_.resize(threads);
    for (unsigned i = 0; i < threads; ++i) slots_[i].reserve(fft_size);
  }
  /// Thread `worker`'s arrays; reserve() must have covered it.
  detail::fft_row_buffers<T>& slot(unsigned worker) noexcept { return slots_[worker]; }
  /// Bytes held, for memory accounting.
  index_t bytes() const noexcept {
    index_t total = 0;
    for (const auto& s : slots_)
      total += (s.input.size() + s.output.size()) * sizeof(T) + s.spectrum.size() * sizeof(std::complex<T>);
    return total;
  }

 private:
  std::vector<detail::fft_row_buffers<T>> slots_;
};

namespace detail {

/// a[j] *= b[j] for j < m, written on the interleaved reals so the compiler
/// vectorises it (std::complex's operator* handles inf/nan cases we do not need).
template <class T>
inline void multiply_spectra(std::complex<T>* a, const std::complex<T>* b, index_t m) noexcept {
  T* x = reinterpret_cast<T*>(a);
  const T* y = reinterpret_cast<const T*>(b);
  for (index_t j = 0; j < m; ++j) {
    const T xr = x[2 * j], xi = x[2 * j + 1], yr = y[2 * j], yi = y[2 * j + 1];
    x[2 * j] = xr * yr - xi * yi;
    x[2 * j + 1] = xr * yi + xi * yr;
  }
}

/// Index of the first non-finite value of x[0..n), or n. The common all-finite
/// case is one vectorised pass: sum(0 * x) is 0 exactly when every x is
/// finite (0 * inf and 0 * NaN are NaN), and Eigen vectorises a sum, whereas
/// its allFinite() is a scalar boolean reduction (a fifth of the convolution's
/// own work at L = 1K). Only a row that has a non-finite value is searched
/// element by element.
template <class T>
inline index_t finite_prefix(const T* x, index_t n) noexcept {
  if ((Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(x, Eigen::Index(n)) * T(0)).sum() == T(0)) return n;
  index_t t = 0;
  while (t < n && std::isfinite(x[t])) ++t;
  return t;
}

/// Rough operations of one row's convolution at FFT size n (two real
/// transforms of ~2.5 n log2 n each, the product, the loads and stores), for
/// execution_context::parallel_for's split.
inline index_t fft_conv_row_work(index_t n) noexcept {
  index_t log2n = 1;
  while ((index_t(1) << log2n) < n) ++log2n;
  return 5 * n * log2n + 8 * n;
}

/// One row of the FFT convolution with caller-supplied ends, so operators can
/// fuse their element-wise work into the passes over memory the FFT needs anyway:
///   load(T* dst)        writes the L input samples to dst[0..L);
///   store(const T* conv, const T* loaded) reads the L filtered samples
///     conv[0..L) (scaled, without skip) and the L samples load wrote, still in
///     this thread's cache (the forward FFT leaves its input unchanged), so a
///     skip term costs no second read of the caller's rows.
/// A non-finite loaded sample at t0 truncates the row there (see the top of
/// this header): conv[t] for t >= t0 is NaN.
template <class T, class Load, class Store>
inline void fft_conv_row(const fft_filter<T>& filter, index_t channel, fft_row_buffers<T>& buffers,
                         Load&& load, Store&& store) {
  const real_fft<T>& fft = filter.fft();
  const index_t length = filter.length();
  T* input = buffers.input.data();
  std::complex<T>* spectrum = buffers.spectrum.data();
  if (buffers.written > length) std::fill(input + length, input + buffers.written, T(0));
  buffers.written = length;
  load(input);
  const index_t finite = finite_prefix(input, length);
  if (finite < length) std::fill(input + finite, input + length, T(0));  // keep the past clean
  fft.forward(input, spectrum);
  multiply_spectra(spectrum, filter.spectrum(channel), fft.spectrum_size());
  // Out of place, although in place would keep one row-sized array fewer in
  // the caches: FFTW's out-of-place c2r measured 4-20% faster than its
  // in-place one at L = 1K-16K (FFTW_MEASURE and FFTW_ESTIMATE, AVX2 EPYC).
  T* output = buffers.output.data();
  fft.inverse(spectrum, output);
  if (finite < length) std::fill(output + finite, output + length, std::numeric_limits<T>::quiet_NaN());
  store(static_cast<const T*>(output), static_cast<const T*>(input));
}

}  // namespace detail

/// y = k * u + D ⊙ u, the causal convolution of every row of u with the
/// filter of its channel (see the top of this header).
///
/// u, y: [batch][filter.channels()][filter.length()]; y may be u itself
/// (in place) but must not partially overlap it. O(B C n log n) time split
/// over `exec`'s threads by rows; no allocation
/// beyond growing `workspace`. Results do not depend on the thread count.
/// Safe to call from many threads at once, each with its own workspace.
/// Throws std::invalid_argument if batch is 0 or a span's size differs from
/// batch*channels*length.
template <class T>
void causal_conv(const fft_filter<T>& filter, index_t batch,
                 span_arg<const T> u, span_arg<T> y,
                 fft_conv_workspace<T>& workspace, const execution_context& exec = {}) {
  const signal_shape shape{batch, filter.channels(), filter.length()};
  detail::require_positive(batch, "causal_conv", "batch");
  detail::require_size(u.size(), shape.elements(), "causal_conv", "u", shape);
  detail::require_size(y.size(), shape.elements(), "causal_conv", "y", shape);
  workspace.reserve(filter.fft_size(), exec.workers(shape.rows()));
  const index_t length = shape.length;
  exec.parallel_for(shape.rows(), detail::fft_conv_row_work(filter.fft_size()),
                    [&](index_t first, index_t last, unsigned worker) {
    auto& buffers = workspace.slot(worker);
    for (index_t row = first; row < last; ++row) {
      const index_t c = row % shape.channels;
      const T* ur = u.data() + row * length;
      T* yr = y.data() + row * length;
      const T d = filter.skip(c);
      detail::fft_conv_row(
          filter, c, buffers, [&](T* dst) { std::copy(ur, ur + length, dst); },
          [&](const T* conv, const T* loaded) {
            for (index_t t = 0; t < length; ++t) yr[t] = conv[t] + d * loaded[t];
          });
    }
  });
}

/// As above with a temporary workspace (allocates once per call).
template <class T>
void causal_conv(const fft_filter<T>& filter, index_t batch,
                 span_arg<const T> u, span_arg<T> y,
                 const execution_context& exec = {}) {
  fft_conv_workspace<T> workspace;
  causal_conv(filter, batch, u, y, workspace, exec);
}

}  // namespace hyena
