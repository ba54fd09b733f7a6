// The language-model checkpoint loader (load_hyena_lm_weights): the HyenaDNA
// dump, the key-name variants it accepts, and the errors that name a missing or
// misshapen key, a config that disagrees with the shapes, untied heads, layer
// gaps and two models in one file.
#include <hyena/io/lm_loader.hpp>
#include <hyena/io/safetensors_reader.hpp>
#include <hyena/io/safetensors_writer.hpp>

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "support/reference.hpp"

namespace {

using hyena::index_t;

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
    // Captured by name: clang 14 cannot capture a structured binding.
    const std::string what = load_error(rewrite(plain, [&missing = key](const std::string& n) {
      return n == missing ? "" : n;
    }));
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

}  // namespace

namespace {

// A NaN or Inf anywhere in the checkpoint is rejected when read, naming the
// key as the file spells it (so the layer index too), for the model's own
// tensors as for the mixers'. Before, only mixer weights were checked, and
// without their key: a NaN in the embedding, an MLP or ln_f scored "nan".
TEST(HyenaLmLoader, RejectsNonFiniteValuesNamingTheKey) {
  const auto plain = dump_params();
  for (const std::string key :
       {"backbone.embeddings.word_embeddings.weight", "backbone.layers.0.mlp.fc1.weight", "backbone.ln_f.weight",
        "backbone.layers.1.norm2.bias", "backbone.layers.1.mlp.fc2.bias", "backbone.layers.1.mixer.in_proj.weight",
        "backbone.layers.0.mixer.filter_fn.implicit_filter.4.weight"}) {
    for (const float bad : {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::infinity()}) {
      const std::string what = load_error(rewrite(
          plain, [](const std::string& n) { return n; },
          [&](const std::string& n, std::vector<index_t>&, std::vector<float>& data) {
            if (n == key) data[data.size() / 2] = bad;
          }));
      EXPECT_CONTAINS(what, "tensor \"" + key + "\": element ");
      EXPECT_CONTAINS(what, "not finite");
    }
  }
}

}  // namespace
