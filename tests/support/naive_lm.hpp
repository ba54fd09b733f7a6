// An all-naive, double-precision Hyena language model written from
// docs/language_model.md with plain loops (no Eigen, no library code but the weight structs):
// the reference the library model is tested against. The mixer is
// naive_hyena_forward.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <hyena/model/hyena_lm.hpp>
#include <hyena/operator/weights.hpp>

#include "naive_hyena.hpp"

namespace hyena::test {

/// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) in long double.
inline double naive_gelu_tanh(double x) {
  const long double X = x;
  const long double k = std::sqrt(2.0L / 3.14159265358979323846264338327950288L);
  return static_cast<double>(0.5L * X * (1.0L + std::tanh(k * (X + 0.044715L * X * X * X))));
}

/// The exact GELU, 0.5 x (1 + erf(x / sqrt 2)): what the tanh form must not be confused with.
inline double naive_gelu_erf(double x) {
  const long double X = x;
  return static_cast<double>(0.5L * X * (1.0L + std::erf(X / std::sqrt(2.0L))));
}

/// LayerNorm of each row of x [rows][width], biased variance, in long double.
template <class T>
std::vector<double> naive_layer_norm(const std::vector<double>& x, std::size_t width,
                                     const hyena::layer_norm_weights<T>& w, double eps) {
  std::vector<double> y(x.size());
  for (std::size_t r = 0; r < x.size() / width; ++r) {
    long double mean = 0, var = 0;
    for (std::size_t i = 0; i < width; ++i) mean += x[r * width + i];
    mean /= width;
    for (std::size_t i = 0; i < width; ++i) var += (x[r * width + i] - mean) * (x[r * width + i] - mean);
    var /= width;
    for (std::size_t i = 0; i < width; ++i)
      y[r * width + i] =
          static_cast<double>((x[r * width + i] - mean) / std::sqrt(var + eps) * w.weight[i] + w.bias[i]);
  }
  return y;
}

/// fc2(gelu_tanh(fc1(x))) for each row of x [rows][d_model].
template <class T>
std::vector<double> naive_mlp(const std::vector<double>& x, const hyena::feed_forward_weights<T>& w) {
  const std::size_t D = w.d_model, H = w.d_inner, rows = x.size() / D;
  std::vector<double> y(rows * D), h(H);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t j = 0; j < H; ++j) {
      double acc = w.fc1_bias[j];
      for (std::size_t d = 0; d < D; ++d) acc += double(w.fc1_weight[j * D + d]) * x[r * D + d];
      h[j] = naive_gelu_tanh(acc);
    }
    for (std::size_t d = 0; d < D; ++d) {
      double acc = w.fc2_bias[d];
      for (std::size_t j = 0; j < H; ++j) acc += double(w.fc2_weight[d * H + j]) * h[j];
      y[r * D + d] = acc;
    }
  }
  return y;
}

/// The same weights in double (exactly: every float is a double).
template <class T>
hyena::hyena_lm_weights<double> to_double(const hyena::hyena_lm_weights<T>& w) {
  auto d = [](const std::vector<T>& v) { return std::vector<double>(v.begin(), v.end()); };
  auto norm = [&](const hyena::layer_norm_weights<T>& n) {
    return hyena::layer_norm_weights<double>{d(n.weight), d(n.bias)};
  };
  hyena::hyena_lm_weights<double> out;
  out.d_model = w.d_model;
  out.padded_vocab_size = w.padded_vocab_size;
  out.word_embeddings = d(w.word_embeddings);
  out.final_norm = norm(w.final_norm);
  for (const auto& l : w.layers) {
    hyena::hyena_block_weights<double> b;
    b.norm1 = norm(l.norm1);
    b.norm2 = norm(l.norm2);
    b.mlp = {l.mlp.d_model,     l.mlp.d_inner,       d(l.mlp.fc1_weight),
             d(l.mlp.fc1_bias), d(l.mlp.fc2_weight), d(l.mlp.fc2_bias)};
    const auto& m = l.mixer;
    b.mixer.d_model = m.d_model;
    b.mixer.order = m.order;
    b.mixer.short_filter_size = m.short_filter_size;
    b.mixer.in_proj_weight = d(m.in_proj_weight);
    b.mixer.in_proj_bias = d(m.in_proj_bias);
    b.mixer.out_proj_weight = d(m.out_proj_weight);
    b.mixer.out_proj_bias = d(m.out_proj_bias);
    b.mixer.short_filter_weight = d(m.short_filter_weight);
    b.mixer.short_filter_bias = d(m.short_filter_bias);
    auto& f = b.mixer.filter;
    const auto& g = m.filter;
    f.positions.max_length = g.positions.max_length;
    f.positions.emb_dim = g.positions.emb_dim;
    f.positions.z = d(g.positions.z);
    f.positions.t = d(g.positions.t);
    f.width = g.width;
    f.channels = g.channels;
    f.first_weight = d(g.first_weight);
    f.first_bias = d(g.first_bias);
    f.frequency = d(g.frequency);
    for (const auto& v : g.inner_weights) f.inner_weights.push_back(d(v));
    for (const auto& v : g.inner_biases) f.inner_biases.push_back(d(v));
    f.last_weight = d(g.last_weight);
    f.deltas = d(g.deltas);
    f.bias = d(g.bias);
    out.layers.push_back(std::move(b));
  }
  return out;
}

struct naive_lm_output {
  std::vector<double> hidden;  // [B][L][D]
  std::vector<double> logits;  // [B][L][V']
};

/// The whole model for ids [B][L] (weights through to_double()).
inline naive_lm_output naive_lm_forward(const hyena::hyena_lm_weights<double>& w, std::size_t B, std::size_t L,
                                        const std::vector<std::int64_t>& ids, double shift, double eps,
                                        bool interleaved) {
  const std::size_t D = w.d_model, V = w.padded_vocab_size;
  std::vector<double> r(B * L * D);
  for (std::size_t i = 0; i < B * L; ++i)
    for (std::size_t d = 0; d < D; ++d) r[i * D + d] = w.word_embeddings[std::size_t(ids[i]) * D + d];
  for (const auto& layer : w.layers) {
    const auto mixed =
        naive_hyena_forward(layer.mixer, B, L, naive_layer_norm(r, D, layer.norm1, eps), shift, true, interleaved);
    for (std::size_t i = 0; i < r.size(); ++i) r[i] += mixed[i];
    const auto m = naive_mlp(naive_layer_norm(r, D, layer.norm2, eps), layer.mlp);
    for (std::size_t i = 0; i < r.size(); ++i) r[i] += m[i];
  }
  naive_lm_output out;
  out.hidden = naive_layer_norm(r, D, w.final_norm, eps);
  out.logits.resize(B * L * V);
  for (std::size_t i = 0; i < B * L; ++i)
    for (std::size_t v = 0; v < V; ++v) {
      double acc = 0;
      for (std::size_t d = 0; d < D; ++d) acc += out.hidden[i * D + d] * double(w.word_embeddings[v * D + d]);
      out.logits[i * V + v] = acc;
    }
  return out;
}

/// Random weights whose every branch matters: embeddings and Linear weights
/// U(±1/sqrt(fan_in)) scaled so activations stay O(1), LayerNorm weights
/// around 1 and biases around 0 (not the identity, so a dropped LayerNorm
/// parameter shows), GELU inputs spread over its curved part.
template <class T>
hyena::hyena_lm_weights<T> random_lm_weights(std::size_t n_layer, std::size_t D, std::size_t d_inner, std::size_t V,
                                             std::size_t l_max, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  auto uniform = [&gen](std::size_t n, double lo, double hi) {
    std::uniform_real_distribution<double> dist(lo, hi);
    std::vector<T> v(n);
    for (auto& x : v) x = static_cast<T>(dist(gen));
    return v;
  };
  hyena::hyena_lm_weights<T> w;
  w.d_model = D;
  w.padded_vocab_size = V;
  w.word_embeddings = uniform(V * D, -1, 1);
  for (std::size_t i = 0; i < n_layer; ++i) {
    hyena::hyena_block_weights<T> b;
    b.norm1 = {uniform(D, 0.5, 1.5), uniform(D, -0.5, 0.5)};
    b.norm2 = {uniform(D, 0.5, 1.5), uniform(D, -0.5, 0.5)};
    hyena::hyena_config c;
    c.d_model = D;
    c.max_length = l_max;
    c.filter_width = 16;
    c.emb_dim = 5;
    c.sine_frequency = 3.0;
    b.mixer = hyena::random_hyena_weights<T>(c, seed * 1000 + i);
    b.mlp.d_model = D;
    b.mlp.d_inner = d_inner;
    const double s1 = 2.0 / std::sqrt(double(D)), s2 = 1.0 / std::sqrt(double(d_inner));
    b.mlp.fc1_weight = uniform(d_inner * D, -s1, s1);
    b.mlp.fc1_bias = uniform(d_inner, -0.5, 0.5);
    b.mlp.fc2_weight = uniform(D * d_inner, -s2, s2);
    b.mlp.fc2_bias = uniform(D, -0.5, 0.5);
    w.layers.push_back(std::move(b));
  }
  w.final_norm = {uniform(D, 0.5, 1.5), uniform(D, -0.5, 0.5)};
  return w;
}

/// n token ids uniform in [0, vocab) from a fixed seed.
inline std::vector<std::int64_t> random_ids(std::size_t n, std::size_t vocab, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<std::int64_t> dist(0, std::int64_t(vocab) - 1);
  std::vector<std::int64_t> ids(n);
  for (auto& id : ids) id = dist(gen);
  return ids;
}

}  // namespace hyena::test
