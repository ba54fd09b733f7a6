// hyena/io/sh2_loader.hpp: a StripedHyena 2 (Evo 2) model from vortex's
// state_dict keys in a safetensors file and vortex's model config (the
// YAML's keys) as JSON (SPEC.md 1-4; examples/convert_vortex.py makes both
// from a vortex .pt and its .yml).
//
// The config says the block kinds (hcs_layer_idxs, hcm_layer_idxs,
// hcl_layer_idxs, attn_layer_idxs) and the hyperparameters; every tensor is
// checked against them, a missing or misshapen one named with its expected
// shape. Options that change the computation and that this library does not
// implement are refused by name; FP8 input projections are computed in
// float32 (said in sh2_config::notes).
#pragma once

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "../detail/checks.hpp"
#include "../model/striped_hyena_model.hpp"
#include "dtype.hpp"
#include "lm_config.hpp"
#include "safetensors_reader.hpp"

namespace hyena {

/// The block kinds of a StripedHyena 2 model.
enum class sh2_block_kind { hcs, hcm, hcl, attention };

/// What a vortex model config says, as far as this library reads it.
struct sh2_config {
  index_t hidden_size = 0;          ///< D
  index_t num_layers = 0;
  index_t vocab_size = 0;           ///< V (512 for Evo 2's bytes)
  index_t num_attention_heads = 0;  ///< H
  index_t proj_groups = 1;          ///< H / Hkv
  bool smeared_gqa = false;         ///< Hkv = H whatever proj_groups says
  index_t hcs_filter_groups = 0, hcs_filter_length = 0;
  index_t hcm_filter_groups = 0, hcm_filter_length = 0;
  index_t state_size = 0;      ///< S, hcl's modes per channel
  index_t inner_mlp_size = 0;  ///< the MLPs' inner width
  index_t short_filter_length = 3;
  double eps = 1e-6;
  bool evo2_style_activations = false;  ///< GELU in layer 0 only (else in every layer)
  bool hyena_out_proj_bias = true, mha_out_proj_bias = true;
  float rotary_position_scale = 1.0f;     ///< rotary_emb_scaling_factor when use_interpolated_rotary_pos_emb
  double rotary_emb_base = 10000.0;       ///< only for an inv_freq buffer that is not float32 (recomputed)
  std::vector<sh2_block_kind> blocks;     ///< from the *_layer_idxs
  std::vector<std::string> notes;         ///< options accepted but computed otherwise (FP8)

  index_t kv_heads() const noexcept {
    return smeared_gqa || proj_groups == 0 ? num_attention_heads : num_attention_heads / proj_groups;
  }
};

/// Parses a vortex model config: the YAML's keys as a JSON object, either at
/// the top level or under "config" (as the reference dumps store it). Keys
/// this library does not read (dtypes, kernels, parallelism, training) are
/// ignored: vortex's YAMLs carry dozens.
/// `source` names it in errors. Throws std::invalid_argument naming the key
/// and the problem: a required key missing or of the wrong type, a layer
/// index out of range or claimed twice or by no kind, and options this
/// library does not implement (untied embeddings, Wqkv or short-filter
/// biases, no interleave, column-split Hyena projections, x1/x2 flipped, no
/// final norm, an MLP activation other than GELU, laughing-Hyena decoding).
inline sh2_config parse_sh2_config(const nlohmann::json& document, const std::string& source = "<json>") {
  const detail::lm_config_parser p(source);
  if (!document.is_object()) p.fail("", "the config must be a JSON object");
  const nlohmann::json& c = document.contains("config") && document["config"].is_object() ? document["config"]
                                                                                          : document;
  auto required = [&](const char* key) -> const nlohmann::json& {
    if (!c.contains(key)) p.fail(key, "is missing (a vortex model config names it)");
    return c[key];
  };
  auto flag = [&](const char* key, bool fallback) { return c.contains(key) ? p.boolean(c[key], key) : fallback; };
  sh2_config cfg;
  cfg.hidden_size = p.count(required("hidden_size"), "hidden_size", 1);
  cfg.num_layers = p.count(required("num_layers"), "num_layers", 1);
  cfg.vocab_size = p.count(required("vocab_size"), "vocab_size", 1);
  cfg.num_attention_heads = p.count(required("num_attention_heads"), "num_attention_heads", 1);
  if (c.contains("proj_groups")) cfg.proj_groups = p.count(c["proj_groups"], "proj_groups", 1);
  cfg.smeared_gqa = flag("smeared_gqa", false);
  cfg.state_size = p.count(required("state_size"), "state_size", 1);
  cfg.inner_mlp_size = p.count(required("inner_mlp_size"), "inner_mlp_size", 1);
  if (c.contains("short_filter_length"))
    cfg.short_filter_length = p.count(c["short_filter_length"], "short_filter_length", 1);
  if (cfg.short_filter_length != 3)
    p.fail("short_filter_length", detail::concat("is ", cfg.short_filter_length, "; Evo 2's featurizer has 3 taps and "
                                                 "only that is supported"));
  if (c.contains("eps")) cfg.eps = p.number(c["eps"], "eps");
  if (!(cfg.eps >= 0)) p.fail("eps", "must be >= 0");
  cfg.evo2_style_activations = flag("evo2_style_activations", false);
  cfg.hyena_out_proj_bias = flag("hyena_out_proj_bias", true);
  cfg.mha_out_proj_bias = flag("mha_out_proj_bias", true);
  if (c.contains("rotary_emb_base")) cfg.rotary_emb_base = p.number(c["rotary_emb_base"], "rotary_emb_base");
  if (!(cfg.rotary_emb_base > 1)) p.fail("rotary_emb_base", "must be > 1");
  if (flag("use_interpolated_rotary_pos_emb", false)) {
    const double scale = c.contains("rotary_emb_scaling_factor")
                             ? p.number(c["rotary_emb_scaling_factor"], "rotary_emb_scaling_factor")
                             : 1.0;
    if (!(scale > 0) || scale > 1e30) p.fail("rotary_emb_scaling_factor", "must be > 0");
    cfg.rotary_position_scale = static_cast<float>(scale);
  }
  // Options that would change the computation and are not implemented.
  const struct {
    const char* key;
    bool supported;
    bool fallback;
  } fixed[] = {{"tie_embeddings", true, true},       {"qkv_proj_bias", false, false},
               {"short_filter_bias", false, false},  {"interleave", true, true},
               {"column_split_hyena", false, false}, {"hyena_flip_x1x2", false, false},
               {"final_norm", true, true},           {"use_laughing_hyena", false, false}};
  // vortex's defaults for these two (column_split_hyena: true) are not what
  // Evo 2 uses, so a config must say them.
  for (const char* key : {"interleave", "column_split_hyena"})
    if (!c.contains(key))
      p.fail(key, "is missing: vortex's default for it differs from Evo 2's, so the config must give it");
  for (const auto& f : fixed)
    if (flag(f.key, f.fallback) != f.supported)
      p.fail(f.key, detail::concat("is ", f.supported ? "false" : "true", "; only ", f.supported ? "true" : "false",
                                   " (as in every Evo 2 model) is supported"));
  if (c.contains("mlp_activation") && p.string(c["mlp_activation"], "mlp_activation") != "gelu")
    p.fail("mlp_activation", "is not \"gelu\"; only the (exact) GELU is supported");
  if (flag("use_fp8_input_projections", false))
    cfg.notes.push_back("use_fp8_input_projections: the input projections are computed in float32, not FP8");

  const struct {
    const char* key;
    sh2_block_kind kind;
  } kinds[] = {{"hcs_layer_idxs", sh2_block_kind::hcs},
               {"hcm_layer_idxs", sh2_block_kind::hcm},
               {"hcl_layer_idxs", sh2_block_kind::hcl},
               {"attn_layer_idxs", sh2_block_kind::attention}};
  // Every layer needs a kind, so the lists bound num_layers (and what it allocates).
  index_t named = 0;
  for (const auto& k : kinds) {
    if (!c.contains(k.key)) continue;
    const auto& list = c[k.key];
    if (!list.is_array()) p.fail(k.key, detail::concat("must be a list of layer indices, got ", detail::brief_json(list)));
    named += list.size();
  }
  if (named < cfg.num_layers)
    p.fail("num_layers", detail::concat("is ", cfg.num_layers, ", but hcs_, hcm_, hcl_ and attn_layer_idxs name only ",
                                        named, " layers: every layer needs a kind"));
  cfg.blocks.assign(cfg.num_layers, sh2_block_kind::hcs);
  std::vector<const char*> owner(cfg.num_layers, nullptr);
  for (const auto& k : kinds) {
    if (!c.contains(k.key)) continue;
    for (const auto& v : c[k.key]) {
      const index_t i = p.count(v, k.key, 0);
      if (i >= cfg.num_layers)
        p.fail(k.key, detail::concat("names layer ", i, ", but num_layers is ", cfg.num_layers));
      if (owner[i] != nullptr) p.fail(k.key, detail::concat("names layer ", i, ", which ", owner[i], " names too"));
      owner[i] = k.key;
      cfg.blocks[i] = k.kind;
    }
  }
  // At least num_layers distinct indices below num_layers: every layer has its kind.
  auto uses = [&](sh2_block_kind kind) {
    for (auto b : cfg.blocks)
      if (b == kind) return true;
    return false;
  };
  if (uses(sh2_block_kind::hcs)) {
    cfg.hcs_filter_groups = p.count(required("hcs_filter_groups"), "hcs_filter_groups", 1);
    cfg.hcs_filter_length = p.count(required("hcs_filter_length"), "hcs_filter_length", 1);
  }
  if (uses(sh2_block_kind::hcm)) {
    cfg.hcm_filter_groups = p.count(required("hcm_filter_groups"), "hcm_filter_groups", 1);
    cfg.hcm_filter_length = p.count(required("hcm_filter_length"), "hcm_filter_length", 1);
  }
  const index_t D = cfg.hidden_size;
  if (cfg.hcs_filter_groups != 0 && D % cfg.hcs_filter_groups != 0)
    p.fail("hcs_filter_groups", detail::concat(cfg.hcs_filter_groups, " groups do not divide hidden_size ", D));
  if (cfg.hcm_filter_groups != 0 && D % cfg.hcm_filter_groups != 0)
    p.fail("hcm_filter_groups", detail::concat(cfg.hcm_filter_groups, " groups do not divide hidden_size ", D));
  if (uses(sh2_block_kind::attention)) {
    const index_t H = cfg.num_attention_heads;
    if (D % H != 0) p.fail("num_attention_heads", detail::concat(H, " heads do not divide hidden_size ", D));
    if (!cfg.smeared_gqa && H % cfg.proj_groups != 0)
      p.fail("proj_groups", detail::concat(cfg.proj_groups, " does not divide num_attention_heads ", H));
    if ((D / H) % 2 != 0)
      p.fail("num_attention_heads", detail::concat("gives head_dim ", D / H, ", odd (rotary needs pairs)"));
  }
  return cfg;
}

/// parse_sh2_config of the JSON file at `path`.
inline sh2_config load_sh2_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument(detail::concat("hyena: model config \"", path, "\": cannot open"));
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(detail::concat("hyena: model config \"", path, "\": not valid JSON: ", e.what()));
  }
  return parse_sh2_config(document, path);
}

namespace detail {

/// A Linear's weight `name` of shape `expected`, all finite: a BF16 tensor
/// stays BF16 (weight_matrix widens it inside the kernels: half the memory of
/// float32), any other float dtype is read as T.
template <class T>
weight_matrix<T> read_weight_matrix(const checkpoint_reader& r, const std::string& name,
                                    const std::vector<index_t>& expected) {
  r.expect(name, expected);
  if (r.file().info(r.key(name)).type != dtype::bf16) return weight_matrix<T>(r.read<T>(name));
  const span<const std::uint8_t> bytes = r.file().raw_bytes(r.key(name));
  std::vector<std::uint16_t> bits(bytes.size() / 2);
  for (std::size_t k = 0; k < bits.size(); ++k) {
    bits[k] = load_le<std::uint16_t>(bytes.data() + 2 * k);
    if (!bf16_is_finite(bits[k]))
      r.fail(name, "element ", k, " is ", bf16_to_float(bits[k]), ", not finite (weights must be finite)");
  }
  return weight_matrix<T>::from_bf16(std::move(bits));
}

}  // namespace detail

/// Whether a safetensors file holds a StripedHyena 2 model (vortex's keys).
inline bool is_sh2_checkpoint(const safetensors_file& file) {
  return file.contains("embedding_layer.weight") && file.has_prefix("blocks.");
}

/// The weights of a whole model, in T (any float dtype converts), every
/// tensor checked against `config`. The projections' and MLPs' matrices
/// stored as BF16 stay BF16 (weight_matrix); everything else is widened. Throws safetensors_error naming the key
/// (missing, misshapen with the expected shape, not finite) and
/// std::invalid_argument on blocks that do not make a model.
template <class T>
sh2_model_weights<T> load_sh2_weights(const safetensors_file& file, const sh2_config& config) {
  const detail::checkpoint_reader r(file);
  const index_t D = config.hidden_size, V = config.vocab_size, I = config.inner_mlp_size;
  sh2_model_weights<T> w;
  w.vocab_size = V, w.d_model = D, w.eps = config.eps;
  w.embedding = r.read<T>("embedding_layer.weight", {V, D});
  w.final_norm_scale = r.read<T>("norm.scale", {D});
  if (r.has("unembed.weight"))
    r.fail("unembed.weight", "is present, but the config ties the unembedding to embedding_layer.weight");
  if (config.blocks.size() != config.num_layers)
    detail::throw_invalid("hyena::load_sh2_weights: the config has num_layers ", config.num_layers, " but ",
                          config.blocks.size(), " block kinds (make it with parse_sh2_config)");
  for (const auto& name : file.names_with_prefix("blocks.")) {
    const std::string index = name.substr(7, name.find('.', 7) - 7);
    const bool number = !index.empty() && index.size() <= 9 && index.find_first_not_of("0123456789") == std::string::npos;
    if (number && std::stoul(index) >= config.num_layers)
      r.fail(name, "belongs to layer ", index, ", but the config has num_layers ", config.num_layers);
  }
  for (index_t i = 0; i < config.num_layers; ++i) {
    const std::string p = "blocks." + std::to_string(i) + ".";
    auto common = [&](sh2_block_weights<T>& b) {
      b.d_model = D, b.eps = config.eps;
      b.pre_norm_scale = r.read<T>(p + "pre_norm.scale", {D});
      b.post_norm_scale = r.read<T>(p + "post_norm.scale", {D});
      b.mlp.d_model = D, b.mlp.inner = I;
      b.mlp.gelu = !config.evo2_style_activations || i == 0;
      b.mlp.l1 = detail::read_weight_matrix<T>(r, p + "mlp.l1.weight", {I, D});
      b.mlp.l2 = detail::read_weight_matrix<T>(r, p + "mlp.l2.weight", {I, D});
      b.mlp.l3 = detail::read_weight_matrix<T>(r, p + "mlp.l3.weight", {D, I});
    };
    const sh2_block_kind kind = config.blocks[i];
    if (kind == sh2_block_kind::attention) {
      sh2_attention_block_weights<T> a;
      common(a);
      a.heads = config.num_attention_heads, a.kv_heads = config.kv_heads();
      a.position_scale = config.rotary_position_scale;
      const std::string m = p + "inner_mha_cls.";
      a.qkv = detail::read_weight_matrix<T>(r, m + "Wqkv.weight", {a.qkv_width(), D});
      if (r.has(m + "Wqkv.bias")) r.fail(m + "Wqkv.bias", "is present, but the config has qkv_proj_bias false");
      a.out_weight = detail::read_weight_matrix<T>(r, m + "out_proj.weight", {D, D});
      a.out_bias = config.mha_out_proj_bias ? r.read<T>(m + "out_proj.bias", {D}) : std::vector<T>(D, T(0));
      a.inv_freq = r.read<float>(m + "rotary_emb.inv_freq", {a.head_dim() / 2});
      // vortex recomputes a buffer that is not float32 (SPEC.md 4), in float32.
      if (file.info(m + "rotary_emb.inv_freq").type != dtype::f32)
        for (index_t k = 0; k < a.inv_freq.size(); ++k)
          a.inv_freq[k] = 1.0f / std::pow(static_cast<float>(config.rotary_emb_base),
                                          static_cast<float>(2 * k) / static_cast<float>(a.head_dim()));
      w.blocks.emplace_back(std::move(a));
      continue;
    }
    sh2_hyena_block_weights<T> h;
    common(h);
    h.kind = kind == sh2_block_kind::hcs ? sh2_filter_kind::hcs
             : kind == sh2_block_kind::hcm ? sh2_filter_kind::hcm
                                            : sh2_filter_kind::hcl;
    h.projections = detail::read_weight_matrix<T>(r, p + "projections.weight", {3 * D, D});
    h.short_filter = r.read<T>(p + "filter.short_filter_weight", {3 * D, 1, 3});
    if (r.has(p + "filter.short_filter_bias"))
      r.fail(p + "filter.short_filter_bias", "is present, but the config has short_filter_bias false");
    h.out_weight = detail::read_weight_matrix<T>(r, p + "out_filter_dense.weight", {D, D});
    h.out_bias = config.hyena_out_proj_bias ? r.read<T>(p + "out_filter_dense.bias", {D}) : std::vector<T>(D, T(0));
    if (kind == sh2_block_kind::hcl) {
      h.state_size = config.state_size;
      h.log_poles = r.read<T>(p + "filter.log_poles", {D, config.state_size, 1});
      h.residues = r.read<T>(p + "filter.residues", {D, config.state_size});
      h.filter_skip = r.read<T>(p + "filter.D", {D});
    } else {
      const bool s = kind == sh2_block_kind::hcs;
      h.filter_groups = s ? config.hcs_filter_groups : config.hcm_filter_groups;
      h.filter_taps = s ? config.hcs_filter_length : config.hcm_filter_length;
      h.filter_h = r.read<T>(p + "filter.h", {h.filter_groups, 1, h.filter_taps});
      // vortex makes D only for filters of 128 taps or more (SPEC.md 3.3).
      if (h.filter_taps >= 128)
        h.filter_skip = r.read<T>(p + "filter.D", {D});
      else if (r.has(p + "filter.D"))
        r.fail(p + "filter.D", "is present, but a ", h.filter_taps, "-tap filter has no skip in vortex");
    }
    w.blocks.emplace_back(std::move(h));
  }
  return w;
}

/// The model of `weights_path` (safetensors) and `config_path` (JSON).
/// Throws as load_sh2_config, load_sh2_weights and sh2_model's constructor do.
template <class T>
sh2_model<T> load_sh2_model(const std::string& weights_path, const std::string& config_path) {
  const sh2_config config = load_sh2_config(config_path);
  return sh2_model<T>(load_sh2_weights<T>(safetensors_file::map(weights_path), config));
}

}  // namespace hyena
