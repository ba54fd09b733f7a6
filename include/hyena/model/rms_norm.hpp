// hyena/model/rms_norm.hpp: RMSNorm as StripedHyena 2 (Evo 2) computes it
// (vortex's layers.py, non-flash path):
//
//   y[r][i] = scale[i] * x[r][i] / (rms_r + eps),   rms_r = sqrt(mean_i x[r][i]^2)
//
// eps is added to the root, not under it (SPEC.md 2), unlike most RMSNorms.
#pragma once

#include <cmath>

#include "../core/config.hpp"
#include "../core/execution.hpp"
#include "../core/span.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"

namespace hyena {

/// y = RMSNorm(x) for `rows` rows of `width`: x, y [rows][width], scale
/// [width]. The row's sum of squares is accumulated in double. y may be x
/// itself. Rows are split over `exec`'s threads (each row is computed the
/// same way by any thread). Throws std::invalid_argument on zero sizes,
/// mismatched spans, or eps negative or not finite.
template <class T>
void rms_norm(index_t rows, index_t width, span_arg<const T> x, span_arg<const T> scale, double eps, span_arg<T> y,
              const execution_context& exec = {}) {
  static_assert(detail::is_real_v<T>, "hyena::rms_norm<T> needs T = float or double");
  detail::require_positive(rows, "rms_norm", "rows");
  detail::require_positive(width, "rms_norm", "width");
  const index_t n = detail::checked_mul(rows, width, "rows*width");
  detail::require_size(x.size(), n, "rms_norm", "x", "rows*width = ", rows, "*", width);
  detail::require_size(y.size(), n, "rms_norm", "y", "rows*width = ", rows, "*", width);
  detail::require_size(scale.size(), width, "rms_norm", "scale", "width = ", width);
  if (!(eps >= 0) || !std::isfinite(eps))
    detail::throw_invalid("hyena::rms_norm: eps must be finite and >= 0, got ", eps);
  exec.parallel_for(rows, 3 * width, [&](index_t first, index_t last, unsigned) {
    for (index_t r = first; r < last; ++r) {
      const T* xr = x.data() + r * width;
      T* yr = y.data() + r * width;
      double squares = 0;
      for (index_t i = 0; i < width; ++i) squares += double(xr[i]) * double(xr[i]);
      // An all-zero row with eps = 0 stays zero (its limit), not 0/0.
      const double root = std::sqrt(squares / double(width)) + eps;
      const double inverse = root > 0 ? 1.0 / root : 0.0;
      for (index_t i = 0; i < width; ++i) yr[i] = T(double(scale[i]) * (double(xr[i]) * inverse));
    }
  });
}

}  // namespace hyena
