// Training checkpoints (train/checkpoint.hpp): a language model's weights
// written under the loaders' keys read back exactly; a run saved and resumed
// continues bit for bit as if it had never stopped; a checkpoint without its
// optimizer state (or with another run's) is refused naming the key. And the
// fresh weights training starts from (train/initial_weights.hpp).
#include <hyena/io/lm_loader.hpp>
#include <hyena/io/lm_writer.hpp>
#include <hyena/io/safetensors_reader.hpp>
#include <hyena/io/safetensors_writer.hpp>
#include <hyena/model/hyena_lm_backward.hpp>
#include <hyena/train/adamw.hpp>
#include <hyena/train/checkpoint.hpp>
#include <hyena/train/initial_weights.hpp>
#include <hyena/train/trainable_parameters.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "support/expect_error.hpp"
#include "support/naive_lm.hpp"

namespace {

using hyena::index_t;
using hyena::test::expect_invalid;
using hyena::test::expect_thrown;

hyena::hyena_lm_architecture tiny_architecture() {
  hyena::hyena_lm_architecture a;
  a.n_layer = 2;
  a.d_model = 8;
  a.d_inner = 12;
  a.padded_vocab_size = 7;
  a.mixer.max_length = 12;
  a.mixer.filter_width = 6;
  a.mixer.emb_dim = 3;
  a.mixer.inner_layers = 1;
  return a;
}

template <class T>
void expect_same_weights(const hyena::hyena_lm_weights<T>& a, const hyena::hyena_lm_weights<T>& b) {
  hyena::hyena_lm_weights<T> ca = a, cb = b;
  auto ga = hyena::zero_gradients(hyena::hyena_lm<T>(a)), gb = hyena::zero_gradients(hyena::hyena_lm<T>(b));
  hyena::hyena_trainable every;
  every.deltas = true;
  const auto pa = hyena::trainable_parameters(ca, ga, every), pb = hyena::trainable_parameters(cb, gb, every);
  ASSERT_EQ(pa.size(), pb.size());
  for (index_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pa[i].name, pb[i].name);
    EXPECT_EQ(*pa[i].value, *pb[i].value) << pa[i].name;  // exact: bits, not tolerances
  }
}

hyena::safetensors_file to_file(const hyena::safetensors_writer& writer) {
  return hyena::safetensors_file::parse(writer.bytes(), "checkpoint");
}

// The tensors and metadata of `file` except those named in `drop`.
hyena::safetensors_writer copy_without(const hyena::safetensors_file& file, const std::vector<std::string>& drop) {
  hyena::safetensors_writer w;
  for (const auto& [key, value] : file.metadata())
    if (std::find(drop.begin(), drop.end(), key) == drop.end()) w.add_metadata(key, value);
  for (const auto& name : file.names()) {
    if (std::find(drop.begin(), drop.end(), name) != drop.end()) continue;
    if (name == "optimizer.step") {
      const auto v = file.read<std::int64_t>(name);
      w.add(name, file.info(name).shape, hyena::span<const std::int64_t>(v.data(), v.size()));
    } else {
      const auto v = file.read<double>(name);
      w.add(name, file.info(name).shape, hyena::span<const double>(v.data(), v.size()));
    }
  }
  return w;
}

// A few AdamW steps of next-token training on fixed random batches.
void train_steps(hyena::hyena_lm_weights<double>& weights, hyena::adamw<double>& optimizer, index_t steps) {
  const index_t B = 2, L = 9;
  for (index_t s = 0; s < steps; ++s) {
    const auto ids = hyena::test::random_ids(B * L, 7, std::uint32_t(100 + optimizer.steps()));
    const hyena::hyena_lm<double> model(weights);
    auto grads = hyena::zero_gradients(model);
    hyena::hyena_lm_loss_and_gradients<double>(model, B, L, ids, grads);
    auto parameters = hyena::trainable_parameters(weights, grads);
    hyena::clip_gradient_norm(parameters, 1.0);
    optimizer.step(parameters, 1e-2);
  }
}

TEST(TrainingCheckpoint, LanguageModelWeightsRoundTripUnderTheLoadersKeys) {
  const auto w = hyena::initial_hyena_lm_weights<float>(tiny_architecture(), 3);
  hyena::safetensors_writer writer;
  hyena::save_hyena_lm_weights(w, writer, "model.");
  const auto file = to_file(writer);
  EXPECT_TRUE(file.contains("model.backbone.embeddings.word_embeddings.weight"));
  EXPECT_TRUE(file.contains("model.backbone.layers.1.mixer.filter_fn.implicit_filter.1.freq"));
  EXPECT_EQ(file.info("model.backbone.layers.0.mlp.fc1.weight").shape, (std::vector<index_t>{12, 8}));
  expect_same_weights(hyena::load_hyena_lm_weights<float>(file), w);
}

TEST(TrainingCheckpoint, ResumedRunContinuesBitForBit) {
  auto straight = hyena::initial_hyena_lm_weights<double>(tiny_architecture(), 5);
  auto resumed = straight;
  hyena::adamw_options options;
  options.weight_decay = 0.05;
  options.beta2 = 0.99;
  hyena::adamw<double> straight_optimizer(options), first_optimizer(options);
  train_steps(straight, straight_optimizer, 6);

  train_steps(resumed, first_optimizer, 3);
  hyena::safetensors_writer writer;
  hyena::save_hyena_lm_weights(resumed, writer);
  hyena::save_adamw_state(first_optimizer, writer);
  const auto file = to_file(writer);
  auto weights = hyena::load_hyena_lm_weights<double>(file);
  auto grads = hyena::zero_gradients(hyena::hyena_lm<double>(weights));
  auto optimizer = hyena::load_adamw_state<double>(file, hyena::trainable_parameters(weights, grads));
  EXPECT_EQ(optimizer.steps(), 3u);
  EXPECT_EQ(optimizer.options().beta2, 0.99);
  EXPECT_EQ(optimizer.options().weight_decay, 0.05);
  train_steps(weights, optimizer, 3);
  expect_same_weights(weights, straight);
  // A sanity check that the comparison can fail: one step fewer differs.
  auto short_run = hyena::initial_hyena_lm_weights<double>(tiny_architecture(), 5);
  hyena::adamw<double> short_optimizer(options);
  train_steps(short_run, short_optimizer, 5);
  EXPECT_NE(short_run.word_embeddings, straight.word_embeddings);
}

TEST(TrainingCheckpoint, SaveTrainingCheckpointWritesAFileTheLoadersRead) {
  auto w = hyena::initial_hyena_lm_weights<double>(tiny_architecture(), 7);
  hyena::adamw<double> optimizer;
  train_steps(w, optimizer, 1);
  const std::string path = ::testing::TempDir() + "hyena_training_checkpoint.safetensors";
  hyena::save_training_checkpoint(path, w, optimizer);
  EXPECT_EQ(hyena::load_hyena_lm<double>(path).n_layer(), 2u);  // what hyena-lm does with it
  const auto file = hyena::safetensors_file::load(path);
  expect_same_weights(hyena::load_hyena_lm_weights<double>(file), w);
  EXPECT_EQ(file.read<std::int64_t>("optimizer.step"), (std::vector<std::int64_t>{1}));
  EXPECT_TRUE(file.contains("optimizer.backbone.layers.0.mixer.in_proj.weight.exp_avg_sq"));
  std::remove(path.c_str());
}

TEST(TrainingCheckpoint, RefusesMissingOrForeignOptimizerState) {
  auto w = hyena::initial_hyena_lm_weights<double>(tiny_architecture(), 9);
  hyena::adamw<double> optimizer;
  train_steps(w, optimizer, 2);
  hyena::safetensors_writer full;
  hyena::save_hyena_lm_weights(w, full);
  hyena::save_adamw_state(optimizer, full);
  const auto file = to_file(full);
  auto grads = hyena::zero_gradients(hyena::hyena_lm<double>(w));
  const auto parameters = hyena::trainable_parameters(w, grads);
  auto load = [&](const hyena::safetensors_writer& writer) {
    return [&] { hyena::load_adamw_state<double>(to_file(writer), parameters); };
  };

  // Weights alone: the first thing missing is the hyperparameters.
  hyena::safetensors_writer weights_only;
  hyena::save_hyena_lm_weights(w, weights_only);
  expect_thrown<hyena::safetensors_error>(load(weights_only),
                                          {"checkpoint", "missing optimizer state", "hyena.adamw.beta1"});
  expect_thrown<hyena::safetensors_error>(load(copy_without(file, {"optimizer.step"})),
                                          {"\"optimizer.step\"", "missing optimizer state"});
  const std::string moment = "optimizer.backbone.layers.1.mixer.filter_fn.bias.exp_avg_sq";
  expect_thrown<hyena::safetensors_error>(load(copy_without(file, {moment})),
                                          {moment.c_str(), "missing optimizer state", "expected shape [8]"});
  // A run that trained the decay rates too: their moments are foreign here.
  hyena::hyena_trainable with_deltas;
  with_deltas.deltas = true;
  auto w2 = w;
  auto grads2 = hyena::zero_gradients(hyena::hyena_lm<double>(w2));
  const auto more = hyena::trainable_parameters(w2, grads2, with_deltas);
  ASSERT_GT(more.size(), parameters.size());
  expect_thrown<hyena::safetensors_error>(
      [&] {
        auto reloaded = hyena::load_adamw_state<double>(file, parameters);
        (void)hyena::load_adamw_state<double>(file, more);
      },
      {"optimizer.backbone.layers.0.mixer.filter_fn.modulation.deltas.exp_avg", "missing optimizer state"});
  hyena::adamw<double> deltas_optimizer;
  deltas_optimizer.step(more, 1e-3);
  hyena::safetensors_writer foreign;
  hyena::save_adamw_state(deltas_optimizer, foreign);
  hyena::save_hyena_lm_weights(w2, foreign);
  expect_thrown<hyena::safetensors_error>(load(foreign), {"modulation.deltas", "a tensor this run does not train"});
}

TEST(TrainingCheckpoint, RefusesCorruptOptimizerState) {
  hyena::adamw<double> optimizer;
  std::vector<double> p{1.0, 2.0}, g{0.5, -0.5};
  optimizer.step({{"p", &p, &g}}, 0.1);
  expect_invalid([&] { optimizer.restore(1, {"p"}, {{0.1, 0.2}}, {{0.1}}); }, {"p has 2 first and 1 second moments"});
  expect_invalid([&] { optimizer.restore(1, {"p"}, {{0.1, 0.2}}, {{0.1, -1.0}}); },
                 {"the moments of p[1]", "not finite (or the second is negative)"});
  expect_invalid([&] { optimizer.restore(0, {"p"}, {{0.1}}, {{0.1}}); }, {"moments for 1 parameters at step 0"});
  EXPECT_EQ(optimizer.steps(), 1u);  // unchanged by the refused restores

  hyena::safetensors_writer writer;
  hyena::save_adamw_state(optimizer, writer);
  auto file = to_file(writer);
  std::vector<hyena::named_parameter<double>> wrong_size{{"p", &p, &g}};
  std::vector<double> q{1.0, 2.0, 3.0}, gq(3);
  wrong_size[0] = {"p", &q, &gq};
  expect_thrown<hyena::safetensors_error>([&] { hyena::load_adamw_state<double>(file, wrong_size); },
                                          {"optimizer.p.exp_avg", "has shape [2], expected [3]"});
}

/// sqrt(mean(x^2)): a zero-mean sample's deviation.
double root_mean_square(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s / double(v.size()));
}

TEST(InitialWeights, FollowTheStatedInitialisation) {
  auto a = tiny_architecture();
  a.d_model = 64;
  a.d_inner = 0;  // 4 d_model
  a.padded_vocab_size = 100;
  const auto w = hyena::initial_hyena_lm_weights<double>(a, 11);
  EXPECT_EQ(w.layers[0].mlp.d_inner, 256u);
  // 6400 and 16384 draws: the sample deviation is within a few percent.
  EXPECT_NEAR(root_mean_square(w.word_embeddings), 0.02, 0.002);
  EXPECT_NEAR(root_mean_square(w.layers[1].mlp.fc1_weight), 0.02, 0.002);
  EXPECT_NEAR(root_mean_square(w.layers[1].mlp.fc2_weight), 0.01, 0.001);  // 0.02 / sqrt(2 * 2 layers)
  EXPECT_NEAR(root_mean_square(w.layers[0].mixer.out_proj_weight), 0.01, 0.001);
  EXPECT_EQ(w.layers[0].norm2.weight, std::vector<double>(64, 1.0));
  EXPECT_EQ(w.layers[0].mixer.in_proj_bias, std::vector<double>(3 * 64, 0.0));
  EXPECT_NE(w.layers[0].mixer.in_proj_weight, w.layers[1].mixer.in_proj_weight);
  // Deterministic for a seed.
  EXPECT_EQ(hyena::initial_hyena_lm_weights<double>(a, 11).word_embeddings, w.word_embeddings);
  auto zero = a;
  zero.padded_vocab_size = 0;
  expect_invalid([&] { hyena::initial_hyena_lm_weights<double>(zero, 1); }, {"padded_vocab_size"});
}

TEST(InitialWeights, EmbeddingDeviationScalesTheEmbeddingAlone) {
  auto a = tiny_architecture();
  a.d_model = 64;
  a.padded_vocab_size = 100;
  const auto hyena_dna = hyena::initial_hyena_lm_weights<double>(a, 13);
  a.embedding_stddev = 1.0;
  const auto unit = hyena::initial_hyena_lm_weights<double>(a, 13);
  // The same standard normals, scaled by 1 instead of 0.02: equal to a few
  // ulps (the product by 0.02 and the division by it round once each; 1e-14
  // relative is ~45 ulps).
  ASSERT_EQ(unit.word_embeddings.size(), hyena_dna.word_embeddings.size());
  for (std::size_t i = 0; i < unit.word_embeddings.size(); ++i)
    EXPECT_NEAR(unit.word_embeddings[i], hyena_dna.word_embeddings[i] / 0.02,
                1e-14 * std::abs(unit.word_embeddings[i]));
  // 6400 draws: the sample deviation's standard error is 0.9%; 5% is 5.6 of them.
  EXPECT_NEAR(root_mean_square(unit.word_embeddings), 1.0, 0.05);
  // Every other tensor takes the same draws whatever the embedding's deviation.
  for (std::size_t l = 0; l < unit.layers.size(); ++l) {
    const auto &u = unit.layers[l], &h = hyena_dna.layers[l];
    EXPECT_EQ(u.mixer.in_proj_weight, h.mixer.in_proj_weight) << "layer " << l;
    EXPECT_EQ(u.mixer.out_proj_weight, h.mixer.out_proj_weight) << "layer " << l;
    EXPECT_EQ(u.mixer.short_filter_weight, h.mixer.short_filter_weight) << "layer " << l;
    EXPECT_EQ(u.mixer.filter.first_weight, h.mixer.filter.first_weight) << "layer " << l;
    EXPECT_EQ(u.mixer.filter.last_weight, h.mixer.filter.last_weight) << "layer " << l;
    EXPECT_EQ(u.mlp.fc1_weight, h.mlp.fc1_weight) << "layer " << l;
    EXPECT_EQ(u.mlp.fc2_weight, h.mlp.fc2_weight) << "layer " << l;
  }
  for (double bad : {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
    a.embedding_stddev = bad;
    expect_invalid([&] { hyena::initial_hyena_lm_weights<double>(a, 1); }, {"embedding_stddev"});
  }
}

}  // namespace
