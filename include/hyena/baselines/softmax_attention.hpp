// hyena/baselines/softmax_attention.hpp: standard causal softmax attention,
// materialising each head's L x L score matrix (the O(L^2)-memory baseline).
#pragma once

#include "../core/config.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "../core/span.hpp"
#include "attention_common.hpp"

namespace hyena {

/// Causal multi-head softmax attention computed the textbook way, head by
/// head (heads shared out over threads): S = Q K^T, P = softmax(S / sqrt(head_dim)) row by row over keys
/// s <= t, O = P V. Only the lower triangle of S is ever computed or read
/// (a triangular GEMM, then a triangular-times-dense product), so the flops
/// are about half of a dense L x L product, but the scores still take L^2
/// elements of workspace per thread: that memory is what this baseline is for.
///
/// Threads, workspace and immutability: see detail::attention_core.
template <class T>
class softmax_attention : public detail::attention_core<softmax_attention<T>, T> {
 public:


  /// Elements of attention_workspace scratch that apply() uses: one
  /// length^2 score matrix per thread, for min(threads, batch*heads)
  /// threads, each but the last padded to whole 64-byte lines.
  index_t workspace_size(const attention_shape& shape) const {
    return detail::attention_scratch_size<T>(per_thread(shape), detail::attention_workers(this->execution_, shape));
  }

  /// o = causal softmax attention of (q, k, v).
  ///
  /// q, k, v, o: `[batch][heads][length][head_dim]` (see attention_shape).
  /// o must not overlap q, k or v; q, k and v may alias one another.
  /// O(batch heads length^2 head_dim) time, heads split over execution()'s
  /// threads; workspace_size(shape) elements of scratch, allocated only when
  /// `workspace` has less. Thread-safe with one workspace per call. Throws
  /// std::invalid_argument on a zero extent, a span whose size is not
  /// shape.elements(), or o overlapping an input.
  void apply(const attention_shape& shape, span<const T> q, span<const T> k, span<const T> v,
             span<T> o, attention_workspace<T>& workspace) const {
    detail::require_attention_operands<T>("softmax_attention::apply", shape, q, k, v, o);
    const index_t L = shape.length, dh = shape.head_dim, block = shape.head_elements();
    const T scale = detail::attention_scale<T>(dh);
    T* const scratch = workspace.scratch(workspace_size(shape));
    detail::for_each_attention_head(shape, this->execution_, scratch, per_thread(shape), [&](index_t head, T* slice) {
      const index_t offset = head * block;
      const auto qh = detail::matrix_view(q.data() + offset, L, dh);
      const auto kh = detail::matrix_view(k.data() + offset, L, dh);
      const auto vh = detail::matrix_view(v.data() + offset, L, dh);
      auto oh = detail::matrix_view(o.data() + offset, L, dh);
      auto scores = detail::matrix_view(slice, L, L);
      scores.template triangularView<Eigen::Lower>() = qh * kh.transpose();
      for (index_t t = 0; t < L; ++t) {
        auto row = scores.row(static_cast<Eigen::Index>(t)).head(static_cast<Eigen::Index>(t + 1));
        // Subtracting the row maximum keeps every exponent <= 0: no overflow,
        // and the largest weight is exactly 1 before normalisation.
        const T max = row.maxCoeff();
        row = ((row.array() - max) * scale).exp().matrix();
        row *= T(1) / row.sum();
      }
      oh.noalias() = scores.template triangularView<Eigen::Lower>() * vh;
    });
  }

  /// As above with a temporary workspace (allocates workspace_size(shape) elements per call).
  void apply(const attention_shape& shape, span<const T> q, span<const T> k, span<const T> v,
             span<T> o) const {
    attention_workspace<T> workspace;
    apply(shape, q, k, v, o, workspace);
  }

 private:
  static index_t per_thread(const attention_shape& shape) {
    return detail::checked_mul(shape.length, shape.length, "length*length");
  }

};

}  // namespace hyena
