// hyena/io/lm_writer.hpp: a language model's weights written under the keys
// load_hyena_lm_weights reads (io/lm_loader.hpp), so a model trained here
// loads in hyena-lm and, as a state_dict, in PyTorch.
#pragma once

#include <string>
#include <vector>

#include "../core/config.hpp"
#include "../core/span.hpp"
#include "../model/hyena_lm.hpp"
#include "operator_weights.hpp"
#include "safetensors_writer.hpp"

namespace hyena {

/// Adds every tensor of `w` to `writer` under `prefix` + the key names and
/// shapes at the top of io/lm_loader.hpp (the tied head once, as the
/// embedding; the mixers through save_hyena_weights). Throws
/// std::invalid_argument for inconsistent weights (w.validate()) or a key
/// already in `writer`.
template <class T>
void save_hyena_lm_weights(const hyena_lm_weights<T>& w, safetensors_writer& writer, const std::string& prefix = "") {
  w.validate();
  auto add = [&](const std::string& name, std::vector<index_t> shape, const std::vector<T>& data) {
    writer.add(prefix + name, std::move(shape), span<const T>(data.data(), data.size()));
  };
  const index_t D = w.d_model;
  add("backbone.embeddings.word_embeddings.weight", {w.padded_vocab_size, D}, w.word_embeddings);
  for (index_t i = 0; i < w.layers.size(); ++i) {
    const auto& b = w.layers[i];
    const std::string at = detail::concat("backbone.layers.", i, ".");
    add(at + "norm1.weight", {D}, b.norm1.weight);
    add(at + "norm1.bias", {D}, b.norm1.bias);
    save_hyena_weights(b.mixer, writer, prefix + at + "mixer.");
    add(at + "norm2.weight", {D}, b.norm2.weight);
    add(at + "norm2.bias", {D}, b.norm2.bias);
    add(at + "mlp.fc1.weight", {b.mlp.d_inner, D}, b.mlp.fc1_weight);
    add(at + "mlp.fc1.bias", {b.mlp.d_inner}, b.mlp.fc1_bias);
    add(at + "mlp.fc2.weight", {D, b.mlp.d_inner}, b.mlp.fc2_weight);
    add(at + "mlp.fc2.bias", {D}, b.mlp.fc2_bias);
  }
  add("backbone.ln_f.weight", {D}, w.final_norm.weight);
  add("backbone.ln_f.bias", {D}, w.final_norm.bias);
}

}  // namespace hyena
