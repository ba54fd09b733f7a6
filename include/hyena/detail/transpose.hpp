// hyena/detail/transpose.hpp: batched matrix transposes between the module
// layout [batch][time][channel] and the operators' [batch][channel][time].
#pragma once

#include <algorithm>

#include "../core/config.hpp"
#include "../core/execution.hpp"

namespace hyena::detail {

/// dst[b][j][i] = src[b][i][j] for `batch` matrices of rows x cols, in
/// square tiles (both sides' cache lines used whole) split over `exec`'s
/// threads by bands of rows of dst. src and dst must not overlap.
template <class T>
void transpose_batches(index_t batch, index_t rows, index_t cols, const T* src, T* dst,
                       const execution_context& exec) {
  constexpr index_t tile = 32;
  const index_t bands = (cols + tile - 1) / tile;  // bands of dst rows (src columns)
  exec.parallel_for(batch * bands, 2 * tile * rows, [&](index_t first, index_t last, unsigned) {
    for (index_t item = first; item < last; ++item) {
      const index_t b = item / bands, j0 = (item % bands) * tile, j1 = std::min(cols, j0 + tile);
      const T* s = src + b * rows * cols;
      T* d = dst + b * rows * cols;
      for (index_t i0 = 0; i0 < rows; i0 += tile) {
        const index_t i1 = std::min(rows, i0 + tile);
        for (index_t j = j0; j < j1; ++j)
          for (index_t i = i0; i < i1; ++i) d[j * rows + i] = s[i * cols + j];
      }
    }
  });
}

}  // namespace hyena::detail
