// hyena/model/striped_attention_block.hpp: the attention blocks of
// StripedHyena 2 (Evo 2), vortex's AttentionBlock with its MHA (SPEC.md 4):
//
//   a   = RMSNorm_pre(u)
//   qkv = a Wqkv^T                  rows [q heads 0..H-1 | k heads | v heads], Dh each
//   q, k = rope(q), rope(k)         GPT-NeoX halves, the checkpoint's inv_freq
//   ctx = softmax(q k^T / sqrt(Dh) + causal) v      q head h reads kv head h / (H/Hkv)
//   h   = u + (ctx Wout^T + bout)
//   out = h + mlp(RMSNorm_post(h))
//
// Rotary angles are float32 products t * inv_freq[i], as vortex computes
// them (its inv_freq buffer is float32, and so are the positions), whatever
// T is; cos and sin of them are taken in double.
#pragma once

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "../baselines/tiled_attention.hpp"
#include "../core/config.hpp"
#include "../core/execution.hpp"
#include "../core/span.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "gated_mlp.hpp"
#include "linear.hpp"
#include "rms_norm.hpp"

namespace hyena {

/// One attention block's parameters, in vortex's runtime layouts (state_dict
/// keys under blocks.N. in the comments).
template <class T>
struct sh2_attention_block_weights {
  index_t d_model = 0;
  index_t heads = 0;     ///< H query heads; head_dim = d_model / H
  index_t kv_heads = 0;  ///< Hkv key/value heads (H / proj_groups); divides H
  double eps = 1e-6;     ///< the RMSNorms'
  std::vector<T> pre_norm_scale;   ///< pre_norm.scale [D]
  std::vector<T> post_norm_scale;  ///< post_norm.scale [D]
  std::vector<T> qkv;              ///< inner_mha_cls.Wqkv.weight [Dh (H + 2 Hkv)][D]
  std::vector<T> out_weight;       ///< inner_mha_cls.out_proj.weight [D][D]
  std::vector<T> out_bias;         ///< inner_mha_cls.out_proj.bias [D]
  std::vector<float> inv_freq;     ///< inner_mha_cls.rotary_emb.inv_freq [Dh/2], float32 as stored
  gated_mlp_weights<T> mlp;        ///< mlp.l1, l2, l3

  index_t head_dim() const noexcept { return heads == 0 ? 0 : d_model / heads; }
  /// Rows of Wqkv: Dh (H + 2 Hkv).
  index_t qkv_width() const noexcept { return head_dim() * (heads + 2 * kv_heads); }

  /// Throws std::invalid_argument naming the first problem: heads that do
  /// not divide d_model or kv heads that do not divide heads, an odd head
  /// dimension (rotary pairs its halves), a member of the wrong size or a
  /// non-finite value.
  void validate() const {
    const char* owner = "sh2_attention_block_weights";
    detail::require_positive(d_model, owner, "d_model");
    detail::require_positive(heads, owner, "heads");
    detail::require_positive(kv_heads, owner, "kv_heads");
    if (d_model % heads != 0)
      detail::throw_invalid("hyena::", owner, ": ", heads, " heads do not divide d_model ", d_model);
    if (heads % kv_heads != 0)
      detail::throw_invalid("hyena::", owner, ": ", kv_heads, " kv heads do not divide ", heads, " heads");
    if (head_dim() % 2 != 0)
      detail::throw_invalid("hyena::", owner, ": head_dim ", head_dim(), " is odd (rotary needs pairs)");
    if (!(eps >= 0) || !std::isfinite(eps)) detail::throw_invalid("hyena::", owner, ": eps must be finite and >= 0");
    const index_t D = d_model;
    auto need = [&](const auto& v, index_t expected, const char* name, const char* shape) {
      detail::require_size(v.size(), expected, owner, name, shape, " (d_model ", D, ", heads ", heads,
                           ", kv_heads ", kv_heads, ")");
      detail::require_finite(v, owner, name);
    };
    need(pre_norm_scale, D, "pre_norm_scale", "[d_model]");
    need(post_norm_scale, D, "post_norm_scale", "[d_model]");
    need(qkv, detail::checked_mul(qkv_width(), D, "qkv rows*d_model"), "qkv", "[head_dim*(heads+2*kv_heads)][d_model]");
    need(out_weight, detail::checked_mul(D, D, "d_model*d_model"), "out_weight", "[d_model][d_model]");
    need(out_bias, D, "out_bias", "[d_model]");
    need(inv_freq, head_dim() / 2, "inv_freq", "[head_dim/2]");
    if (mlp.d_model != D)
      detail::throw_invalid("hyena::", owner, ": mlp.d_model is ", mlp.d_model, ", the block's d_model ", D);
    mlp.validate();
  }
};

/// What forward() can record of a call, [batch][length][...] as the
/// reference dump stores them: q_rot [H][Dh], k_rot and v [Hkv][Dh],
/// context [H][Dh] per position.
template <class T>
struct sh2_attention_block_trace {
  std::vector<T> qkv_proj_out, q_rot, k_rot, v, context, mixer_out, post_norm_in, mlp_out;
};

/// A StripedHyena 2 attention block. Immutable after construction;
/// forward() is const and may run from many threads at once.
template <class T>
class sh2_attention_block {
  static_assert(detail::is_real_v<T>, "hyena::sh2_attention_block<T> needs T = float or double");

 public:
  /// Throws std::invalid_argument on invalid weights (see validate()).
  explicit sh2_attention_block(sh2_attention_block_weights<T> weights)
      : w_((weights.validate(), std::move(weights))) {}

  const sh2_attention_block_weights<T>& weights() const noexcept { return w_; }
  index_t d_model() const noexcept { return w_.d_model; }

  /// cos and sin of position t's rotary angles, [Dh/2] each: the float32
  /// product t * inv_freq[i] (see the top of this header).
  void rotary_angles(index_t t, T* cos_out, T* sin_out) const noexcept {
    const index_t half = w_.head_dim() / 2;
    for (index_t i = 0; i < half; ++i) {
      const float angle = static_cast<float>(t) * w_.inv_freq[i];
      cos_out[i] = T(std::cos(double(angle)));
      sin_out[i] = T(std::sin(double(angle)));
    }
  }

  /// out = block(u) for u, out [batch][length][d_model] (out must not
  /// overlap u). Time O(B L D (Dh (H + 2 Hkv) + D + 3 inner)) for the GEMMs
  /// plus O(B H L^2 Dh) for the attention, whose memory stays O(tile^2)
  /// (tiled_attention). With `trace`, the stages it names are copied into it. Throws
  /// std::invalid_argument on zero sizes or mismatched spans.
  void forward(index_t batch, index_t length, span_arg<const T> u, span_arg<T> out,
               sh2_attention_block_trace<T>* trace = nullptr, const execution_context& exec = {}) const {
    detail::require_positive(batch, "sh2_attention_block::forward", "batch");
    detail::require_positive(length, "sh2_attention_block::forward", "length");
    const index_t D = w_.d_model, B = batch, L = length, H = w_.heads, G = w_.kv_heads, Dh = w_.head_dim();
    const index_t E = w_.qkv_width(), half = Dh / 2;
    const index_t rows = detail::checked_mul(B, L, "batch*length"), n = detail::checked_mul(rows, D, "rows*d_model");
    detail::require_size(u.size(), n, "sh2_attention_block::forward", "u", "batch*length*d_model = ", B, "*", L, "*",
                         D);
    detail::require_size(out.size(), n, "sh2_attention_block::forward", "out", "batch*length*d_model = ", B, "*", L,
                         "*", D);
    std::vector<T> a(n), qkv(detail::checked_mul(rows, E, "rows*qkv_width"));
    rms_norm<T>(rows, D, u, w_.pre_norm_scale, w_.eps, a, exec);
    linear<T>(w_.qkv, {}, E, D, rows, a, qkv, exec);
    if (trace != nullptr) trace->qkv_proj_out = qkv;
    // Rotary on the q and k heads of every position, in place.
    std::vector<T> cos_t(half), sin_t(half);
    for (index_t t = 0; t < L; ++t) {
      rotary_angles(t, cos_t.data(), sin_t.data());
      for (index_t b = 0; b < B; ++b) {
        T* row = qkv.data() + (b * L + t) * E;
        for (index_t head = 0; head < H + G; ++head) {  // the q heads, then the k heads
          T* x = row + head * Dh;
          for (index_t i = 0; i < half; ++i) {
            const T x0 = x[i], x1 = x[i + half];
            x[i] = x0 * cos_t[i] - x1 * sin_t[i];
            x[i + half] = x0 * sin_t[i] + x1 * cos_t[i];
          }
        }
      }
    }
    // [b][t][head][d] -> [b][head][t][d], each q head with its kv head's k and v.
    const index_t heads_elements = detail::checked_mul(B * H, L * Dh, "batch*heads*length*head_dim");
    std::vector<T> q(heads_elements), k(heads_elements), v(heads_elements), o(heads_elements);
    const index_t group = H / G;
    for (index_t b = 0; b < B; ++b)
      for (index_t head = 0; head < H; ++head)
        for (index_t t = 0; t < L; ++t) {
          const T* row = qkv.data() + (b * L + t) * E;
          const index_t dst = ((b * H + head) * L + t) * Dh, kv = head / group;
          std::copy(row + head * Dh, row + (head + 1) * Dh, q.begin() + dst);
          std::copy(row + (H + kv) * Dh, row + (H + kv + 1) * Dh, k.begin() + dst);
          std::copy(row + (H + G + kv) * Dh, row + (H + G + kv + 1) * Dh, v.begin() + dst);
        }
    tiled_attention<T> attention;
    attention.set_execution(exec);
    attention.apply(attention_shape{B, H, L, Dh}, q, k, v, o);
    // ctx [b][t][head][d] = o [b][head][t][d]: the rows the out projection reads.
    std::vector<T>& ctx = a;  // the normed input is used up
    for (index_t b = 0; b < B; ++b)
      for (index_t head = 0; head < H; ++head)
        for (index_t t = 0; t < L; ++t) {
          const auto src = o.begin() + ((b * H + head) * L + t) * Dh;
          std::copy(src, src + Dh, ctx.begin() + (b * L + t) * D + head * Dh);
        }
    if (trace != nullptr) record(*trace, B, L, qkv, ctx);
    std::vector<T> mixer(n), h(n);
    linear<T>(w_.out_weight, w_.out_bias, D, D, rows, ctx, mixer, exec);
    for (index_t i = 0; i < n; ++i) h[i] = u[i] + mixer[i];
    std::vector<T>& post = a;
    rms_norm<T>(rows, D, h, w_.post_norm_scale, w_.eps, post, exec);
    std::vector<T> hidden(detail::checked_mul(rows, 2 * w_.mlp.inner, "rows*2*inner"));
    gated_mlp<T>(w_.mlp, rows, post, hidden, out, exec);
    if (trace != nullptr) {
      trace->mixer_out = mixer;
      trace->post_norm_in = h;
      trace->mlp_out.assign(out.begin(), out.end());
    }
    for (index_t i = 0; i < n; ++i) out[i] += h[i];
  }

 private:
  // q_rot, k_rot, v and context in the dump's [b][t][head][d] layout.
  void record(sh2_attention_block_trace<T>& trace, index_t B, index_t L, const std::vector<T>& qkv,
              const std::vector<T>& ctx) const {
    const index_t H = w_.heads, G = w_.kv_heads, Dh = w_.head_dim(), E = w_.qkv_width();
    trace.q_rot.resize(B * L * H * Dh), trace.k_rot.resize(B * L * G * Dh), trace.v.resize(B * L * G * Dh);
    for (index_t r = 0; r < B * L; ++r) {
      const T* row = qkv.data() + r * E;
      std::copy(row, row + H * Dh, trace.q_rot.begin() + r * H * Dh);
      std::copy(row + H * Dh, row + (H + G) * Dh, trace.k_rot.begin() + r * G * Dh);
      std::copy(row + (H + G) * Dh, row + (H + 2 * G) * Dh, trace.v.begin() + r * G * Dh);
    }
    trace.context = ctx;
  }

  sh2_attention_block_weights<T> w_;
};

}  // namespace hyena
