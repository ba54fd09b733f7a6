// hyena/detail/row_sums.hpp: bias gradients (sums over time of a [width][time]
// matrix) with the same bits wherever the gradient vector lives in memory.
//
// Eigen assigns `out += m.rowwise().sum()` packet by packet from out's first
// aligned element; the elements before it take the scalar path, which adds a
// row's columns in another order than the packet path. So which rows round
// which way followed the address of `out` (a std::vector's, 16-byte aligned
// by malloc): bias gradients differed in their last bits from run to run and
// between thread counts (measured: 6-8 of 128-256 elements). Summing into an
// Eigen vector first, aligned by Eigen, ties each row's path to its index.
#pragma once

#include <Eigen/Core>

#include "../core/config.hpp"

namespace hyena::detail {

/// out[i] += sum over columns of m's row i, for i < m.rows().
template <class Derived>
void add_row_sums(const Eigen::MatrixBase<Derived>& m, typename Derived::Scalar* out) {
  using T = typename Derived::Scalar;
  const Eigen::Matrix<T, Eigen::Dynamic, 1> sums = m.rowwise().sum();
  Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>(out, sums.size()) += sums;
}

}  // namespace hyena::detail
