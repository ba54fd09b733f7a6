// hyena/model/linear.hpp: PyTorch's Linear on rows, y = x W^T (+ b), as one
// tiled GEMM (Eigen's, or the BLAS that HYENA_BLAS chose).
#pragma once

#include <Eigen/Core>

#include "../core/config.hpp"
#include "../core/execution.hpp"
#include "../core/span.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"

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

}  // namespace hyena
