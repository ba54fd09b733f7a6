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
//
// Threads: the batch*heads problems are independent, so every core hands
// whole heads to threads (set_execution, default every hardware thread), each
// thread with its own slice of the workspace scratch; a head is computed the
// same way whichever thread runs it, so results do not depend on the count.
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <functional>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "../core/config.hpp"
#include "../detail/aligned_allocator.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "../core/execution.hpp"
#include "../core/span.hpp"

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

/// Work arrays for the attention baselines, owned by the caller: one per
/// concurrent apply() call (the threads inside one call share it, each core
/// giving every thread its own slice of the scratch).
///
/// Two independent arrays: `scratch` for an attention core (scores, running
/// statistics) and `activations` for a layer's per-head q, k, v and o, so a
/// layer keeps its activations while the core it calls grows the scratch.
/// Both grow on demand and never shrink: reused across calls, a workspace
/// allocates only when a call needs more than any before it, and bytes() is
/// the peak requirement seen. Not thread-safe: one workspace per call in flight.
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

/// The threads an attention core runs on for `shape`, and so the number of
/// scratch slices it needs: parallel_for starts min(threads, batch*heads)
/// workers, never more than there are heads to share out.
inline index_t attention_workers(const execution_context& exec, const attention_shape& shape) {
  return exec.workers(shape.head_count());
}

/// Elements from one worker's scratch slice to the next: `per_worker`
/// rounded up to whole multiples of simd_alignment bytes. Every slice then
/// starts at the alignment of the first, which bit-identity across thread
/// counts needs: Eigen's vectorised reductions (row sums and maxima, dot
/// products) peel scalars up to the first aligned element, so their
/// summation order would otherwise depend on which worker ran a head. Whole
/// cache lines also keep workers from writing into one another's lines.
template <class T>
index_t attention_slice_stride(index_t per_worker) {
  static_assert(simd_alignment % sizeof(T) == 0, "hyena: T must divide the SIMD alignment");
  constexpr index_t line = simd_alignment / sizeof(T);
  const index_t padded = per_worker + (line - per_worker % line) % line;
  if (padded < per_worker)
    throw std::length_error(concat("hyena: attention scratch of ", per_worker, " elements overflows"));
  return padded;
}

/// Scratch elements for `workers` slices of `per_worker` each (only the
/// slices before the last are padded to attention_slice_stride).
template <class T>
index_t attention_scratch_size(index_t per_worker, index_t workers) {
  const index_t padded = checked_mul(workers - 1, attention_slice_stride<T>(per_worker), "attention scratch");
  if (padded + per_worker < padded)
    throw std::length_error(concat("hyena: attention scratch of ", workers, " slices overflows"));
  return padded + per_worker;
}

/// head(index, slice) for every head index in [0, batch*heads), split over
/// `exec`'s threads in contiguous runs of heads; slice is the calling
/// worker's `per_worker` elements of `scratch`, which must hold
/// attention_scratch_size<T>(per_worker, attention_workers(exec, shape)).
/// Heads must be independent: each writes only its own output block.
template <class T, class Head>
void for_each_attention_head(const attention_shape& shape, const execution_context& exec, T* scratch,
                             index_t per_worker, Head&& head) {
  const index_t stride = attention_slice_stride<T>(per_worker);
  const index_t workers = attention_workers(exec, shape);
  static_cast<void>(workers);  // read only by HYENA_ASSERT, which may compile to nothing
  exec.parallel_for(shape.head_count(), [&](index_t first, index_t last, unsigned worker) {
    HYENA_ASSERT(worker < workers);
    T* const slice = scratch + worker * stride;
    for (index_t h = first; h < last; ++h) head(h, slice);
  });
}

/// What every attention core shares: its element type, its execution
/// context (uses_execution: heads are shared out over its threads, each head
/// computed whole by one thread, so results do not depend on the count), and
/// workspace_bytes() from the core's workspace_size(). Cores are immutable
/// once their context is set; one object serves any number of threads, each
/// call with its own attention_workspace.
template <class Core, class T>
class attention_core : public uses_execution {
  static_assert(is_real_v<T>, "hyena attention cores need T = float or double");

 public:
  using value_type = T;
  index_t workspace_bytes(const attention_shape& shape) const {
    return checked_mul(static_cast<const Core&>(*this).workspace_size(shape), sizeof(T), "workspace bytes");
  }
};

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
