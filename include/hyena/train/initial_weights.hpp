// hyena/train/initial_weights.hpp: a fresh language model to train, sized by
// its architecture and initialised as HyenaDNA's _init_weights does.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "../detail/checks.hpp"
#include "../model/hyena_lm.hpp"
#include "../operator/weights.hpp"

namespace hyena {

/// The sizes of a language model (io/lm_loader.hpp lists its tensors).
struct hyena_lm_architecture {
  index_t n_layer = 2;
  index_t d_model = 0;
  index_t d_inner = 0;             ///< the MLP's width; 0: 4 d_model
  index_t padded_vocab_size = 0;   ///< V', the embedding's rows
  hyena_config mixer;              ///< every layer's operator (its d_model is d_model)
  /// The embedding's (and tied head's) N(0, s) deviation: HyenaDNA's 0.02 by
  /// default; PyTorch's nn.Embedding alone draws N(0, 1). The tiny default
  /// leaves every token's code to be learned from nothing, and on
  /// associative recall such codes end low-rank (keys in antipodal pairs on
  /// ~8 directions) and stall where three keys share one; N(0, 1) keeps each
  /// token distinct from the start (examples/train_recall.cpp).
  double embedding_stddev = 0.02;
};

/// Fresh weights, deterministic for a seed: the embedding
/// N(0, embedding_stddev), every projection (mixer in/out, MLP fc1/fc2)
/// N(0, 0.02) with zero biases, the
/// residual branches' last projections (out_proj, fc2) scaled by
/// 1/sqrt(2 n_layer) (GPT-2's rule, as HyenaDNA); LayerNorms 1 and 0; each
/// mixer's short convolution and implicit filter as random_hyena_weights
/// draws them (PyTorch's defaults). The embedding's deviation does not change
/// the other tensors' draws. Throws std::invalid_argument for a zero size, an
/// embedding_stddev that is not positive and finite, or an invalid mixer
/// config.
template <class T>
hyena_lm_weights<T> initial_hyena_lm_weights(const hyena_lm_architecture& a, std::uint64_t seed) {
  const char* function = "initial_hyena_lm_weights";
  detail::require_positive(a.n_layer, function, "n_layer");
  detail::require_positive(a.d_model, function, "d_model");
  detail::require_positive(a.padded_vocab_size, function, "padded_vocab_size");
  if (!(std::isfinite(a.embedding_stddev) && a.embedding_stddev > 0))
    detail::throw_invalid("hyena::", function, ": embedding_stddev must be positive and finite, got ",
                          a.embedding_stddev);
  const index_t D = a.d_model, H = a.d_inner ? a.d_inner : detail::checked_mul(4, D, "4*d_model");
  std::mt19937_64 gen(seed);
  // Standard normals scaled here, not by the distribution: how many draws a
  // tensor takes then cannot depend on its deviation.
  auto normal = [&gen](index_t n, double stddev) {
    std::normal_distribution<double> standard(0.0, 1.0);
    std::vector<T> v(n);
    for (auto& x : v) x = static_cast<T>(stddev * standard(gen));
    return v;
  };
  auto constant = [](index_t n, double value) { return std::vector<T>(n, static_cast<T>(value)); };
  const double stddev = 0.02, residual = stddev / std::sqrt(2.0 * double(a.n_layer));

  hyena_lm_weights<T> w;
  w.d_model = D;
  w.padded_vocab_size = a.padded_vocab_size;
  w.word_embeddings = normal(detail::checked_mul(a.padded_vocab_size, D, "V'*d_model"), a.embedding_stddev);
  for (index_t i = 0; i < a.n_layer; ++i) {
    hyena_block_weights<T> b;
    b.norm1 = {constant(D, 1), constant(D, 0)};
    b.norm2 = {constant(D, 1), constant(D, 0)};
    hyena_config c = a.mixer;
    c.d_model = D;
    b.mixer = random_hyena_weights<T>(c, gen());
    b.mixer.in_proj_weight = normal(b.mixer.in_proj_weight.size(), stddev);
    b.mixer.in_proj_bias = constant(b.mixer.in_proj_bias.size(), 0);
    b.mixer.out_proj_weight = normal(b.mixer.out_proj_weight.size(), residual);
    b.mixer.out_proj_bias = constant(D, 0);
    b.mlp.d_model = D;
    b.mlp.d_inner = H;
    b.mlp.fc1_weight = normal(detail::checked_mul(H, D, "d_inner*d_model"), stddev);
    b.mlp.fc1_bias = constant(H, 0);
    b.mlp.fc2_weight = normal(D * H, residual);
    b.mlp.fc2_bias = constant(D, 0);
    w.layers.push_back(std::move(b));
  }
  w.final_norm = {constant(D, 1), constant(D, 0)};
  w.validate();
  return w;
}

}  // namespace hyena
