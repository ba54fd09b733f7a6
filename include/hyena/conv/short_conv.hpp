// hyena/conv/short_conv.hpp: the depthwise causal short convolution (Hyena's "short filter").
//
//   y[b,c,t] = bias[c] + sum_{j=0..K-1} w[c,j] * u[b,c,t-(K-1)+j],   u = 0 before t = 0
//
// PyTorch's Conv1d(C, C, K, groups=C, padding=K-1) truncated to the first L
// outputs: a cross-correlation in which tap K-1 multiplies the current sample
// and tap 0 the sample K-1 steps back (docs/operator.md, step 2).
#pragma once

#include <algorithm>
#include <vector>

#include "../core/config.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "../core/shape.hpp"
#include "../core/span.hpp"

namespace hyena {

/// The short convolution above. weight: [channels][kernel_size] (PyTorch's
/// [C, 1, K] weight, squeezed); bias: [channels] or empty; u, y:
/// [batch][channels][length]. y may be u itself (in place is exact) but must
/// not partially overlap it. O(B C L K), no allocation for K <= 64.
/// Throws std::invalid_argument on zero sizes or mismatched spans.
template <class T>
void short_causal_conv(span_arg<const T> weight,
                       span_arg<const T> bias, index_t kernel_size,
                       const signal_shape& shape, span_arg<const T> u,
                       span_arg<T> y) {
  shape.require_nonempty("short_causal_conv");
  detail::require_positive(kernel_size, "short_causal_conv", "kernel_size");
  const index_t C = shape.channels, L = shape.length, K = kernel_size;
  detail::require_size(weight.size(), detail::checked_mul(C, K, "channels*kernel_size"),
                       "short_causal_conv", "weight",
                       "channels*kernel_size = ", C, "*", K);
  if (!bias.empty())
    detail::require_size(bias.size(), C, "short_causal_conv", "bias", "channels = ", C);
  detail::require_size(u.size(), shape.elements(), "short_causal_conv", "u", shape);
  detail::require_size(y.size(), shape.elements(), "short_causal_conv", "y", shape);
  // Rows are done in blocks of `block` steps through a copy of the block's
  // inputs and the K-1 before it, so the output may overwrite the input and
  // the tap loops vectorise (the output never aliases the copy).
  constexpr index_t block = 256, stack_taps = 64;
  T stack_buffer[block + stack_taps - 1];
  std::vector<T> heap_buffer;
  T* buffer = stack_buffer;
  if (K > stack_taps) {
    heap_buffer.resize(block + K - 1);
    buffer = heap_buffer.data();
  }
  for (index_t row = 0; row < shape.rows(); ++row) {
    const index_t c = row % C;
    const T* w = weight.data() + c * K;
    const T b = bias.empty() ? T(0) : bias[c];
    const T* ur = u.data() + row * L;
    T* yr = y.data() + row * L;
    std::fill(buffer, buffer + K - 1, T(0));  // zeros before t = 0
    for (index_t t0 = 0; t0 < L; t0 += block) {
      const index_t n = std::min(block, L - t0);
      std::copy(ur + t0, ur + t0 + n, buffer + K - 1);
      T* out = yr + t0;
      std::fill(out, out + n, b);
      for (index_t j = 0; j < K; ++j) {  // tap j reads the sample K-1-j steps back
        const T wj = w[j];
        const T* in = buffer + j;
        for (index_t t = 0; t < n; ++t) out[t] += wj * in[t];
      }
      // The last K-1 inputs of this block precede the next one.
      std::copy(buffer + n, buffer + n + K - 1, buffer);
    }
  }
}

/// The past a step-by-step short convolution carries: the last K-1 inputs
/// of every row (zeros before t = 0), oldest first. batch*channels*(K-1)
/// values (bytes()).
template <class T>
class short_conv_state {
 public:
  short_conv_state(index_t batch, index_t channels, index_t kernel_size)
      : rows_(detail::checked_mul(batch, channels, "batch*channels")), kernel_size_(kernel_size) {
    detail::require_positive(batch, "short_conv_state", "batch");
    detail::require_positive(channels, "short_conv_state", "channels");
    detail::require_positive(kernel_size, "short_conv_state", "kernel_size");
    const index_t values = detail::checked_mul(rows_, kernel_size - 1, "rows*(kernel_size-1)");
    detail::require_allocatable(values, sizeof(T), "short_conv_state (batch*channels*(kernel_size-1))");
    tail_.assign(values, T(0));
  }
  index_t rows() const noexcept { return rows_; }
  index_t kernel_size() const noexcept { return kernel_size_; }
  index_t bytes() const noexcept { return tail_.size() * sizeof(T); }
  /// [rows][K-1]: each row's last K-1 inputs, oldest first.
  span<const T> values() const noexcept { return tail_; }
  void reset() { std::fill(tail_.begin(), tail_.end(), T(0)); }

  /// Row `row` has seen x[0 .. length): keep its last K-1 values (zeros
  /// where length < K-1), as `length` steps would have.
  void remember(index_t row, const T* x, index_t length) noexcept {
    T* tail = tail_.data() + row * (kernel_size_ - 1);
    for (index_t j = 0; j + 1 < kernel_size_; ++j) {
      const index_t t = length + j;  // time length-(K-1)+j, shifted to stay unsigned
      tail[j] = t >= kernel_size_ - 1 ? x[t - (kernel_size_ - 1)] : T(0);
    }
  }

  /// One step of row `row` with the current input x: returns
  /// bias + sum_j w[j] * (the K-1 inputs before, then x), summed in the order
  /// short_causal_conv sums, and moves x into the past.
  T step(index_t row, const T* w, T bias, T x) noexcept {
    T* tail = tail_.data() + row * (kernel_size_ - 1);
    T acc = bias;
    for (index_t j = 0; j + 1 < kernel_size_; ++j) acc += w[j] * tail[j];
    acc += w[kernel_size_ - 1] * x;
    if (kernel_size_ > 1) {
      std::copy(tail + 1, tail + kernel_size_ - 1, tail);
      tail[kernel_size_ - 2] = x;
    }
    return acc;
  }

 private:
  index_t rows_, kernel_size_;
  std::vector<T> tail_;
};

}  // namespace hyena
