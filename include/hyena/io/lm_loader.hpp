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

/// The key that anchors a language-model checkpoint: the model's prefix is
/// whatever stands before it.
inline constexpr char lm_embedding_key[] = "backbone.embeddings.word_embeddings.weight";

/// The prefix before lm_embedding_key: empty or ending in '.'. Throws unless
/// exactly one key has such a prefix.
inline std::string lm_key_prefix(const checkpoint_reader& ck) {
  const std::string anchor = lm_embedding_key;
  std::vector<std::string> prefixes;
  for (const auto& name : ck.file().names())
    if (name.size() >= anchor.size() && name.compare(name.size() - anchor.size(), anchor.size(), anchor) == 0) {
      std::string p = name.substr(0, name.size() - anchor.size());
      if (p.empty() || p.back() == '.') prefixes.push_back(std::move(p));
    }
  if (prefixes.empty())
    ck.fail(anchor,
            "missing (expected shape [vocab_size, d_model], under no prefix or one such as \"model.\"); "
            "not a HyenaDNA / safari language-model checkpoint?");
  if (prefixes.size() > 1)
    ck.fail(prefixes[0] + anchor, "is ambiguous: the file also has \"", prefixes[1] + anchor,
            "\"; keep one model per file");
  return prefixes.front();
}

/// Checks V' (the embedding's rows, `shape[0]`) against the config's
/// vocab_size and pad_vocab_size_multiple.
inline void check_padded_vocab(const checkpoint_reader& ck, const std::string& emb, const std::vector<index_t>& shape,
                               const hyena_lm_config& config) {
  // HyenaDNA pads the embedding to a multiple of pad_vocab_size_multiple;
  // without the multiple, any V' >= vocab_size is a plausible padding.
  const index_t V = shape[0], D = shape[1];
  const index_t multiple = config.pad_vocab_size_multiple ? config.pad_vocab_size_multiple : 1;
  const index_t padded = (config.vocab_size + multiple - 1) / multiple * multiple;
  const bool ok = config.pad_vocab_size_multiple ? V == padded : V >= config.vocab_size;
  if (!ok)
    ck.fail(emb, "has shape ", format_shape(shape), ", expected [", padded, ", ", D, "] (the config's vocab_size ",
            config.vocab_size,
            config.pad_vocab_size_multiple ? concat(" padded to a multiple of ", multiple) : std::string(), ")");
}

/// The shape [V', D] of the embedding `emb` (which exists), checked against
/// the config's d_model and vocab size.
inline const std::vector<index_t>& lm_embedding_shape(const checkpoint_reader& ck, const std::string& emb,
                                                      const hyena_lm_config& config) {
  const auto& shape = ck.file().info(emb).shape;
  if (shape.size() != 2 || shape[0] == 0 || shape[1] == 0 || (config.d_model != 0 && shape[1] != config.d_model))
    ck.fail(emb, "has shape ", format_shape(shape), ", expected [vocab_size, ", dim_or(config.d_model, "d_model"), "]",
            config.d_model ? " (the config's d_model)" : "");
  if (config.vocab_size != 0) check_padded_vocab(ck, emb, shape, config);
  return shape;
}

/// Throws for a key under `layers` ("<prefix>backbone.layers.") whose layer
/// index is n or more: layer n is missing, so the numbering has a gap.
inline void require_no_layer_gap(const checkpoint_reader& ck, const std::string& layers, index_t n, index_t D) {
  for (const auto& name : ck.file().names_with_prefix(layers)) {
    const std::string rest = name.substr(layers.size());
    const auto digits = rest.find_first_not_of("0123456789");
    if (digits == 0 || digits == std::string::npos) continue;
    const std::string index = rest.substr(0, digits);
    if (index.size() > 1 && index[0] == '0') continue;  // "01" is not a layer PyTorch would write
    if (index.size() > 18 || std::stoull(index) >= n)
      ck.fail(name, "belongs to layer ", index, " but layer ", n, " is missing (no key starts with \"", layers, n,
              ".\"; expected ", layers, n, ".norm1.weight [", D, "] and the rest of the block)");
  }
}

/// n_layer: the blocks under `layers`, numbered 0..n-1 without gaps, at least
/// one, and as many as the config's n_layer when it gives one.
inline index_t count_lm_layers(const checkpoint_reader& ck, const std::string& layers, index_t D,
                               const hyena_lm_config& config) {
  index_t n = 0;
  while (ck.has_prefix(concat(layers, n, "."))) ++n;
  require_no_layer_gap(ck, layers, n, D);
  if (config.n_layer != 0 && n < config.n_layer)
    ck.fail(concat(layers, n, ".norm1.weight"), "missing (expected shape [", D, "]; the config's n_layer = ",
            config.n_layer, " but the file has ", n, " layers)");
  if (config.n_layer != 0 && n > config.n_layer)
    safetensors_fail(ck.file().source(), "the file has ", n, " layers (", layers, "0..", n - 1,
                     ") but the config's n_layer = ", config.n_layer);
  if (n == 0) ck.fail(layers + "0.norm1.weight", "missing (expected shape [", D, "]; the file has no layers)");
  return n;
}

/// The extents every block shares. D comes from the embedding; the rest from
/// the config when it gives them (0 / unset when not), else from layer 0's
/// shapes, which every later layer must then match.
struct lm_block_extents {
  index_t d_model = 0;
  index_t d_inner = 0;
  hyena_extents mixer;

  static lm_block_extents known_from(const hyena_lm_config& config, index_t D) {
    lm_block_extents x;
    x.d_model = D;
    x.d_inner = config.d_inner;
    x.mixer.d_model = D;
    x.mixer.order = config.order;
    x.mixer.max_length = config.l_max;
    x.mixer.emb_dim = config.emb_dim;
    x.mixer.width = config.filter_order;
    x.mixer.inner_layers = config.num_inner_mlps;
    return x;
  }
};

/// The key prefix of a block's `module` ("mixer" or "mlp") under `at`
/// ("<prefix>backbone.layers.{i}.").
inline std::string lm_module_prefix(const checkpoint_reader& ck, const std::string& at, const std::string& module) {
  // Gradient-checkpointed training wraps the mixer and the MLP in a module
  // of their own, which adds ".layer" to every key under them.
  const std::string wrapped = at + module + ".layer.";
  return ck.has_prefix(wrapped) ? wrapped : at + module + ".";
}

/// `at`weight and `at`bias, each [D].
template <class T>
layer_norm_weights<T> read_lm_layer_norm(const checkpoint_reader& ck, const std::string& at, index_t D) {
  layer_norm_weights<T> norm;
  norm.weight = ck.read<T>(at + "weight", {D});
  norm.bias = ck.read<T>(at + "bias", {D});
  return norm;
}

/// The MLP under `mlp`: fc1 [d_inner, D] fixes d_inner when it is not yet
/// known (x.d_inner == 0), and must match it otherwise.
template <class T>
feed_forward_weights<T> read_lm_mlp(const checkpoint_reader& ck, const std::string& mlp, lm_block_extents& x) {
  const index_t D = x.d_model;
  const std::string fc1 = mlp + "fc1.weight";
  const auto& fc1_shape = ck.shape(fc1, concat("[", dim_or(x.d_inner, "d_inner"), ", ", D, "]"));
  if (fc1_shape.size() != 2 || fc1_shape[1] != D || fc1_shape[0] == 0 || (x.d_inner != 0 && fc1_shape[0] != x.d_inner))
    ck.fail(fc1, "has shape ", format_shape(fc1_shape), ", expected [", dim_or(x.d_inner, "d_inner"), ", ", D, "]");
  x.d_inner = fc1_shape[0];
  const index_t H = x.d_inner;
  feed_forward_weights<T> f;
  f.d_model = D;
  f.d_inner = H;
  f.fc1_weight = ck.read<T>(fc1);
  f.fc1_bias = ck.read<T>(mlp + "fc1.bias", {H});
  f.fc2_weight = ck.read<T>(mlp + "fc2.weight", {D, H});
  f.fc2_bias = ck.read<T>(mlp + "fc2.bias", {D});
  return f;
}

/// The block under `at` ("<prefix>backbone.layers.{i}."), read in the order
/// of the key list at the top of this header; fills in `x` from the first.
template <class T>
hyena_block_weights<T> read_lm_block(const checkpoint_reader& ck, const std::string& at, lm_block_extents& x) {
  hyena_block_weights<T> b;
  b.norm1 = read_lm_layer_norm<T>(ck, at + "norm1.", x.d_model);
  b.mixer = load_hyena_weights<T>(ck.file(), lm_module_prefix(ck, at, "mixer"), x.mixer);
  b.norm2 = read_lm_layer_norm<T>(ck, at + "norm2.", x.d_model);
  b.mlp = read_lm_mlp<T>(ck, lm_module_prefix(ck, at, "mlp"), x);
  return b;
}

/// Throws if `head` is present and differs from the embedding (stored under
/// `emb` and read into `w`): the training code's head is the embedding under
/// a second name.
template <class T>
void require_tied_lm_head(const checkpoint_reader& ck, const std::string& head, const std::string& emb,
                          const hyena_lm_weights<T>& w) {
  if (ck.has(head) && ck.read<T>(head, {w.padded_vocab_size, w.d_model}) != w.word_embeddings)
    ck.fail(head, "differs from \"", emb,
            "\": the LM head must be tied to the word embedding (untied heads are not supported)");
}

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
  const std::string p = detail::lm_key_prefix(ck);
  const std::string emb = p + detail::lm_embedding_key;
  const auto& emb_shape = detail::lm_embedding_shape(ck, emb, config);

  hyena_lm_weights<T> w;
  w.padded_vocab_size = emb_shape[0];
  w.d_model = emb_shape[1];
  w.word_embeddings = ck.read<T>(emb);

  const std::string layers = p + "backbone.layers.";
  const index_t n = detail::count_lm_layers(ck, layers, w.d_model, config);
  auto extents = detail::lm_block_extents::known_from(config, w.d_model);
  for (index_t i = 0; i < n; ++i)
    w.layers.push_back(detail::read_lm_block<T>(ck, detail::concat(layers, i, "."), extents));
  w.final_norm = detail::read_lm_layer_norm<T>(ck, p + "backbone.ln_f.", w.d_model);

  detail::require_tied_lm_head(ck, p + "lm_head.weight", emb, w);
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
