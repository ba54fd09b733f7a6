// hyena/hyena_lm_loader.hpp: a Hyena language model from a PyTorch state_dict
// saved as safetensors (SPEC §10.3), and the JSON config for what the weights
// do not say.
//
// Keys (n_layer blocks; V' embedding rows, D = d_model):
//   backbone.embeddings.word_embeddings.weight     [V', D]
//   backbone.layers.{i}.norm1.{weight,bias}        [D]
//   backbone.layers.{i}.mixer.<operator keys>      see hyena_loader.hpp
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

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "config.hpp"
#include "detail/checks.hpp"
#include "hyena_lm.hpp"
#include "hyena_loader.hpp"
#include "safetensors.hpp"

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
/// "hyena"). Other keys are ignored, as HyenaDNA ignores them (dropouts,
/// fused_mlp, residual_in_fp32, lr, ...); a mixer key at the top level is an
/// error, since HyenaDNA would not read it there either.
/// Throws std::invalid_argument naming `source` and the key for a value of
/// the wrong type or range.
inline hyena_lm_config parse_hyena_lm_config(const nlohmann::json& json, const std::string& source = "<json>") {
  const detail::lm_config_parser p(source);
  if (!json.is_object()) p.fail("(top level)", detail::concat("must be a JSON object, got ", json.type_name()));
  hyena_lm_config c;
  for (const char* key : detail::lm_layer_keys)
    if (json.contains(key))
      p.fail(key,
             "belongs in the \"layer\" object (HyenaDNA's layout: {\"layer\": {\"" + std::string(key) + "\": ...}})");
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
    if (layout == "blocked")
      c.options.mixer.layout = filter_layout::blocked;
    else if (layout == "interleaved")
      c.options.mixer.layout = filter_layout::interleaved;
    else
      p.fail("layer.filter_layout", "must be \"blocked\" or \"interleaved\", got \"" + layout + "\"");
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

namespace detail {

/// The checkpoint's key set, and checks that name the key and the expected shape.
class lm_checkpoint {
 public:
  explicit lm_checkpoint(const safetensors_file& source) : file(source) {
    const auto all = source.names();
    names.insert(all.begin(), all.end());
  }

  bool has(const std::string& key) const { return names.count(key) != 0; }
  bool has_prefix(const std::string& prefix) const {
    const auto it = names.lower_bound(prefix);
    return it != names.end() && it->compare(0, prefix.size(), prefix) == 0;
  }
  template <class... Parts>
  [[noreturn]] void fail(const std::string& key, Parts&&... problem) const {
    safetensors_fail(file.source(), "tensor \"", key, "\": ", std::forward<Parts>(problem)...);
  }
  /// The shape of `key`, which must exist; `expected` describes it for the
  /// message when it does not (extents still unknown are spelled by name).
  const std::vector<index_t>& shape(const std::string& key, const std::string& expected) const {
    if (!has(key)) fail(key, "missing (expected shape ", expected, ")");
    return file.info(key).shape;
  }
  /// Checks that `key` exists with exactly `expected` as its shape.
  void expect(const std::string& key, const std::vector<index_t>& expected) const {
    const auto& s = shape(key, format_shape(expected));
    if (s != expected) fail(key, "has shape ", format_shape(s), ", expected ", format_shape(expected));
  }
  template <class T>
  std::vector<T> read(const std::string& key, const std::vector<index_t>& expected) const {
    expect(key, expected);
    return file.read<T>(key);
  }

  const safetensors_file& file;
  std::set<std::string> names;
};

/// Mixer hyperparameters shared by every layer: from the config when it gives
/// them, else from layer 0's shapes; later layers must agree.
struct lm_mixer_dims {
  index_t order = 0, l_max = 0, emb_dim = 0, width = 0, kernel = 0, last = 0;  // last: index of the last Linear
};

inline std::string dim_or(index_t value, const char* name) { return value ? std::to_string(value) : std::string(name); }

/// Checks every key of one mixer under `prefix` against D and `dims`
/// (filling the unknown ones), so that load_hyena_weights then cannot fail
/// and every problem is reported with the key and its expected shape.
inline void check_lm_mixer(const lm_checkpoint& ck, const std::string& prefix, index_t D, lm_mixer_dims& dims) {
  // (order+1) D streams.
  const std::string in_w = prefix + "in_proj.weight";
  const auto& in_shape =
      ck.shape(in_w, concat("[", dims.order ? concat((dims.order + 1) * D) : concat("(order+1)*", D), ", ", D, "]"));
  const bool in_ok = in_shape.size() == 2 && in_shape[1] == D && in_shape[0] % D == 0 && in_shape[0] / D >= 3 &&
                     (dims.order == 0 || in_shape[0] / D == dims.order + 1);
  if (!in_ok) {
    const std::string rows = dims.order ? concat((dims.order + 1) * D) : concat("(order+1)*", D, ", e.g. ", 3 * D);
    ck.fail(in_w, "has shape ", format_shape(in_shape), ", expected [", rows, ", ", D, "]");
  }
  if (dims.order == 0) dims.order = in_shape[0] / D - 1;
  const index_t N = dims.order, S = (N + 1) * D, F = D * (N - 1);
  ck.expect(prefix + "in_proj.bias", {S});
  ck.expect(prefix + "out_proj.weight", {D, D});
  ck.expect(prefix + "out_proj.bias", {D});
  const std::string sf = prefix + "short_filter.weight";
  const auto& sf_shape = ck.shape(sf, concat("[", S, ", 1, ", dim_or(dims.kernel, "kernel_size"), "]"));
  if (sf_shape.size() != 3 || sf_shape[0] != S || sf_shape[1] != 1 || sf_shape[2] == 0 ||
      (dims.kernel != 0 && sf_shape[2] != dims.kernel))
    ck.fail(sf, "has shape ", format_shape(sf_shape), ", expected [", S, ", 1, ", dim_or(dims.kernel, "kernel_size"),
            "]");
  dims.kernel = sf_shape[2];
  ck.expect(prefix + "short_filter.bias", {S});
  ck.expect(prefix + "filter_fn.bias", {F});

  const std::string z = prefix + "filter_fn.pos_emb.z";
  const std::string z_expected =
      concat("[1, ", dim_or(dims.l_max, "l_max"), ", ", dim_or(dims.emb_dim, "emb_dim"), "]");
  const auto& z_shape = ck.shape(z, z_expected);
  const bool z_rank = z_shape.size() == 3 && z_shape[0] == 1;
  const bool z_length = z_rank && z_shape[1] != 0 && (dims.l_max == 0 || z_shape[1] == dims.l_max);
  const bool z_emb =
      z_rank && z_shape[2] >= 3 && z_shape[2] % 2 == 1 && (dims.emb_dim == 0 || z_shape[2] == dims.emb_dim);
  if (!z_length || !z_emb) {
    // Spell out the extent that is right as it is, so the message points at the wrong one.
    const std::string length = z_length ? concat(z_shape[1]) : dim_or(dims.l_max, "l_max");
    const std::string emb = z_emb ? concat(z_shape[2]) : dim_or(dims.emb_dim, "emb_dim");
    ck.fail(z, "has shape ", format_shape(z_shape), ", expected [1, ", length, ", ", emb, "]",
            dims.emb_dim ? "" : " (emb_dim odd and >= 3)");
  }
  dims.l_max = z_shape[1];
  dims.emb_dim = z_shape[2];
  const index_t Lmax = dims.l_max, E = dims.emb_dim;
  ck.expect(prefix + "filter_fn.pos_emb.t", {1, Lmax, 1});

  const std::string mlp = prefix + "filter_fn.implicit_filter.";
  const std::string first = mlp + "0.weight";
  const auto& first_shape = ck.shape(first, concat("[", dim_or(dims.width, "filter_order"), ", ", E, "]"));
  if (first_shape.size() != 2 || first_shape[1] != E || first_shape[0] == 0 ||
      (dims.width != 0 && first_shape[0] != dims.width))
    ck.fail(first, "has shape ", format_shape(first_shape), ", expected [", dim_or(dims.width, "filter_order"), ", ", E,
            "]");
  dims.width = first_shape[0];
  const index_t M = dims.width;
  ck.expect(mlp + "0.bias", {M});
  // Linear layers sit at the even indices 0, 2, .., last; the last has no bias.
  if (dims.last == 0) {
    dims.last = 2;
    while (ck.has(concat(mlp, dims.last + 2, ".weight"))) dims.last += 2;
  }
  for (index_t j = 2; j < dims.last; j += 2) {
    ck.expect(concat(mlp, j, ".weight"), {M, M});
    ck.expect(concat(mlp, j, ".bias"), {M});
  }
  ck.expect(concat(mlp, dims.last, ".weight"), {F, M});
  if (ck.has(concat(mlp, dims.last, ".bias")))
    ck.fail(concat(mlp, dims.last, ".bias"), "unexpected: the filter's last Linear (index ", dims.last,
            ") has no bias in the reference; with a bias it would be an inner layer and ", mlp, dims.last + 2,
            ".weight [", F, ", ", M, "] would be missing");
  bool any_frequency = false;
  for (index_t slot = 1; slot < dims.last; slot += 2) {
    const std::string key = concat(mlp, slot, ".freq");
    if (!ck.has(key)) continue;
    ck.expect(key, {1, M});
    any_frequency = true;
  }
  if (!any_frequency)
    ck.fail(mlp + "1.freq", "missing (expected shape [1, ", M, "]; the sine frequency is one tensor tied across ", mlp,
            "{1,3,..}.freq and any one of them is enough)");
  ck.expect(prefix + "filter_fn.modulation.deltas", {1, 1, F});
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
  const detail::lm_checkpoint ck(file);

  // The prefix: whatever stands before the embedding's key.
  const std::string anchor = "backbone.embeddings.word_embeddings.weight";
  std::vector<std::string> prefixes;
  for (const auto& name : ck.names)
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
  w.word_embeddings = file.read<T>(emb);

  // Layers 0..n-1, numbered without gaps.
  const std::string layers = p + "backbone.layers.";
  index_t n = 0;
  while (ck.has_prefix(detail::concat(layers, n, "."))) ++n;
  for (auto it = ck.names.lower_bound(layers); it != ck.names.end() && it->compare(0, layers.size(), layers) == 0;
       ++it) {
    const std::string rest = it->substr(layers.size());
    const auto digits = rest.find_first_not_of("0123456789");
    if (digits == 0 || digits == std::string::npos) continue;
    const std::string index = rest.substr(0, digits);
    if (index.size() > 1 && index[0] == '0') continue;  // "01" is not a layer PyTorch would write
    if (index.size() > 18 || std::stoull(index) >= n)
      ck.fail(*it, "belongs to layer ", index, " but layer ", n, " is missing (no key starts with \"", layers, n,
              ".\"; expected ", layers, n, ".norm1.weight [", D, "] and the rest of the block)");
  }
  if (config.n_layer != 0 && n < config.n_layer)
    ck.fail(detail::concat(layers, n, ".norm1.weight"), "missing (expected shape [", D,
            "]; the config's n_layer = ", config.n_layer, " but the file has ", n, " layers)");
  if (config.n_layer != 0 && n > config.n_layer)
    detail::safetensors_fail(file.source(), "the file has ", n, " layers (", layers, "0..", n - 1,
                             ") but the config's n_layer = ", config.n_layer);
  if (n == 0) ck.fail(layers + "0.norm1.weight", "missing (expected shape [", D, "]; the file has no layers)");

  detail::lm_mixer_dims dims;
  dims.order = config.order;
  dims.l_max = config.l_max;
  dims.emb_dim = config.emb_dim;
  dims.width = config.filter_order;
  if (config.num_inner_mlps) dims.last = 2 * *config.num_inner_mlps + 2;
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
    detail::check_lm_mixer(ck, mixer, D, dims);
    b.mixer = load_hyena_weights<T>(file, mixer);
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
    b.mlp.fc1_weight = file.read<T>(fc1);
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
