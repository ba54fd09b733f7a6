// hyena/model/linear.hpp: PyTorch's Linear on rows, y = x W^T (+ b), as one
// tiled GEMM (Eigen's, or the BLAS that HYENA_BLAS chose), with the weight
// held as T or as BF16 (weight_matrix).
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <vector>

#include "../core/config.hpp"
#include "../core/execution.hpp"
#include "../core/span.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "weight_matrix.hpp"

namespace hyena {

/// y[r] = W x[r] (+ b) for `rows` rows: weight [out][in] (PyTorch's layout),
/// bias [out] or empty, x [rows][in], y [rows][out]; y must not overlap x.
/// Fixed tiles of 256 rows by 256 outputs over `exec`'s threads:
/// bit-identical for every thread count. Throws std::invalid_argument on
/// zero sizes or mismatched spans.
template <class T>
void linear(span_arg<const T> weight, span_arg<const T> bias, index_t out_features, index_t in_features,
            index_t rows, span_arg<const T> x, span_arg<T> y, const execution_context& exec = {}) {
  static_assert(detail::is_real_v<T>, "hyena::linear<T> needs T = float or double");
  using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  using tile_map = Eigen::Map<matrix, Eigen::Unaligned, Eigen::OuterStride<>>;
  detail::require_positive(out_features, "linear", "out_features");
  detail::require_positive(in_features, "linear", "in_features");
  detail::require_positive(rows, "linear", "rows");
  const index_t O = out_features, I = in_features;
  detail::require_size(weight.size(), detail::checked_mul(O, I, "out*in"), "linear", "weight", "out*in = ", O, "*",
                       I);
  if (!bias.empty()) detail::require_size(bias.size(), O, "linear", "bias", "out = ", O);
  detail::require_size(x.size(), detail::checked_mul(rows, I, "rows*in"), "linear", "x", "rows*in = ", rows, "*", I);
  detail::require_size(y.size(), detail::checked_mul(rows, O, "rows*out"), "linear", "y", "rows*out = ", rows, "*", O);
  const Eigen::Map<const row_matrix> w(weight.data(), Eigen::Index(O), Eigen::Index(I));
  // Row-major [rows][width] data is a column-major width x rows matrix: Y = W X.
  exec.for_each_tile(rows, 256, O, 256, I, [&](index_t r0, index_t n, index_t o0, index_t m) {
    const Eigen::Map<const matrix> xb(x.data() + r0 * I, Eigen::Index(I), Eigen::Index(n));
    tile_map yb(y.data() + r0 * O + o0, Eigen::Index(m), Eigen::Index(n), Eigen::OuterStride<>(O));
    yb.noalias() = w.middleRows(Eigen::Index(o0), Eigen::Index(m)) * xb;
    if (!bias.empty()) yb.colwise() += Eigen::Map<const vector>(bias.data() + o0, Eigen::Index(m));
  });
}

namespace detail {

/// sum_i w[i] x[i] for BF16 weights w widened to T, in 32 interleaved
/// partial sums added in a fixed tree: four vectors of eight floats in flight
/// (one chain of eight would wait on the FMA latency, at half the speed), in
/// an order that fixes the bits on every ISA.
template <class T>
T bf16_dot(const std::uint16_t* w, const T* x, index_t n) noexcept {
  constexpr index_t lanes = 32;
  T lane[lanes] = {};
  index_t i = 0;
  for (; i + lanes <= n; i += lanes)
    for (index_t k = 0; k < lanes; ++k) lane[k] += T(bf16_to_float(w[i + k])) * x[i + k];
  for (index_t k = 0; k < lanes && i + k < n; ++k) lane[k] += T(bf16_to_float(w[i + k])) * x[i + k];
  for (index_t width = lanes / 2; width >= 1; width /= 2)
    for (index_t k = 0; k < width; ++k) lane[k] += lane[k + width];
  return lane[0];
}

/// Rows of one call below this go through matrix-vector products that widen
/// BF16 weights as they stream them (a decode step: the weights' memory
/// traffic is the cost); from it up, through the GEMM on widened panels.
inline constexpr index_t bf16_vector_rows = 8;

/// Y = X W^T (+ b) for a weight_matrix: W [O][I], X rows of I with row
/// stride ldx, Y rows of O with row stride ldy, bias [O] or null. Sizes are
/// the caller's to check. T storage: fixed tiles of 256 rows by 256 outputs,
/// each one GEMM. BF16 storage: the same tiles, each GEMM on the tile's
/// panel of weights widened to T (bit-identical to T storage of the same
/// values), or, under bf16_vector_rows rows, bf16_dot of each weight row
/// with each row of X (widened as it streams by). Either way the
/// result does not depend on the thread count.
template <class T>
void weight_product(const weight_matrix<T>& w, const T* bias, index_t O, index_t I, index_t rows, const T* x,
                    index_t ldx, T* y, index_t ldy, const execution_context& exec) {
  using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  using tile_map = Eigen::Map<matrix, Eigen::Unaligned, Eigen::OuterStride<>>;
  using const_tile_map = Eigen::Map<const matrix, Eigen::Unaligned, Eigen::OuterStride<>>;
  constexpr index_t tile = 256;
  // One tile of outputs [o0, o0 + m) for rows [r0, r0 + n), from weight rows `panel` (m x I, row-major).
  const auto tile_product = [&](const T* panel, index_t r0, index_t n, index_t o0, index_t m) {
    const const_tile_map xb(x + r0 * ldx, Eigen::Index(I), Eigen::Index(n), Eigen::OuterStride<>(ldx));
    tile_map yb(y + r0 * ldy + o0, Eigen::Index(m), Eigen::Index(n), Eigen::OuterStride<>(ldy));
    yb.noalias() = Eigen::Map<const row_matrix>(panel, Eigen::Index(m), Eigen::Index(I)) * xb;
    if (bias != nullptr) yb.colwise() += Eigen::Map<const vector>(bias + o0, Eigen::Index(m));
  };
  if (!w.is_bf16()) {
    exec.for_each_tile(rows, tile, O, tile, I, [&](index_t r0, index_t n, index_t o0, index_t m) {
      tile_product(w.values.data() + o0 * I, r0, n, o0, m);
    });
    return;
  }
  const std::uint16_t* bits = w.bf16_bits.data();
  if (rows < bf16_vector_rows) {
    exec.parallel_for(O, 2 * rows * I, [&](index_t first, index_t last, unsigned) {
      for (index_t o = first; o < last; ++o)
        for (index_t r = 0; r < rows; ++r)
          y[r * ldy + o] = bf16_dot(bits + o * I, x + r * ldx, I) + (bias != nullptr ? bias[o] : T(0));
    });
    return;
  }
  // Each worker's widened panel, allocated once per call (not per tile):
  // small beside the GEMM it feeds, and freed with the call (a thread_local
  // buffer would outlive it in the pool's threads).
  const index_t panels = (O + tile - 1) / tile, panel_size = detail::checked_mul(std::min(O, tile), I, "tile*in");
  const index_t work = 2 * tile * I * rows;
  std::vector<T> widened(detail::checked_mul(exec.workers(panels, work), panel_size, "workers*tile*in"));
  exec.parallel_for(panels, work, [&](index_t first, index_t last, unsigned worker) {
    T* panel = widened.data() + worker * panel_size;
    for (index_t p = first; p < last; ++p) {
      const index_t o0 = p * tile, m = O - o0 < tile ? O - o0 : tile;
      const std::uint16_t* src = bits + o0 * I;
      for (index_t k = 0; k < m * I; ++k) panel[k] = T(bf16_to_float(src[k]));
      for (index_t r0 = 0; r0 < rows; r0 += tile)
        tile_product(panel, r0, rows - r0 < tile ? rows - r0 : tile, o0, m);
    }
  });
}

}  // namespace detail

/// linear() with the weight as a weight_matrix (T or BF16 storage; see
/// detail::weight_product for how each is computed). Same contract.
template <class T>
void linear(const weight_matrix<T>& weight, span_arg<const T> bias, index_t out_features, index_t in_features,
            index_t rows, span_arg<const T> x, span_arg<T> y, const execution_context& exec = {}) {
  static_assert(detail::is_real_v<T>, "hyena::linear<T> needs T = float or double");
  detail::require_positive(out_features, "linear", "out_features");
  detail::require_positive(in_features, "linear", "in_features");
  detail::require_positive(rows, "linear", "rows");
  const index_t O = out_features, I = in_features;
  weight.check_size(detail::checked_mul(O, I, "out*in"), "linear", "weight", "out*in");
  if (!bias.empty()) detail::require_size(bias.size(), O, "linear", "bias", "out = ", O);
  detail::require_size(x.size(), detail::checked_mul(rows, I, "rows*in"), "linear", "x", "rows*in = ", rows, "*", I);
  detail::require_size(y.size(), detail::checked_mul(rows, O, "rows*out"), "linear", "y", "rows*out = ", rows, "*", O);
  detail::weight_product(weight, bias.empty() ? nullptr : bias.data(), O, I, rows, x.data(), I, y.data(), O, exec);
}

}  // namespace hyena
