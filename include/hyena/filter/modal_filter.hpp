// hyena/filter/modal_filter.hpp: the long filter of StripedHyena 2's hcl
// blocks (Evo 2), in modal (pole-residue) form:
//
//   h[c,t] = sum_{s<S} R[c,s] p[c,s]^t,   p = exp(log_pole),   t = 0, 1, ...
//
// a sum of S real exponentials per channel. The whole-sequence path
// materialises h at one length and convolves by FFT (prepare(), then
// causal_conv); decoding needs no filter at all: each channel carries S
// numbers, x[c,s] = sum_{k<=t} p^k u[t-k], updated per sample as
// x <- p x + u_t, and the output is sum_s R x + D u_t. O(S) per channel
// per sample, whatever the context length. The state is kept in double
// for float models too: a first-order recurrence's rounding error grows with
// its memory, min(t, 1/(1-p)) samples, which for poles near 1 would be
// thousands of float roundings; in double the decoder matches the
// whole-sequence path to that path's own (FFT) rounding. S doubles per
// channel cost nothing next to the model's other state.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../conv/fft_conv.hpp"
#include "../core/config.hpp"
#include "../core/execution.hpp"
#include "../core/span.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "../fft/plan.hpp"

namespace hyena {

template <class T>
class modal_filter;

/// What a modal filter's decoder carries: x[b][c][s] (in double, whatever T
/// is: see the top of this header) and the samples taken.
template <class T>
class modal_state {
 public:
  modal_state(index_t batch, index_t channels, index_t state_size)
      : batch_(batch), channels_(channels), state_size_(state_size) {
    detail::require_positive(batch, "modal_state", "batch");
    detail::require_positive(channels, "modal_state", "channels");
    detail::require_positive(state_size, "modal_state", "state_size");
    const index_t n = detail::checked_mul(batch, channels, state_size, "batch*channels*state_size");
    detail::require_allocatable(n, sizeof(double), "modal_state (batch*channels*state_size)");
    x_.assign(n, 0.0);
  }
  index_t batch() const noexcept { return batch_; }
  index_t channels() const noexcept { return channels_; }
  index_t state_size() const noexcept { return state_size_; }
  /// Samples taken so far (prefill and steps).
  index_t position() const noexcept { return position_; }
  index_t bytes() const noexcept { return x_.size() * sizeof(double); }
  /// x[b][c][s] = sum_{k < position} p[c,s]^k u[b,c,position-1-k].
  span<const double> values() const noexcept { return x_; }
  void reset() {
    std::fill(x_.begin(), x_.end(), 0.0);
    position_ = 0;
  }

 private:
  template <class>
  friend class modal_filter;
  index_t batch_, channels_, state_size_, position_ = 0;
  std::vector<double> x_;
};

/// The modal filter bank above, with optional skips D. Immutable; every
/// method is const and safe to call from many threads. Growing modes
/// (log_pole > 0) are accepted, as the reference accepts them: response()
/// and prepare() throw once h overflows T; the decoder's double state
/// reaches Inf only after ~709 / log_pole samples, and step()'s outputs
/// become +-Inf once they leave T's range.
template <class T>
class modal_filter {
  static_assert(detail::is_real_v<T>, "hyena::modal_filter<T> needs T = float or double");

 public:
  /// log_poles, residues: [channels][state_size] (the checkpoint's
  /// log_poles [C, S, 1] and residues [C, S]); skip: [channels] or empty.
  /// Throws std::invalid_argument on zero sizes, spans of the wrong size or
  /// non-finite values.
  modal_filter(index_t channels, index_t state_size, span_arg<const T> log_poles, span_arg<const T> residues,
               span_arg<const T> skip = {})
      : channels_(channels), state_size_(state_size),
        log_poles_(log_poles.begin(), log_poles.end()), residues_(residues.begin(), residues.end()),
        skip_(skip.begin(), skip.end()) {
    detail::require_positive(channels, "modal_filter", "channels");
    detail::require_positive(state_size, "modal_filter", "state_size");
    const index_t n = detail::checked_mul(channels, state_size, "channels*state_size");
    detail::require_size(log_poles.size(), n, "modal_filter", "log_poles", "channels*state_size = ", channels, "*",
                         state_size);
    detail::require_size(residues.size(), n, "modal_filter", "residues", "channels*state_size = ", channels, "*",
                         state_size);
    if (!skip.empty()) detail::require_size(skip.size(), channels, "modal_filter", "skip", "channels = ", channels);
    detail::require_finite(log_poles, "modal_filter", "log_poles");
    detail::require_finite(residues, "modal_filter", "residues");
    detail::require_finite(skip, "modal_filter", "skip");
    poles_.resize(n);
    for (index_t i = 0; i < n; ++i) poles_[i] = std::exp(double(log_poles[i]));
  }

  index_t channels() const noexcept { return channels_; }
  index_t state_size() const noexcept { return state_size_; }
  bool has_skip() const noexcept { return !skip_.empty(); }
  T skip(index_t c) const noexcept { return skip_.empty() ? T(0) : skip_[c]; }
  /// p = exp(log_poles) in double: [channels][state_size].
  span<const double> poles() const noexcept { return poles_; }

  /// rows[(c1-c0)][length] = h[c0..c1)[0..length), summed in double and
  /// rounded once. p^t comes from exp(t log p) every `restart` samples and
  /// by multiplication in between: its relative error stays below
  /// (|t log p| + 2 restart + 2) double roundings (exp of a rounded
  /// argument; then per product its rounding and p's own). For decaying
  /// modes the first part grows as the term shrinks like e^-|t log p|, so
  /// each term's absolute error stays below ~3e-14 of |R|. Throws
  /// std::invalid_argument if c0 > c1 or c1 > channels(), or if h
  /// overflows T (growing modes, log_pole > 0, at long lengths).
  void response(index_t c0, index_t c1, index_t length, T* rows) const {
    if (c0 > c1 || c1 > channels_)
      detail::throw_invalid("hyena::modal_filter::response: channels [", c0, ", ", c1, ") are not within [0, ",
                            channels_, ")");
    constexpr index_t restart = 64;
    // The S powers advance together, time outer, so the S multiplication
    // chains overlap; each h[t] still sums its modes in order 0..S-1.
    std::vector<double> power(state_size_);
    for (index_t c = c0; c < c1; ++c) {
      const T* lp = log_poles_.data() + c * state_size_;
      const T* r = residues_.data() + c * state_size_;
      const double* p = poles_.data() + c * state_size_;
      T* row = rows + (c - c0) * length;
      for (index_t t0 = 0; t0 < length; t0 += restart) {
        for (index_t s = 0; s < state_size_; ++s) power[s] = std::exp(double(lp[s]) * double(t0));
        const index_t t1 = std::min(length, t0 + restart);
        for (index_t t = t0; t < t1; ++t) {
          double acc = 0.0;
          for (index_t s = 0; s < state_size_; ++s) {
            acc += double(r[s]) * power[s];
            power[s] *= p[s];
          }
          // Checked before converting: a double beyond T's range converted to
          // T is undefined behaviour, not Inf.
          if (!(std::fabs(acc) <= double(std::numeric_limits<T>::max())))
            detail::throw_invalid("hyena::modal_filter::response: h[", c, "][", t, "] = ", acc, " overflows ",
                                  sizeof(T) == 4 ? "float" : "double", " (a growing mode: log_pole > 0)");
          row[t] = T(acc);
        }
      }
    }
  }

  /// h [channels][length], as response() computes it.
  std::vector<T> response(index_t length) const {
    detail::require_positive(length, "modal_filter::response", "length");
    const index_t n = detail::checked_mul(channels_, length, "channels*length");
    detail::require_allocatable(n, sizeof(T), "modal_filter::response (channels*length)");
    std::vector<T> h(n);
    response(0, channels_, length, h.data());
    return h;
  }

  /// The bank prepared for FFT convolution of `length` samples, skips
  /// included: causal_conv(prepare(L), ...) gives y = h * u + D u. Throws
  /// std::invalid_argument if h overflows T at this length (log-poles > 0).
  fft_filter<T> prepare(index_t length, fft_planning planning = fft_planning::estimate,
                        const execution_context& exec = {}) const {
    detail::require_positive(length, "modal_filter::prepare", "length");
    return fft_filter<T>::generate(
        channels_, length, [&](index_t c0, index_t c1, T* rows) { response(c0, c1, length, rows); }, skip_, planning,
        exec);
  }

  /// A fresh decoding state for `batch` sequences.
  modal_state<T> make_state(index_t batch) const { return modal_state<T>(batch, channels_, state_size_); }

  /// Takes the first `length` samples u [batch][channels][length] into a
  /// fresh state directly: x = sum_k p^k u[length-1-k], O(S length) per row,
  /// accumulated in double. The outputs of those samples are the
  /// whole-sequence path's (causal_conv with prepare(length)). Throws
  /// std::invalid_argument on a state that is not fresh or spans of the
  /// wrong size.
  void prefill(modal_state<T>& state, index_t length, span_arg<const T> u, const execution_context& exec = {}) const {
    require_state(state, "prefill");
    detail::require_positive(length, "modal_filter::prefill", "length");
    if (state.position_ != 0)
      detail::throw_invalid("hyena::modal_filter::prefill: the state has taken ", state.position_,
                            " samples; a prefill starts from a fresh (reset) state");
    const index_t rows = state.batch_ * channels_, S = state_size_;
    detail::require_size(u.size(), detail::checked_mul(rows, length, "rows*length"), "modal_filter::prefill", "u",
                         "batch*channels*length = ", state.batch_, "*", channels_, "*", length);
    // The S modes of a row advance together, time outer: S independent
    // recurrences in flight instead of one latency-bound chain at a time
    // (each mode's own sequence of operations is unchanged).
    exec.parallel_for(rows, 2 * S * length, [&](index_t first, index_t last, unsigned) {
      for (index_t row = first; row < last; ++row) {
        const T* ur = u.data() + row * length;
        const double* p = poles_.data() + (row % channels_) * S;
        double* x = state.x_.data() + row * S;
        std::fill(x, x + S, 0.0);
        for (index_t t = 0; t < length; ++t) {
          const double ut = double(ur[t]);
          for (index_t s = 0; s < S; ++s) x[s] = p[s] * x[s] + ut;
        }
      }
    });
    state.position_ = length;
  }

  /// One sample of every row: u_t, y_t [batch][channels];
  /// x <- p x + u_t, y_t = sum_s R x + D u_t (in double, rounded once).
  /// y_t may be u_t itself.
  void step(modal_state<T>& state, span_arg<const T> u_t, span_arg<T> y_t) const {
    require_state(state, "step");
    const index_t rows = state.batch_ * channels_, S = state_size_;
    detail::require_size(u_t.size(), rows, "modal_filter::step", "u_t", "batch*channels = ", rows);
    detail::require_size(y_t.size(), rows, "modal_filter::step", "y_t", "batch*channels = ", rows);
    for (index_t row = 0; row < rows; ++row) {
      const index_t c = row % channels_;
      const double u = double(u_t[row]);
      double* x = state.x_.data() + row * S;
      const double* p = poles_.data() + c * S;
      const T* r = residues_.data() + c * S;
      double y = 0.0;
      for (index_t s = 0; s < S; ++s) {
        x[s] = p[s] * x[s] + u;
        y += double(r[s]) * x[s];
      }
      y_t[row] = narrow(y + double(skip(c)) * u);
    }
    ++state.position_;
  }

 private:
  // y in T, beyond T's range as +-Inf (what float arithmetic would give): a
  // plain conversion of such a double is undefined behaviour. A growing mode
  // (log_pole > 0) fed long enough gets there at run time; response() throws
  // instead, since there the weights are at fault.
  static T narrow(double y) noexcept {
    if (!(std::fabs(y) > double(std::numeric_limits<T>::max()))) return T(y);  // NaN converts as NaN
    return y > 0 ? std::numeric_limits<T>::infinity() : -std::numeric_limits<T>::infinity();
  }

  void require_state(const modal_state<T>& state, const char* function) const {
    if (state.channels_ != channels_ || state.state_size_ != state_size_)
      detail::throw_invalid("hyena::modal_filter::", function, ": the state has ", state.channels_, " channels of ",
                            state.state_size_, " modes, this filter ", channels_, " of ", state_size_,
                            " (make_state of another filter?)");
  }

  index_t channels_, state_size_;
  std::vector<T> log_poles_, residues_, skip_;
  std::vector<double> poles_;
};

}  // namespace hyena
