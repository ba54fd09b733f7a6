// hyena/conv/fft_conv_backward.hpp: gradients of the FFT causal convolution.
//
// For y[b,c,t] = sum_{s<=t} k[c,s] u[b,c,t-s] + D[c] u[b,c,t] (fft_conv.hpp)
// and an upstream gradient dy of y's shape:
//
//   du[b,c,t] = sum_{t'>=t} k[c,t'-t] dy[b,c,t'] + D[c] dy[b,c,t]   (dy correlated with k)
//   dk[c,s]  += sum_b sum_{t>=s} dy[b,c,t] u[b,c,t-s]                (dy correlated with u)
//   dD[c]    += sum_b sum_t dy[b,c,t] u[b,c,t]
//
// Both correlations come from spectra, zero-padded to the forward's FFT size
// n >= 2L-1 so they are linear, never circular: du from dy's spectrum times
// the filter's conjugate spectrum (already in hand), dk from the sum over
// the batch of conj(U) * DY, inverted once per channel.
//
// Convention of every backward in this library: gradients of inputs are
// written (=), gradients of parameters are added to (+=), as PyTorch
// accumulates .grad, so batches and steps sum into one buffer.
#pragma once

#include <algorithm>
#include <complex>
#include <vector>

#include "../core/config.hpp"
#include "../core/execution.hpp"
#include "../core/shape.hpp"
#include "../core/span.hpp"
#include "../detail/checks.hpp"
#include "../detail/lane_sum.hpp"
#include "fft_conv.hpp"

namespace hyena {

namespace detail {

/// One thread's arrays for the backward of one channel: the fft_conv row
/// buffers (a zero-tailed input row, an output row, a spectrum), a row for
/// the inverse transforms, the upstream gradient's spectrum and the filter
/// gradient's accumulated one.
template <class T>
struct fft_conv_backward_slot {
  fft_row_buffers<T> row;
  fft_real_buffer<T> correlation;
  fft_complex_buffer<T> gradient_spectrum;
  fft_complex_buffer<T> filter_spectrum;
  bool filter_spectrum_holds_sum = false;  // false: the next row writes filter_spectrum, later rows add
  /// Starts a channel's filter gradient: the next row's conj(U) * DY is
  /// written over filter_spectrum (no zeroing pass over it), later rows' added.
  void begin_filter_gradient() noexcept { filter_spectrum_holds_sum = false; }
  void reserve(index_t fft_size) {
    row.reserve(fft_size);
    if (correlation.size() < fft_size) correlation.resize(fft_size);
    if (gradient_spectrum.size() < fft_size / 2 + 1) gradient_spectrum.resize(fft_size / 2 + 1);
    if (filter_spectrum.size() < fft_size / 2 + 1) filter_spectrum.resize(fft_size / 2 + 1);
  }
};

/// acc[j] += conj(a[j]) * b[j], on the interleaved reals so it vectorises.
template <class T>
inline void accumulate_correlation(std::complex<T>* acc, const std::complex<T>* a, const std::complex<T>* b,
                                   index_t m) noexcept {
  T* s = reinterpret_cast<T*>(acc);
  const T* x = reinterpret_cast<const T*>(a);
  const T* y = reinterpret_cast<const T*>(b);
  for (index_t j = 0; j < m; ++j) {
    const T xr = x[2 * j], xi = x[2 * j + 1], yr = y[2 * j], yi = y[2 * j + 1];
    s[2 * j] += xr * yr + xi * yi;
    s[2 * j + 1] += xr * yi - xi * yr;
  }
}

/// out[j] = a[j] * conj(b[j]).
template <class T>
inline void multiply_conjugate(std::complex<T>* out, const std::complex<T>* a, const std::complex<T>* b,
                               index_t m) noexcept {
  T* o = reinterpret_cast<T*>(out);
  const T* x = reinterpret_cast<const T*>(a);
  const T* y = reinterpret_cast<const T*>(b);
  for (index_t j = 0; j < m; ++j) {
    const T xr = x[2 * j], xi = x[2 * j + 1], yr = y[2 * j], yi = y[2 * j + 1];
    o[2 * j] = xr * yr + xi * yi;
    o[2 * j + 1] = xi * yr - xr * yi;
  }
}

/// Throws std::invalid_argument naming `function`, `name` and [row][t] of
/// the first non-finite value of a loaded row: a NaN or Inf in a gradient
/// would spread through the FFT to every other time step of its row.
template <class T>
inline void require_finite_row(const T* row, index_t length, const char* function, const char* name, index_t index,
                               const char* index_name) {
  const index_t t = finite_prefix(row, length);
  if (t < length)
    throw_invalid("hyena::", function, ": ", name, " at ", index_name, " ", index, ", t = ", t, " is ", row[t],
                  " (not finite)");
}

/// The backward of one channel over one batch element, with caller-supplied
/// ends (as fft_conv_row): load_gradient(T*) and load_input(T*) write the L
/// samples of dy and of the forward's input u, in that order;
/// store_input_gradient(const T* corr, const T* dy), called last (so it may
/// overwrite what the loads read), gets sum_{t'>=t} k[t'-t] dy[t'] (scaled,
/// without the skip term) and dy, still in cache. conj(U) * DY is summed in
/// slot.filter_spectrum, which the caller starts (slot.begin_filter_gradient)
/// before the first batch element and inverts after the last
/// (finish_filter_gradient). Returns
/// sum_t dy[t] u[t]. Throws on non-finite loaded samples, naming `function`,
/// the loaded row (`gradient_name` or `input_name`), row_index and t.
template <class T, class LoadGradient, class LoadInput, class StoreInputGradient>
inline T fft_conv_backward_row(const fft_filter<T>& filter, index_t channel, fft_conv_backward_slot<T>& slot,
                               LoadGradient&& load_gradient, LoadInput&& load_input,
                               StoreInputGradient&& store_input_gradient, const char* function,
                               const char* gradient_name, const char* input_name, index_t row_index) {
  const real_fft<T>& fft = filter.fft();
  const index_t L = filter.length(), m = fft.spectrum_size();
  auto& row = slot.row;
  T* padded = row.input.data();
  if (row.written > L) std::fill(padded + L, padded + row.written, T(0));
  row.written = L;

  load_gradient(padded);
  require_finite_row(static_cast<const T*>(padded), L, function, gradient_name, row_index, "row");
  fft.forward(padded, slot.gradient_spectrum.data());
  T* upstream = row.output.data();  // dy, kept for the skip terms
  std::copy(padded, padded + L, upstream);

  load_input(padded);
  require_finite_row(static_cast<const T*>(padded), L, function, input_name, row_index, "row");
  const T skip_gradient = lane_dot(static_cast<const T*>(upstream), static_cast<const T*>(padded), L);
  fft.forward(padded, row.spectrum.data());
  if (slot.filter_spectrum_holds_sum) {
    accumulate_correlation(slot.filter_spectrum.data(), row.spectrum.data(), slot.gradient_spectrum.data(), m);
  } else {
    multiply_conjugate(slot.filter_spectrum.data(), slot.gradient_spectrum.data(), row.spectrum.data(), m);
    slot.filter_spectrum_holds_sum = true;
  }

  // dy correlated with k: DY * conj(K / n), inverted.
  multiply_conjugate(row.spectrum.data(), slot.gradient_spectrum.data(), filter.spectrum(channel), m);
  fft.inverse(row.spectrum.data(), slot.correlation.data());
  store_input_gradient(static_cast<const T*>(slot.correlation.data()), static_cast<const T*>(upstream));
  return skip_gradient;
}

/// dk[s] += (inverse of the summed conj(U) * DY)[s] / n for s < L; with
/// `overwrite`, dk[s] = ... (dk's first contribution: no zeroing pass).
template <class T>
inline void finish_filter_gradient(const fft_filter<T>& filter, fft_conv_backward_slot<T>& slot, T* dk,
                                   bool overwrite = false) {
  const real_fft<T>& fft = filter.fft();
  const index_t L = filter.length();
  const T scale = T(1) / static_cast<T>(fft.size());
  fft.inverse(slot.filter_spectrum.data(), slot.correlation.data());
  const T* corr = slot.correlation.data();
  if (overwrite) {
    for (index_t s = 0; s < L; ++s) dk[s] = corr[s] * scale;
  } else {
    for (index_t s = 0; s < L; ++s) dk[s] += corr[s] * scale;
  }
}

}  // namespace detail

/// Work arrays for causal_conv_backward: per thread, the forward's row
/// buffers and two spectra. Grows on demand, never shrinks; one per
/// concurrent call.
template <class T>
class fft_conv_backward_workspace {
 public:
  void reserve(index_t fft_size, unsigned threads) {
    if (slots_.size() < threads) slots_.resize(threads);
    for (unsigned i = 0; i < threads; ++i) slots_[i].reserve(fft_size);
  }
  detail::fft_conv_backward_slot<T>& slot(unsigned worker) noexcept { return slots_[worker]; }
  /// Bytes held, for memory accounting.
  index_t bytes() const noexcept {
    index_t total = 0;
    for (const auto& s : slots_)
      total += (s.row.input.size() + s.row.output.size() + s.correlation.size()) * sizeof(T) +
               (s.row.spectrum.size() + s.gradient_spectrum.size() + s.filter_spectrum.size()) *
                   sizeof(std::complex<T>);
    return total;
  }

 private:
  std::vector<detail::fft_conv_backward_slot<T>> slots_;
};

/// The gradients above for u, dy, du: [batch][filter.channels()][filter.length()]
/// (du written; it may be dy itself but must not partially overlap it or
/// overlap u), dk: [channels][length] and dskip: [channels], both added to.
/// dk and dskip may be empty spans when those gradients are not wanted.
/// O(B C n log n): three real
/// FFTs per row plus one per channel, against the forward's two per row.
/// Split over `exec`'s threads by channel, each channel summing its batch in
/// order, so results do not depend on the thread count.
/// Throws std::invalid_argument on a zero batch, spans of the wrong size, or
/// a non-finite value in u or dy (naming the row and time step): a NaN in a
/// gradient means the loss was not finite, and the FFT would spread it over
/// every other time step of the row.
template <class T>
void causal_conv_backward(const fft_filter<T>& filter, index_t batch, span_arg<const T> u, span_arg<const T> dy,
                          span_arg<T> du, span_arg<T> dk, span_arg<T> dskip, fft_conv_backward_workspace<T>& workspace,
                          const execution_context& exec = {}) {
  const signal_shape shape{batch, filter.channels(), filter.length()};
  const char* function = "causal_conv_backward";
  detail::require_positive(batch, function, "batch");
  detail::require_size(u.size(), shape.elements(), function, "u", shape);
  detail::require_size(dy.size(), shape.elements(), function, "dy", shape);
  detail::require_size(du.size(), shape.elements(), function, "du", shape);
  const index_t C = shape.channels, L = shape.length;
  if (!dk.empty()) detail::require_size(dk.size(), C * L, function, "dk", "channels*length = ", C, "*", L);
  if (!dskip.empty()) detail::require_size(dskip.size(), C, function, "dskip", "channels = ", C);
  const index_t n = filter.fft_size();
  workspace.reserve(n, exec.workers(C, batch * 3 * detail::fft_conv_row_work(n) / 2));
  exec.parallel_for(C, batch * 3 * detail::fft_conv_row_work(n) / 2, [&](index_t c0, index_t c1, unsigned worker) {
    auto& slot = workspace.slot(worker);
    for (index_t c = c0; c < c1; ++c) {
      slot.begin_filter_gradient();
      const T d = filter.skip(c);
      T skip_gradient = T(0);
      for (index_t b = 0; b < batch; ++b) {
        const index_t row = b * C + c;
        const T* ur = u.data() + row * L;
        const T* dyr = dy.data() + row * L;
        T* dur = du.data() + row * L;
        skip_gradient += detail::fft_conv_backward_row(
            filter, c, slot, [&](T* dst) { std::copy(dyr, dyr + L, dst); },
            [&](T* dst) { std::copy(ur, ur + L, dst); },
            [&](const T* corr, const T* g) {
              for (index_t t = 0; t < L; ++t) dur[t] = corr[t] + d * g[t];
            },
            function, "the upstream gradient dy", "the forward input u", row);
      }
      if (!dk.empty()) detail::finish_filter_gradient(filter, slot, dk.data() + c * L);
      if (!dskip.empty()) dskip[c] += skip_gradient;
    }
  });
}

/// As above with a temporary workspace.
template <class T>
void causal_conv_backward(const fft_filter<T>& filter, index_t batch, span_arg<const T> u, span_arg<const T> dy,
                          span_arg<T> du, span_arg<T> dk, span_arg<T> dskip, const execution_context& exec = {}) {
  fft_conv_backward_workspace<T> workspace;
  causal_conv_backward(filter, batch, u, dy, du, dk, dskip, workspace, exec);
}

}  // namespace hyena
