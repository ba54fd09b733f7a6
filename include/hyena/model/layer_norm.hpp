// hyena/model/layer_norm.hpp: LayerNorm over the last axis, with weight and bias (docs/language_model.md).
//
//   y[r][i] = (x[r][i] - mean_r) / sqrt(var_r + eps) * weight[i] + bias[i]
//
// mean_r and var_r over the `width` values of row r; var is the biased
// (divide by width) variance, as torch.nn.LayerNorm computes it.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "../core/config.hpp"
#include "../core/execution.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "../core/span.hpp"

namespace hyena {

/// The parameters of one LayerNorm: PyTorch's `weight` (gamma) and `bias`
/// (beta), both [width].
template <class T>
struct layer_norm_weights {
  std::vector<T> weight;  ///< [width]
  std::vector<T> bias;    ///< [width]

  index_t width() const noexcept { return weight.size(); }

  /// Throws std::invalid_argument, naming `name`, unless both are [width]
  /// and finite.
  void validate(index_t expected_width, const std::string& name) const {
    if (weight.size() != expected_width || bias.size() != expected_width)
      detail::throw_invalid("hyena::layer_norm_weights: ", name, " has weight ", weight.size(), " and bias ",
                            bias.size(), " elements, expected width = ", expected_width, " each");
    detail::require_finite(weight, "layer_norm_weights", name + ".weight");
    detail::require_finite(bias, "layer_norm_weights", name + ".bias");
  }
};

/// Throws std::invalid_argument unless eps is finite and >= 0.
inline void check_layer_norm_epsilon(double eps, const char* function) {
  if (!(eps >= 0) || !std::isfinite(eps))
    detail::throw_invalid("hyena::", function, ": layer_norm_epsilon must be finite and >= 0, got ", eps);
}

namespace detail {

/// One row's LayerNorm statistics, in double: the mean as an unevaluated
/// sum mean + lo, and 1 / sqrt(var + eps). A row with a large common offset
/// loses |offset|/spread ulps in the first sum, and even the correctly
/// rounded mean is off by half an ulp of the offset, which every x - mean
/// would carry. x - mean is exact near the mean (Sterbenz), and the small
/// remainder lo fixes the rest. centred(v) = (v - mean) - lo.
struct layer_norm_row_stats {
  double mean = 0, lo = 0, rstd = 0;

  template <class T>
  layer_norm_row_stats(const T* x, index_t width, double eps) {
    double sum = 0;
    for (index_t i = 0; i < width; ++i) sum += double(x[i]);
    mean = sum / double(width);
    double residue = 0;
    for (index_t i = 0; i < width; ++i) residue += double(x[i]) - mean;
    lo = residue / double(width);
    double squares = 0;
    for (index_t i = 0; i < width; ++i) {
      const double c = centred(double(x[i]));
      squares += c * c;
    }
    rstd = 1.0 / std::sqrt(squares / double(width) + eps);
  }

  double centred(double v) const noexcept { return (v - mean) - lo; }
};

/// Rows per block when LayerNorm is split over threads: enough work per
/// block (64 rows of a few hundred values) to pay for a hand-off.
inline constexpr index_t layer_norm_block_rows = 64;

}  // namespace detail

/// The LayerNorm above on `rows` rows of `width` values: x, y [rows][width]
/// (row-major, each row contiguous); weight, bias [width]. y may be x itself
/// (each row's statistics are taken before it is overwritten) but must not
/// partially overlap it. Statistics are accumulated in double: the mean
/// (with a correction term), then the centred sum of squares, so a row with a large
/// common offset keeps its variance; a constant row gives y = bias when
/// eps > 0. O(rows * width); no allocation. Rows are shared out over `exec`'s
/// threads in fixed blocks (each row's result is independent of the split).
/// Thread-safe for disjoint outputs.
/// Throws std::invalid_argument on width 0, mismatched spans, or eps
/// negative or not finite.
template <class T>
void layer_norm(index_t rows, index_t width, span_arg<const T> x,
                span_arg<const T> weight, span_arg<const T> bias, double eps,
                span_arg<T> y, const execution_context& exec = {}) {
  static_assert(detail::is_real_v<T>, "hyena::layer_norm<T> needs T = float or double");
  detail::require_positive(width, "layer_norm", "width");
  check_layer_norm_epsilon(eps, "layer_norm");
  const index_t n = detail::checked_mul(rows, width, "rows*width");
  detail::require_size(x.size(), n, "layer_norm", "x", "rows*width = ", rows, "*", width);
  detail::require_size(y.size(), n, "layer_norm", "y", "rows*width = ", rows, "*", width);
  detail::require_size(weight.size(), width, "layer_norm", "weight", "width = ", width);
  detail::require_size(bias.size(), width, "layer_norm", "bias", "width = ", width);
  exec.for_each_block(rows, detail::layer_norm_block_rows, [&](index_t first, index_t count) {
    for (index_t r = first; r < first + count; ++r) {
      const T* xr = x.data() + r * width;
      T* yr = y.data() + r * width;
      const detail::layer_norm_row_stats stats(xr, width, eps);
      for (index_t i = 0; i < width; ++i)
        yr[i] = static_cast<T>(stats.centred(double(xr[i])) * stats.rstd * double(weight[i]) + double(bias[i]));
    }
  });
}

}  // namespace hyena
