// hyena/baselines/attention_common.hpp: what the attention baselines share:
// the per-head operand layout and its validation, row-major Eigen views on raw
// arrays, the default tile size, and the caller-owned workspace.
//
// The baselines are what the benchmarks compare Hyena against: causal
// multi-head attention computed four ways,
//   softmax_attention.hpp  the L x L score matrix, materialised per head;
//   tiled_attention.hpp    FlashAttention's tiling with the online softmax;
//   linear_attention.hpp   elu+1 feature maps and running sums, O(L dh^2);
//   local_attention.hpp    softmax over a sliding window of the last w keys;
// and each as a full layer with input and output projections
// (attention_layer.hpp). Every core computes, for each batch b and head h,
//
//   o[t] = sum_{s in S(t)} softmax_s(q[t] . k[s] / sqrt(head_dim)) v[s]
//
// with S(t) = {0..t} (causal) or {max(0, t-w+1)..t} (local); linear
// attention replaces the softmax weights by phi(q[t]).phi(k[s]), normalised.
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <functional>
#include <initializer_list>
#include <string>

#include "../config.hpp"
#include "../detail/aligned_allocator.hpp"
#include "../detail/checks.hpp"
#include "../span.hpp"

namespace hyena {

/// Shape of the operands of an attention core. q, k, v and o are each
/// `[batch][heads][length][head_dim]`, row-major: element (b, h, t, j) lives
/// at `((b * heads + h) * length + t) * head_dim + j`. Each head's
/// length x head_dim block is then one contiguous row-major matrix, which is
/// what the per-head GEMMs take, and a token's features are contiguous.
/// (Layers take the module layout `[batch][length][d_model]` and split heads
/// themselves, see attention_layer.hpp.)
struct attention_shape {
  index_t batch = 1;
  index_t heads = 1;
  index_t length = 1;
  index_t head_dim = 1;

  /// batch * heads: the number of independent length x head_dim problems.
  index_t head_count() const { return detail::checked_mul(batch, heads, "batch*heads"); }
  /// length * head_dim: elements of one head's block.
  index_t head_elements() const { return detail::checked_mul(length, head_dim, "length*head_dim"); }
  /// batch * heads * length * head_dim, checked for overflow.
  index_t elements() const {
    return detail::checked_mul(head_count(), head_elements(), "batch*heads*length*head_dim");
  }
  /// "batch*heads*length*head_dim = 2*3*7*8", for error messages.
  std::string describe() const {
    return detail::concat("batch*heads*length*head_dim = ", batch, "*", heads, "*", length, "*",
                          head_dim);
  }
  /// Throws std::invalid_argument naming `function` if any extent is zero.
  void require_nonempty(const char* function) const {
    detail::require_positive(batch, function, "batch");
    detail::require_positive(heads, function, "heads");
    detail::require_positive(length, function, "length");
    detail::require_positive(head_dim, function, "head_dim");
  }
};

inline bool operator==(const attention_shape& a, const attention_shape& b) {
  return a.batch == b.batch && a.heads == b.heads && a.length == b.length &&
         a.head_dim == b.head_dim;
}
inline bool operator!=(const attention_shape& a, const attention_shape& b) { return !(a == b); }

/// Per-thread work arrays for the attention baselines, owned by the caller.
///
/// Two independent arrays: `scratch` for an attention core (scores, running
/// statistics) and `activations` for a layer's per-head q, k, v and o, so a
/// layer keeps its activations while the core it calls grows the scratch.
/// Both grow on demand and never shrink: reused across calls, a workspace
/// allocates only when a call needs more than any before it, and bytes() is
/// the peak requirement seen. Not thread-safe: one workspace per thread.
template <class T>
class attention_workspace {
 public:
  attention_workspace() = default;

  /// At least n elements of core scratch; valid until the next scratch() call.
  T* scratch(index_t n) { return grow(scratch_, n); }
  /// At least n elements for layer activations; valid until the next activations() call.
  T* activations(index_t n) { return grow(activations_, n); }
  /// Bytes held by both arrays: after a run of calls, their peak workspace.
  index_t bytes() const noexcept { return (scratch_.size() + activations_.size()) * sizeof(T); }

 private:
  static T* grow(detail::aligned_vector<T>& v, index_t n) {
    if (v.size() < n) v.resize(n);
    return v.data();
  }

  detail::aligned_vector<T> scratch_;
  detail::aligned_vector<T> activations_;
};

namespace detail {

/// Bytes of operands a tile may keep live at once; tiles are sized so their
/// q, k, v, o and score blocks fit in a typical per-core L2 cache.
inline constexpr index_t attention_l2_bytes = index_t(1) << 20;

/// The default tile (rows of q per query tile, of k and v per key tile): the
/// largest of 128, 64, 32, 16 whose working set, q, o, k and v blocks of
/// tile x head_dim plus a tile x tile score block, fits attention_l2_bytes.
/// Larger tiles give the GEMMs more work per call; past 128 the score block
/// and the masked waste on the diagonal grow faster than the GEMMs speed up.
template <class T>
index_t default_attention_tile(index_t head_dim) {
  if (head_dim > attention_l2_bytes) return 16;  // also keeps the products below from overflowing
  for (index_t tile : {index_t(128), index_t(64), index_t(32)})
    if ((4 * tile * head_dim + tile * tile) * sizeof(T) <= attention_l2_bytes) return tile;
  return 16;
}

/// 1/sqrt(head_dim), rounded once to T.
template <class T>
T attention_scale(index_t head_dim) {
  return static_cast<T>(1.0 / std::sqrt(static_cast<double>(head_dim)));
}

template <class T>
using row_major_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// A rows x cols row-major matrix over raw memory (leading dimension = cols).
template <class T>
Eigen::Map<row_major_matrix<T>> matrix_view(T* data, index_t rows, index_t cols) {
  return {data, static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols)};
}
template <class T>
Eigen::Map<const row_major_matrix<T>> matrix_view(const T* data, index_t rows, index_t cols) {
  return {data, static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols)};
}

/// Throws unless [a, a+na) and [b, b+nb) are disjoint (empty ranges never overlap).
template <class T>
void require_disjoint(const T* a, index_t na, const T* b, index_t nb, const char* function,
                      const char* name_a, const char* name_b) {
  if (na == 0 || nb == 0) return;
  // std::less gives a total order even on pointers into unrelated arrays.
  const std::less<const T*> before;
  if (before(a, b + nb) && before(b, a + na))
    throw_invalid("hyena::", function, ": ", name_a, " overlaps ", name_b,
                  "; the output must not share memory with an input");
}

/// The checks every attention core makes on entry: no zero extent, four
/// spans of shape.elements(), and o disjoint from q, k and v (the cores
/// write o tile by tile while still reading inputs; q, k, v may alias).
template <class T>
void require_attention_operands(const char* function, const attention_shape& shape,
                                span<const T> q, span<const T> k, span<const T> v, span<T> o) {
  shape.require_nonempty(function);
  const index_t n = shape.elements();
  const std::string expected = shape.describe();
  require_size(q.size(), n, function, "q", expected);
  require_size(k.size(), n, function, "k", expected);
  require_size(v.size(), n, function, "v", expected);
  require_size(o.size(), n, function, "o", expected);
  require_disjoint<T>(o.data(), n, q.data(), n, function, "o", "q");
  require_disjoint<T>(o.data(), n, k.data(), n, function, "o", "k");
  require_disjoint<T>(o.data(), n, v.data(), n, function, "o", "v");
}

}  // namespace detail
}  // namespace hyena
