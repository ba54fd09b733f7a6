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
#include <type_traits>

#include "../core/config.hpp"
#include "../detail/exp_float.hpp"
#include "../detail/type_traits.hpp"
#include "../core/span.hpp"

namespace hyena {

namespace detail {
constexpr double sqrt_2_over_pi = 0.79788456080286535587989211986876;  // sqrt(2/pi), correctly rounded
constexpr double gelu_cubic = 0.044715;

/// The tanh argument y = sqrt(2/pi) (x + 0.044715 x^3), in T.
template <class T>
T gelu_inner(T x) noexcept {
  return static_cast<T>(sqrt_2_over_pi) * (x + static_cast<T>(gelu_cubic) * (x * x * x));
}
}  // namespace detail

/// The tanh-approximated GELU of one value, evaluated in T. Odd-symmetric
/// about its mean: gelu_tanh(x) - x/2 is odd. Saturates without overflow:
/// tanh(+-inf) = +-1, so +-inf map to +inf and 0, and NaN stays NaN.
///
/// double follows PyTorch's kernel literally. float uses the same function
/// in the form 0.5 x (1 + tanh y) = x / (1 + e^(-2y)) with a vectorizable
/// exp (detail/exp_float.hpp), so loops over it (gelu_tanh_inplace, the MLP)
/// run in SIMD: within 8 float ulps * max(1, |x|) of the formula, like
/// tanhf's form, and more accurate where 1 + tanh cancels (x < 0).
template <class T>
T gelu_tanh(T x) noexcept {
  static_assert(detail::is_real_v<T>, "hyena::gelu_tanh<T> needs T = float or double");
  if constexpr (std::is_same_v<T, float>) {
    // Branch-free (selects only), so callers' loops vectorize. Below -10 the
    // value is under 1e-36 and e^(-2y) would saturate: -0, as tanh -> -1 gives.
    const float e = detail::exp_float(-2.0f * detail::gelu_inner(x));
    const float g = x / (1.0f + e);
    return detail::select_float(x < -10.0f, -0.0f, g);
  } else {
    // The same evaluation order as PyTorch's kernel. x^3 overflows only where
    // tanh has long saturated, and tanh(+-inf) = +-1 is the right limit
    // there; only x = -inf itself needs care (-inf * 0).
    if (std::isinf(x)) return x > 0 ? x : T(0);
    return T(0.5) * x * (T(1) + std::tanh(detail::gelu_inner(x)));
  }
}

/// d/dx gelu_tanh(x) = 0.5 (1 + tanh y) + 0.5 x (1 - tanh^2 y) y'(x),
/// y = sqrt(2/pi) (x + 0.044715 x^3), y' = sqrt(2/pi) (1 + 3 * 0.044715 x^2).
/// 0 at -inf, 1 at +inf, NaN for NaN. float: with s = 1 / (1 + e^(-2y)) the
/// same is s + 2 x y' s (1 - s), branch-free like gelu_tanh<float>; beyond
/// |x| = 10 it is 0 or 1 to within 1e-35.
template <class T>
T gelu_tanh_derivative(T x) noexcept {
  static_assert(detail::is_real_v<T>, "hyena::gelu_tanh_derivative<T> needs T = float or double");
  constexpr T sqrt_2_over_pi = static_cast<T>(detail::sqrt_2_over_pi);
  constexpr T cubic = static_cast<T>(detail::gelu_cubic);
  if constexpr (std::is_same_v<T, float>) {
    const float e = detail::exp_float(-2.0f * detail::gelu_inner(x));
    const float s = 1.0f / (1.0f + e);
    const float dy = 2.0f * sqrt_2_over_pi * (1.0f + 3.0f * cubic * (x * x));
    const float d = s + x * dy * s * (e * s);  // 1 - s = e s, without cancellation
    return detail::select_float(x < -10.0f, 0.0f, detail::select_float(x > 10.0f, 1.0f, d));
  } else {
    if (std::isinf(x)) return x > 0 ? T(1) : T(0);
    const T th = std::tanh(detail::gelu_inner(x));
    return T(0.5) * (T(1) + th) + T(0.5) * x * (T(1) - th * th) * sqrt_2_over_pi * (T(1) + T(3) * cubic * x * x);
  }
}

/// x[i] = gelu_tanh(x[i]) for every element. O(n); no allocation.
/// Thread-safe for disjoint spans.
template <class T>
void gelu_tanh_inplace(span_arg<T> x) noexcept {
  T* p = x.data();
  const index_t n = x.size();
  for (index_t i = 0; i < n; ++i) p[i] = gelu_tanh(p[i]);
}

}  // namespace hyena
