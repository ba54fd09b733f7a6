// hyena/baselines/linear_attention.hpp: causal linear attention (Katharopoulos
// et al. 2020) with the feature map phi(x) = elu(x) + 1: O(L dh^2), no softmax.
//
//   o[t] = phi(q[t])^T S_t / (phi(q[t])^T z_t),
//   S_t = sum_{s<=t} phi(k[s]) v[s]^T  (head_dim x head_dim),  z_t = sum_{s<=t} phi(k[s]).
#pragma once

#include <algorithm>

#include "../core/config.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "../core/span.hpp"
#include "attention_common.hpp"

namespace hyena {

/// Causal multi-head linear attention (see the top of this header).
///
/// Computed in chunks of `chunk` tokens so the work is GEMMs rather than
/// rank-1 updates: with Qf = phi(Q_c), Kf = phi(K_c) for a chunk c and S, z
/// the sums over all earlier chunks,
///   numerator   = Qf S + tril(Qf Kf^T) V_c,
///   denominator = Qf z + rowsum(tril(Qf Kf^T)),
/// then S += Kf^T V_c and z += colsum(Kf). Per token that is 2 chunk dh +
/// 2 dh^2 multiply-adds, so chunk ~ head_dim balances the two halves.
/// phi > 0, so every denominator is positive (phi(q[t]).phi(k[t]) > 0
/// unless inputs below about -87 (float) or -708 (double) underflow exp).
///
/// Threads, workspace and immutability: see detail::attention_core.
template <class T>
class linear_attention : public detail::attention_core<linear_attention<T>, T> {
 public:

  /// chunk: tokens per chunk (need not divide the length).
  /// Throws std::invalid_argument if chunk is 0.
  explicit linear_attention(index_t chunk = 64) : chunk_(chunk) {
    detail::require_positive(chunk, "linear_attention", "chunk");
  }

  index_t chunk() const noexcept { return chunk_; }


  /// Elements of attention_workspace scratch that apply() uses: per thread,
  /// with c = min(chunk, length), 2 c head_dim (phi(q), phi(k)) + c^2
  /// (scores) + head_dim^2 + head_dim (S, z), for min(threads, batch*heads)
  /// threads, each but the last padded to whole 64-byte lines.
  index_t workspace_size(const attention_shape& shape) const {
    return detail::attention_scratch_size<T>(per_thread(shape), detail::attention_workers(this->execution_, shape));
  }

  /// o = causal linear attention of (q, k, v).
  ///
  /// q, k, v, o: `[batch][heads][length][head_dim]` (see attention_shape).
  /// o must not overlap q, k or v; q, k and v may alias one another.
  /// O(batch heads length head_dim (chunk + head_dim)) time, heads split
  /// over execution()'s threads; workspace_size(shape) elements of scratch,
  /// allocated only when `workspace` has less. Thread-safe with one
  /// workspace per call. Throws std::invalid_argument on a zero extent, a
  /// span whose size is not shape.elements(), or o overlapping an input.
  void apply(const attention_shape& shape, span<const T> q, span<const T> k, span<const T> v,
             span<T> o, attention_workspace<T>& workspace) const {
    using Eigen::Index;
    detail::require_attention_operands<T>("linear_attention::apply", shape, q, k, v, o);
    const index_t L = shape.length, dh = shape.head_dim, block = shape.head_elements();
    const index_t chunk = std::min(chunk_, L);
    T* const scratch = workspace.scratch(workspace_size(shape));
    detail::for_each_attention_head(shape, this->execution_, scratch, per_thread(shape), [&](index_t head, T* slice) {
      T* const q_features = slice;
      T* const k_features = q_features + chunk * dh;
      T* const scores = k_features + chunk * dh;
      auto state = detail::matrix_view(scores + chunk * chunk, dh, dh);  // S
      auto z = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>(state.data() + dh * dh,
                                                               static_cast<Index>(dh));
      const index_t offset = head * block;
      state.setZero();
      z.setZero();
      for (index_t c0 = 0; c0 < L; c0 += chunk) {
        const index_t n = std::min(chunk, L - c0);
        const index_t at = offset + c0 * dh;
        auto qf = detail::matrix_view(q_features, n, dh);
        auto kf = detail::matrix_view(k_features, n, dh);
        const auto vc = detail::matrix_view(v.data() + at, n, dh);
        auto oc = detail::matrix_view(o.data() + at, n, dh);
        auto a = detail::matrix_view(scores, n, n);
        feature_map(detail::matrix_view(q.data() + at, n, dh), qf);
        feature_map(detail::matrix_view(k.data() + at, n, dh), kf);

        a.template triangularView<Eigen::Lower>() = qf * kf.transpose();
        oc.noalias() = qf * state;
        oc.noalias() += a.template triangularView<Eigen::Lower>() * vc;
        for (Index i = 0; i < static_cast<Index>(n); ++i)
          oc.row(i) *= T(1) / (qf.row(i).dot(z) + a.row(i).head(i + 1).sum());

        state.noalias() += kf.transpose() * vc;
        z.noalias() += kf.colwise().sum().transpose();
      }
    });
  }

  /// As above with a temporary workspace (allocates once per call).
  void apply(const attention_shape& shape, span<const T> q, span<const T> k, span<const T> v,
             span<T> o) const {
    attention_workspace<T> workspace;
    apply(shape, q, k, v, o, workspace);
  }

 private:
  // The scratch of one thread (see workspace_size).
  index_t per_thread(const attention_shape& shape) const {
    const index_t c = std::min(chunk_, shape.length), dh = shape.head_dim;
    const index_t dh2 = detail::checked_mul(dh, dh, "head_dim*head_dim");
    return detail::checked_mul(2 * c, dh, "chunk*head_dim") +
           detail::checked_mul(c, c, "chunk*chunk") + dh2 + dh;
  }

  // phi(x) = elu(x) + 1 = exp(min(x, 0)) + max(x, 0): branch-free, and exp
  // never sees a positive argument, so it cannot overflow.
  template <class In, class Out>
  static void feature_map(const In& x, Out& y) {
    y = (x.array().min(T(0)).exp() + x.array().max(T(0))).matrix();
  }

  index_t chunk_;
};

}  // namespace hyena
