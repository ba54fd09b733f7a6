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

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "../baselines/tiled_attention.hpp"
#include "../core/config.hpp"
#include "../core/execution.hpp"
#include "../core/span.hpp"
#include "../detail/aligned_allocator.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "gated_mlp.hpp"
#include "linear.hpp"
#include "rms_norm.hpp"
#include "striped_block_common.hpp"
#include "weight_matrix.hpp"

namespace hyena {

/// One attention block's parameters, in vortex's runtime layouts (state_dict
/// keys under blocks.N. in the comments).
template <class T>
struct sh2_attention_block_weights : sh2_block_weights<T> {
  index_t heads = 0;     ///< H query heads; head_dim = d_model / H
  index_t kv_heads = 0;  ///< Hkv key/value heads (H / proj_groups); divides H
  weight_matrix<T> qkv;            ///< inner_mha_cls.Wqkv.weight [Dh (H + 2 Hkv)][D] (T or BF16)
  weight_matrix<T> out_weight;     ///< inner_mha_cls.out_proj.weight [D][D] (T or BF16)
  std::vector<T> out_bias;         ///< inner_mha_cls.out_proj.bias [D]
  std::vector<float> inv_freq;     ///< inner_mha_cls.rotary_emb.inv_freq [Dh/2], float32 as stored
  /// Rotary positions are t / position_scale: 1, or 128 in the 1M-context
  /// models (vortex's LinearlyScaledRotaryEmbedding).
  float position_scale = 1.0f;

  index_t head_dim() const noexcept { return heads == 0 ? 0 : this->d_model / heads; }
  /// Rows of Wqkv: Dh (H + 2 Hkv).
  index_t qkv_width() const noexcept { return head_dim() * (heads + 2 * kv_heads); }

  /// Throws std::invalid_argument naming the first problem: heads that do
  /// not divide d_model or kv heads that do not divide heads, an odd head
  /// dimension (rotary pairs its halves), a member of the wrong size or a
  /// non-finite value.
  void validate() const {
    const char* owner = "sh2_attention_block_weights";
    this->validate_norms_and_mlp(owner);
    const index_t D = this->d_model;
    detail::require_positive(heads, owner, "heads");
    detail::require_positive(kv_heads, owner, "kv_heads");
    if (D % heads != 0) detail::throw_invalid("hyena::", owner, ": ", heads, " heads do not divide d_model ", D);
    if (heads % kv_heads != 0)
      detail::throw_invalid("hyena::", owner, ": ", kv_heads, " kv heads do not divide ", heads, " heads");
    if (head_dim() % 2 != 0)
      detail::throw_invalid("hyena::", owner, ": head_dim ", head_dim(), " is odd (rotary needs pairs)");
    if (!(position_scale > 0) || !std::isfinite(position_scale))
      detail::throw_invalid("hyena::", owner, ": position_scale must be finite and > 0, got ", position_scale);
    auto need = [&](const auto& v, index_t expected, const char* name, const char* shape) {
      detail::require_size(v.size(), expected, owner, name, shape, " (d_model ", D, ", heads ", heads,
                           ", kv_heads ", kv_heads, ")");
      detail::require_finite(v, owner, name);
    };
    auto need_matrix = [&](const weight_matrix<T>& m, index_t expected, const char* name, const char* shape) {
      m.check_size(expected, owner, name, shape, " (d_model ", D, ", heads ", heads, ", kv_heads ", kv_heads, ")");
      m.require_finite(owner, name);
    };
    need_matrix(qkv, detail::checked_mul(qkv_width(), D, "qkv rows*d_model"), "qkv", "[head_dim*(heads+2*kv_heads)][d_model]");
    need_matrix(out_weight, detail::checked_mul(D, D, "d_model*d_model"), "out_weight", "[d_model][d_model]");
    need(out_bias, D, "out_bias", "[d_model]");
    need(inv_freq, head_dim() / 2, "inv_freq", "[head_dim/2]");
  }
};

/// What forward() can record of a call, [batch][length][...] as the
/// reference dump stores them: q_rot [H][Dh], k_rot and v [Hkv][Dh],
/// context [H][Dh] per position.
template <class T>
struct sh2_attention_block_trace {
  std::vector<T> qkv_proj_out, q_rot, k_rot, v, context, mixer_out, post_norm_in, mlp_out;
};

template <class T>
class sh2_attention_block;

/// The decoding state of `batch` sequences for one attention block (made by
/// its make_state()): the KV cache, k after rotary and v, [batch][kv
/// head][capacity][head_dim] each: bytes() = 2 B Hkv capacity Dh sizeof(T);
/// one token's scratch comes on top. Movable.
template <class T>
class sh2_attention_block_state {
 public:
  index_t batch() const noexcept { return batch_; }
  index_t capacity() const noexcept { return capacity_; }
  /// Tokens in the cache.
  index_t position() const noexcept { return position_; }
  index_t bytes() const noexcept { return (k_.size() + v_.size()) * sizeof(T); }
  /// The cached keys (after rotary) and values, [batch][kv head][capacity][head_dim];
  /// the first position() of each row are filled.
  span<const T> keys() const noexcept { return k_; }
  span<const T> values() const noexcept { return v_; }
  void reset() { position_ = 0; }

 private:
  friend class sh2_attention_block<T>;
  sh2_attention_block_state(const void* owner, index_t batch, index_t capacity, index_t cache_values)
      : owner_(owner), batch_(batch), capacity_(capacity), k_(cache_values), v_(cache_values) {}
  const void* owner_;
  index_t batch_, capacity_, position_ = 0;
  std::vector<T> k_, v_;
  std::vector<T> a_, qkv_, ctx_, mixer_, cos_, sin_;  // one token's activations
  std::vector<double> scores_, acc_;
  sh2_residual_mlp_scratch<T> tail_;
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
  /// product (t / position_scale) * inv_freq[i] (see the top of this header).
  void rotary_angles(index_t t, T* cos_out, T* sin_out) const noexcept {
    const index_t half = w_.head_dim() / 2;
    const float position = w_.position_scale == 1.0f ? static_cast<float>(t) : static_cast<float>(t) / w_.position_scale;
    for (index_t i = 0; i < half; ++i) {
      const float angle = position * w_.inv_freq[i];
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
    run(batch, length, u, out, trace, nullptr, exec);
  }

  // Decoding: make_state with room for every token of the sequence, prefill
  // with the prompt's block inputs, then one step per token; a step attends
  // over the cache, softmax summed in double.

  /// A fresh state for `batch` sequences of up to `capacity` tokens. Throws
  /// std::invalid_argument on zero sizes, std::length_error if the cache
  /// could not be allocated.
  sh2_attention_block_state<T> make_state(index_t batch, index_t capacity) const {
    detail::require_positive(batch, "sh2_attention_block::make_state", "batch");
    detail::require_positive(capacity, "sh2_attention_block::make_state", "capacity");
    const index_t values = detail::checked_mul(detail::checked_mul(batch, w_.kv_heads, "batch*kv_heads"),
                                               detail::checked_mul(capacity, w_.head_dim(), "capacity*head_dim"),
                                               "KV cache values");
    detail::require_allocatable(values, 2 * sizeof(T), "sh2_attention_block KV cache");
    return sh2_attention_block_state<T>(this, batch, capacity, values);
  }

  /// forward() on the first `length` inputs, caching their keys and values.
  /// Throws std::invalid_argument on a state that is not fresh, of another
  /// block, or too small, and as forward() does.
  void prefill(sh2_attention_block_state<T>& state, index_t length, span_arg<const T> u, span_arg<T> out,
               const execution_context& exec = {}) const {
    check_state(state, "prefill");
    detail::require_fresh_state_for("sh2_attention_block::prefill", state.position_, length, state.capacity_,
                                    "tokens");
    run(state.batch_, length, u, out, nullptr, &state, exec);
  }

  /// One token of every sequence: u_t, out_t [batch][d_model] (out_t must
  /// not overlap u_t). O(B (D (Dh (H + 2 Hkv) + D + 3 inner) + H position Dh)).
  void step(sh2_attention_block_state<T>& state, span_arg<const T> u_t, span_arg<T> out_t,
            const execution_context& exec = {}) const {
    check_state(state, "step");
    detail::require_room_for_a_step("sh2_attention_block::step", state.position_, state.capacity_, "tokens");
    const index_t B = state.batch_, D = w_.d_model, n = B * D, H = w_.heads, G = w_.kv_heads;
    const index_t Dh = w_.head_dim(), E = w_.qkv_width(), half = Dh / 2, t = state.position_, cap = state.capacity_;
    detail::require_size(u_t.size(), n, "sh2_attention_block::step", "u_t", "batch*d_model = ", B, "*", D);
    detail::require_size(out_t.size(), n, "sh2_attention_block::step", "out_t", "batch*d_model = ", B, "*", D);
    auto& qkv = state.qkv_;
    auto& ctx = state.ctx_;
    state.a_.resize(n), qkv.resize(B * E), ctx.resize(n), state.mixer_.resize(n);
    state.cos_.resize(half), state.sin_.resize(half);
    rms_norm<T>(B, D, u_t, w_.pre_norm_scale, w_.eps, state.a_, exec);
    linear<T>(w_.qkv, {}, E, D, B, state.a_, qkv, exec);
    rotary_angles(t, state.cos_.data(), state.sin_.data());
    for (index_t b = 0; b < B; ++b) {
      rotate(qkv.data() + b * E, H + G, state.cos_.data(), state.sin_.data());
      for (index_t g = 0; g < G; ++g) {
        const T* row = qkv.data() + b * E;
        const index_t at = ((b * G + g) * cap + t) * Dh;
        std::copy(row + (H + g) * Dh, row + (H + g + 1) * Dh, state.k_.begin() + at);
        std::copy(row + (H + G + g) * Dh, row + (H + G + g + 1) * Dh, state.v_.begin() + at);
      }
    }
    // Every (sequence, head) on its own, over the threads; each worker has
    // its own scores and accumulator. The dot products run in eight double
    // lanes (vectorized; one running sum would wait on each addition).
    const double scale = 1.0 / std::sqrt(double(Dh));
    const index_t items = B * H, work = 4 * (t + 1) * Dh;
    const index_t workers = exec.workers(items, work);
    state.scores_.resize(workers * (t + 1)), state.acc_.resize(workers * Dh);
    exec.parallel_for(items, work, [&](index_t first, index_t last, unsigned worker) {
      double* scores = state.scores_.data() + worker * (t + 1);
      double* acc = state.acc_.data() + worker * Dh;
      for (index_t item = first; item < last; ++item) {
        const index_t b = item / H, head = item % H, g = head / (H / G);
        const T* q = qkv.data() + b * E + head * Dh;
        const T* k = state.k_.data() + (b * G + g) * cap * Dh;
        const T* v = state.v_.data() + (b * G + g) * cap * Dh;
        double top = -HUGE_VAL;
        for (index_t j = 0; j <= t; ++j) {
          const T* kj = k + j * Dh;
          double lane[8] = {};
          index_t d = 0;
          for (; d + 8 <= Dh; d += 8)
            for (index_t l = 0; l < 8; ++l) lane[l] += double(q[d + l]) * double(kj[d + l]);
          for (index_t l = 0; l < 8 && d + l < Dh; ++l) lane[l] += double(q[d + l]) * double(kj[d + l]);
          const double dot = ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
          scores[j] = dot * scale;
          top = std::max(top, scores[j]);
        }
        double total = 0;
        std::fill(acc, acc + Dh, 0.0);
        for (index_t j = 0; j <= t; ++j) {
          const double e = std::exp(scores[j] - top);
          total += e;
          for (index_t d = 0; d < Dh; ++d) acc[d] += e * double(v[j * Dh + d]);
        }
        for (index_t d = 0; d < Dh; ++d) ctx[b * D + head * Dh + d] = T(acc[d] / total);
      }
    });
    linear<T>(w_.out_weight, w_.out_bias, D, D, B, ctx, state.mixer_, exec);
    sh2_residual_mlp<T>(w_, B, u_t, state.mixer_, out_t, state.tail_, nullptr, nullptr, exec);
    ++state.position_;
  }

 private:
  void check_state(const sh2_attention_block_state<T>& state, const char* function) const {
    if (state.owner_ != this)
      detail::throw_invalid("hyena::sh2_attention_block::", function,
                            ": the state was made by another block (use this block's make_state)");
  }

  // Rotates `heads` consecutive heads of Dh values (GPT-NeoX halves) in place.
  void rotate(T* x, index_t heads, const T* cos_t, const T* sin_t) const noexcept {
    const index_t Dh = w_.head_dim(), half = Dh / 2;
    for (index_t head = 0; head < heads; ++head, x += Dh)
      for (index_t i = 0; i < half; ++i) {
        const T x0 = x[i], x1 = x[i + half];
        x[i] = x0 * cos_t[i] - x1 * sin_t[i];
        x[i + half] = x0 * sin_t[i] + x1 * cos_t[i];
      }
  }

  // forward(), and with `state` also the prefill of its KV cache.
  void run(index_t batch, index_t length, span_arg<const T> u, span_arg<T> out, sh2_attention_block_trace<T>* trace,
           sh2_attention_block_state<T>* state, const execution_context& exec) const {
    detail::require_positive(batch, "sh2_attention_block::forward", "batch");
    detail::require_positive(length, "sh2_attention_block::forward", "length");
    const index_t D = w_.d_model, B = batch, L = length, H = w_.heads, G = w_.kv_heads, Dh = w_.head_dim();
    const index_t E = w_.qkv_width(), half = Dh / 2;
    const index_t rows = detail::checked_mul(B, L, "batch*length"), n = detail::checked_mul(rows, D, "rows*d_model");
    detail::require_size(u.size(), n, "sh2_attention_block::forward", "u", "batch*length*d_model = ", B, "*", L, "*",
                         D);
    detail::require_size(out.size(), n, "sh2_attention_block::forward", "out", "batch*length*d_model = ", B, "*", L,
                         "*", D);
    // Uninitialised: every value is written before it is read, by the
    // threads that use it (no serial zeroing pass over hundreds of MB).
    activations a(n), qkv(detail::checked_mul(rows, E, "rows*qkv_width"));
    rms_norm<T>(rows, D, u, w_.pre_norm_scale, w_.eps, a, exec);
    linear<T>(w_.qkv, {}, E, D, rows, a, qkv, exec);
    if (trace != nullptr) trace->qkv_proj_out.assign(qkv.begin(), qkv.end());
    // Rotary on the q and k heads of every position, in place.
    exec.parallel_for(L, 4 * B * (H + G) * half, [&](index_t t0, index_t t1, unsigned) {
      std::vector<T> cos_t(half), sin_t(half);
      for (index_t t = t0; t < t1; ++t) {
        rotary_angles(t, cos_t.data(), sin_t.data());
        for (index_t b = 0; b < B; ++b) rotate(qkv.data() + (b * L + t) * E, H + G, cos_t.data(), sin_t.data());
      }
    });
    if (state != nullptr) {
      const index_t cap = state->capacity_;
      exec.parallel_for(B * G, 2 * L * Dh, [&](index_t first, index_t last, unsigned) {
        for (index_t item = first; item < last; ++item) {
          const index_t b = item / G, g = item % G;
          for (index_t t = 0; t < L; ++t) {
            const T* row = qkv.data() + (b * L + t) * E;
            const index_t at = ((b * G + g) * cap + t) * Dh;
            std::copy(row + (H + g) * Dh, row + (H + g + 1) * Dh, state->k_.begin() + at);
            std::copy(row + (H + G + g) * Dh, row + (H + G + g + 1) * Dh, state->v_.begin() + at);
          }
        }
      });
      state->position_ = L;
    }
    // [b][t][head][d] -> [b][head][t][d], each q head with its kv head's k and v.
    const index_t heads_elements = detail::checked_mul(B * H, L * Dh, "batch*heads*length*head_dim");
    activations q(heads_elements), k(heads_elements), v(heads_elements), o(heads_elements);
    const index_t group = H / G;
    exec.parallel_for(B * H, 3 * L * Dh, [&](index_t first, index_t last, unsigned) {
      for (index_t item = first; item < last; ++item) {
        const index_t b = item / H, head = item % H, kv = head / group;
        for (index_t t = 0; t < L; ++t) {
          const T* row = qkv.data() + (b * L + t) * E;
          const index_t dst = (item * L + t) * Dh;
          std::copy(row + head * Dh, row + (head + 1) * Dh, q.begin() + dst);
          std::copy(row + (H + kv) * Dh, row + (H + kv + 1) * Dh, k.begin() + dst);
          std::copy(row + (H + G + kv) * Dh, row + (H + G + kv + 1) * Dh, v.begin() + dst);
        }
      }
    });
    tiled_attention<T> attention;
    attention.set_execution(exec);
    attention.apply(attention_shape{B, H, L, Dh}, q, k, v, o);
    // ctx [b][t][head][d] = o [b][head][t][d]: the rows the out projection reads.
    activations& ctx = a;  // the normed input is used up
    exec.parallel_for(B * H, L * Dh, [&](index_t first, index_t last, unsigned) {
      for (index_t item = first; item < last; ++item) {
        const index_t b = item / H, head = item % H;
        for (index_t t = 0; t < L; ++t) {
          const auto src = o.begin() + (item * L + t) * Dh;
          std::copy(src, src + Dh, ctx.begin() + (b * L + t) * D + head * Dh);
        }
      }
    });
    if (trace != nullptr) record(*trace, B, L, qkv, ctx);
    activations& mixer = q;  // q is used up; it holds at least n values
    linear<T>(w_.out_weight, w_.out_bias, D, D, rows, ctx, span<T>(mixer.data(), n), exec);
    if (trace != nullptr) trace->mixer_out.assign(mixer.begin(), mixer.begin() + n);
    sh2_residual_mlp_scratch<T> scratch;
    sh2_residual_mlp<T>(w_, rows, u, span<const T>(mixer.data(), n), out, scratch,
                        trace ? &trace->post_norm_in : nullptr, trace ? &trace->mlp_out : nullptr, exec);
  }

  // q_rot, k_rot, v and context in the dump's [b][t][head][d] layout.
  void record(sh2_attention_block_trace<T>& trace, index_t B, index_t L, span<const T> qkv,
              span<const T> ctx) const {
    const index_t H = w_.heads, G = w_.kv_heads, Dh = w_.head_dim(), E = w_.qkv_width();
    trace.q_rot.resize(B * L * H * Dh), trace.k_rot.resize(B * L * G * Dh), trace.v.resize(B * L * G * Dh);
    for (index_t r = 0; r < B * L; ++r) {
      const T* row = qkv.data() + r * E;
      std::copy(row, row + H * Dh, trace.q_rot.begin() + r * H * Dh);
      std::copy(row + H * Dh, row + (H + G) * Dh, trace.k_rot.begin() + r * G * Dh);
      std::copy(row + (H + G) * Dh, row + (H + 2 * G) * Dh, trace.v.begin() + r * G * Dh);
    }
    trace.context.assign(ctx.begin(), ctx.end());
  }

  using activations = detail::uninitialized_aligned_vector<T>;
  sh2_attention_block_weights<T> w_;
};

}  // namespace hyena
