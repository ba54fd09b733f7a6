// hyena/conv/online_conv.hpp: the causal long convolution computed online, one
// time step at a time, exactly (docs/online_conv.md).
//
//   y[b,c,t] = sum_{s=0..t} k[c,s] * x[b,c,t-s] + D[c] * x[b,c,t]
//
// y_t is available as soon as x_t arrives. The past's contribution to future
// outputs is computed in blocks of doubling size (relaxed multiplication):
// after step t, with U the largest power of two dividing t+1, the U inputs
// x[t+1-U .. t] are convolved with taps k[1 .. 2U-1] and their
// contributions to y[t+1 .. t+U] are added to a pending row. These blocks
// tile every (input s, output t > s) pair exactly once, so y_t is the
// pending value plus (k[0] + D) x_t. Blocks of U >= direct_below samples
// go through FFTs of size 2U (their filter spectra are computed once per
// filter bank); smaller ones are dot products. Amortised cost per step and
// row: O(log^2 capacity); memory: two rows of `capacity` values per row.
//
// Non-finite input: a NaN or Inf fed at step t0 makes y_t NaN for every
// t >= t0 of its row, as in causal_conv; outputs before t0 were returned
// already and other rows are unaffected.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <memory>
#include <vector>

#include "../core/config.hpp"
#include "../core/execution.hpp"
#include "../core/span.hpp"
#include "../detail/aligned_allocator.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "../fft/plan.hpp"
#include "fft_conv.hpp"

namespace hyena {

struct online_conv_options {
  /// Blocks shorter than this many samples are dot products, longer ones
  /// FFTs (a power of two). bench_decode measures the crossover (256
  /// channels, float, AVX-512, two runs of 2026-12-02): as dot products a
  /// block costs 0.6-1.1x its FFT up to U = 32, 0.74x and 1.22x at U = 64,
  /// 1.15-1.64x from U = 128 on.
  index_t direct_below = 128;
  fft_planning planning = fft_planning::estimate;
};

/// A bank of causal filters k[channels][capacity] (plus skips D) prepared for
/// online convolution of up to `capacity` steps: the first taps for the
/// direct blocks and, per FFT block size U, the spectra of k[1 .. 2U-1]
/// zero-padded to 2U (scaled by 1/(2U)). About 2 C capacity values in all.
/// Immutable and safe to share between any number of decoding states.
template <class T>
class online_filter {
  static_assert(detail::is_real_v<T>, "hyena::online_filter<T> needs T = float or double");

 public:
  using complex_type = std::complex<T>;

  /// k: [channels][capacity] taps; skip: [channels] or empty. Throws
  /// std::invalid_argument on zero sizes, spans of the wrong size, a
  /// direct_below that is not a power of two, or non-finite taps or skips.
  online_filter(index_t channels, index_t capacity, span_arg<const T> k, span_arg<const T> skip = {},
                online_conv_options options = {}, const execution_context& exec = {})
      : channels_(channels), capacity_(capacity), direct_below_(options.direct_below) {
    detail::require_positive(channels, "online_filter", "channels");
    detail::require_positive(capacity, "online_filter", "capacity");
    detail::require_size(k.size(), detail::checked_mul(channels, capacity, "channels*capacity"), "online_filter", "k",
                         "channels*capacity = ", channels, "*", capacity);
    if (!skip.empty())
      detail::require_size(skip.size(), channels, "online_filter", "skip", "channels = ", channels);
    if (direct_below_ == 0 || (direct_below_ & (direct_below_ - 1)) != 0)
      detail::throw_invalid("hyena::online_filter: direct_below must be a power of two, got ", direct_below_);
    detail::require_finite(skip, "online_filter", "skip");
    const index_t first_bad = detail::first_non_finite(k);
    if (first_bad != k.size())
      detail::throw_invalid("hyena::online_filter: k[", first_bad / capacity, "][", first_bad % capacity,
                            "] = ", k[first_bad], " is not finite");
    skip_.assign(channels, T(0));
    if (!skip.empty()) std::copy(skip.begin(), skip.end(), skip_.begin());

    // The direct blocks read taps k[0 .. 2*direct_below-1].
    head_ = std::min(capacity, 2 * direct_below_);
    head_taps_.resize(channels * head_);
    for (index_t c = 0; c < channels; ++c)
      std::copy_n(k.data() + c * capacity, head_, head_taps_.data() + c * head_);

    // One FFT level per block size U >= direct_below whose first block
    // (after step U-1, outputs U .. 2U-1) reaches an output below capacity.
    for (index_t U = direct_below_; U < capacity; U *= 2) {
      level lv;
      lv.block = U;
      lv.fft = real_fft<T>::shared(2 * U, options.planning);
      lv.stride = (U + 1 + 7) / 8 * 8;  // 64-byte aligned rows, as FFTW's new-array execution needs
      detail::require_allocatable(detail::checked_mul(channels, lv.stride, "channels*spectrum"), sizeof(complex_type),
                                  "online_filter spectra");
      lv.spectra.resize(channels * lv.stride);
      levels_.push_back(std::move(lv));
    }
    for (auto& lv : levels_) {
      const index_t U = lv.block, taps = std::min(2 * U - 1, capacity - 1);
      const T scale = T(1) / static_cast<T>(2 * U);
      exec.parallel_for(channels, [&](index_t c0, index_t c1, unsigned) {
        fft_real_buffer<T> padded(2 * U, T(0));
        for (index_t c = c0; c < c1; ++c) {
          const T* kc = k.data() + c * capacity + 1;  // the block meets taps 1 .. 2U-1
          std::transform(kc, kc + taps, padded.begin(), [scale](T v) { return v * scale; });
          lv.fft->forward(padded.data(), lv.spectra.data() + c * lv.stride);
        }
      });
    }
  }

  index_t channels() const noexcept { return channels_; }
  /// The most steps a state may take with this filter.
  index_t capacity() const noexcept { return capacity_; }
  index_t direct_below() const noexcept { return direct_below_; }
  T skip(index_t c) const noexcept { return skip_[c]; }
  /// k[c][0], the tap that multiplies the current input.
  T current_tap(index_t c) const noexcept { return head_taps_[c * head_]; }
  /// Bytes of the stored taps and spectra (shared plans not counted).
  index_t bytes() const noexcept {
    index_t total = (head_taps_.size() + skip_.size()) * sizeof(T);
    for (const auto& lv : levels_) total += lv.spectra.size() * sizeof(complex_type);
    return total;
  }
  /// The largest FFT a block needs (0 when every block is direct).
  index_t max_fft_size() const noexcept { return levels_.empty() ? 0 : 2 * levels_.back().block; }

  /// Adds the contributions of inputs x[t+1-U .. t] (hist: the row's inputs
  /// from time 0) of channel c to pending[t+1+m] for first <= t+1+m <
  /// min(t+1+U, limit), where U is a power of two dividing t+1. FFT blocks
  /// (U >= direct_below()) need buffers of max_fft_size() values; direct
  /// ones take none.
  void add_block(index_t c, const T* hist, T* pending, index_t t, index_t U, index_t first, index_t limit,
                 detail::fft_row_buffers<T>* buffers) const {
    const index_t begin = std::max(first, t + 1), end = std::min(t + 1 + U, limit);
    if (begin >= end) return;
    const T* a = hist + (t + 1 - U);
    if (U < direct_below_) {
      // pending[t+1+m] += sum_j k[U+m-j] a[j]: j outer, so the m loop is a
      // contiguous axpy over both the taps and the outputs.
      const T* kc = head_taps_.data() + c * head_;
      const index_t m0 = begin - (t + 1), m1 = end - (t + 1);
      for (index_t j = 0; j < U; ++j) {
        const T aj = a[j];
        const T* kj = kc + U - j;
        for (index_t m = m0; m < m1; ++m) pending[t + 1 + m] += aj * kj[m];
      }
      return;
    }
    const level& lv = levels_[log2_exact(U / direct_below_)];
    T* input = buffers->input.data();
    std::copy_n(a, U, input);
    std::fill(input + U, input + 2 * U, T(0));
    std::complex<T>* spectrum = buffers->spectrum.data();
    lv.fft->forward(input, spectrum);
    detail::multiply_spectra(spectrum, lv.spectra.data() + c * lv.stride, U + 1);
    T* output = buffers->output.data();
    lv.fft->inverse(spectrum, output);
    // Linear convolution index U-1+m is output t+1+m; the circular wrap of
    // a size-2U transform lands only on indices below U-1.
    for (index_t o = begin; o < end; ++o) pending[o] += output[U - 1 + (o - t - 1)];
  }

 private:
  struct level {
    index_t block = 0, stride = 0;
    std::shared_ptr<const real_fft<T>> fft;
    detail::uninitialized_aligned_vector<complex_type> spectra;  // [channels][stride], written by forward FFTs
  };

  static index_t log2_exact(index_t v) noexcept {
    index_t b = 0;
    while (v > 1) v >>= 1, ++b;
    return b;
  }

  index_t channels_, capacity_, direct_below_, head_ = 0;
  std::vector<T> head_taps_;  // [channels][head_]: k[c][0 .. head_)
  std::vector<T> skip_;
  std::vector<level> levels_;
};

namespace detail {
struct online_state_access;
}

/// The decoding state of an online convolution of `batch` independent
/// sequences over `channels` channels: each row's inputs so far and the
/// pending contributions of finished blocks to its future outputs.
/// 2 * batch * channels * capacity values plus one FFT row per thread
/// (bytes()). One state per sequence batch; not thread-safe itself (the
/// calls on it split their work over threads).
template <class T>
class online_conv_state {
 public:
  online_conv_state(index_t batch, index_t channels, index_t capacity) : batch_(batch), channels_(channels), capacity_(capacity) {
    detail::require_positive(batch, "online_conv_state", "batch");
    detail::require_positive(channels, "online_conv_state", "channels");
    detail::require_positive(capacity, "online_conv_state", "capacity");
    const index_t values = detail::checked_mul(batch, channels, capacity, "batch*channels*capacity");
    detail::require_allocatable(values, 2 * sizeof(T), "online_conv_state (2*batch*channels*capacity)");
    history_.assign(values, T(0));
    pending_.assign(values, T(0));
  }

  index_t batch() const noexcept { return batch_; }
  index_t channels() const noexcept { return channels_; }
  index_t capacity() const noexcept { return capacity_; }
  /// Steps taken so far: the time index of the next input.
  index_t position() const noexcept { return position_; }
  /// Back to position 0 (keeps the memory).
  void reset() {
    std::fill(history_.begin(), history_.end(), T(0));
    std::fill(pending_.begin(), pending_.end(), T(0));
    position_ = 0;
  }
  index_t bytes() const noexcept {
    return (history_.size() + pending_.size()) * sizeof(T) + workspace_.bytes();
  }

  /// Row (b, c)'s inputs from time 0 (row = b * channels + c): owners that
  /// compute a prompt's inputs themselves write them here, then call
  /// online_conv_settle().
  T* history_row(index_t row) noexcept { return history_.data() + row * capacity_; }

 private:
  friend struct detail::online_state_access;
  T* pending_row(index_t row) noexcept { return pending_.data() + row * capacity_; }

  index_t batch_, channels_, capacity_, position_ = 0;
  detail::aligned_vector<T> history_, pending_;
  fft_conv_workspace<T> workspace_;
};

namespace detail {

struct online_state_access {
  template <class T>
  static T* pending_row(online_conv_state<T>& s, index_t row) noexcept { return s.pending_row(row); }
  template <class T>
  static fft_conv_workspace<T>& workspace(online_conv_state<T>& s) noexcept { return s.workspace_; }
  template <class T>
  static void set_position(online_conv_state<T>& s, index_t p) noexcept { s.position_ = p; }
};

/// An infinite input becomes NaN, so every output from its step on is NaN,
/// as causal_conv makes them (Inf times taps of both signs would otherwise
/// give a mix of +-Inf and NaN).
template <class T>
T nan_if_not_finite(T v) noexcept {
  return std::isfinite(v) ? v : std::numeric_limits<T>::quiet_NaN();
}

inline index_t lowest_power_of_two(index_t v) noexcept { return v & (~v + 1); }

template <class T>
void check_online_pair(const online_filter<T>& filter, const online_conv_state<T>& state, const char* function) {
  if (state.channels() != filter.channels())
    throw_invalid("hyena::", function, ": the state has ", state.channels(), " channels, the filter ",
                  filter.channels());
  if (state.capacity() > filter.capacity())
    throw_invalid("hyena::", function, ": the state's capacity ", state.capacity(), " exceeds the filter's ",
                  filter.capacity());
}

template <class T>
void check_online_prefill(const online_filter<T>& filter, const online_conv_state<T>& state, index_t length,
                          const char* function) {
  check_online_pair(filter, state, function);
  require_fresh_state_for(function, state.position(), length, state.capacity(), "steps");
}

// Work per row above which a block is split over threads: smaller blocks
// cost less than waking the pool.
constexpr index_t online_parallel_work = index_t(1) << 14;

/// Runs the block that ends at step t for every row: contributions to
/// outputs in [first, capacity).
template <class T>
void online_block(const online_filter<T>& filter, online_conv_state<T>& state, index_t t, index_t U, index_t first,
                  const execution_context& exec) {
  const index_t rows = state.batch() * state.channels(), C = state.channels(), cap = state.capacity();
  if (t + 1 >= cap || t + U < first) return;  // every target is beyond capacity or already emitted
  const bool fft = U >= filter.direct_below();
  const execution_context& run = rows * U * (fft ? 8 : U) >= online_parallel_work ? exec : execution_context::serial();
  auto& workspace = online_state_access::workspace(state);
  if (fft) workspace.reserve(filter.max_fft_size(), run.workers(rows));
  run.parallel_for(rows, [&](index_t r0, index_t r1, unsigned worker) {
    detail::fft_row_buffers<T>* buffers = fft ? &workspace.slot(worker) : nullptr;
    for (index_t r = r0; r < r1; ++r)
      filter.add_block(r % C, state.history_row(r), online_state_access::pending_row(state, r), t, U, first, cap,
                       buffers);
  });
}

}  // namespace detail

/// One step of the online convolution: x, y: [batch][channels], the inputs
/// and outputs of time position(); y may be x. Then advances position().
/// Amortised O(batch channels log^2 capacity); allocates only on the first
/// FFT block of a state (its per-thread row). Results do not depend on the
/// thread count. Throws std::invalid_argument (leaving the state unchanged)
/// when the state is full, its shape does not match the filter, or a span
/// has the wrong size.
template <class T>
void online_conv_step(const online_filter<T>& filter, online_conv_state<T>& state, span_arg<const T> x,
                      span_arg<T> y, const execution_context& exec = {}) {
  detail::check_online_pair(filter, state, "online_conv_step");
  const index_t rows = state.batch() * state.channels(), C = state.channels(), t = state.position();
  detail::require_size(x.size(), rows, "online_conv_step", "x", "batch*channels = ", state.batch(), "*", C);
  detail::require_size(y.size(), rows, "online_conv_step", "y", "batch*channels = ", state.batch(), "*", C);
  detail::require_room_for_a_step("online_conv_step", t, state.capacity(), "steps");
  for (index_t r = 0; r < rows; ++r) {
    const index_t c = r % C;
    const T xt = detail::nan_if_not_finite(x[r]);
    state.history_row(r)[t] = xt;
    y[r] = (detail::online_state_access::pending_row(state, r)[t] + filter.current_tap(c) * xt) + filter.skip(c) * xt;
  }
  detail::online_block(filter, state, t, detail::lowest_power_of_two(t + 1), t + 1, exec);
  detail::online_state_access::set_position(state, t + 1);
}

/// Makes a fresh state ready to continue after its history rows hold
/// x[0 .. length): adds to the pending rows every block the schedule has
/// run by then that reaches an output at or after `length` (one block per
/// size), and sets position() to length. O(batch channels length log length).
/// Throws std::invalid_argument (state unchanged) if the state is not fresh
/// or length exceeds its capacity.
template <class T>
void online_conv_settle(const online_filter<T>& filter, online_conv_state<T>& state, index_t length,
                        const execution_context& exec = {}) {
  detail::check_online_prefill(filter, state, length, "online_conv_settle");
  for (index_t U = 1; U <= length; U *= 2) {
    // Blocks of size U end at steps t = U-1 + 2U j; take the last one <= length-1.
    const index_t t = U - 1 + (length - U) / (2 * U) * (2 * U);
    detail::online_block(filter, state, t, U, length, exec);
  }
  detail::online_state_access::set_position(state, length);
}

/// Feeds a fresh state the first `length` inputs x: [batch][channels][length]
/// (channel-major) at once, leaving it as `length` steps would. The outputs
/// of those steps are not computed: causal_conv gives them in O(L log L).
/// Throws std::invalid_argument if the state is not fresh, length exceeds its
/// capacity, or x has the wrong size (the state is left unchanged).
template <class T>
void online_conv_prefill(const online_filter<T>& filter, online_conv_state<T>& state, index_t length,
                         span_arg<const T> x, const execution_context& exec = {}) {
  detail::check_online_prefill(filter, state, length, "online_conv_prefill");
  const index_t rows = state.batch() * state.channels();
  detail::require_size(x.size(), detail::checked_mul(rows, length, "batch*channels*length"), "online_conv_prefill",
                       "x", "batch*channels*length = ", state.batch(), "*", state.channels(), "*", length);
  for (index_t r = 0; r < rows; ++r)
    std::transform(x.data() + r * length, x.data() + (r + 1) * length, state.history_row(r),
                   detail::nan_if_not_finite<T>);
  online_conv_settle(filter, state, length, exec);
}

}  // namespace hyena
