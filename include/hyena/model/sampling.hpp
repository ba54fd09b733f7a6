// hyena/model/sampling.hpp: choosing next tokens from logits (greedy, temperature,
// top-k) and continuing a sequence with a language model.
//
//   p_i ∝ exp((logits_i - max) / temperature)   over the top_k largest of the first vocab_limit logits
//
// Draws come from std::mt19937_64, whose output sequence the C++ standard
// fixes, turned into uniforms by hand (std::uniform_real_distribution is not
// specified bit for bit): a seed gives the same tokens on every platform for
// the same logits.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "../core/config.hpp"
#include "../detail/checks.hpp"
#include "../detail/type_traits.hpp"
#include "hyena_lm.hpp"
#include "striped_hyena_model.hpp"
#include "../core/span.hpp"

namespace hyena {

struct sampling_options {
  /// Softmax temperature; 0 picks the largest logit (greedy, the lowest id on ties).
  double temperature = 1.0;
  /// Sample among the k largest logits only (ties broken towards lower ids); 0: all.
  index_t top_k = 0;
  /// Only ids below this are candidates (a padded embedding's extra rows are
  /// never tokens); 0: every logit (generate(): the model's vocab_size()).
  index_t vocab_limit = 0;
  /// When not empty, only these ids are candidates (each below the limit
  /// above), e.g. the ids of sequence characters, so that special tokens
  /// such as [SEP] are never produced (character_tokenizer::character_ids()).
  std::vector<std::int64_t> allowed_ids;
};

namespace detail {

inline void check_sampling_options(const sampling_options& options, const char* function) {
  if (!(options.temperature >= 0) || !std::isfinite(options.temperature))
    throw_invalid("hyena::", function, ": temperature must be finite and >= 0, got ", options.temperature);
}

/// A uniform double in [0, 1) from the top 53 bits of one draw.
inline double uniform_01(std::mt19937_64& rng) noexcept { return double(rng() >> 11) * (1.0 / 9007199254740992.0); }

}  // namespace detail

/// One token id drawn from `logits` (one row, [vocab]) as `options` say;
/// one draw of `rng` unless greedy. O(vocab log vocab) with top_k, else O(vocab).
/// Thread-safe with one rng per thread. Throws std::invalid_argument for
/// empty logits, a vocab_limit above their size, an allowed id outside it, a
/// negative or non-finite temperature, or NaN among the candidate logits.
template <class T>
std::int64_t sample_token(span_arg<const T> logits, const sampling_options& options,
                          std::mt19937_64& rng) {
  detail::check_sampling_options(options, "sample_token");
  if (logits.empty()) detail::throw_invalid("hyena::sample_token: no logits");
  if (options.vocab_limit > logits.size())
    detail::throw_invalid("hyena::sample_token: vocab_limit ", options.vocab_limit, " exceeds the ", logits.size(),
                          " logits");
  const index_t n = options.vocab_limit != 0 ? options.vocab_limit : logits.size();
  std::vector<index_t> candidates;
  if (options.allowed_ids.empty()) {
    candidates.resize(n);
    std::iota(candidates.begin(), candidates.end(), index_t(0));
  } else {
    for (const std::int64_t id : options.allowed_ids) {
      if (id < 0 || static_cast<std::uint64_t>(id) >= n)
        detail::throw_invalid("hyena::sample_token: allowed id ", id, " is outside the ", n, " candidate logits");
      candidates.push_back(static_cast<index_t>(id));
    }
    std::sort(candidates.begin(), candidates.end());  // ties go to lower ids, as without the list
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  }
  for (const index_t i : candidates)
    if (std::isnan(logits[i])) detail::throw_invalid("hyena::sample_token: logit ", i, " is NaN");
  if (options.temperature == 0) {
    // The largest logit; the lowest id among equals.
    index_t best = candidates.front();
    for (const index_t i : candidates)
      if (logits[i] > logits[best] || (logits[i] == logits[best] && i < best)) best = i;
    return static_cast<std::int64_t>(best);
  }

  if (options.top_k != 0 && options.top_k < candidates.size()) {
    // Largest first; equal logits keep id order, so the cut is deterministic.
    std::stable_sort(candidates.begin(), candidates.end(), [&](index_t a, index_t b) { return logits[a] > logits[b]; });
    candidates.resize(options.top_k);
  }
  double peak = -std::numeric_limits<double>::infinity();
  for (const index_t i : candidates) peak = std::max(peak, double(logits[i]));
  std::vector<double> weights(candidates.size());
  double total = 0;
  for (index_t j = 0; j < candidates.size(); ++j) {
    // The peak gets exp(0) = 1, so total >= 1 and the draw below is well
    // defined even when every other weight underflows (a tiny temperature).
    // An infinite peak (every candidate -inf, or some +inf) would make the
    // difference NaN: the limit is a uniform choice among the peak's ties.
    const double v = double(logits[candidates[j]]);
    weights[j] = std::isinf(peak) ? (v == peak ? 1.0 : 0.0) : std::exp((v - peak) / options.temperature);
    total += weights[j];
  }
  const double target = detail::uniform_01(rng) * total;
  double running = 0;
  for (index_t j = 0; j < candidates.size(); ++j) {
    running += weights[j];
    if (target < running) return static_cast<std::int64_t>(candidates[j]);
  }
  return static_cast<std::int64_t>(candidates.back());  // rounding left target == total
}

/// Continues `prompt` by `new_tokens` tokens, each drawn with sample_token
/// from the logits at the last position (options.vocab_limit 0 means
/// model.vocab_size()). Returns the new tokens only. The prompt goes through
/// the model once (prefill), then each token is one decoding step:
/// O(prompt log prompt) + O(new_tokens log^2 length) for the long
/// convolutions (docs/online_conv.md). Deterministic for a seed. Thread-safe
/// (the model is const). Throws std::invalid_argument for an empty prompt,
/// prompt.size() + new_tokens > model.max_length(), ids outside the
/// embedding, or bad options.
template <class T>
std::vector<std::int64_t> generate(const hyena_lm<T>& model, span<const std::int64_t> prompt, index_t new_tokens,
                                   const sampling_options& options, std::uint64_t seed) {
  detail::check_sampling_options(options, "generate");
  if (prompt.empty()) detail::throw_invalid("hyena::generate: the prompt is empty (nothing to continue)");
  if (new_tokens > model.max_length() || prompt.size() > model.max_length() - new_tokens)
    detail::throw_invalid("hyena::generate: the prompt's ", prompt.size(), " tokens plus ", new_tokens,
                          " new ones exceed the model's max_length ", model.max_length());
  sampling_options sampling = options;
  if (sampling.vocab_limit == 0) sampling.vocab_limit = model.vocab_size();
  if (new_tokens == 0) return {};
  std::mt19937_64 rng(seed);
  const index_t P = prompt.size(), D = model.d_model(), V = model.padded_vocab_size();
  // The last new token is never fed back: P + new_tokens - 1 positions.
  auto state = model.make_state(1, P + new_tokens - 1);
  std::vector<T> hidden(detail::checked_mul(P, D, "length*d_model")), logits(V);
  hyena_lm_workspace<T> ws;
  model.prefill(state, P, prompt, hidden, span<T>(), ws);
  model.lm_head(1, span<const T>(hidden.data() + (P - 1) * D, D), logits);
  std::vector<std::int64_t> tokens;
  tokens.reserve(new_tokens);
  for (index_t k = 0; k < new_tokens; ++k) {
    tokens.push_back(sample_token<T>(logits, sampling, rng));
    if (k + 1 < new_tokens)
      model.step(state, span<const std::int64_t>(&tokens.back(), 1), span<T>(hidden.data(), D), logits);
  }
  return tokens;
}

/// generate() for a StripedHyena 2 model: the prompt by prefill, then one
/// decoding step per new token (O(S) per channel for the modal filters, a
/// KV cache for attention). Deterministic for a seed; throws
/// std::invalid_argument for an empty prompt, ids outside the vocabulary or
/// bad options.
template <class T>
std::vector<std::int64_t> generate(const sh2_model<T>& model, span<const std::int64_t> prompt, index_t new_tokens,
                                   const sampling_options& options, std::uint64_t seed) {
  detail::check_sampling_options(options, "generate");
  if (prompt.empty()) detail::throw_invalid("hyena::generate: the prompt is empty (nothing to continue)");
  if (new_tokens == 0) return {};
  std::mt19937_64 rng(seed);
  const index_t P = prompt.size(), V = model.vocab_size();
  // The last new token is never fed back: P + new_tokens - 1 positions.
  if (new_tokens - 1 > std::numeric_limits<index_t>::max() - P)
    detail::throw_invalid("hyena::generate: the prompt's ", P, " tokens plus ", new_tokens, " new ones overflow");
  auto state = model.make_state(1, P + (new_tokens - 1));
  std::vector<T> logits(V);
  model.prefill(state, P, prompt, logits);
  std::vector<std::int64_t> tokens;
  tokens.reserve(new_tokens);
  for (index_t k = 0; k < new_tokens; ++k) {
    tokens.push_back(sample_token<T>(logits, options, rng));
    if (k + 1 < new_tokens) model.step(state, span<const std::int64_t>(&tokens.back(), 1), logits);
  }
  return tokens;
}

}  // namespace hyena
