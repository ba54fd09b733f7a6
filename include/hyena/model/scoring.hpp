// hyena/model/scoring.hpp: what a language model's outputs say about a sequence:
// next-token log-likelihood and perplexity from the logits, and mean-pooled
// embeddings from the hidden states.
//
//   log_likelihood = sum_{t=0}^{L-2} log softmax(logits[t])[ids[t+1]]
//   perplexity     = exp(-log_likelihood / (L-1))
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "../core/config.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "../core/span.hpp"

namespace hyena {

/// log softmax(row)[token], in double with the row's maximum subtracted
/// first, so large logits neither overflow nor lose the small terms.
/// O(row size). Throws std::invalid_argument if token is outside the row.
template <class T>
double log_softmax_at(span_arg<const T> row, index_t token) {
  if (token >= row.size())
    detail::throw_invalid("hyena::log_softmax_at: token ", token, " is outside the row's ", row.size(), " logits");
  double peak = -std::numeric_limits<double>::infinity();
  for (const T v : row) peak = std::max(peak, double(v));
  double sum = 0;
  for (const T v : row) sum += std::exp(double(v) - peak);
  return double(row[token]) - peak - std::log(sum);
}

/// The next-token score of one sequence.
struct sequence_score {
  double log_likelihood = 0;  ///< natural log, summed over the predictions
  index_t predictions = 0;    ///< L - 1: every token but the first is predicted

  /// exp(-mean log-likelihood); NaN for a one-token sequence (nothing predicted).
  double perplexity() const noexcept {
    if (predictions == 0) return std::numeric_limits<double>::quiet_NaN();
    return std::exp(-log_likelihood / double(predictions));
  }
};

/// The score of one sequence from its own logits: logits [length][vocab]
/// (row t predicts token t+1), ids [length]. The softmax runs over all
/// `vocab` columns (the padded rows included, as PyTorch's cross-entropy on
/// the model's logits does). O(length * vocab); no allocation; thread-safe.
/// Throws std::invalid_argument on mismatched spans or an id outside [0, vocab).
template <class T>
sequence_score next_token_log_likelihood(index_t length, index_t vocab, span_arg<const T> logits,
                                         span<const std::int64_t> ids) {
  detail::require_positive(vocab, "next_token_log_likelihood", "vocab");
  detail::require_size(logits.size(), detail::checked_mul(length, vocab, "length*vocab"), "next_token_log_likelihood",
                       "logits", "length*vocab = ", length, "*", vocab);
  detail::require_size(ids.size(), length, "next_token_log_likelihood", "ids", "length = ", length);
  sequence_score score;
  for (index_t t = 0; t + 1 < length; ++t) {
    const std::int64_t next = ids[t + 1];
    if (next < 0 || static_cast<std::uint64_t>(next) >= vocab)
      detail::throw_invalid("hyena::next_token_log_likelihood: token id ", next, " at position ", t + 1,
                            " is outside [0, ", vocab, ")");
    score.log_likelihood += log_softmax_at<T>(logits.subspan(t * vocab, vocab), static_cast<index_t>(next));
    ++score.predictions;
  }
  return score;
}

/// out[b][d] = mean over t of hidden[b][t][d]: one embedding per sequence.
/// hidden [batch][length][width], out [batch][width]; sums in double.
/// O(batch * length * width); thread-safe for disjoint outputs.
/// Throws std::invalid_argument on zero sizes or mismatched spans.
template <class T>
void mean_pool(index_t batch, index_t length, index_t width, span_arg<const T> hidden,
               span_arg<T> out) {
  detail::require_positive(length, "mean_pool", "length");
  detail::require_positive(width, "mean_pool", "width");
  detail::require_size(hidden.size(), detail::checked_mul(batch, length, width, "batch*length*width"), "mean_pool",
                       "hidden", "batch*length*width = ", batch, "*", length, "*", width);
  detail::require_size(out.size(), batch * width, "mean_pool", "out",
                       "batch*width = ", batch, "*", width);
  for (index_t b = 0; b < batch; ++b)
    for (index_t d = 0; d < width; ++d) {
      double sum = 0;
      for (index_t t = 0; t < length; ++t) sum += double(hidden[(b * length + t) * width + d]);
      out[b * width + d] = static_cast<T>(sum / double(length));
    }
}

}  // namespace hyena
