// hyena/conv/direct_conv.hpp: the causal convolution computed directly, O(L^2).
//
// The obviously-correct definition, the reference the FFT path is tested
// against (no fast path uses it). Each sum is accumulated
// in at least double precision (long double for T = double), so its result is
// good to the rounding of T itself.
#pragma once

#include <algorithm>

#include "../core/config.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "../core/shape.hpp"
#include "../core/span.hpp"

namespace hyena {

/// y[b,c,t] = sum_{s=0..t} k[c,s] u[b,c,t-s] + D[c] u[b,c,t].
/// k: [channels][length]; skip: [channels] or empty; u, y: [batch][channels][length].
/// y must not overlap u. Throws std::invalid_argument on zero sizes or
/// mismatched spans.
template <class T>
void direct_causal_conv(span_arg<const T> k,
                        span_arg<const T> skip, const signal_shape& shape,
                        span_arg<const T> u, span_arg<T> y) {
  using wide = detail::wide_t<T>;
  shape.require_nonempty("direct_causal_conv");
  const index_t C = shape.channels, L = shape.length;
  detail::require_size(k.size(), detail::checked_mul(C, L, "channels*length"), "direct_causal_conv", "k",
                       "channels*length = ", C, "*", L);
  if (!skip.empty())
    detail::require_size(skip.size(), C, "direct_causal_conv", "skip", "channels = ", C);
  detail::require_size(u.size(), shape.elements(), "direct_causal_conv", "u", shape);
  detail::require_size(y.size(), shape.elements(), "direct_causal_conv", "y", shape);
  for (index_t row = 0; row < shape.rows(); ++row) {
    const index_t c = row % C;
    const T* kc = k.data() + c * L;
    const T* ur = u.data() + row * L;
    T* yr = y.data() + row * L;
    const wide d = skip.empty() ? wide(0) : wide(skip[c]);
    for (index_t t = 0; t < L; ++t) {
      wide acc = d * wide(ur[t]);
      for (index_t s = 0; s <= t; ++s) acc += wide(kc[s]) * wide(ur[t - s]);
      yr[t] = static_cast<T>(acc);
    }
  }
}

}  // namespace hyena
