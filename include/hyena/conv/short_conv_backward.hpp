// hyena/conv/short_conv_backward.hpp: gradients of the depthwise short convolution.
//
// For y[b,c,t] = bias[c] + sum_j w[c,j] u[b,c,t-(K-1)+j] (short_conv.hpp):
//
//   du[b,c,t]  = sum_j w[c,j] dy[b,c,t+(K-1)-j]        (dy past L is 0)
//   dw[c,j]   += sum_b sum_t dy[b,c,t] u[b,c,t-(K-1)+j] (u before 0 is 0)
//   dbias[c]  += sum_b sum_t dy[b,c,t]
//
// Input gradients written, parameter gradients added to (fft_conv_backward.hpp).
#pragma once

#include <algorithm>

#include "../core/config.hpp"
#include "../core/shape.hpp"
#include "../core/span.hpp"
#include "../detail/checks.hpp"
#include "../detail/lane_sum.hpp"

namespace hyena {

/// The gradients above. weight: [channels][kernel_size]; u, dy, du:
/// [batch][channels][length]; dweight: [channels][kernel_size] and dbias:
/// [channels] (empty when not wanted), added to. du must not overlap u or
/// dy. O(B C L K), no allocation; the sums over time in a fixed order
/// (detail/lane_sum.hpp: eight interleaved partial sums, vectorized).
/// Throws std::invalid_argument on zero sizes or mismatched spans.
template <class T>
void short_causal_conv_backward(span_arg<const T> weight, index_t kernel_size, const signal_shape& shape,
                                span_arg<const T> u, span_arg<const T> dy, span_arg<T> du, span_arg<T> dweight,
                                span_arg<T> dbias) {
  const char* function = "short_causal_conv_backward";
  shape.require_nonempty(function);
  detail::require_positive(kernel_size, function, "kernel_size");
  const index_t C = shape.channels, L = shape.length, K = kernel_size;
  const index_t taps = detail::checked_mul(C, K, "channels*kernel_size");
  detail::require_size(weight.size(), taps, function, "weight", "channels*kernel_size = ", C, "*", K);
  detail::require_size(u.size(), shape.elements(), function, "u", shape);
  detail::require_size(dy.size(), shape.elements(), function, "dy", shape);
  detail::require_size(du.size(), shape.elements(), function, "du", shape);
  if (!dweight.empty())
    detail::require_size(dweight.size(), taps, function, "dweight", "channels*kernel_size = ", C, "*", K);
  if (!dbias.empty()) detail::require_size(dbias.size(), C, function, "dbias", "channels = ", C);
  for (index_t row = 0; row < shape.rows(); ++row) {
    const index_t c = row % C;
    const T* w = weight.data() + c * K;
    const T* ur = u.data() + row * L;
    const T* g = dy.data() + row * L;
    T* dur = du.data() + row * L;
    // Tap j moves u[t - s] to y[t] with s = K-1-j steps of delay: its
    // gradient pulls dy[t + s] back to t.
    std::fill(dur, dur + L, T(0));
    for (index_t j = 0; j < K; ++j) {
      const index_t s = K - 1 - j;
      if (s >= L) continue;
      const T wj = w[j];
      for (index_t t = 0; t + s < L; ++t) dur[t] += wj * g[t + s];
      if (!dweight.empty()) dweight[c * K + j] += detail::lane_dot(g + s, ur, L - s);
    }
    if (!dbias.empty()) dbias[c] += detail::lane_sum(g, L);
  }
}

}  // namespace hyena
