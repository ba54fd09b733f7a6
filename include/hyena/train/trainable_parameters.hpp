// hyena/train/trainable_parameters.hpp: the tensors an optimizer updates,
// each with its gradient, under the state_dict keys PyTorch gives them: an
// operator's (from the one key table, operator/state_dict.hpp) and a
// language model's (backbone.*, as io/lm_loader.hpp reads them).
#pragma once

#include <string>
#include <vector>

#include "../core/config.hpp"
#include "../detail/checks.hpp"
#include "../model/hyena_lm.hpp"
#include "../operator/state_dict.hpp"
#include "../operator/weights.hpp"
#include "adamw.hpp"

namespace hyena {

/// Which of an operator's tensors train besides the Linears, the short
/// convolution, the filter bias and the sine frequency. The reference's
/// defaults: z trains (lr_pos_emb), the decay rates do not (modulation_lr 0);
/// t never does.
struct hyena_trainable {
  bool positions_z = true;
  bool deltas = false;
};

/// The trainable tensors of `weights` with their gradients in `grads`
/// (zero_gradients(weights)), under their state_dict keys (the tied
/// frequency once, under its first slot), in the table's order.
template <class T>
std::vector<named_parameter<T>> trainable_parameters(hyena_weights<T>& weights, hyena_weights<T>& grads,
                                                     const hyena_trainable& which = {}) {
  std::vector<named_parameter<T>> out;
  for (const auto& key : hyena_state_dict_keys(weights.filter.inner_layers())) {
    if (key.parameter == hyena_parameter::positions_t) continue;
    if (key.parameter == hyena_parameter::positions_z && !which.positions_z) continue;
    if (key.parameter == hyena_parameter::deltas && !which.deltas) continue;
    auto& value = hyena_parameter_of(weights, key);
    auto& gradient = hyena_parameter_of(grads, key);
    if (value.size() != gradient.size())
      detail::throw_invalid("hyena::trainable_parameters: the gradient of ", key.name, " has ", gradient.size(),
                            " elements, expected ", value.size(), " (use zero_gradients(weights))");
    out.push_back({key.name, &value, &gradient});
  }
  return out;
}

/// Every trainable tensor of a language model with its gradient in `grads`
/// (zero_gradients(model)): the tied embedding (also the head), each
/// block's LayerNorms, mixer (trainable_parameters above, keys under
/// backbone.layers.{i}.mixer.) and MLP, and the final LayerNorm.
template <class T>
std::vector<named_parameter<T>> trainable_parameters(hyena_lm_weights<T>& weights, hyena_lm_weights<T>& grads,
                                                     const hyena_trainable& which = {}) {
  if (grads.layers.size() != weights.layers.size())
    detail::throw_invalid("hyena::trainable_parameters: the gradients have ", grads.layers.size(),
                          " layers, the weights ", weights.layers.size(), " (use zero_gradients(model))");
  std::vector<named_parameter<T>> out;
  auto add = [&](const std::string& name, std::vector<T>& value, std::vector<T>& gradient) {
    if (value.size() != gradient.size())
      detail::throw_invalid("hyena::trainable_parameters: the gradient of ", name, " has ", gradient.size(),
                            " elements, expected ", value.size(), " (use zero_gradients(model))");
    out.push_back({name, &value, &gradient});
  };
  add("backbone.embeddings.word_embeddings.weight", weights.word_embeddings, grads.word_embeddings);
  for (index_t i = 0; i < weights.layers.size(); ++i) {
    auto &w = weights.layers[i], &g = grads.layers[i];
    const std::string at = detail::concat("backbone.layers.", i, ".");
    add(at + "norm1.weight", w.norm1.weight, g.norm1.weight);
    add(at + "norm1.bias", w.norm1.bias, g.norm1.bias);
    for (auto& p : trainable_parameters(w.mixer, g.mixer, which)) out.push_back({at + "mixer." + p.name, p.value, p.gradient});
    add(at + "norm2.weight", w.norm2.weight, g.norm2.weight);
    add(at + "norm2.bias", w.norm2.bias, g.norm2.bias);
    add(at + "mlp.fc1.weight", w.mlp.fc1_weight, g.mlp.fc1_weight);
    add(at + "mlp.fc1.bias", w.mlp.fc1_bias, g.mlp.fc1_bias);
    add(at + "mlp.fc2.weight", w.mlp.fc2_weight, g.mlp.fc2_weight);
    add(at + "mlp.fc2.bias", w.mlp.fc2_bias, g.mlp.fc2_bias);
  }
  add("backbone.ln_f.weight", weights.final_norm.weight, grads.final_norm.weight);
  add("backbone.ln_f.bias", weights.final_norm.bias, grads.final_norm.bias);
  return out;
}

}  // namespace hyena
