// The StripedHyena 2 loader (parse_sh2_config, load_sh2_weights): vortex's
// config and state_dict keys, and the errors that name the offending key or
// value. The weights are the reference dump's (sh2_tiny_shared), rewritten
// with one change per case; its numbers are checked by
// tests/integration/test_reference_stripedhyena2*.cpp.
#include <hyena/io/safetensors_writer.hpp>
#include <hyena/io/sh2_loader.hpp>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/reference.hpp"

namespace {

using hyena::index_t;

// Counts are unsigned JSON numbers, as a parsed file's are (3u, not 3).
#define EXPECT_CONTAINS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

std::filesystem::path case_dir() { return hyena::test::reference_dir() / "stripedhyena2" / "sh2_tiny_shared"; }

nlohmann::json dump_config() {
  std::ifstream in(case_dir() / "config.json");
  return nlohmann::json::parse(in)["config"];
}

// The dump's tensors, with `edit` applied to (name, shape, values) of each;
// an edit that clears the name drops the tensor.
using tensor_edit = std::function<void(std::string&, std::vector<index_t>&, std::vector<float>&)>;
hyena::safetensors_file rewritten(const tensor_edit& edit) {
  const auto params = hyena::safetensors_file::load((case_dir() / "params.safetensors").string());
  hyena::safetensors_writer out;
  for (const auto& name : params.names()) {
    std::string n = name;
    auto shape = params.info(name).shape;
    auto values = params.read<float>(name);
    edit(n, shape, values);
    if (!n.empty()) out.add(n, shape, hyena::span<const float>(values));
  }
  return hyena::safetensors_file::parse(out.bytes(), "edited.safetensors");
}

template <class E = std::invalid_argument>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "no exception";
}

std::string config_error(const nlohmann::json& config) {
  return error_of([&] { (void)hyena::parse_sh2_config(config, "evo.json"); });
}

std::string weights_error(const tensor_edit& edit) {
  const auto config = hyena::parse_sh2_config(dump_config());
  return error_of<std::exception>([&] { (void)hyena::sh2_model<float>(hyena::load_sh2_weights<float>(rewritten(edit), config)); });
}

TEST(Sh2Loader, ReadsVortexConfigs) {
  const auto c = hyena::parse_sh2_config(dump_config());
  EXPECT_EQ(c.hidden_size, 32);
  EXPECT_EQ(c.num_layers, 4);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.kv_heads(), 2);
  EXPECT_EQ(c.hcs_filter_length, 7);
  EXPECT_EQ(c.hcm_filter_length, 128);
  EXPECT_EQ(c.state_size, 16);
  EXPECT_EQ(c.inner_mlp_size, 96);
  EXPECT_TRUE(c.evo2_style_activations);
  EXPECT_EQ(c.blocks, (std::vector<hyena::sh2_block_kind>{hyena::sh2_block_kind::hcs, hyena::sh2_block_kind::hcm,
                                                          hyena::sh2_block_kind::hcl,
                                                          hyena::sh2_block_kind::attention}));
  EXPECT_EQ(c.rotary_position_scale, 1.0f);
  EXPECT_TRUE(c.notes.empty());
  // The dump's file wraps the config under "config"; a bare one reads the same.
  std::ifstream in(case_dir() / "config.json");
  EXPECT_EQ(hyena::parse_sh2_config(nlohmann::json::parse(in)).blocks, c.blocks);
  EXPECT_TRUE(hyena::is_sh2_checkpoint(hyena::safetensors_file::load((case_dir() / "params.safetensors").string())));
}

TEST(Sh2Loader, ScaledRotaryOfTheMillionTokenModels) {
  auto j = dump_config();
  j["use_interpolated_rotary_pos_emb"] = true;
  j["rotary_emb_scaling_factor"] = 128u;
  const auto c = hyena::parse_sh2_config(j);
  EXPECT_EQ(c.rotary_position_scale, 128.0f);
  const auto file = hyena::safetensors_file::load((case_dir() / "params.safetensors").string());
  const auto scaled = hyena::sh2_model<double>(hyena::load_sh2_weights<double>(file, c));
  (void)scaled;
  auto w = hyena::load_sh2_weights<double>(file, c);
  auto& a = std::get<hyena::sh2_attention_block_weights<double>>(w.blocks[3]);
  EXPECT_EQ(a.position_scale, 128.0f);
  // Position 384 of the scaled model turns by position 3's angles of the plain one.
  const hyena::sh2_attention_block<double> block_scaled(a);
  a.position_scale = 1.0f;
  const hyena::sh2_attention_block<double> block_plain(a);
  double c1[4], s1[4], c2[4], s2[4];
  block_scaled.rotary_angles(384, c1, s1);
  block_plain.rotary_angles(3, c2, s2);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(c1[i], c2[i]);
    EXPECT_EQ(s1[i], s2[i]);
  }
  block_scaled.rotary_angles(385, c1, s1);  // and in between, t / 128 (not rounded to an integer)
  EXPECT_NE(c1[0], c2[0]);
}

TEST(Sh2Loader, ConfigErrorsNameTheKey) {
  auto with = [](const char* key, nlohmann::json value) {
    auto j = dump_config();
    j[key] = std::move(value);
    return config_error(j);
  };
  auto without = [](const char* key) {
    auto j = dump_config();
    j.erase(key);
    return config_error(j);
  };
  EXPECT_CONTAINS(without("hidden_size"), "\"hidden_size\" is missing");
  EXPECT_CONTAINS(without("inner_mlp_size"), "\"inner_mlp_size\" is missing");
  EXPECT_CONTAINS(with("hidden_size", "32"), "\"hidden_size\" must be a non-negative integer");
  EXPECT_CONTAINS(with("hcs_filter_groups", 3u), "3 groups do not divide hidden_size 32");
  EXPECT_CONTAINS(with("hcm_filter_groups", 5u), "5 groups do not divide hidden_size 32");
  EXPECT_CONTAINS(with("num_attention_heads", 5u), "5 heads do not divide hidden_size 32");
  EXPECT_CONTAINS(with("proj_groups", 3u), "\"proj_groups\" 3 does not divide num_attention_heads 4");
  EXPECT_CONTAINS(with("attn_layer_idxs", {4u}), "names layer 4, but num_layers is 4");
  EXPECT_CONTAINS(with("attn_layer_idxs", {3u, 2u}), "names layer 2, which hcl_layer_idxs names too");
  EXPECT_CONTAINS(with("attn_layer_idxs", nlohmann::json::array()), "name only 3 layers: every layer needs a kind");
  EXPECT_CONTAINS(with("num_layers", 1000000000000u), "name only 4 layers");  // refused before allocating

  EXPECT_CONTAINS(with("hcl_layer_idxs", "2"), "must be a list of layer indices");
  EXPECT_CONTAINS(with("qkv_proj_bias", true), "\"qkv_proj_bias\" is true; only false");
  EXPECT_CONTAINS(with("tie_embeddings", false), "\"tie_embeddings\" is false; only true");
  EXPECT_CONTAINS(with("hyena_flip_x1x2", true), "\"hyena_flip_x1x2\" is true");
  EXPECT_CONTAINS(with("mlp_activation", "silu"), "only the (exact) GELU");
  EXPECT_CONTAINS(with("short_filter_length", 4u), "3 taps");
  EXPECT_CONTAINS(with("eps", -1), "\"eps\" must be >= 0");
  EXPECT_CONTAINS(config_error(nlohmann::json::array()), "JSON object");
  EXPECT_CONTAINS(without("column_split_hyena"), "\"column_split_hyena\" is missing: vortex's default");
  EXPECT_CONTAINS(without("interleave"), "\"interleave\" is missing");
  EXPECT_CONTAINS(with("hidden_size", nlohmann::json::array({1u, 2u})), "got an array of 2 elements");
  auto fp8 = dump_config();
  fp8["use_fp8_input_projections"] = true;
  const auto c = hyena::parse_sh2_config(fp8);
  ASSERT_EQ(c.notes.size(), 1u);
  EXPECT_CONTAINS(c.notes[0], "float32");
}

TEST(Sh2Loader, WeightErrorsNameTheKeyAndShape) {
  EXPECT_CONTAINS(weights_error([](std::string& n, auto&, auto&) {
                    if (n == "blocks.1.filter.D") n.clear();
                  }),
                  "\"blocks.1.filter.D\": missing (expected shape [32])");
  EXPECT_CONTAINS(weights_error([](std::string& n, std::vector<index_t>& shape, std::vector<float>& v) {
                    if (n == "blocks.0.filter.h") shape = {1, 1, 14};
                    (void)v;
                  }),
                  "\"blocks.0.filter.h\": has shape [1, 1, 14], expected [2, 1, 7]");
  EXPECT_CONTAINS(weights_error([](std::string& n, auto&, auto&) {
                    if (n == "blocks.3.inner_mha_cls.Wqkv.weight") n = "blocks.3.inner_mha_cls.Wqkv.weights";
                  }),
                  "\"blocks.3.inner_mha_cls.Wqkv.weight\": missing (expected shape [64, 32])");
  EXPECT_CONTAINS(weights_error([](std::string& n, auto&, std::vector<float>& v) {
                    if (n == "blocks.2.filter.residues") v[5] = std::numeric_limits<float>::quiet_NaN();
                  }),
                  "blocks.2.filter.residues");
  EXPECT_CONTAINS(weights_error([](std::string& n, auto&, auto&) {
                    if (n == "blocks.0.mlp.l3.weight") n = "blocks.4.mlp.l3.weight";
                  }),
                  "\"blocks.4.mlp.l3.weight\": belongs to layer 4, but the config has num_layers 4");
  EXPECT_CONTAINS(weights_error([](std::string& n, auto&, auto&) {
                    if (n == "norm.scale") n = "blocks.4.norm.scale";
                  }),
                  "\"norm.scale\": missing");
  // A hcs filter file where the config says hcm: the kind's shape is named.
  {
    auto j = dump_config();
    j["hcm_layer_idxs"] = {0u, 1u};
    j["hcs_layer_idxs"] = nlohmann::json::array();
    const auto c = hyena::parse_sh2_config(j);
    const auto file = hyena::safetensors_file::load((case_dir() / "params.safetensors").string());
    EXPECT_CONTAINS(error_of<std::exception>([&] { (void)hyena::load_sh2_weights<float>(file, c); }),
                    "\"blocks.0.filter.h\": has shape [2, 1, 7], expected [2, 1, 128]");
  }
  // A layer beyond num_layers in the file.
  {
    auto j = dump_config();
    j["num_layers"] = 3u;
    j["attn_layer_idxs"] = nlohmann::json::array();
    const auto c = hyena::parse_sh2_config(j);
    const auto file = hyena::safetensors_file::load((case_dir() / "params.safetensors").string());
    EXPECT_CONTAINS(error_of<std::exception>([&] { (void)hyena::load_sh2_weights<float>(file, c); }),
                    "belongs to layer 3, but the config has num_layers 3");
  }
  // The config's hcs length disagrees with the kind vortex would pick.
  {
    auto j = dump_config();
    j["hcm_filter_length"] = 7u;
    j["hcm_layer_idxs"] = {0u, 1u};
    j["hcs_layer_idxs"] = nlohmann::json::array();
    const auto c = hyena::parse_sh2_config(j);
    const auto file = hyena::safetensors_file::load((case_dir() / "params.safetensors").string());
    EXPECT_CONTAINS(error_of<std::exception>([&] { (void)hyena::load_sh2_weights<float>(file, c); }),
                    "\"blocks.1.filter.h\": has shape [2, 1, 128], expected [2, 1, 7]");
  }
}

// vortex recomputes an inv_freq buffer that is not float32 as
// 1 / base^(2i/Dh) in float32 (SPEC.md 4); a float32 one is used as stored.
TEST(Sh2Loader, RotaryBufferNotFloat32IsRecomputed) {
  const auto params = hyena::safetensors_file::load((case_dir() / "params.safetensors").string());
  hyena::safetensors_writer out;
  const std::string key = "blocks.3.inner_mha_cls.rotary_emb.inv_freq";
  for (const auto& name : params.names()) {
    if (name == key) {
      const auto wide = params.read<double>(name);
      out.add(name, params.info(name).shape, hyena::span<const double>(wide));
    } else {
      const auto values = params.read<float>(name);
      out.add(name, params.info(name).shape, hyena::span<const float>(values));
    }
  }
  const auto config = hyena::parse_sh2_config(dump_config());
  const auto stored = hyena::load_sh2_weights<float>(params, config);
  const auto recomputed = hyena::load_sh2_weights<float>(hyena::safetensors_file::parse(out.bytes()), config);
  const auto& a = std::get<hyena::sh2_attention_block_weights<float>>(stored.blocks[3]).inv_freq;
  const auto& b = std::get<hyena::sh2_attention_block_weights<float>>(recomputed.blocks[3]).inv_freq;
  ASSERT_EQ(b.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(b[i], std::pow(10000.0, -2.0 * i / 8.0), 1e-7 * std::pow(10000.0, -2.0 * i / 8.0)) << i;
    EXPECT_NE(a[i], b[i]) << i;  // the dump's buffer is perturbed off the closed form
  }
}

TEST(Sh2Loader, FilesThatCannotBeReadAreNamed) {
  EXPECT_CONTAINS(error_of([] { (void)hyena::load_sh2_config("/nonexistent/evo.json"); }), "cannot open");
  const auto path = std::filesystem::temp_directory_path() / "hyena_sh2_bad_config.json";
  std::ofstream(path) << "{\"hidden_size\": 32,";
  EXPECT_CONTAINS(error_of([&] { (void)hyena::load_sh2_config(path.string()); }), "not valid JSON");
  std::filesystem::remove(path);
}

}  // namespace
