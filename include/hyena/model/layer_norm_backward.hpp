// hyena/model/layer_norm_backward.hpp: gradients of LayerNorm (layer_norm.hpp).
//
// With x̂ = (x - mean) / sqrt(var + eps), y = x̂ ⊙ weight + bias, per row of width n:
//   dweight += sum_rows dy ⊙ x̂,   dbias += sum_rows dy,
//   dx = (g - mean(g) - x̂ mean(g ⊙ x̂)) / sqrt(var + eps),   g = dy ⊙ weight.
// Input gradients written, parameter gradients added to (conv/fft_conv_backward.hpp).
#pragma once

#include <cmath>
#include <vector>

#include "../core/config.hpp"
#include "../core/span.hpp"
#include "../detail/checks.hpp"
#include "layer_norm.hpp"

namespace hyena {

/// The gradients above for `rows` rows: x (the forward's input), dy, dx
/// [rows][width] (dx may be dy itself; it must not overlap x); weight
/// [width]; dweight, dbias [width], added to (empty when not wanted).
/// Statistics as the forward takes them (compensated mean), in double.
/// O(rows * width), rows in fixed blocks over `exec`'s threads; the sums over
/// rows are taken per block in double and added in block order, so they do
/// not depend on the thread count.
/// Throws std::invalid_argument on width 0, mismatched spans, or a bad eps.
template <class T>
void layer_norm_backward(index_t rows, index_t width, span_arg<const T> x, span_arg<const T> weight, double eps,
                         span_arg<const T> dy, span_arg<T> dx, span_arg<T> dweight, span_arg<T> dbias,
                         const execution_context& exec = {}) {
  const char* function = "layer_norm_backward";
  detail::require_positive(width, function, "width");
  check_layer_norm_epsilon(eps, function);
  const index_t n = detail::checked_mul(rows, width, "rows*width");
  detail::require_size(x.size(), n, function, "x", "rows*width = ", rows, "*", width);
  detail::require_size(dy.size(), n, function, "dy", "rows*width = ", rows, "*", width);
  detail::require_size(dx.size(), n, function, "dx", "rows*width = ", rows, "*", width);
  detail::require_size(weight.size(), width, function, "weight", "width = ", width);
  if (!dweight.empty()) detail::require_size(dweight.size(), width, function, "dweight", "width = ", width);
  if (!dbias.empty()) detail::require_size(dbias.size(), width, function, "dbias", "width = ", width);
  // dweight and dbias sum over rows: each fixed block of rows sums its own
  // in double, and the blocks are added in order, so the result does not
  // depend on the thread count.
  const bool parameters = !dweight.empty() || !dbias.empty();
  const index_t block = detail::layer_norm_block_rows, blocks = (rows + block - 1) / block;
  std::vector<double> partial(parameters ? detail::checked_mul(blocks, 2 * width, "blocks*2*width") : 0);
  exec.for_each_block(rows, block, [&](index_t first, index_t count) {
    std::vector<double> normalized(width);
    double* dw = parameters ? partial.data() + (first / block) * 2 * width : nullptr;
    double* db = parameters ? dw + width : nullptr;
    for (index_t r = first; r < first + count; ++r) {
      const T* xr = x.data() + r * width;
      const T* g = dy.data() + r * width;
      T* out = dx.data() + r * width;
      const detail::layer_norm_row_stats stats(xr, width, eps);
      double mean_g = 0, mean_gx = 0;
      for (index_t i = 0; i < width; ++i) {
        normalized[i] = stats.centred(double(xr[i])) * stats.rstd;
        const double gi = double(g[i]) * double(weight[i]);
        mean_g += gi;
        mean_gx += gi * normalized[i];
      }
      mean_g /= double(width);
      mean_gx /= double(width);
      for (index_t i = 0; i < width; ++i) {
        if (parameters) {
          dw[i] += double(g[i]) * normalized[i];
          db[i] += double(g[i]);
        }
        const double gi = double(g[i]) * double(weight[i]);
        out[i] = static_cast<T>((gi - mean_g - normalized[i] * mean_gx) * stats.rstd);
      }
    }
  });
  if (!parameters) return;
  for (index_t i = 0; i < width; ++i) {
    double w = 0, b = 0;
    for (index_t k = 0; k < blocks; ++k) {
      w += partial[k * 2 * width + i];
      b += partial[k * 2 * width + width + i];
    }
    if (!dweight.empty()) dweight[i] += static_cast<T>(w);
    if (!dbias.empty()) dbias[i] += static_cast<T>(b);
  }
}

}  // namespace hyena
