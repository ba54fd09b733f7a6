// The language-model config parser (parse_hyena_lm_config, load_hyena_lm_config):
// HyenaDNA's config.json and the errors that name the offending key.
#include <hyena/io/lm_config.hpp>
#include <hyena/io/lm_loader.hpp>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

#include "support/reference.hpp"

namespace {

#define EXPECT_CONTAINS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

std::string config_error(const std::string& text) {
  try {
    (void)hyena::parse_hyena_lm_config(nlohmann::json::parse(text), "test.json");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no exception";
}

TEST(HyenaLmConfig, ReadsHyenaDnaConfigs) {
  // The config.json of a released HyenaDNA checkpoint, verbatim in its keys.
  const auto c = hyena::parse_hyena_lm_config(nlohmann::json::parse(R"({
    "d_model": 128, "n_layer": 2, "d_inner": 512, "vocab_size": 12, "resid_dropout": 0.0,
    "embed_dropout": 0.1, "fused_mlp": false, "fused_dropout_add_ln": true, "residual_in_fp32": true,
    "pad_vocab_size_multiple": 8, "return_hidden_state": true,
    "layer": {"_name_": "hyena", "emb_dim": 5, "filter_order": 64, "local_order": 3, "l_max": 1026,
              "modulate": true, "w": 10, "lr": 6e-4, "wd": 0.0, "lr_pos_emb": 0.0}})"));
  EXPECT_EQ(c.d_model, 128u);
  EXPECT_EQ(c.n_layer, 2u);
  EXPECT_EQ(c.d_inner, 512u);
  EXPECT_EQ(c.vocab_size, 12u);
  EXPECT_EQ(c.options.vocab_size, 12u);
  EXPECT_EQ(c.pad_vocab_size_multiple, 8u);
  EXPECT_EQ(c.l_max, 1026u);
  EXPECT_EQ(c.emb_dim, 5u);
  EXPECT_EQ(c.filter_order, 64u);
  EXPECT_FALSE(c.num_inner_mlps.has_value());
  EXPECT_EQ(c.options.mixer.modulation.shift, 0.05) << "HyenaDNA's standalone default";
  EXPECT_EQ(c.options.layer_norm_epsilon, 1e-5);
  EXPECT_EQ(c.options.mixer.layout, hyena::filter_layout::blocked);

  const auto s = hyena::parse_hyena_lm_config(nlohmann::json::parse(
      R"({"layer_norm_epsilon": 1e-6, "d_inner": null,
          "layer": {"shift": 0.0, "filter_layout": "interleaved", "modulate": false, "num_inner_mlps": 0}})"));
  EXPECT_EQ(s.options.layer_norm_epsilon, 1e-6);
  EXPECT_EQ(s.d_inner, 0u);
  EXPECT_EQ(s.options.mixer.modulation.shift, 0.0);
  EXPECT_FALSE(s.options.mixer.modulation.modulate);
  EXPECT_EQ(s.options.mixer.layout, hyena::filter_layout::interleaved);
  EXPECT_EQ(s.num_inner_mlps.value_or(99), 0u);
}

TEST(HyenaLmConfig, RejectsBadValuesNamingTheKey) {
  EXPECT_CONTAINS(config_error(R"({"shift": 0.0})"), "key \"shift\" belongs in the \"layer\" object");
  EXPECT_CONTAINS(config_error(R"({"d_model": "32"})"),
                  "model config \"test.json\": key \"d_model\" must be a non-negative integer");
  EXPECT_CONTAINS(config_error(R"({"d_model": 32.5})"), "key \"d_model\" must be a non-negative integer");
  EXPECT_CONTAINS(config_error(R"({"n_layer": 0})"), "key \"n_layer\" must be >= 1");
  EXPECT_CONTAINS(config_error(R"({"layer_norm_epsilon": -1})"), "key \"layer_norm_epsilon\" must be >= 0");
  EXPECT_CONTAINS(config_error(R"({"layer": {"shift": "x"}})"), "key \"layer.shift\" must be a finite number");
  EXPECT_CONTAINS(config_error(R"({"layer": {"emb_dim": 4}})"), "key \"layer.emb_dim\" must be odd");
  EXPECT_CONTAINS(config_error(R"({"layer": {"_name_": "mha"}})"), "only Hyena mixers");
  EXPECT_CONTAINS(config_error(R"({"layer": {"filter_layout": "diagonal"}})"),
                  "must be \"blocked\" or \"interleaved\"");
  EXPECT_CONTAINS(config_error(R"({"layer": {"modulate": 1}})"), "key \"layer.modulate\" must be true or false");
  EXPECT_CONTAINS(config_error(R"({"layer": 3})"), "key \"layer\" must be an object");
  EXPECT_CONTAINS(config_error(R"([1, 2])"), "must be a JSON object");
  EXPECT_THROW((void)hyena::load_hyena_lm_config("/nonexistent/config.json"), std::runtime_error);
}

TEST(HyenaLmConfig, RejectsUnknownKeysNamingTheClosestKnownOne) {
  // A misspelt key used to be ignored: "shfit" left the default shift in place.
  EXPECT_CONTAINS(config_error(R"({"layer": {"shfit": 0.0}})"),
                  "model config \"test.json\": key \"layer.shfit\" is not a HyenaDNA config key "
                  "(did you mean \"layer.shift\"?)");
  EXPECT_CONTAINS(config_error(R"({"shfit": 0.0})"),
                  "key \"shfit\" is not a HyenaDNA config key (did you mean \"layer.shift\"?)");
  EXPECT_CONTAINS(config_error(R"({"d_modle": 32})"),
                  "key \"d_modle\" is not a HyenaDNA config key (did you mean \"d_model\"?)");
  EXPECT_CONTAINS(config_error(R"({"layer_norm_eps": 1e-6})"), "(did you mean \"layer_norm_epsilon\"?)");
  EXPECT_CONTAINS(config_error(R"({"Vocab_Size": 12})"),
                  "key \"Vocab_Size\" is not a HyenaDNA config key (did you mean \"vocab_size\"?)");
  EXPECT_CONTAINS(config_error(R"({"layer": {"modualte": false}})"),
                  "key \"layer.modualte\" is not a HyenaDNA config key (did you mean \"layer.modulate\"?)");
  EXPECT_CONTAINS(config_error(R"({"layer": {"filter_layuot": "blocked"}})"),
                  "(did you mean \"layer.filter_layout\"?)");
  EXPECT_CONTAINS(config_error(R"({"layer": {"emb_dims": 5}})"), "(did you mean \"layer.emb_dim\"?)");
  EXPECT_CONTAINS(config_error(R"({"layer": {"short_filter_ordr": 3}})"),
                  "(did you mean \"layer.short_filter_order\"?)");
  // Nothing passes for being unknown to both levels, whatever its type.
  EXPECT_CONTAINS(config_error(R"({"layer": {"_name_": "hyena", "foo": null}})"),
                  "key \"layer.foo\" is not a HyenaDNA config key");
  EXPECT_CONTAINS(config_error(R"({"": 1})"), "key \"\" is not a HyenaDNA config key");
  // A key of the other level says where it belongs.
  EXPECT_CONTAINS(config_error(R"({"lr": 6e-4})"), "key \"lr\" belongs in the \"layer\" object");
  EXPECT_CONTAINS(config_error(R"({"short_filter_order": 3})"),
                  "key \"short_filter_order\" belongs in the \"layer\" object");
  EXPECT_CONTAINS(config_error(R"({"layer": {"d_model": 32}})"),
                  "key \"layer.d_model\" belongs at the top level, not in the \"layer\" object");
  EXPECT_CONTAINS(config_error(R"({"layer": {"layer_norm_epsilon": 1e-5}})"),
                  "key \"layer.layer_norm_epsilon\" belongs at the top level");
}

TEST(HyenaLmConfig, AcceptsEveryKeyOfHyenaDnasModelAndMixerClasses) {
  // The keyword arguments of HyenaDNA's LMBackbone / ConvLMHeadModel /
  // HyenaDNAModel and of HyenaOperator / HyenaFilter / ExponentialModulation,
  // as its training configs, released config.json files and the
  // standalone_hyenadna.py constructor calls use them.
  const auto c = hyena::parse_hyena_lm_config(nlohmann::json::parse(R"({
    "d_model": 256, "n_layer": 8, "d_inner": 1024, "vocab_size": 12, "pad_vocab_size_multiple": 8,
    "layer_norm_epsilon": 1e-5, "resid_dropout": 0.0, "embed_dropout": 0.1, "dropout_cls": null,
    "initializer_cfg": {"initializer_range": 0.02}, "fused_mlp": false, "fused_dropout_add_ln": false,
    "residual_in_fp32": true, "identity_mlp": false, "checkpoint_mixer": true, "checkpoint_mlp": true,
    "sequence_parallel": true, "process_group": null, "use_flashfftconv": false, "attn_layer_idx": null,
    "attn_cfg": null, "max_position_embeddings": 0, "return_hidden_state": true, "use_head": false,
    "n_classes": 2, "device": null, "dtype": null,
    "layer": {"_name_": "hyena", "emb_dim": 5, "filter_order": 64, "local_order": 3, "l_max": 1026,
              "order": 2, "num_inner_mlps": 2, "modulate": true, "w": 10, "shift": 0.0, "filter_layout": "blocked",
              "lr": 6e-4, "wd": 0.0, "lr_pos_emb": 0.0, "dropout": 0.0, "filter_dropout": 0.0,
              "short_filter_order": 3, "bias": true, "normalized": false, "fused_fft_conv": false,
              "num_heads": 1, "inner_factor": 1, "num_blocks": 1, "fused_bias_fc": false, "outer_mixing": false,
              "filter_cls": "hyena-filter", "post_order_ffn": false, "jit_filter": false, "activation": "id",
              "return_state": false, "use_flashfftconv": true, "linear_mixer": false, "bidirectional": false,
              "train_freq": true, "fast_decay_pct": 0.3, "slow_decay_pct": 1.5, "target": 0.01,
              "modulation_lr": 0.0, "filter_args": {"emb_dim": 3, "order": 16, "seq_len": 1024}}})"));
  EXPECT_EQ(c.d_model, 256u);
  EXPECT_EQ(c.l_max, 1026u);
  EXPECT_EQ(c.options.mixer.modulation.shift, 0.0);
  EXPECT_EQ(c.num_inner_mlps.value_or(99), 2u);
}

TEST(HyenaLmConfig, ParsesTheConfigOfEveryHyenaDnaReferenceDump) {
  // Each dump records the kwargs it built HyenaDNA's model with; as a
  // config.json ({model kwargs..., "layer": {layer kwargs}}) they must parse,
  // and agree with the dump's weights.
  const auto cases = hyena::test::reference_cases("hyenadna");
  ASSERT_FALSE(cases.empty()) << "no reference dumps under " << (hyena::test::reference_dir() / "hyenadna");
  for (const auto& name : cases) {
    SCOPED_TRACE(name);
    const auto dir = hyena::test::reference_dir() / "hyenadna" / name;
    const auto dump = hyena::test::read_json(dir / "config.json");
    ASSERT_TRUE(dump.contains("model_kwargs") && dump.contains("layer_kwargs"));
    nlohmann::json config = dump["model_kwargs"];
    config["layer"] = dump["layer_kwargs"];
    hyena::hyena_lm_config c;
    ASSERT_NO_THROW(c = hyena::parse_hyena_lm_config(config, (dir / "config.json").string()))
        << config.dump();
    const auto& resolved = dump["resolved"];
    EXPECT_EQ(c.d_model, resolved["d_model"].get<hyena::index_t>());
    EXPECT_EQ(c.n_layer, resolved["n_layer"].get<hyena::index_t>());
    EXPECT_EQ(c.vocab_size, resolved["vocab_size"].get<hyena::index_t>());
    EXPECT_EQ(c.l_max, resolved["mixer"]["l_max"].get<hyena::index_t>());
    EXPECT_EQ(c.filter_order, resolved["mixer"]["filter_order"].get<hyena::index_t>());
    const auto params = hyena::safetensors_file::load((dir / "params.safetensors").string());
    EXPECT_NO_THROW((void)hyena::load_hyena_lm_weights<float>(params, c));
  }
}

}  // namespace
