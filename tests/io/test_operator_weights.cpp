// Loading operators from state_dicts: round trips, tied keys, prefixes, and
// a clear error for every missing or misshapen key.
#include <hyena/io/operator_weights.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/naive_hyena.hpp"
#include "support/numerics.hpp"
#include "support/reference.hpp"

namespace {

using hyena::index_t;

hyena::hyena_config config(index_t order, index_t inner_layers) {
  hyena::hyena_config c;
  c.d_model = 6;
  c.order = order;
  c.max_length = 40;
  c.filter_width = 8;
  c.emb_dim = 5;
  c.inner_layers = inner_layers;
  return c;
}

hyena::safetensors_file to_file(const hyena::safetensors_writer& writer) {
  return hyena::safetensors_file::parse(writer.bytes(), "state_dict");
}

std::string load_error(const hyena::safetensors_writer& writer, const std::string& prefix = "") {
  try {
    hyena::load_hyena_weights<float>(to_file(writer), prefix);
  } catch (const hyena::safetensors_error& e) {
    return e.what();
  }
  return "no exception";
}

TEST(HyenaLoader, RoundTripsEveryHyperparameter) {
  for (index_t order : {2, 4})
    for (index_t inner : {0, 1, 3}) {
      const auto w = hyena::random_hyena_weights<float>(config(order, inner), order * 10 + inner);
      hyena::safetensors_writer writer;
      hyena::save_hyena_weights(w, writer, "backbone.layers.3.mixer.");
      const auto loaded = hyena::load_hyena_weights<float>(to_file(writer), "backbone.layers.3.mixer.");
      EXPECT_EQ(loaded.order, order);
      EXPECT_EQ(loaded.filter.inner_layers(), inner);
      EXPECT_EQ(loaded.in_proj_weight, w.in_proj_weight);
      EXPECT_EQ(loaded.filter.last_weight, w.filter.last_weight);
      EXPECT_EQ(loaded.filter.positions.z, w.filter.positions.z);
      EXPECT_EQ(loaded.filter.frequency, w.filter.frequency);
    }
}

// Stored z, t and deltas are used as they are, never recomputed.
TEST(HyenaLoader, UsesStoredBuffersNotClosedForms) {
  auto w = hyena::random_hyena_weights<float>(config(3, 2), 3);
  for (auto& z : w.filter.positions.z) z *= 1.5f;  // "trained" away from the closed form
  w.filter.deltas[0] = -0.25f;
  w.filter.positions.t[5] = 0.9f;
  hyena::safetensors_writer writer;
  hyena::save_hyena_weights(w, writer);
  const auto loaded = hyena::load_hyena_weights<float>(to_file(writer));
  EXPECT_EQ(loaded.filter.positions.z, w.filter.positions.z);
  EXPECT_EQ(loaded.filter.positions.t, w.filter.positions.t);
  EXPECT_EQ(loaded.filter.deltas, w.filter.deltas);
  // ...and the operator built from them computes with them.
  hyena::hyena_options interleaved;
  interleaved.layout = hyena::filter_layout::interleaved;
  const hyena::hyena_operator<float> op(loaded, interleaved);
  const auto u = hyena::test::random_vector<float>(2 * 17 * 6, 4);
  const auto expected = hyena::test::naive_hyena_forward(w, 2, 17, u, 0.0, true, true);
  // Order 3 at L = 17 in float: the operator test's bound (support/numerics.hpp).
  hyena::test::expect_error_within(hyena::test::relative_l2_error(op.forward(2, 17, u), expected),
                                   hyena::test::operator_tolerance<float>(3, hyena::causal_conv_fft_size(17)),
                                   "loaded order-3 operator, L = 17");
}

TEST(HyenaLoader, AcceptsAnyOneTiedFrequencyAndChecksEquality) {
  const auto w = hyena::random_hyena_weights<float>(config(2, 2), 7);
  // Only slot 5 present (a deduplicating saver may keep any one of the keys).
  {
    hyena::safetensors_writer writer;
    hyena::save_hyena_weights(w, writer);
    auto file = to_file(writer);
    // Rebuild without slot 1 but with slot 5.
    hyena::safetensors_writer only5;
    for (const auto& name : file.names()) {
      const auto& info = file.info(name);
      const auto data = file.read<float>(name);
      only5.add(name == "filter_fn.implicit_filter.1.freq" ? "filter_fn.implicit_filter.5.freq" : name, info.shape,
                data);
    }
    EXPECT_EQ(hyena::load_hyena_weights<float>(to_file(only5)).filter.frequency, w.filter.frequency);
  }
  // All three present and equal: fine. One differs: named in the error.
  hyena::safetensors_writer writer;
  hyena::save_hyena_weights(w, writer);
  writer.add("filter_fn.implicit_filter.3.freq", {1, 8}, w.filter.frequency);
  auto other = w.filter.frequency;
  other[2] += 1.0f;
  writer.add("filter_fn.implicit_filter.5.freq", {1, 8}, other);
  const std::string message = load_error(writer);
  EXPECT_NE(message.find("filter_fn.implicit_filter.5.freq"), std::string::npos) << message;
  EXPECT_NE(message.find("tied"), std::string::npos) << message;
}

// Every key missing, one at a time, is named in the error.
TEST(HyenaLoader, NamesEachMissingKey) {
  const auto w = hyena::random_hyena_weights<float>(config(3, 2), 11);
  hyena::safetensors_writer full;
  hyena::save_hyena_weights(w, full, "m.");
  const auto file = to_file(full);
  for (const auto& missing : file.names()) {
    hyena::safetensors_writer writer;
    for (const auto& name : file.names())
      if (name != missing) writer.add(name, file.info(name).shape, file.read<float>(name));
    const std::string message = load_error(writer, "m.");
    // Dropping the final Linear leaves the last inner one (with a bias) on
    // top: the error names the missing final key, 6.weight.
    EXPECT_NE(message.find("\"" + missing + "\""), std::string::npos) << "dropped " << missing << ": " << message;
    EXPECT_NE(message.find("state_dict"), std::string::npos) << message;
  }
}

// A misshapen key gets an error naming it and the expected shape.
TEST(HyenaLoader, NamesMisshapenKeysAndTheExpectedShape) {
  const auto w = hyena::random_hyena_weights<float>(config(2, 2), 13);
  hyena::safetensors_writer base;
  hyena::save_hyena_weights(w, base);
  const auto file = to_file(base);
  struct bad_case {
    std::string key;
    std::vector<index_t> shape;
    std::string expected;
  };
  const std::vector<bad_case> cases = {
      {"out_proj.weight", {6, 5}, "[6, 6]"},
      {"in_proj.bias", {17}, "[18]"},
      {"short_filter.weight", {18, 3}, "[18, 1, kernel_size]"},
      {"filter_fn.pos_emb.t", {1, 39, 1}, "[1, 40, 1]"},
      {"filter_fn.modulation.deltas", {1, 1, 5}, "[1, 1, 6]"},
      {"filter_fn.implicit_filter.6.weight", {7, 8}, "[6, 8]"},
      {"filter_fn.implicit_filter.2.weight", {8, 7}, "[8, 8]"},
      {"in_proj.weight", {17, 6}, "[(order+1)*d_model, d_model]"},
  };
  for (const auto& c : cases) {
    hyena::safetensors_writer writer;
    for (const auto& name : file.names()) {
      if (name == c.key) {
        index_t n = 1;
        for (auto d : c.shape) n *= d;
        writer.add(name, c.shape, std::vector<float>(n, 0.5f));
      } else {
        writer.add(name, file.info(name).shape, file.read<float>(name));
      }
    }
    const std::string message = load_error(writer);
    EXPECT_NE(message.find(c.key), std::string::npos) << message;
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.key << ": " << message;
  }
}

TEST(HyenaLoader, LoadsEveryReferenceDump) {
  for (const auto& name : hyena::test::reference_cases("safari")) {
    const hyena::test::reference_case ref("safari", name);
    const auto w = hyena::load_hyena_weights<float>(ref.params);
    const auto& r = ref.config["resolved"];
    EXPECT_EQ(w.d_model, r["d_model"].get<index_t>()) << name;
    EXPECT_EQ(w.order, r["order"].get<index_t>()) << name;
    EXPECT_EQ(w.filter.max_length(), r["l_max"].get<index_t>()) << name;
    EXPECT_EQ(w.filter.width, r["filter_order"].get<index_t>()) << name;
    EXPECT_EQ(w.filter.emb_dim(), r["emb_dim"].get<index_t>()) << name;
    EXPECT_EQ(w.filter.inner_layers(), r["num_inner_mlps"].get<index_t>()) << name;
    EXPECT_EQ(w.short_filter_size, r["short_filter_order"].get<index_t>()) << name;
  }
}

}  // namespace
