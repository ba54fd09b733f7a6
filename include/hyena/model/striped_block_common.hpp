// hyena/model/striped_block_common.hpp: what every StripedHyena 2 block
// (Hyena or attention) has around its mixer (SPEC.md 2):
//
//   a   = RMSNorm_pre(u)
//   h   = u + mixer(a)
//   out = h + mlp(RMSNorm_post(h))
//
// The norms' scales, their eps and the gated MLP are one struct both blocks'
// weights derive from; sh2_residual_mlp() is the second half, shared by the
// blocks' forward and decoding paths.
#pragma once

#include <cmath>
#include <vector>

#include "../core/config.hpp"
#include "../core/execution.hpp"
#include "../core/span.hpp"
#include "../detail/aligned_allocator.hpp"
#include "../detail/checks.hpp"
#include "gated_mlp.hpp"
#include "rms_norm.hpp"

namespace hyena {

/// A block's width, norms and MLP (state_dict keys under blocks.N.).
template <class T>
struct sh2_block_weights {
  index_t d_model = 0;
  double eps = 1e-6;               ///< the RMSNorms'
  std::vector<T> pre_norm_scale;   ///< pre_norm.scale [D]
  std::vector<T> post_norm_scale;  ///< post_norm.scale [D]
  gated_mlp_weights<T> mlp;        ///< mlp.l1, l2, l3 (and whether its act is GELU)

 protected:
  /// Throws std::invalid_argument, naming `owner`, on d_model 0, a bad eps,
  /// scales of the wrong size or not finite, or an MLP of another width.
  void validate_norms_and_mlp(const char* owner) const {
    detail::require_positive(d_model, owner, "d_model");
    if (!(eps >= 0) || !std::isfinite(eps)) detail::throw_invalid("hyena::", owner, ": eps must be finite and >= 0");
    for (const auto* scale : {&pre_norm_scale, &post_norm_scale}) {
      const char* name = scale == &pre_norm_scale ? "pre_norm_scale" : "post_norm_scale";
      detail::require_size(scale->size(), d_model, owner, name, "[d_model] = ", d_model);
      detail::require_finite(*scale, owner, name);
    }
    if (mlp.d_model != d_model)
      detail::throw_invalid("hyena::", owner, ": mlp.d_model is ", mlp.d_model, ", the block's d_model ", d_model);
    mlp.validate();
  }
};

/// Scratch of sh2_residual_mlp: grows to the largest call, then allocates
/// nothing more.
template <class T>
struct sh2_residual_mlp_scratch {
  // Uninitialised when grown: every value is written before it is read.
  detail::uninitialized_aligned_vector<T> h, post, hidden;
};

/// out = h + mlp(RMSNorm_post(h)) with h = u + mixer, for `rows` rows of
/// d_model (u, mixer, out [rows][d_model]; out may be mixer but not u).
/// With `post_norm_in` / `mlp_out`, h and mlp(...) are copied there.
template <class T>
void sh2_residual_mlp(const sh2_block_weights<T>& w, index_t rows, span<const T> u, span<const T> mixer,
                      span<T> out, sh2_residual_mlp_scratch<T>& scratch, std::vector<T>* post_norm_in = nullptr,
                      std::vector<T>* mlp_out = nullptr, const execution_context& exec = {}) {
  const index_t n = rows * w.d_model;
  scratch.h.resize(n), scratch.post.resize(n);
  scratch.hidden.resize(detail::checked_mul(rows, 2 * w.mlp.inner, "rows*2*inner"));
  exec.parallel_for(n, 1, [&](index_t first, index_t last, unsigned) {
    for (index_t k = first; k < last; ++k) scratch.h[k] = u[k] + mixer[k];
  });
  rms_norm<T>(rows, w.d_model, scratch.h, w.post_norm_scale, w.eps, scratch.post, exec);
  gated_mlp<T>(w.mlp, rows, scratch.post, scratch.hidden, out, exec);
  if (post_norm_in != nullptr) post_norm_in->assign(scratch.h.begin(), scratch.h.end());
  if (mlp_out != nullptr) mlp_out->assign(out.begin(), out.end());
  exec.parallel_for(n, 1, [&](index_t first, index_t last, unsigned) {
    for (index_t k = first; k < last; ++k) out[k] += scratch.h[k];
  });
}

}  // namespace hyena
