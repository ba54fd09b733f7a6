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
    detail::require_size(ids.size(), rows, "sh2_model::forward", "ids", "batch*length = ", batch, "*", length);
    detail::require_size(logits.size(), detail::checked_mul(rows, vocab_, "rows*vocab"), "sh2_model::forward",
                         "logits", "batch*length*vocab = ", batch, "*", length, "*", vocab_);
    if (!hidden.empty())
      detail::require_size(hidden.size(), n, "sh2_model::forward", "hidden", "batch*length*d_model = ", batch,
                           "*", length, "*", D);
    for (index_t r = 0; r < rows; ++r)
      if (ids[r] < 0 || ids[r] >= std::int64_t(vocab_))
        detail::throw_invalid("hyena::sh2_model::forward: ids[", r, "] = ", ids[r], " is outside [0, ", vocab_, ")");
    std::vector<T> x(n), next(n);
    for (index_t r = 0; r < rows; ++r)
      std::copy(embedding_.begin() + ids[r] * D, embedding_.begin() + (ids[r] + 1) * D, x.begin() + r * D);
    for (const auto& block : blocks_) {
      std::visit([&](const auto& b) { b.forward(batch, length, x, next, nullptr, exec); }, block);
      std::swap(x, next);
    }
    rms_norm<T>(rows, D, x, final_norm_scale_, eps_, x, exec);
    if (!hidden.empty()) std::copy(x.begin(), x.end(), hidden.begin());
    linear<T>(embedding_, {}, vocab_, D, rows, x, logits, exec);  // tied: x E^T
  }

 private:
  index_t vocab_, d_model_;
  double eps_ = 1e-6;
  std::vector<T> embedding_, final_norm_scale_;
  std::vector<std::variant<sh2_hyena_block<T>, sh2_attention_block<T>>> blocks_;
};

}  // namespace hyena
