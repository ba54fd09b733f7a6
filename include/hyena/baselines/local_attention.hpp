// hyena/baselines/local_attention.hpp: causal sliding-window ("local")
// softmax attention: query t attends keys max(0, t-window+1)..t only.
#pragma once

#include <algorithm>

#include "../core/config.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "../core/span.hpp"
#include "attention_common.hpp"
#include "tiled_attention.hpp"

namespace hyena {

/// Causal multi-head attention with the softmax taken over a sliding window
/// of the last `window` keys (the current one included), scale 1/sqrt(head_dim).
///
/// Computed with the tiled online softmax of tiled_attention.hpp restricted
/// to the band: each query tile visits only the keys from its first query's
/// window start to its last query, so time is O(L (window + tile) head_dim)
/// and extra memory is one score tile per thread, whatever the window. A
/// window of at least the length is full causal attention.
///
/// Threads, workspace and immutability: see detail::attention_core.
template <class T>
class local_attention : public detail::online_softmax_core<local_attention<T>, T> {
 public:

  /// window: keys each query attends, itself included (>= 1). query_tile,
  /// key_tile: rows per tile as for tiled_attention; 0 picks that default,
  /// except that the automatic query tile shrinks towards the window (not
  /// below 16): a query tile of r rows touches r + window - 1 keys, so
  /// r >> window would spend most of the work on masked scores.
  /// Throws std::invalid_argument if window is 0.
  explicit local_attention(index_t window, index_t query_tile = 0, index_t key_tile = 0)
      : window_(window), query_tile_(query_tile), tiles_(query_tile, key_tile) {
    detail::require_positive(window, "local_attention", "window");
  }

  index_t window() const noexcept { return window_; }
  /// The query tile used for a given head_dim (resolves 0 as described above).
  index_t query_tile(index_t head_dim) const {
    if (query_tile_ != 0) return query_tile_;
    return std::min(tiles_.query_tile(head_dim), std::max(window_, index_t(16)));
  }
  /// The key tile used for a given head_dim (resolves 0 to tiled_attention's default).
  index_t key_tile(index_t head_dim) const { return tiles_.key_tile(head_dim); }


  // workspace_size(shape): online_softmax_core's, per thread
  // min(query_tile, length) * (min(key_tile, length) + 2) elements.

  /// o = sliding-window causal softmax attention of (q, k, v).
  ///
  /// q, k, v, o: `[batch][heads][length][head_dim]` (see attention_shape).
  /// o must not overlap q, k or v; q, k and v may alias one another.
  /// O(batch heads length (min(window, length) + query_tile) head_dim) time,
  /// heads split over execution()'s threads; workspace_size(shape) elements of
  /// scratch, allocated only when `workspace` has less. Thread-safe with one
  /// workspace per call. Throws std::invalid_argument on a zero extent, a
  /// span whose size is not shape.elements(), or o overlapping an input.
  void apply(const attention_shape& shape, span<const T> q, span<const T> k, span<const T> v,
             span<T> o, attention_workspace<T>& workspace) const {
    detail::require_attention_operands<T>("local_attention::apply", shape, q, k, v, o);
    T* scratch = workspace.scratch(this->workspace_size(shape));
    // Clamped so the kernel's index arithmetic cannot overflow on huge windows.
    const index_t window = std::min(window_, shape.length);
    detail::online_softmax_attention(shape, q.data(), k.data(), v.data(), o.data(), window,
                                     query_tile(shape.head_dim), key_tile(shape.head_dim), this->execution_,
                                     scratch);
  }

  /// As above with a temporary workspace (allocates once per call).
  void apply(const attention_shape& shape, span<const T> q, span<const T> k, span<const T> v,
             span<T> o) const {
    attention_workspace<T> workspace;
    apply(shape, q, k, v, o, workspace);
  }

 private:
  index_t window_;
  index_t query_tile_;
  tiled_attention<T> tiles_;  // resolves the key tile (and the default query tile)
};

}  // namespace hyena
