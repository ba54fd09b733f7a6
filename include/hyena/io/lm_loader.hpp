// hyena/io/lm_loader.hpp: a Hyena language model from a PyTorch state_dict
// saved as safetensors (docs/language_model.md), and the JSON config for what the weights
// do not say.
//
// Keys (n_layer blocks; V' embedding rows, D = d_model):
//   backbone.embeddings.word_embeddings.weight     [V', D]
//   backbone.layers.{i}.norm1.{weight,bias}        [D]
//   backbone.layers.{i}.mixer.<operator keys>      hyena_state_dict_keys (operator/state_dict.hpp)
//   backbone.layers.{i}.norm2.{weight,bias}        [D]
//   backbone.layers.{i}.mlp.fc1.{weight,bias}      [d_inner, D], [d_inner]
//   backbone.layers.{i}.mlp.fc2.{weight,bias}      [D, d_inner], [D]
//   backbone.ln_f.{weight,bias}                    [D]
//   lm_head.weight                                 [V', D], optional, must equal the embedding (tied)
// behind any common prefix ending in '.' ("model." in HyenaDNA's Lightning
// checkpoints), with ".mixer.layer." / ".mlp.layer." in place of ".mixer." /
// ".mlp." for checkpoints trained with gradient checkpointing. Other keys
// (optimizer state, classification heads) are ignored.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "../detail/checks.hpp"
#include "../model/hyena_lm.hpp"
#include "lm_config.hpp"
#include "operator_weights.hpp"
#include "safetensors_reader.hpp"

namespace hyena {

namespace detail {

inline std::string dim_or(index_t value, const char* name) { return value ? std::to_string(value) : std::string(name); }

}  // namespace detail

/// Reads every parameter of a language model stored with the key names at the
/// top of this header. Hyperparameters come from the tensor shapes: D and V'
/// from the embedding, n_layer from the layer keys, d_inner from fc1, the
/// mixers' order, l_max, emb_dim, filter width, inner layers and short
/// kernel from the mixer tensors (every layer must agree with layer 0); each
/// one the config gives must match. z, t and deltas are the stored ones.
/// Any float dtype the reader converts is accepted.
/// Throws safetensors_error naming the file and the key, with the expected
/// shape, for a missing or misshapen key; for layers with a gap in their
/// numbering, a layer count other than config.n_layer, an lm_head.weight that
/// is not the embedding, or tied frequency keys that differ.
template <class T>
hyena_lm_weights<T> load_hyena_lm_weights(const safetensors_file& file, const hyena_lm_config& config = {}) {
  const detail::checkpoint_reader ck(file);

  // The prefix: whatever stands before the embedding's key.
  const std::string anchor = "backbone.embeddings.word_embeddings.weight";
  std::vector<std::string> prefixes;
  for (const auto& name : file.names())
    if (name.size() >= anchor.size() && name.compare(name.size() - anchor.size(), anchor.size(), anchor) == 0) {
      const std::string p = name.substr(0, name.size() - anchor.size());
      if (p.empty() || p.back() == '.') prefixes.push_back(p);
    }
  if (prefixes.empty())
    ck.fail(anchor,
            "missing (expected shape [vocab_size, d_model], under no prefix or one such as \"model.\"); "
            "not a HyenaDNA / safari language-model checkpoint?");
  if (prefixes.size() > 1)
    ck.fail(prefixes[0] + anchor, "is ambiguous: the file also has \"", prefixes[1] + anchor,
            "\"; keep one model per file");
  const std::string p = prefixes.front();

  hyena_lm_weights<T> w;
  const std::string emb = p + anchor;
  const auto& emb_shape = file.info(emb).shape;
  if (emb_shape.size() != 2 || emb_shape[0] == 0 || emb_shape[1] == 0 ||
      (config.d_model != 0 && emb_shape[1] != config.d_model))
    ck.fail(emb, "has shape ", detail::format_shape(emb_shape), ", expected [vocab_size, ",
            detail::dim_or(config.d_model, "d_model"), "]", config.d_model ? " (the config's d_model)" : "");
  const index_t V = emb_shape[0], D = emb_shape[1];
  if (config.vocab_size != 0) {
    // HyenaDNA pads the embedding to a multiple of pad_vocab_size_multiple;
    // without the multiple, any V' >= vocab_size is a plausible padding.
    const index_t multiple = config.pad_vocab_size_multiple ? config.pad_vocab_size_multiple : 1;
    const index_t padded = (config.vocab_size + multiple - 1) / multiple * multiple;
    const bool ok = config.pad_vocab_size_multiple ? V == padded : V >= config.vocab_size;
    if (!ok)
      ck.fail(emb, "has shape ", detail::format_shape(emb_shape), ", expected [", padded, ", ", D,
              "] (the config's vocab_size ", config.vocab_size,
              config.pad_vocab_size_multiple ? detail::concat(" padded to a multiple of ", multiple) : std::string(),
              ")");
  }
  w.d_model = D;
  w.padded_vocab_size = V;
  w.word_embeddings = ck.read<T>(emb);

  // Layers 0..n-1, numbered without gaps.
  const std::string layers = p + "backbone.layers.";
  index_t n = 0;
  while (ck.has_prefix(detail::concat(layers, n, "."))) ++n;
  for (const auto& name : file.names_with_prefix(layers)) {
    const std::string rest = name.substr(layers.size());
    const auto digits = rest.find_first_not_of("0123456789");
    if (digits == 0 || digits == std::string::npos) continue;
    const std::string index = rest.substr(0, digits);
    if (index.size() > 1 && index[0] == '0') continue;  // "01" is not a layer PyTorch would write
    if (index.size() > 18 || std::stoull(index) >= n)
      ck.fail(name, "belongs to layer ", index, " but layer ", n, " is missing (no key starts with \"", layers, n,
              ".\"; expected ", layers, n, ".norm1.weight [", D, "] and the rest of the block)");
  }
  if (config.n_layer != 0 && n < config.n_layer)
    ck.fail(detail::concat(layers, n, ".norm1.weight"), "missing (expected shape [", D,
            "]; the config's n_layer = ", config.n_layer, " but the file has ", n, " layers)");
  if (config.n_layer != 0 && n > config.n_layer)
    detail::safetensors_fail(file.source(), "the file has ", n, " layers (", layers, "0..", n - 1,
                             ") but the config's n_layer = ", config.n_layer);
  if (n == 0) ck.fail(layers + "0.norm1.weight", "missing (expected shape [", D, "]; the file has no layers)");

  // Mixer extents shared by every layer: from the config when it gives
  // them, else from layer 0's shapes; later layers must agree.
  hyena_extents mixer_extents;
  mixer_extents.d_model = D;
  mixer_extents.order = config.order;
  mixer_extents.max_length = config.l_max;
  mixer_extents.emb_dim = config.emb_dim;
  mixer_extents.width = config.filter_order;
  mixer_extents.inner_layers = config.num_inner_mlps;
  index_t H = config.d_inner;
  for (index_t i = 0; i < n; ++i) {
    const std::string at = detail::concat(layers, i, ".");
    // Gradient-checkpointed training wraps the mixer and the MLP in a module
    // of their own, which adds ".layer" to every key under them.
    const std::string mixer = at + (ck.has_prefix(at + "mixer.layer.") ? "mixer.layer." : "mixer.");
    const std::string mlp = at + (ck.has_prefix(at + "mlp.layer.") ? "mlp.layer." : "mlp.");
    hyena_block_weights<T> b;
    b.norm1.weight = ck.read<T>(at + "norm1.weight", {D});
    b.norm1.bias = ck.read<T>(at + "norm1.bias", {D});
    b.mixer = load_hyena_weights<T>(file, mixer, mixer_extents);
    b.norm2.weight = ck.read<T>(at + "norm2.weight", {D});
    b.norm2.bias = ck.read<T>(at + "norm2.bias", {D});
    const std::string fc1 = mlp + "fc1.weight";
    const auto& fc1_shape = ck.shape(fc1, detail::concat("[", detail::dim_or(H, "d_inner"), ", ", D, "]"));
    if (fc1_shape.size() != 2 || fc1_shape[1] != D || fc1_shape[0] == 0 || (H != 0 && fc1_shape[0] != H))
      ck.fail(fc1, "has shape ", detail::format_shape(fc1_shape), ", expected [", detail::dim_or(H, "d_inner"), ", ", D,
              "]");
    H = fc1_shape[0];
    b.mlp.d_model = D;
    b.mlp.d_inner = H;
    b.mlp.fc1_weight = ck.read<T>(fc1);
    b.mlp.fc1_bias = ck.read<T>(mlp + "fc1.bias", {H});
    b.mlp.fc2_weight = ck.read<T>(mlp + "fc2.weight", {D, H});
    b.mlp.fc2_bias = ck.read<T>(mlp + "fc2.bias", {D});
    w.layers.push_back(std::move(b));
  }
  w.final_norm.weight = ck.read<T>(p + "backbone.ln_f.weight", {D});
  w.final_norm.bias = ck.read<T>(p + "backbone.ln_f.bias", {D});

  // The training code's head is the embedding under a second name.
  const std::string head = p + "lm_head.weight";
  if (ck.has(head) && ck.read<T>(head, {V, D}) != w.word_embeddings)
    ck.fail(head, "differs from \"", emb,
            "\": the LM head must be tied to the word embedding (untied heads are not supported)");
  w.validate();
  return w;
}

/// The model stored at `weights_path` (load_hyena_lm_weights), built with
/// config.options. Throws as load_hyena_lm_weights and hyena_lm's constructor.
template <class T>
hyena_lm<T> load_hyena_lm(const std::string& weights_path, const hyena_lm_config& config = {}) {
  return hyena_lm<T>(load_hyena_lm_weights<T>(safetensors_file::load(weights_path), config), config.options);
}

}  // namespace hyena
