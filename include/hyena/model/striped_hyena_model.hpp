// hyena/model/striped_hyena_model.hpp: a StripedHyena 2 (Evo 2) language
// model, vortex's StripedHyena (SPEC.md 2):
//
//   x = E[ids];  x = block(x) for each block;  logits = RMSNorm_final(x) E^T
//
// blocks are Hyena blocks (hcs, hcm, hcl) or attention blocks in any order;
// the unembedding is the embedding, tied. Inputs: token ids [batch][length];
// outputs [batch][length][vocab].
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <type_traits>
#include <variant>
#include <vector>

#include "../core/config.hpp"
#include "../core/execution.hpp"
#include "../core/span.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "linear.hpp"
#include "rms_norm.hpp"
#include "striped_attention_block.hpp"
#include "striped_hyena_block.hpp"

namespace hyena {

/// The weights of a whole StripedHyena 2 model.
template <class T>
struct sh2_model_weights {
  index_t vocab_size = 0;
  index_t d_model = 0;
  double eps = 1e-6;                ///< the final RMSNorm's
  std::vector<T> embedding;         ///< embedding_layer.weight [vocab][d_model], also the unembedding
  std::vector<T> final_norm_scale;  ///< norm.scale [d_model]
  std::vector<std::variant<sh2_hyena_block_weights<T>, sh2_attention_block_weights<T>>> blocks;
};

/// Rounds every Linear weight of `w` (the Hyena blocks' projections and
/// out_filter_dense, the attention blocks' Wqkv and out_proj, every MLP) to
/// BF16 storage, to nearest even: what a BF16 checkpoint of these weights
/// holds, in half the memory of float32. The embedding, norms and filters
/// stay T (they are small).
template <class T>
void round_matrices_to_bf16(sh2_model_weights<T>& w) {
  const auto round = [](weight_matrix<T>& m) {
    if (!m.is_bf16()) m = weight_matrix<T>::rounded_to_bf16(m.values);
  };
  for (auto& block : w.blocks)
    std::visit(
        [&](auto& b) {
          round(b.mlp.l1), round(b.mlp.l2), round(b.mlp.l3), round(b.out_weight);
          if constexpr (std::is_same_v<std::decay_t<decltype(b)>, sh2_attention_block_weights<T>>)
            round(b.qkv);
          else
            round(b.projections);
        },
        block);
}

template <class T>
class sh2_model;

/// The decoding state of `batch` sequences for one sh2_model (made by its
/// make_state()): every block's (FIR tails, modal states, KV caches) and
/// one token's activations. Movable; one per decoding loop.
template <class T>
class sh2_model_state {
 public:
  index_t batch() const noexcept { return batch_; }
  index_t capacity() const noexcept { return capacity_; }
  /// Tokens taken so far (prefill and steps).
  index_t position() const noexcept { return position_; }
  /// The blocks' states: FIR tails, modal states (double), KV caches.
  index_t bytes() const noexcept {
    index_t total = 0;
    for (const auto& b : blocks_) total += std::visit([](const auto& s) { return s.bytes(); }, b);
    return total;
  }
  /// Block i's state: a sh2_hyena_block_state or a sh2_attention_block_state.
  const std::variant<sh2_hyena_block_state<T>, sh2_attention_block_state<T>>& block(index_t i) const {
    if (i >= blocks_.size()) detail::throw_invalid("hyena::sh2_model_state::block: ", i, " >= ", blocks_.size(), " blocks");
    return blocks_[i];
  }
  void reset() {
    for (auto& b : blocks_) std::visit([](auto& s) { s.reset(); }, b);
    position_ = 0;
  }

 private:
  friend class sh2_model<T>;
  sh2_model_state(const void* owner, index_t batch, index_t capacity)
      : owner_(owner), batch_(batch), capacity_(capacity) {}
  const void* owner_;
  index_t batch_, capacity_, position_ = 0;
  std::vector<std::variant<sh2_hyena_block_state<T>, sh2_attention_block_state<T>>> blocks_;
  std::vector<T> x_, next_;  // one token's residual stream, [batch][d_model]
};

/// A StripedHyena 2 model. Immutable after construction; forward() is const
/// and may run from many threads at once.
template <class T>
class sh2_model {
  static_assert(detail::is_real_v<T>, "hyena::sh2_model<T> needs T = float or double");

 public:
  /// Throws std::invalid_argument naming the first invalid piece (block i's
  /// weights, an embedding of the wrong size, a block of another width).
  explicit sh2_model(sh2_model_weights<T> weights) : vocab_(weights.vocab_size), d_model_(weights.d_model) {
    const char* owner = "sh2_model";
    detail::require_positive(vocab_, owner, "vocab_size");
    detail::require_positive(d_model_, owner, "d_model");
    detail::require_size(weights.embedding.size(), detail::checked_mul(vocab_, d_model_, "vocab*d_model"), owner,
                         "embedding", "[vocab_size][d_model] = ", vocab_, "*", d_model_);
    detail::require_finite(weights.embedding, owner, "embedding");
    detail::require_size(weights.final_norm_scale.size(), d_model_, owner, "final_norm_scale", "[d_model] = ",
                         d_model_);
    detail::require_finite(weights.final_norm_scale, owner, "final_norm_scale");
    if (!(weights.eps >= 0) || !std::isfinite(weights.eps))
      detail::throw_invalid("hyena::", owner, ": eps must be finite and >= 0");
    embedding_ = std::move(weights.embedding);
    final_norm_scale_ = std::move(weights.final_norm_scale);
    eps_ = weights.eps;
    for (std::size_t i = 0; i < weights.blocks.size(); ++i) {
      const index_t width = std::visit([](const auto& b) { return b.d_model; }, weights.blocks[i]);
      if (width != d_model_)
        detail::throw_invalid("hyena::", owner, ": block ", i, " has d_model ", width, ", the model ", d_model_);
      try {
        if (auto* h = std::get_if<sh2_hyena_block_weights<T>>(&weights.blocks[i]))
          blocks_.emplace_back(std::in_place_type<sh2_hyena_block<T>>, std::move(*h));
        else
          blocks_.emplace_back(std::in_place_type<sh2_attention_block<T>>,
                               std::move(std::get<sh2_attention_block_weights<T>>(weights.blocks[i])));
      } catch (const std::invalid_argument& e) {
        detail::throw_invalid("hyena::", owner, ": block ", i, ": ", e.what());
      }
    }
  }

  index_t vocab_size() const noexcept { return vocab_; }
  index_t d_model() const noexcept { return d_model_; }
  index_t layers() const noexcept { return blocks_.size(); }

  /// logits [batch][length][vocab] of ids [batch][length]; with `hidden`
  /// (optional, [batch][length][d_model]) also the final norm's output.
  /// Throws std::invalid_argument on zero sizes, mismatched spans or an id
  /// outside [0, vocab).
  void forward(index_t batch, index_t length, span_arg<const std::int64_t> ids, span_arg<T> logits,
               span_arg<T> hidden = {}, const execution_context& exec = {}) const {
    detail::require_positive(batch, "sh2_model::forward", "batch");
    detail::require_positive(length, "sh2_model::forward", "length");
    const index_t rows = detail::checked_mul(batch, length, "batch*length"), D = d_model_;
    const index_t n = detail::checked_mul(rows, D, "batch*length*d_model");
    check_ids("sh2_model::forward", batch, length, ids);
    detail::require_size(logits.size(), detail::checked_mul(rows, vocab_, "rows*vocab"), "sh2_model::forward",
                         "logits", "batch*length*vocab = ", batch, "*", length, "*", vocab_);
    if (!hidden.empty())
      detail::require_size(hidden.size(), n, "sh2_model::forward", "hidden", "batch*length*d_model = ", batch,
                           "*", length, "*", D);
    std::vector<T> x(n), next(n);
    embed(rows, ids, x);
    for (const auto& block : blocks_) {
      std::visit([&](const auto& b) { b.forward(batch, length, x, next, nullptr, exec); }, block);
      std::swap(x, next);
    }
    head(rows, x, logits, hidden, exec);
  }

  // Decoding: make_state, prefill with the prompt, then one step per token.
  // Each step's logits are forward()'s at that position on the whole
  // sequence so far, to rounding: the FIR steps sum the filters' products
  // directly (hcm's forward sums them by FFT), the modal decoder runs in
  // double, the cached attention sums in double.

  /// A fresh state for `batch` sequences of up to `capacity` tokens (the
  /// attention blocks' KV caches hold that many). Throws
  /// std::invalid_argument on zero sizes, std::length_error if it cannot be
  /// allocated.
  sh2_model_state<T> make_state(index_t batch, index_t capacity) const {
    detail::require_positive(batch, "sh2_model::make_state", "batch");
    detail::require_positive(capacity, "sh2_model::make_state", "capacity");
    sh2_model_state<T> state(this, batch, capacity);
    for (const auto& block : blocks_) {
      if (const auto* h = std::get_if<sh2_hyena_block<T>>(&block))
        state.blocks_.emplace_back(h->make_state(batch));
      else
        state.blocks_.emplace_back(std::get<sh2_attention_block<T>>(block).make_state(batch, capacity));
    }
    state.x_.resize(detail::checked_mul(batch, d_model_, "batch*d_model"));
    state.next_.resize(state.x_.size());
    return state;
  }

  /// forward() on the prompt ids [batch][length], leaving `state` ready to
  /// step from there. logits: [batch][length][vocab], or [batch][vocab] for
  /// the last position only, or empty; hidden as forward()'s (the argument
  /// order of forward(): logits, then hidden). Throws std::invalid_argument
  /// on a state that is not fresh, of another model, or too small, and as
  /// forward() does; a state that a failed prefill touched is reset.
  void prefill(sh2_model_state<T>& state, index_t length, span_arg<const std::int64_t> ids, span_arg<T> logits,
               span_arg<T> hidden = {}, const execution_context& exec = {}) const {
    check_state(state, "prefill");
    detail::require_positive(length, "sh2_model::prefill", "length");
    detail::require_fresh_state_for("sh2_model::prefill", state.position_, length, state.capacity_, "tokens");
    const index_t B = state.batch_, D = d_model_;
    const index_t rows = detail::checked_mul(B, length, "batch*length"), n = detail::checked_mul(rows, D, "rows*d_model");
    check_ids("sh2_model::prefill", B, length, ids);
    const index_t all = detail::checked_mul(rows, vocab_, "rows*vocab");
    if (!logits.empty() && logits.size() != all && logits.size() != B * vocab_)
      detail::throw_invalid("hyena::sh2_model::prefill: logits has ", logits.size(),
                            " values, expected batch*length*vocab = ", all, " or batch*vocab = ", B * vocab_,
                            " (the last position) or none");
    if (!hidden.empty())
      detail::require_size(hidden.size(), n, "sh2_model::prefill", "hidden", "batch*length*d_model = ", B, "*",
                           length, "*", D);
    std::vector<T> x(n), next(n);
    embed(rows, ids, x);
    try {
      for (std::size_t i = 0; i < blocks_.size(); ++i) {
        if (const auto* h = std::get_if<sh2_hyena_block<T>>(&blocks_[i]))
          h->prefill(std::get<sh2_hyena_block_state<T>>(state.blocks_[i]), length, x, next, exec);
        else
          std::get<sh2_attention_block<T>>(blocks_[i])
              .prefill(std::get<sh2_attention_block_state<T>>(state.blocks_[i]), length, x, next, exec);
        std::swap(x, next);
      }
    } catch (...) {
      state.reset();  // fresh again, not half prefilled (e.g. a modal filter that overflows at this length)
      throw;
    }
    state.position_ = length;
    if (logits.size() == all || logits.empty()) {
      head(rows, x, logits, hidden, exec);
      return;
    }
    if (!hidden.empty()) {  // the whole hidden, the last position's logits
      rms_norm<T>(rows, D, x, final_norm_scale_, eps_, hidden, exec);
      for (index_t b = 0; b < B; ++b)
        std::copy(hidden.begin() + ((b + 1) * length - 1) * D, hidden.begin() + (b + 1) * length * D,
                  state.x_.begin() + b * D);
    } else {
      for (index_t b = 0; b < B; ++b)
        std::copy(x.begin() + ((b + 1) * length - 1) * D, x.begin() + (b + 1) * length * D, state.x_.begin() + b * D);
      rms_norm<T>(B, D, state.x_, final_norm_scale_, eps_, state.x_, exec);
    }
    linear<T>(embedding_, {}, vocab_, D, B, state.x_, logits, exec);
  }

  /// One token of every sequence: ids_t [batch]; logits_t [batch][vocab]
  /// (or empty), hidden_t [batch][d_model] (or empty). Throws
  /// std::invalid_argument on a full state (capacity reached), an id outside
  /// [0, vocab) or mismatched spans.
  void step(sh2_model_state<T>& state, span_arg<const std::int64_t> ids_t, span_arg<T> logits_t,
            span_arg<T> hidden_t = {}, const execution_context& exec = {}) const {
    check_state(state, "step");
    detail::require_room_for_a_step("sh2_model::step", state.position_, state.capacity_, "tokens");
    const index_t B = state.batch_, D = d_model_;
    check_ids("sh2_model::step", B, 1, ids_t);
    if (!logits_t.empty())
      detail::require_size(logits_t.size(), B * vocab_, "sh2_model::step", "logits_t", "batch*vocab = ", B, "*",
                           vocab_);
    if (!hidden_t.empty())
      detail::require_size(hidden_t.size(), B * D, "sh2_model::step", "hidden_t", "batch*d_model = ", B, "*", D);
    embed(B, ids_t, state.x_);
    for (std::size_t i = 0; i < blocks_.size(); ++i) {
      if (const auto* h = std::get_if<sh2_hyena_block<T>>(&blocks_[i]))
        h->step(std::get<sh2_hyena_block_state<T>>(state.blocks_[i]), state.x_, state.next_, exec);
      else
        std::get<sh2_attention_block<T>>(blocks_[i])
            .step(std::get<sh2_attention_block_state<T>>(state.blocks_[i]), state.x_, state.next_, exec);
      std::swap(state.x_, state.next_);
    }
    ++state.position_;
    head(B, state.x_, logits_t, hidden_t, exec);
  }

 private:
  void check_state(const sh2_model_state<T>& state, const char* function) const {
    if (state.owner_ != this)
      detail::throw_invalid("hyena::sh2_model::", function,
                            ": the state was made by another model (use this model's make_state)");
  }

  void check_ids(const char* where, index_t batch, index_t length, span<const std::int64_t> ids) const {
    detail::require_size(ids.size(), batch * length, where, "ids", "batch*length = ", batch, "*", length);
    for (index_t r = 0; r < ids.size(); ++r)
      if (ids[r] < 0 || ids[r] >= std::int64_t(vocab_))
        detail::throw_invalid("hyena::", where, ": ids[", r, "] = ", ids[r], " is outside [0, ", vocab_, ")");
  }

  void embed(index_t rows, span<const std::int64_t> ids, span<T> x) const {
    const index_t D = d_model_;
    for (index_t r = 0; r < rows; ++r)
      std::copy(embedding_.begin() + ids[r] * D, embedding_.begin() + (ids[r] + 1) * D, x.begin() + r * D);
  }

  // The final norm (in place on x), hidden = its copy if wanted, logits = x E^T (tied) unless empty.
  void head(index_t rows, span<T> x, span<T> logits, span<T> hidden, const execution_context& exec) const {
    rms_norm<T>(rows, d_model_, x, final_norm_scale_, eps_, x, exec);
    if (!hidden.empty()) std::copy(x.begin(), x.end(), hidden.begin());
    if (!logits.empty()) linear<T>(embedding_, {}, vocab_, d_model_, rows, x, logits, exec);
  }

  index_t vocab_, d_model_;
  double eps_ = 1e-6;
  std::vector<T> embedding_, final_norm_scale_;
  std::vector<std::variant<sh2_hyena_block<T>, sh2_attention_block<T>>> blocks_;
};

}  // namespace hyena
