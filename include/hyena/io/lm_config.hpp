// hyena/io/lm_config.hpp: a Hyena language model's JSON config (HyenaDNA's
// config.json): the options its weights do not carry, and hyperparameters the
// weights' shapes are checked against (docs/language_model.md).
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "../detail/checks.hpp"
#include "../filter/layout.hpp"
#include "../model/hyena_lm.hpp"
#include "safetensors_reader.hpp"

namespace hyena {

/// A model config: the options the weights do not carry, plus hyperparameters
/// the file's tensor shapes must agree with (0 or empty: not given, take the
/// shapes').
struct hyena_lm_config {
  hyena_lm_options options;  ///< layer_norm_epsilon; mixer shift, modulate, layout; vocab_size
  index_t d_model = 0;
  index_t n_layer = 0;
  index_t d_inner = 0;
  index_t vocab_size = 0;               ///< unpadded (12 for HyenaDNA); also options.vocab_size
  index_t pad_vocab_size_multiple = 0;  ///< with vocab_size: V' = vocab_size rounded up to a multiple
  index_t l_max = 0;
  index_t emb_dim = 0;
  index_t filter_order = 0;  ///< M, the filter MLP's width
  index_t order = 0;
  std::optional<index_t> num_inner_mlps;  ///< R, which may be 0
};

namespace detail {

class lm_config_parser {
 public:
  explicit lm_config_parser(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    throw std::invalid_argument(concat("hyena: model config \"", source_, "\": key \"", key, "\" ", problem));
  }
  index_t count(const nlohmann::json& v, const std::string& key, index_t minimum) const {
    if (!v.is_number_unsigned()) fail(key, concat("must be a non-negative integer, got ", brief_json(v)));
    const auto n = v.get<std::uint64_t>();
    if (n < minimum) fail(key, concat("must be >= ", minimum, ", got ", n));
    return static_cast<index_t>(n);
  }
  double number(const nlohmann::json& v, const std::string& key) const {
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      fail(key, concat("must be a finite number, got ", brief_json(v)));
    return v.get<double>();
  }
  bool boolean(const nlohmann::json& v, const std::string& key) const {
    if (!v.is_boolean()) fail(key, concat("must be true or false, got ", brief_json(v)));
    return v.get<bool>();
  }
  std::string string(const nlohmann::json& v, const std::string& key) const {
    if (!v.is_string()) fail(key, concat("must be a string, got ", brief_json(v)));
    return v.get<std::string>();
  }

 private:
  std::string source_;
};

/// Mixer hyperparameters: HyenaDNA keeps them under "layer".
inline const char* const lm_layer_keys[] = {"_name_", "l_max",    "emb_dim", "filter_order",  "w",
                                            "shift",  "modulate", "order",   "filter_layout", "num_inner_mlps"};

/// Model keys of HyenaDNA's configs that this library does not read: the
/// keyword arguments of HyenaDNA's model classes (HyenaDNAModel, LMBackbone,
/// ConvLMHeadModel, DNAEmbeddingModel): dropouts, initialisation, fused
/// kernels, parallelism, checkpointing, the classification head.
inline const char* const lm_ignored_model_keys[] = {
    "resid_dropout",       "embed_dropout",    "dropout_cls",       "initializer_cfg",  "fused_mlp",
    "fused_dropout_add_ln", "residual_in_fp32", "identity_mlp",      "checkpoint_mixer", "checkpoint_mlp",
    "sequence_parallel",   "process_group",    "use_flashfftconv",  "attn_layer_idx",   "attn_cfg",
    "max_position_embeddings", "return_hidden_state", "use_head",   "n_classes",        "device",
    "dtype"};

/// Mixer keys of HyenaDNA's configs that this library does not read: the
/// keyword arguments of HyenaOperator, HyenaFilter, PositionalEmbedding and
/// ExponentialModulation (safari's and HyenaDNA's training code and
/// standalone_hyenadna.py), and keys their released configs carry that the
/// code swallows (local_order, filter_args).
inline const char* const lm_ignored_layer_keys[] = {
    "dropout",        "filter_dropout", "short_filter_order", "local_order",    "lr",
    "wd",             "lr_pos_emb",     "bias",               "normalized",     "fused_fft_conv",
    "num_heads",      "inner_factor",   "num_blocks",         "fused_bias_fc",  "outer_mixing",
    "filter_cls",     "post_order_ffn", "jit_filter",         "activation",     "return_state",
    "use_flashfftconv", "linear_mixer", "bidirectional",      "train_freq",     "fast_decay_pct",
    "slow_decay_pct", "target",         "modulation_lr",      "filter_args"};

/// The model keys this library reads (besides "layer").
inline const char* const lm_model_keys[] = {"d_model",    "n_layer",                 "d_inner",
                                            "vocab_size", "pad_vocab_size_multiple", "layer_norm_epsilon"};

/// Edit distance (optimal string alignment: insertions, deletions,
/// substitutions and swaps of neighbours cost 1), ASCII case ignored.
inline std::size_t config_key_distance(const std::string& a, const std::string& b) {
  const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1]))
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

/// Throws unless every key of `object` is a known key: a model key (`prefix`
/// empty) or a mixer key (`prefix` "layer."). A key of the other level is
/// said to belong there; any other key is named with the closest known key,
/// among the model and the mixer keys alike, by config_key_distance (ties:
/// the keys this library reads first, then this level's).
inline void reject_unknown_config_keys(const lm_config_parser& p, const nlohmann::json& object,
                                       const std::string& prefix) {
  const bool layer = !prefix.empty();
  const auto known_at = [](const std::string& key, bool at_layer) {
    const auto in = [&](const auto& list) {
      return std::find(std::begin(list), std::end(list), key) != std::end(list);
    };
    return at_layer ? in(lm_layer_keys) || in(lm_ignored_layer_keys)
                    : key == "layer" || in(lm_model_keys) || in(lm_ignored_model_keys);
  };
  for (const auto& item : object.items()) {
    const std::string& key = item.key();
    if (known_at(key, layer)) continue;
    if (known_at(key, !layer))
      p.fail(prefix + key, layer ? "belongs at the top level, not in the \"layer\" object"
                                 : "belongs in the \"layer\" object (HyenaDNA's layout: {\"layer\": {\"" + key +
                                       "\": ...}})");
    std::string best;
    std::size_t best_distance = static_cast<std::size_t>(-1);
    const auto consider = [&](const auto& list, const std::string& list_prefix) {
      for (const char* candidate : list) {
        const std::size_t distance = config_key_distance(key, candidate);
        if (distance < best_distance) {
          best_distance = distance;
          best = list_prefix + candidate;
        }
      }
    };
    // The keys this library reads before those it ignores, and this level's first.
    if (layer) {
      consider(lm_layer_keys, "layer.");
      consider(lm_model_keys, "");
      consider(lm_ignored_layer_keys, "layer.");
      consider(lm_ignored_model_keys, "");
    } else {
      consider(lm_model_keys, "");
      consider(lm_layer_keys, "layer.");
      consider(lm_ignored_model_keys, "");
      consider(lm_ignored_layer_keys, "layer.");
    }
    p.fail(prefix + key, "is not a HyenaDNA config key (did you mean \"" + best + "\"?)");
  }
}

}  // namespace detail

/// Reads a model config in HyenaDNA's own format (its config.json), e.g.
///   {"d_model": 128, "n_layer": 2, "d_inner": 512, "vocab_size": 12,
///    "pad_vocab_size_multiple": 8, "layer_norm_epsilon": 1e-5,
///    "layer": {"_name_": "hyena", "l_max": 1026, "emb_dim": 5, "filter_order": 64, "w": 10,
///              "shift": 0.05, "modulate": true, "filter_layout": "blocked"}}
/// Every key is optional. Model keys: d_model, n_layer, d_inner (null = not
/// given), vocab_size, pad_vocab_size_multiple, layer_norm_epsilon (default
/// 1e-5). Mixer keys, under "layer": l_max, emb_dim, filter_order, order,
/// num_inner_mlps (checked against the shapes), w (initialisation only:
/// checked for type, else unused), shift (default 0.05, HyenaDNA's),
/// modulate (default true), filter_layout ("blocked", the default, or
/// "interleaved" for safari's training-code checkpoints), _name_ (must be
/// "hyena"). The other keys of HyenaDNA's model and mixer classes
/// (detail::lm_ignored_model_keys, detail::lm_ignored_layer_keys: dropouts,
/// fused_mlp, residual_in_fp32, short_filter_order, lr, ...) are accepted and
/// not read: most do not change inference, or change shapes the weights are
/// checked against; the few that would change it (num_heads, inner_factor,
/// num_blocks, post_order_ffn, outer_mixing, activation, normalized,
/// bidirectional, linear_mixer) are supported at HyenaDNA's defaults only,
/// and their values are not checked. Any other key is an error naming the closest
/// known key (a misspelt "shfit" must not silently leave the default shift),
/// and so is a mixer key at the top level or a model key under "layer",
/// where HyenaDNA would not read it either.
/// Throws std::invalid_argument naming `source` and the key for an unknown
/// or misplaced key, or a value of the wrong type or range.
inline hyena_lm_config parse_hyena_lm_config(const nlohmann::json& json, const std::string& source = "<json>") {
  const detail::lm_config_parser p(source);
  if (!json.is_object()) p.fail("(top level)", detail::concat("must be a JSON object, got ", json.type_name()));
  hyena_lm_config c;
  detail::reject_unknown_config_keys(p, json, "");
  if (json.contains("d_model")) c.d_model = p.count(json["d_model"], "d_model", 1);
  if (json.contains("n_layer")) c.n_layer = p.count(json["n_layer"], "n_layer", 1);
  if (json.contains("d_inner") && !json["d_inner"].is_null()) c.d_inner = p.count(json["d_inner"], "d_inner", 1);
  if (json.contains("vocab_size")) c.vocab_size = p.count(json["vocab_size"], "vocab_size", 1);
  if (json.contains("pad_vocab_size_multiple"))
    c.pad_vocab_size_multiple = p.count(json["pad_vocab_size_multiple"], "pad_vocab_size_multiple", 1);
  if (json.contains("layer_norm_epsilon")) {
    c.options.layer_norm_epsilon = p.number(json["layer_norm_epsilon"], "layer_norm_epsilon");
    if (c.options.layer_norm_epsilon < 0) p.fail("layer_norm_epsilon", "must be >= 0");
  }
  c.options.vocab_size = c.vocab_size;
  if (!json.contains("layer")) return c;
  const auto& layer = json["layer"];
  if (!layer.is_object()) p.fail("layer", detail::concat("must be an object, got ", layer.type_name()));
  detail::reject_unknown_config_keys(p, layer, "layer.");
  if (layer.contains("_name_")) {
    const std::string name = p.string(layer["_name_"], "layer._name_");
    if (name != "hyena") p.fail("layer._name_", "is \"" + name + "\": only Hyena mixers (\"hyena\") are supported");
  }
  if (layer.contains("l_max")) c.l_max = p.count(layer["l_max"], "layer.l_max", 1);
  if (layer.contains("emb_dim")) {
    c.emb_dim = p.count(layer["emb_dim"], "layer.emb_dim", 3);
    if (c.emb_dim % 2 == 0) p.fail("layer.emb_dim", detail::concat("must be odd, got ", c.emb_dim));
  }
  if (layer.contains("filter_order")) c.filter_order = p.count(layer["filter_order"], "layer.filter_order", 1);
  if (layer.contains("order")) c.order = p.count(layer["order"], "layer.order", 2);
  if (layer.contains("num_inner_mlps")) c.num_inner_mlps = p.count(layer["num_inner_mlps"], "layer.num_inner_mlps", 0);
  if (layer.contains("w")) (void)p.number(layer["w"], "layer.w");
  if (layer.contains("shift")) c.options.mixer.modulation.shift = p.number(layer["shift"], "layer.shift");
  if (layer.contains("modulate")) c.options.mixer.modulation.modulate = p.boolean(layer["modulate"], "layer.modulate");
  if (layer.contains("filter_layout")) {
    const std::string layout = p.string(layer["filter_layout"], "layer.filter_layout");
    const auto parsed = parse_filter_layout(layout);
    if (!parsed) p.fail("layer.filter_layout", "must be \"blocked\" or \"interleaved\", got \"" + layout + "\"");
    c.options.mixer.layout = *parsed;
  }
  return c;
}

/// parse_hyena_lm_config() of the JSON file at `path`. Throws
/// std::runtime_error if it cannot be read, std::invalid_argument (naming
/// the file) if it is not JSON or has a bad value.
inline hyena_lm_config load_hyena_lm_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("hyena: cannot open model config \"" + path + "\"");
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) throw std::runtime_error("hyena: cannot read model config \"" + path + "\"");
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {
    // nlohmann's messages are one line; keep ours one line too.
    throw std::invalid_argument("hyena: model config \"" + path + "\" is not valid JSON: " + e.what());
  }
  return parse_hyena_lm_config(json, path);
}

}  // namespace hyena
