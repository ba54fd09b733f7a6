// hyena/model/gelu.hpp: the GELU activation in its tanh approximation (docs/language_model.md).
//
//   gelu_tanh(x) = 0.5 x (1 + tanh( sqrt(2/pi) (x + 0.044715 x^3) ))
//
// HyenaDNA's and safari's MLPs use this form (PyTorch's
// F.gelu(approximate="tanh")), not the exact 0.5 x (1 + erf(x / sqrt 2)). The
// two differ by up to ~5e-4 near |x| ~ 2, yet on a whole model dump by only
// ~1e-6 relative, so a port can pick the wrong one and still look right.
#pragma once

#include <cmath>

#include "../core/config.hpp"
#include "../detail/type_traits.hpp"
#include "../core/span.hpp"

namespace hyena {

/// The tanh-approximated GELU of one value, evaluated in T. Odd-symmetric
/// about its mean: gelu_tanh(x) - x/2 is odd. Saturates without overflow:
/// tanh(+-inf) = +-1, so +-inf map to +inf and 0, and NaN stays NaN.
template <class T>
T gelu_tanh(T x) noexcept {
  static_assert(detail::is_real_v<T>, "hyena::gelu_tanh<T> needs T = float or double");
  // sqrt(2/pi), correctly rounded to double; PyTorch folds the same constant.
  constexpr T sqrt_2_over_pi = static_cast<T>(0.79788456080286535587989211986876);
  constexpr T cubic = static_cast<T>(0.044715);
  // The same evaluation order as PyTorch's kernel. x^3 overflows only where
  // tanh has long saturated (|x| > 1e12 in float), and tanh(+-inf) = +-1 is
  // the right limit there; only x = -inf itself needs care (-inf * 0).
  if (std::isinf(x)) return x > 0 ? x : T(0);
  const T inner = sqrt_2_over_pi * (x + cubic * (x * x * x));
  return T(0.5) * x * (T(1) + std::tanh(inner));
}

/// x[i] = gelu_tanh(x[i]) for every element. O(n); no allocation.
/// Thread-safe for disjoint spans.
template <class T>
void gelu_tanh_inplace(span_arg<T> x) noexcept {
  for (index_t i = 0; i < x.size(); ++i) x[i] = gelu_tanh(x[i]);
}

}  // namespace hyena
