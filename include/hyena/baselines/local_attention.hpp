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

  // workspace_size(shape) and apply(shape, q, k, v, o[, workspace]):
  // online_softmax_core's, with query t attending keys
  // max(0, t-window+1)..t, in O(batch heads length (min(window, length) +
  // query_tile) head_dim) time.

 private:
  friend class detail::online_softmax_core<local_attention, T>;
  static constexpr const char* apply_name = "local_attention::apply";
  // Clamped to the length so the kernel's index arithmetic cannot overflow on huge windows.
  index_t window_for(const attention_shape& shape) const noexcept { return std::min(window_, shape.length); }

  index_t window_;
  index_t query_tile_;
  tiled_attention<T> tiles_;  // resolves the key tile (and the default query tile)
};

}  // namespace hyena
