// The language model against an all-naive double-precision forward, its
// input checks, and the checkpoint loader / config parser.
#include <hyena/hyena_lm.hpp>
#include <hyena/hyena_lm_loader.hpp>
#include <hyena/safetensors.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/naive_lm.hpp"
#include "support/numerics.hpp"
#include "support/reference.hpp"

namespace {

using hyena::index_t;
using hyena::test::expect_error_within;
using hyena::test::relative_l2_error;

template <class T>
class HyenaLm : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(HyenaLm, Precisions);

// Tolerance of the whole model against the exact forward. Each block adds
// the mixer's error (one FFT convolution: fft_tolerance, plus the filter MLP
// and projections, 16u; see test_hyena_operator.cpp) and the MLP's and the
// LayerNorms' (a few roundings each on O(1) values: 16u). Errors carried in
// the residual pass through the next LayerNorm at O(1) gain for these
// weights (LN weights in [0.5, 1.5]) and add up over the layers; the final
// LayerNorm and the head add 8u. Measured: float 2.3e-7 hidden / 2.4e-7
// logits against 1.3e-6 here, so about 5x margin.
template <class T>
double model_tolerance(index_t n_layer, index_t length) {
  const double u = hyena::test::unit_roundoff<T>();
  const double block = hyena::test::fft_tolerance<T>(hyena::causal_conv_fft_size(length)) + 32 * u;
  return double(n_layer) * block + 8 * u;
}

std::vector<std::int64_t> random_ids(index_t n, index_t vocab, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<std::int64_t> dist(0, std::int64_t(vocab) - 1);
  std::vector<std::int64_t> ids(n);
  for (auto& id : ids) id = dist(gen);
  return ids;
}

TYPED_TEST(HyenaLm, MatchesNaiveForwardForOddLengths) {
  using T = TypeParam;
  const index_t n_layer = 3, D = 24, H = 40, V = 16, l_max = 101, B = 2;
  const auto weights = hyena::test::random_lm_weights<T>(n_layer, D, H, V, l_max, 7);
  const auto exact_weights = hyena::test::to_double(weights);
  const hyena::hyena_lm<T> model(weights);
  EXPECT_EQ(model.n_layer(), n_layer);
  EXPECT_EQ(model.d_model(), D);
  EXPECT_EQ(model.d_inner(), H);
  EXPECT_EQ(model.padded_vocab_size(), V);
  EXPECT_EQ(model.max_length(), l_max);
  hyena::hyena_lm_workspace<T> ws;  // one workspace across lengths, larger and smaller
  for (index_t L : {1, 7, 33, 97, 3}) {
    const auto ids = random_ids(B * L, V, std::uint32_t(L));
    std::vector<T> hidden(B * L * D), logits(B * L * V);
    model.forward(B, L, ids, hidden, logits, ws);
    const auto expected = hyena::test::naive_lm_forward(exact_weights, B, L, ids, 0.05, 1e-5, false);
    const std::string at = std::string(sizeof(T) == 4 ? "float" : "double") + " L " + std::to_string(L);
    expect_error_within(relative_l2_error(hidden, expected.hidden), model_tolerance<T>(n_layer, L), at + " hidden");
    expect_error_within(relative_l2_error(logits, expected.logits), model_tolerance<T>(n_layer, L), at + " logits");
  }
}

TYPED_TEST(HyenaLm, ShiftAndEpsilonReachTheModel) {
  using T = TypeParam;
  const index_t D = 8, V = 16, L = 9;
  const auto weights = hyena::test::random_lm_weights<T>(2, D, 16, V, 16, 3);
  const auto ids = random_ids(L, V, 4);
  hyena::hyena_lm_options no_shift;
  no_shift.mixer.modulation.shift = 0.0;
  hyena::hyena_lm_options eps;
  eps.layer_norm_epsilon = 1e-1;
  const auto base = hyena::hyena_lm<T>(weights).forward(1, L, ids).logits;
  const auto expected = hyena::test::naive_lm_forward(hyena::test::to_double(weights), 1, L, ids, 0.0, 1e-1, false);
  const auto both = [&] {
    hyena::hyena_lm_options o = no_shift;
    o.layer_norm_epsilon = 1e-1;
    return hyena::hyena_lm<T>(weights, o).forward(1, L, ids).logits;
  }();
  EXPECT_GT(relative_l2_error(hyena::hyena_lm<T>(weights, no_shift).forward(1, L, ids).logits, base), 1e-4);
  EXPECT_GT(relative_l2_error(hyena::hyena_lm<T>(weights, eps).forward(1, L, ids).logits, base), 1e-4);
  EXPECT_LE(relative_l2_error(both, expected.logits), model_tolerance<T>(2, L));
}

TYPED_TEST(HyenaLm, TraceRecordsEveryStageAndChangesNothing) {
  using T = TypeParam;
  const index_t D = 8, H = 12, V = 16, L = 11, B = 2;
  const hyena::hyena_lm<T> model(hyena::test::random_lm_weights<T>(2, D, H, V, 32, 5));
  const auto ids = random_ids(B * L, V, 6);
  hyena::hyena_lm_workspace<T> ws;
  hyena::hyena_lm_trace<T> trace;
  std::vector<T> hidden(B * L * D), logits(B * L * V);
  model.forward(B, L, ids, hidden, logits, ws, &trace);
  const auto plain = model.forward(B, L, ids);
  EXPECT_EQ(hidden, plain.hidden);
  EXPECT_EQ(logits, plain.logits);
  ASSERT_EQ(trace.layers.size(), 2u);
  EXPECT_EQ(trace.embeddings.size(), B * L * D);
  for (const auto& l : trace.layers) {
    EXPECT_EQ(l.mlp_act.size(), B * L * H);
    // r_mid = r_in + mixer_out and r_out = r_mid + mlp_out, element by element.
    for (index_t i = 0; i < B * L * D; ++i) EXPECT_EQ(l.residual_out[i], T(l.residual_mid[i] + l.mlp_out[i]));
  }
  for (index_t i = 0; i < B * L * D; ++i)
    EXPECT_EQ(trace.layers[0].residual_mid[i], T(trace.embeddings[i] + trace.layers[0].mixer_out[i]));
}

TYPED_TEST(HyenaLm, BitIdenticalForEveryThreadCountAndBatchElement) {
  using T = TypeParam;
  const index_t D = 8, V = 16, L = 300, B = 2;  // > 256 rows per sequence: several GEMM blocks
  const auto weights = hyena::test::random_lm_weights<T>(1, D, 16, V, 300, 8);
  const auto ids = random_ids(B * L, V, 9);
  hyena::hyena_lm_options one, three;
  one.threads = 1;
  three.threads = 3;
  const auto a = hyena::hyena_lm<T>(weights, one).forward(B, L, ids);
  const auto b = hyena::hyena_lm<T>(weights, three).forward(B, L, ids);
  EXPECT_EQ(a.hidden, b.hidden);
  EXPECT_EQ(a.logits, b.logits);
  // Sequences are independent: the second one alone gives its batch rows.
  const std::vector<std::int64_t> second(ids.begin() + L, ids.end());
  const auto c = hyena::hyena_lm<T>(weights, one).forward(1, L, second);
  EXPECT_LE(relative_l2_error(c.logits, std::vector<T>(a.logits.begin() + L * V, a.logits.end())),
            4 * hyena::test::unit_roundoff<T>());
}

TYPED_TEST(HyenaLm, RejectsBadInputs) {
  using T = TypeParam;
  const index_t D = 8, V = 16, l_max = 20;
  const hyena::hyena_lm<T> model(hyena::test::random_lm_weights<T>(1, D, 16, V, l_max, 10));
  hyena::hyena_lm_workspace<T> ws;
  auto message = [&](index_t B, index_t L, std::vector<std::int64_t> ids, index_t hidden_size, index_t logits_size) {
    std::vector<T> hidden(hidden_size), logits(logits_size);
    try {
      model.forward(B, L, ids, hidden, logits, ws);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  const index_t L = l_max + 1;
  EXPECT_NE(message(1, L, std::vector<std::int64_t>(L, 7), L * D, L * V)
                .find("input length 21 exceeds the model's max_length 20"),
            std::string::npos);
  std::vector<std::int64_t> ids(10, 7);
  ids[4] = 16;
  EXPECT_NE(message(2, 5, ids, 10 * D, 10 * V).find("token id 16 at batch 0, position 4"), std::string::npos);
  ids[4] = 7;
  ids[8] = -1;
  EXPECT_NE(message(2, 5, ids, 10 * D, 10 * V).find("token id -1 at batch 1, position 3"), std::string::npos);
  ids[8] = 7;
  EXPECT_NE(message(2, 5, ids, 10 * D, 10 * V + 1).find("logits"), std::string::npos);
  EXPECT_NE(message(2, 5, ids, 10 * D - 1, 10 * V).find("hidden"), std::string::npos);
  EXPECT_NE(message(0, 5, {}, 0, 0).find("batch must be >= 1"), std::string::npos);
  EXPECT_EQ(message(2, 5, ids, 10 * D, 0), "no exception") << "empty logits skip the head";
  hyena::hyena_lm_options too_big;
  too_big.vocab_size = V + 1;
  EXPECT_THROW(hyena::hyena_lm<T>(hyena::test::random_lm_weights<T>(1, D, 16, V, l_max, 10), too_big),
               std::invalid_argument);
}

// --- Loading checkpoints ---------------------------------------------------

const std::string dump = "dna_tiny_d32_n2";

hyena::safetensors_file dump_params() {
  return hyena::safetensors_file::load(
      (hyena::test::reference_dir() / "hyenadna" / dump / "params.safetensors").string());
}

/// A copy of `file` with keys renamed by `rename` (an empty name drops the
/// tensor) and tensors reshaped by `reshape` (which may drop elements).
hyena::safetensors_file rewrite(
    const hyena::safetensors_file& file, const std::function<std::string(const std::string&)>& rename,
    const std::function<void(const std::string&, std::vector<index_t>&, std::vector<float>&)>& reshape = {}) {
  hyena::safetensors_writer writer;
  for (const auto& name : file.names()) {
    const std::string to = rename(name);
    if (to.empty()) continue;
    auto shape = file.info(name).shape;
    auto data = file.read<float>(name);
    if (reshape) reshape(name, shape, data);
    writer.add(to, shape, data);
  }
  return hyena::safetensors_file::parse(writer.bytes(), "rewritten.safetensors");
}

std::string load_error(const hyena::safetensors_file& file, const hyena::hyena_lm_config& config = {}) {
  try {
    (void)hyena::load_hyena_lm_weights<float>(file, config);
  } catch (const hyena::safetensors_error& e) {
    return e.what();
  }
  return "no exception";
}

#define EXPECT_CONTAINS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

TEST(HyenaLmLoader, ReadsTheDumpWithShapesAsHyperparameters) {
  const auto w = hyena::load_hyena_lm_weights<float>(dump_params());
  EXPECT_EQ(w.d_model, 32u);
  EXPECT_EQ(w.padded_vocab_size, 16u);
  ASSERT_EQ(w.layers.size(), 2u);
  EXPECT_EQ(w.layers[1].mlp.d_inner, 128u);
  EXPECT_EQ(w.layers[0].mixer.order, 2u);
  EXPECT_EQ(w.layers[0].mixer.filter.max_length(), 258u);
  EXPECT_EQ(w.layers[0].mixer.filter.width, 16u);
  EXPECT_EQ(w.layers[0].mixer.filter.inner_layers(), 2u);
}

TEST(HyenaLmLoader, AcceptsModelPrefixLayerVariantsAndTiedHead) {
  const auto plain = dump_params();
  const auto expected = hyena::load_hyena_lm_weights<float>(plain);
  // A Lightning checkpoint of a model trained with checkpoint_mixer /
  // checkpoint_mlp, with the training code's tied head.
  hyena::safetensors_writer writer;
  for (const auto& name : plain.names()) {
    std::string to = "model." + name;
    for (const std::string part : {".mixer.", ".mlp."}) {
      const auto at = to.find(part);
      if (at != std::string::npos) to.replace(at, part.size(), part + "layer.");
    }
    writer.add(to, plain.info(name).shape, plain.read<float>(name));
  }
  writer.add("model.lm_head.weight", {16, 32}, plain.read<float>("backbone.embeddings.word_embeddings.weight"));
  writer.add("optimizer.something", {1}, std::vector<float>{1.f});  // ignored
  const auto file = hyena::safetensors_file::parse(writer.bytes(), "variant.safetensors");
  const auto w = hyena::load_hyena_lm_weights<float>(file);
  EXPECT_EQ(w.word_embeddings, expected.word_embeddings);
  ASSERT_EQ(w.layers.size(), 2u);
  EXPECT_EQ(w.layers[1].mixer.in_proj_weight, expected.layers[1].mixer.in_proj_weight);
  EXPECT_EQ(w.layers[1].mixer.filter.positions.z, expected.layers[1].mixer.filter.positions.z);
  EXPECT_EQ(w.layers[1].mlp.fc2_weight, expected.layers[1].mlp.fc2_weight);
  EXPECT_EQ(w.final_norm.bias, expected.final_norm.bias);

  // Only one of the tied frequency keys is enough (a deduplicating saver).
  const auto dedup = rewrite(plain, [](const std::string& n) {
    return n.find("implicit_filter.3.freq") != std::string::npos ||
                   n.find("implicit_filter.5.freq") != std::string::npos
               ? std::string()
               : n;
  });
  EXPECT_EQ(hyena::load_hyena_lm_weights<float>(dedup).layers[0].mixer.filter.frequency,
            expected.layers[0].mixer.filter.frequency);
}

TEST(HyenaLmLoader, NamesAMissingKeyAndItsExpectedShape) {
  const auto plain = dump_params();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"backbone.layers.1.norm2.bias", "[32]"},
      {"backbone.layers.0.mlp.fc1.weight", "[d_inner, 32]"},
      {"backbone.layers.1.mlp.fc1.weight", "[128, 32]"},  // layer 0 fixed d_inner
      {"backbone.layers.1.mlp.fc2.bias", "[32]"},
      {"backbone.layers.0.mixer.in_proj.weight", "[(order+1)*32, 32]"},
      {"backbone.layers.0.mixer.short_filter.bias", "[96]"},
      {"backbone.layers.0.mixer.filter_fn.pos_emb.t", "[1, 258, 1]"},
      {"backbone.layers.1.mixer.filter_fn.pos_emb.z", "[1, 258, 5]"},
      {"backbone.layers.0.mixer.filter_fn.implicit_filter.4.bias", "[16]"},
      {"backbone.layers.0.mixer.filter_fn.modulation.deltas", "[1, 1, 32]"},
      {"backbone.ln_f.weight", "[32]"},
  };
  for (const auto& [key, shape] : cases) {
    const std::string what = load_error(rewrite(plain, [&](const std::string& n) { return n == key ? "" : n; }));
    EXPECT_CONTAINS(what, "tensor \"" + key + "\": missing (expected shape " + shape);
  }
  const std::string no_embedding = load_error(
      rewrite(plain, [](const std::string& n) { return n.find("word_embeddings") != std::string::npos ? "" : n; }));
  EXPECT_CONTAINS(
      no_embedding,
      "tensor \"backbone.embeddings.word_embeddings.weight\": missing (expected shape [vocab_size, d_model]");
  const std::string no_freq = load_error(rewrite(plain, [](const std::string& n) {
    return n.find("layers.0") != std::string::npos && n.find(".freq") != std::string::npos ? "" : n;
  }));
  EXPECT_CONTAINS(no_freq,
                  "backbone.layers.0.mixer.filter_fn.implicit_filter.1.freq\": missing (expected shape [1, 16]");
  // Under the model. prefix the message names the key as the file spells it.
  const std::string prefixed = load_error(
      rewrite(plain, [](const std::string& n) { return n == "backbone.layers.0.norm1.weight" ? "" : "model." + n; }));
  EXPECT_CONTAINS(prefixed, "tensor \"model.backbone.layers.0.norm1.weight\": missing (expected shape [32])");
}

TEST(HyenaLmLoader, NamesAMisshapenKeyWithBothShapes) {
  const auto plain = dump_params();
  auto shrink = [&](const std::string& key) {
    return load_error(rewrite(
        plain, [](const std::string& n) { return n; },
        [&](const std::string& n, std::vector<index_t>& shape, std::vector<float>& data) {
          if (n != key) return;
          data.resize(data.size() / shape.back() * (shape.back() - 1));
          shape.back() -= 1;
        }));
  };
  EXPECT_CONTAINS(shrink("backbone.layers.1.norm1.weight"),
                  "tensor \"backbone.layers.1.norm1.weight\": has shape [31], expected [32]");
  EXPECT_CONTAINS(shrink("backbone.layers.0.mlp.fc2.weight"),
                  "tensor \"backbone.layers.0.mlp.fc2.weight\": has shape [32, 127], expected [32, 128]");
  EXPECT_CONTAINS(shrink("backbone.layers.1.mixer.in_proj.weight"),
                  "tensor \"backbone.layers.1.mixer.in_proj.weight\": has shape [96, 31], expected [96, 32]");
  EXPECT_CONTAINS(shrink("backbone.layers.0.mixer.filter_fn.implicit_filter.6.weight"),
                  "implicit_filter.6.weight\": has shape [32, 15], expected [32, 16]");
  EXPECT_CONTAINS(shrink("backbone.layers.1.mixer.filter_fn.pos_emb.z"),
                  "pos_emb.z\": has shape [1, 258, 4], expected [1, 258, 5]");
  EXPECT_CONTAINS(shrink("backbone.layers.0.mixer.filter_fn.implicit_filter.3.freq"),
                  "implicit_filter.3.freq\": has shape [1, 15], expected [1, 16]");
  EXPECT_CONTAINS(shrink("backbone.ln_f.bias"), "tensor \"backbone.ln_f.bias\": has shape [31], expected [32]");
  EXPECT_CONTAINS(shrink("backbone.embeddings.word_embeddings.weight"),
                  "tensor \"backbone.layers.0.norm1.weight\": has shape [32], expected [31]");
}

TEST(HyenaLmLoader, ChecksTheConfigAgainstTheShapes) {
  const auto plain = dump_params();
  hyena::hyena_lm_config c;
  c.n_layer = 3;
  EXPECT_CONTAINS(load_error(plain, c),
                  "tensor \"backbone.layers.2.norm1.weight\": missing (expected shape [32]; the config's n_layer = 3");
  c = {};
  c.n_layer = 1;
  EXPECT_CONTAINS(load_error(plain, c), "the file has 2 layers");
  c = {};
  c.d_model = 64;
  EXPECT_CONTAINS(load_error(plain, c), "word_embeddings.weight\": has shape [16, 32], expected [vocab_size, 64]");
  c = {};
  c.vocab_size = 12;
  c.pad_vocab_size_multiple = 5;
  EXPECT_CONTAINS(load_error(plain, c), "expected [15, 32] (the config's vocab_size 12 padded to a multiple of 5)");
  c = {};
  c.d_inner = 64;
  EXPECT_CONTAINS(load_error(plain, c), "mlp.fc1.weight\": has shape [128, 32], expected [64, 32]");
  c = {};
  c.l_max = 1026;
  EXPECT_CONTAINS(load_error(plain, c), "pos_emb.z\": has shape [1, 258, 5], expected [1, 1026, 5]");
  c = {};
  c.filter_order = 64;
  EXPECT_CONTAINS(load_error(plain, c), "implicit_filter.0.weight\": has shape [16, 5], expected [64, 5]");
  c = {};
  c.order = 3;
  EXPECT_CONTAINS(load_error(plain, c), "in_proj.weight\": has shape [96, 32], expected [128, 32]");
  c = {};
  c.num_inner_mlps = 1;
  EXPECT_CONTAINS(load_error(plain, c), "implicit_filter.4.weight\": has shape [16, 16], expected [32, 16]");
  c = {};
  c.d_model = 32;
  c.n_layer = 2;
  c.d_inner = 128;
  c.vocab_size = 12;
  c.pad_vocab_size_multiple = 8;
  c.l_max = 258;
  c.emb_dim = 5;
  c.filter_order = 16;
  EXPECT_EQ(load_error(plain, c), "no exception");
}

TEST(HyenaLmLoader, RejectsUntiedHeadsLayerGapsAndTwoModels) {
  const auto plain = dump_params();
  hyena::safetensors_writer writer;
  for (const auto& name : plain.names()) writer.add(name, plain.info(name).shape, plain.read<float>(name));
  auto head = plain.read<float>("backbone.embeddings.word_embeddings.weight");
  head[5] += 1.0f;
  writer.add("lm_head.weight", {16, 32}, head);
  EXPECT_CONTAINS(load_error(hyena::safetensors_file::parse(writer.bytes(), "untied")),
                  "tensor \"lm_head.weight\": differs from \"backbone.embeddings.word_embeddings.weight\"");

  const auto gap = rewrite(plain, [](const std::string& n) {
    const std::string from = "backbone.layers.1.", to = "backbone.layers.2.";
    return n.compare(0, from.size(), from) == 0 ? to + n.substr(from.size()) : n;
  });
  EXPECT_CONTAINS(load_error(gap), "belongs to layer 2 but layer 1 is missing");

  hyena::safetensors_writer two;
  for (const auto& name : plain.names()) {
    two.add(name, plain.info(name).shape, plain.read<float>(name));
    two.add("model." + name, plain.info(name).shape, plain.read<float>(name));
  }
  EXPECT_CONTAINS(load_error(hyena::safetensors_file::parse(two.bytes(), "two")), "is ambiguous");
}

// --- The JSON config ---------------------------------------------------------

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

}  // namespace
