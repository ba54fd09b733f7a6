// hyena/operator/weights.hpp: the parameters of one Hyena operator, and fresh ones.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "../core/config.hpp"
#include "../detail/checks.hpp"
#include "../filter/exponential_modulation.hpp"
#include "../filter/implicit_filter.hpp"
#include "../filter/positional_features.hpp"

namespace hyena {

/// Everything a Hyena operator of width D and order N learns, in PyTorch's
/// layouts (Linear weights are [out][in], y = x W^T + b).
template <class T>
struct hyena_weights {
  index_t d_model = 0;            ///< D
  index_t order = 2;              ///< N >= 2: N gates, N+1 projected streams, N-1 long filters
  index_t short_filter_size = 3;  ///< K of the depthwise short convolution
  std::vector<T> in_proj_weight;       ///< [(N+1)D][D]
  std::vector<T> in_proj_bias;         ///< [(N+1)D]
  std::vector<T> out_proj_weight;      ///< [D][D]
  std::vector<T> out_proj_bias;        ///< [D]
  std::vector<T> short_filter_weight;  ///< [(N+1)D][K] (PyTorch's [(N+1)D, 1, K])
  std::vector<T> short_filter_bias;    ///< [(N+1)D]
  implicit_filter_weights<T> filter;   ///< F = D*(N-1) long filters

  index_t streams() const { return detail::checked_mul(order + 1, d_model, "(order+1)*d_model"); }

  /// Throws std::invalid_argument naming the first member of the wrong size.
  void validate() const {
    detail::require_positive(d_model, "hyena_weights", "d_model");
    if (order < 2) detail::throw_invalid("hyena::hyena_weights: order must be >= 2, got ", order);
    detail::require_positive(short_filter_size, "hyena_weights", "short_filter_size");
    const index_t D = d_model, S = streams();
    auto need = [](const std::vector<T>& v, index_t expected, const char* name, const std::string& shape) {
      if (v.size() != expected)
        detail::throw_invalid("hyena::hyena_weights: ", name, " has ", v.size(), " elements, expected ", shape,
                              " = ", expected);
    };
    need(in_proj_weight, detail::checked_mul(S, D, "in_proj"), "in_proj_weight",
         detail::concat("(order+1)*d_model*d_model = ", order + 1, "*", D, "*", D));
    need(in_proj_bias, S, "in_proj_bias", detail::concat("(order+1)*d_model = ", order + 1, "*", D));
    need(out_proj_weight, detail::checked_mul(D, D, "out_proj"), "out_proj_weight",
         detail::concat("d_model*d_model = ", D, "*", D));
    need(out_proj_bias, D, "out_proj_bias", detail::concat("d_model = ", D));
    need(short_filter_weight, detail::checked_mul(S, short_filter_size, "short_filter"), "short_filter_weight",
         detail::concat("(order+1)*d_model*short_filter_size = ", order + 1, "*", D, "*", short_filter_size));
    need(short_filter_bias, S, "short_filter_bias", detail::concat("(order+1)*d_model = ", order + 1, "*", D));
    detail::require_finite(in_proj_weight, "hyena_weights", "in_proj_weight");
    detail::require_finite(in_proj_bias, "hyena_weights", "in_proj_bias");
    detail::require_finite(out_proj_weight, "hyena_weights", "out_proj_weight");
    detail::require_finite(out_proj_bias, "hyena_weights", "out_proj_bias");
    detail::require_finite(short_filter_weight, "hyena_weights", "short_filter_weight");
    detail::require_finite(short_filter_bias, "hyena_weights", "short_filter_bias");
    const index_t F = detail::checked_mul(D, order - 1, "d_model*(order-1)");
    if (filter.channels != F)
      detail::throw_invalid("hyena::hyena_weights: the implicit filter has ", filter.channels,
                            " channels, expected d_model*(order-1) = ", D, "*", order - 1, " = ", F);
    filter.validate();
  }
};

/// Hyperparameters of a fresh operator; defaults are the reference's.
struct hyena_config {
  index_t d_model = 0;
  index_t order = 2;
  index_t max_length = 0;          ///< Lmax, the filter grid
  index_t filter_width = 64;       ///< M (PyTorch's filter_order)
  index_t emb_dim = 3;             ///< E (odd, >= 3)
  index_t inner_layers = 2;        ///< R (num_inner_mlps)
  index_t short_filter_size = 3;
  double sine_frequency = 1.0;     ///< w: the scale of phi; each entry is drawn from w*U(0.5, 1.5)
  exponential_modulation_config modulation;  ///< decay constants for the closed-form deltas
};

/// Fresh weights initialised like the reference operator built on its own
/// (docs/operator.md, "Fresh weights"): Linear layers U(±1/sqrt(fan_in)), the short conv U(±1/sqrt(K)),
/// filter bias N(0, 1), closed-form z, t and deltas. One difference: the
/// reference sets every entry of phi to w, here each hidden unit m draws its
/// own phi_m = w * U(0.5, 1.5), so that giving a unit another unit's
/// frequency changes the filter and tests can see it (phi is drawn last: the
/// other weights of a seed are as before). Deterministic for a seed on a
/// given standard library; not bit-identical to PyTorch.
template <class T>
hyena_weights<T> random_hyena_weights(const hyena_config& config, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  auto uniform = [&gen](index_t n, double fan_in) {
    const double bound = 1.0 / std::sqrt(fan_in);
    std::uniform_real_distribution<double> dist(-bound, bound);
    std::vector<T> v(n);
    for (auto& x : v) x = static_cast<T>(dist(gen));
    return v;
  };
  const index_t D = config.d_model, N = config.order, M = config.filter_width, E = config.emb_dim;
  detail::require_positive(D, "random_hyena_weights", "d_model");
  if (N < 2) detail::throw_invalid("hyena::random_hyena_weights: order must be >= 2, got ", N);
  const index_t S = detail::checked_mul(N + 1, D, "(order+1)*d_model"), F = detail::checked_mul(D, N - 1, "F");
  hyena_weights<T> w;
  w.d_model = D;
  w.order = N;
  w.short_filter_size = config.short_filter_size;
  w.in_proj_weight = uniform(S * D, double(D));
  w.in_proj_bias = uniform(S, double(D));
  w.out_proj_weight = uniform(D * D, double(D));
  w.out_proj_bias = uniform(D, double(D));
  w.short_filter_weight = uniform(S * config.short_filter_size, double(config.short_filter_size));
  w.short_filter_bias = uniform(S, double(config.short_filter_size));
  auto& f = w.filter;
  f.positions = positional_features<T>::closed_form(config.max_length, E);
  f.width = M;
  f.channels = F;
  f.first_weight = uniform(M * E, double(E));
  f.first_bias = uniform(M, double(E));
  for (index_t j = 0; j < config.inner_layers; ++j) {
    f.inner_weights.push_back(uniform(M * M, double(M)));
    f.inner_biases.push_back(uniform(M, double(M)));
  }
  f.last_weight = uniform(F * M, double(M));
  f.deltas = decay_rates<T>(F, config.modulation);
  std::normal_distribution<double> normal(0.0, 1.0);
  f.bias.resize(F);
  for (auto& b : f.bias) b = static_cast<T>(normal(gen));
  std::uniform_real_distribution<double> around_one(0.5, 1.5);
  f.frequency.resize(M);
  for (auto& phi : f.frequency) phi = static_cast<T>(config.sine_frequency * around_one(gen));
  w.validate();
  return w;
}

}  // namespace hyena
