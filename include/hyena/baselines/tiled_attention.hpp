// hyena/baselines/tiled_attention.hpp: FlashAttention-style causal attention:
// query and key tiles, the online softmax, O(tile^2) extra memory.
#pragma once

#include <algorithm>
#include <cmath>

#include "../core/config.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "../core/span.hpp"
#include "attention_common.hpp"

namespace hyena {
namespace detail {

/// Elements of scratch one thread of the banded kernel below needs: a score
/// tile and two running statistics per query row. Tiles never exceed the
/// sequence.
inline index_t online_softmax_head_scratch(index_t length, index_t query_tile, index_t key_tile) {
  const index_t rows = std::min(query_tile, length), cols = std::min(key_tile, length);
  return checked_mul(rows, cols, "query_tile*key_tile") + 2 * rows;
}

/// Elements of scratch the banded kernel below needs on `exec`'s threads:
/// one slice of online_softmax_head_scratch per worker.
template <class T>
index_t online_softmax_scratch(const attention_shape& shape, index_t query_tile, index_t key_tile,
                               const execution_context& exec) {
  return attention_scratch_size<T>(online_softmax_head_scratch(shape.length, query_tile, key_tile),
                                   attention_workers(exec, shape));
}

/// Softmax attention of every head with the online softmax: query t attends
/// keys max(0, t-window+1)..t (window >= length gives full causal attention).
///
/// For each query tile, key tiles run from the first key its earliest query
/// sees up to its last query, so tiles wholly above the diagonal (or wholly
/// before the window) are never touched. Per key tile: S = Q_tile K_tile^T
/// (GEMM), then per row the running maximum m and sum l are updated, with
/// c = 1/sqrt(head_dim) and s over the row's visible keys,
///   m' = max(m, max_s S[s]),  P[s] = exp((S[s] - m') c),  l' = l e^{(m-m')c} + sum_s P[s],
/// the partial output row is rescaled by e^{(m-m')c}, and O_tile += P V_tile
/// (GEMM); at the end O_tile /= l. Only tiles that cut the diagonal or the
/// window's edge have rows with masked columns; their P entries are exact
/// zeros, so masked keys never reach the output. The output block itself is
/// the accumulator, so the scratch is one score tile plus m and l per thread.
/// Heads are shared out over `threads` threads; `scratch` holds
/// online_softmax_scratch<T>(shape, query_tile, key_tile, threads) elements.
template <class T>
void online_softmax_attention(const attention_shape& shape, const T* q, const T* k, const T* v,
                              T* o, index_t window, index_t query_tile, index_t key_tile,
                              const execution_context& exec, T* scratch) {
  using Eigen::Index;
  const index_t L = shape.length, dh = shape.head_dim, block = shape.head_elements();
  const T scale = attention_scale<T>(dh);
  const index_t per_thread = online_softmax_head_scratch(L, query_tile, key_tile);
  query_tile = std::min(query_tile, L);
  key_tile = std::min(key_tile, L);
  for_each_attention_head(shape, exec, scratch, per_thread, [&](index_t head, T* slice) {
    T* const scores = slice;
    T* const row_max = scores + query_tile * key_tile;
    T* const row_sum = row_max + query_tile;
    const T* qh = q + head * block;
    const T* kh = k + head * block;
    const T* vh = v + head * block;
    T* oh = o + head * block;
    for (index_t r0 = 0; r0 < L; r0 += query_tile) {
      const index_t rows = std::min(query_tile, L - r0), r1 = r0 + rows;
      const auto q_tile = matrix_view(qh + r0 * dh, rows, dh);
      auto o_tile = matrix_view(oh + r0 * dh, rows, dh);
      o_tile.setZero();
      std::fill(row_sum, row_sum + rows, T(0));  // l = 0 marks "no key seen yet"
      const index_t first_key = r0 + 1 > window ? r0 + 1 - window : 0;
      for (index_t c0 = first_key; c0 < r1; c0 += key_tile) {
        const index_t cols = std::min(key_tile, r1 - c0), c1 = c0 + cols;
        auto s_tile = matrix_view(scores, rows, cols);
        s_tile.noalias() = q_tile * matrix_view(kh + c0 * dh, cols, dh).transpose();
        // Every query of the tile sees every key of this tile iff the last
        // key is at or before the first query and the first key is inside
        // the last query's window; only other tiles need per-row masks.
        const bool interior = c1 <= r0 + 1 && c0 + window >= r1;
        for (index_t i = 0; i < rows; ++i) {
          const index_t t = r0 + i;
          index_t lo = 0, hi = cols;  // visible columns [lo, hi) of this tile
          if (!interior) {
            const index_t first = t + 1 > window ? t + 1 - window : 0;
            lo = std::max(first, c0) - c0;
            hi = std::min(t + 1, c1) > c0 ? std::min(t + 1, c1) - c0 : 0;
          }
          auto row = s_tile.row(static_cast<Index>(i));
          if (lo >= hi) {  // nothing visible in this tile: the row adds nothing
            row.setZero();
            continue;
          }
          auto seen = row.segment(static_cast<Index>(lo), static_cast<Index>(hi - lo));
          const T tile_max = seen.maxCoeff();
          const bool first_visit = row_sum[i] == T(0);
          const T new_max = first_visit ? tile_max : std::max(row_max[i], tile_max);
          seen = ((seen.array() - new_max) * scale).exp().matrix();
          row.head(static_cast<Index>(lo)).setZero();
          row.tail(static_cast<Index>(cols - hi)).setZero();
          if (first_visit) {
            row_sum[i] = seen.sum();
          } else if (new_max > row_max[i]) {
            // The old terms were weighted against a smaller maximum: rescale them.
            const T correction = std::exp((row_max[i] - new_max) * scale);
            row_sum[i] = row_sum[i] * correction + seen.sum();
            o_tile.row(static_cast<Index>(i)) *= correction;
          } else {
            row_sum[i] += seen.sum();
          }
          row_max[i] = new_max;
        }
        o_tile.noalias() += s_tile * matrix_view(vh + c0 * dh, cols, dh);
      }
      // Every query sees at least itself, so row_sum >= 1 (its maximum term is exp(0)).
      for (index_t i = 0; i < rows; ++i) o_tile.row(static_cast<Index>(i)) *= T(1) / row_sum[i];
    }
  });
}

/// What the online-softmax cores (tiled, local) share: the scratch, one tile
/// per thread, and apply(), which differ only in the window. Core provides
/// query_tile(head_dim) and key_tile(head_dim), and to this base (a friend)
/// `apply_name`, the "class::apply" its errors name, and window_for(shape), the
/// keys each query attends for that shape (the length for full causal
/// attention), at most the length.
template <class Core, class T>
class online_softmax_core : public attention_core<Core, T> {
 public:
  /// Elements of attention_workspace scratch that apply() uses: per thread,
  /// min(query_tile, length) * (min(key_tile, length) + 2).
  index_t workspace_size(const attention_shape& shape) const {
    const auto& core = static_cast<const Core&>(*this);
    return online_softmax_scratch<T>(shape, core.query_tile(shape.head_dim), core.key_tile(shape.head_dim),
                                     this->execution());
  }

  /// o = softmax attention of (q, k, v) with query t attending the keys of
  /// its window (the comment on apply in Core gives the window and the time).
  ///
  /// q, k, v, o: `[batch][heads][length][head_dim]` (see attention_shape).
  /// o must not overlap q, k or v; q, k and v may alias one another. Heads
  /// split over execution()'s threads; workspace_size(shape) elements of
  /// scratch, allocated only when `workspace` has less. Thread-safe with one
  /// workspace per call. Throws std::invalid_argument on a zero extent, a
  /// span whose size is not shape.elements(), or o overlapping an input.
  void apply(const attention_shape& shape, span<const T> q, span<const T> k, span<const T> v,
             span<T> o, attention_workspace<T>& workspace) const {
    const auto& core = static_cast<const Core&>(*this);
    require_attention_operands<T>(Core::apply_name, shape, q, k, v, o);
    T* scratch = workspace.scratch(workspace_size(shape));
    online_softmax_attention(shape, q.data(), k.data(), v.data(), o.data(), core.window_for(shape),
                             core.query_tile(shape.head_dim), core.key_tile(shape.head_dim), this->execution_,
                             scratch);
  }

  /// As above with a temporary workspace (allocates once per call).
  void apply(const attention_shape& shape, span<const T> q, span<const T> k, span<const T> v,
             span<T> o) const {
    attention_workspace<T> workspace;
    apply(shape, q, k, v, o, workspace);
  }
};

}  // namespace detail

/// Causal multi-head softmax attention, FlashAttention-style: the same result
/// as softmax_attention without ever holding more than one query_tile x
/// key_tile block of scores, so extra memory is independent of the length.
/// Tiles are multiplied with Eigen GEMMs (Q_tile K_tile^T and P V_tile);
/// key tiles wholly above the diagonal are skipped and only tiles that cut
/// the diagonal are masked. See detail::online_softmax_attention for the
/// recurrence.
///
/// Threads, workspace and immutability: see detail::attention_core.
template <class T>
class tiled_attention : public detail::online_softmax_core<tiled_attention<T>, T> {
 public:

  /// query_tile: rows of q (and o) per tile; key_tile: rows of k and v per
  /// tile. 0 picks detail::default_attention_tile<T>(head_dim) when applied:
  /// 128 rows unless the tile's q, k, v, o and scores would exceed ~1 MiB.
  /// Neither needs to divide the length.
  explicit tiled_attention(index_t query_tile = 0, index_t key_tile = 0) noexcept
      : query_tile_(query_tile), key_tile_(key_tile) {}

  /// The query tile used for a given head_dim (resolves 0 to the default).
  index_t query_tile(index_t head_dim) const {
    return query_tile_ != 0 ? query_tile_ : detail::default_attention_tile<T>(head_dim);
  }
  /// The key tile used for a given head_dim (resolves 0 to the default).
  index_t key_tile(index_t head_dim) const {
    return key_tile_ != 0 ? key_tile_ : detail::default_attention_tile<T>(head_dim);
  }

  // workspace_size(shape) and apply(shape, q, k, v, o[, workspace]):
  // online_softmax_core's, with every query attending all keys up to itself:
  // o is softmax_attention::apply's result up to rounding, in
  // O(batch heads length^2 head_dim / 2) time plus the masked halves of the
  // diagonal tiles.

 private:
  friend class detail::online_softmax_core<tiled_attention, T>;
  static constexpr const char* apply_name = "tiled_attention::apply";
  index_t window_for(const attention_shape& shape) const noexcept { return shape.length; }

  index_t query_tile_;
  index_t key_tile_;
};

}  // namespace hyena
