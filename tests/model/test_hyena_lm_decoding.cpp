// Step-by-step decoding of the language model (make_state, prefill, step)
// against the exact model and against forward() over the whole sequence.
#include <hyena/io/lm_loader.hpp>
#include <hyena/model/hyena_lm.hpp>
#include <hyena/model/sampling.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "support/expect_error.hpp"
#include "support/naive_lm.hpp"
#include "support/numerics.hpp"
#include "support/reference.hpp"

namespace {

using hyena::index_t;
using hyena::test::random_ids;
using hyena::test::expect_error_within;
using hyena::test::expect_invalid;
using hyena::test::relative_l2_error;
using hyena::test::worst_step_error;

template <class T>
class HyenaLmDecoding : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(HyenaLmDecoding, Precisions);

// Per step, against the exact model. The LayerNorms re-normalise every
// block's output, so errors neither compound nor grow with the length here:
// each block adds a few u of its own (measured per block: 2.4u float, 3.3u
// double, L <= 97, n_layer 2). Model: 4u per block; allowed: 3x the model.
template <class T>
double lm_decode_tolerance(index_t n_layer) {
  return 3.0 * 4.0 * double(n_layer) * hyena::test::unit_roundoff<T>();
}

struct decoded {
  template <class T>
  decoded(std::vector<T> h, std::vector<T> l) : hidden(h.begin(), h.end()), logits(l.begin(), l.end()) {}
  std::vector<double> hidden, logits;
};

// Prefill `prefill` tokens (0: none), step the rest; hidden [B][L][D] and
// logits [B][L][V] of every position.
template <class T>
decoded decode(const hyena::hyena_lm<T>& model, index_t B, index_t L, const std::vector<std::int64_t>& ids,
               index_t prefill) {
  const index_t D = model.d_model(), V = model.padded_vocab_size();
  auto state = model.make_state(B, L);
  std::vector<T> hidden(B * L * D), logits(B * L * V);
  if (prefill > 0) {
    std::vector<std::int64_t> head(B * prefill);
    for (index_t b = 0; b < B; ++b)
      std::copy_n(ids.data() + b * L, prefill, head.data() + b * prefill);
    std::vector<T> h(B * prefill * D), l(B * prefill * V);
    hyena::hyena_lm_workspace<T> ws;
    model.prefill(state, prefill, head, h, l, ws);
    for (index_t b = 0; b < B; ++b) {
      std::copy_n(h.data() + b * prefill * D, prefill * D, hidden.data() + b * L * D);
      std::copy_n(l.data() + b * prefill * V, prefill * V, logits.data() + b * L * V);
    }
  }
  EXPECT_EQ(state.position(), prefill);
  std::vector<std::int64_t> ids_t(B);
  std::vector<T> h(B * D), l(B * V);
  for (index_t t = prefill; t < L; ++t) {
    for (index_t b = 0; b < B; ++b) ids_t[b] = ids[b * L + t];
    model.step(state, ids_t, h, l);
    for (index_t b = 0; b < B; ++b) {
      std::copy_n(h.data() + b * D, D, hidden.data() + (b * L + t) * D);
      std::copy_n(l.data() + b * V, V, logits.data() + (b * L + t) * V);
    }
  }
  return decoded(hidden, logits);
}

TYPED_TEST(HyenaLmDecoding, StepsMatchTheExactModelAndForward) {
  using T = TypeParam;
  const index_t n_layer = 2, D = 16, H = 32, V = 16, B = 2;
  for (const index_t L : {1, 2, 31, 97}) {
    const auto weights = hyena::test::random_lm_weights<T>(n_layer, D, H, V, 97, std::uint64_t(L));
    const hyena::hyena_lm<T> model(weights);
    const auto ids = random_ids(B * L, V, std::uint32_t(L + 1));
    const auto exact = hyena::test::naive_lm_forward(hyena::test::to_double(weights), B, L, ids, 0.05, 1e-5, false);
    const auto full = model.forward(B, L, ids);
    for (const index_t prefill : {index_t(0), index_t(1), L / 2, L - 1}) {
      const auto out = decode(model, B, L, ids, prefill);
      std::ostringstream at;
      at << (sizeof(T) == 4 ? "float" : "double") << " L=" << L << " prefill=" << prefill;
      const double tol = lm_decode_tolerance<T>(n_layer);
      expect_error_within(worst_step_error(out.hidden, exact.hidden, B, L, D, prefill), tol, at.str() + " hidden");
      expect_error_within(worst_step_error(out.logits, exact.logits, B, L, V, prefill), tol, at.str() + " logits");
      expect_error_within(relative_l2_error(out.logits, full.logits), 2 * tol, at.str() + " logits vs forward");
    }
  }
}

TYPED_TEST(HyenaLmDecoding, GreedyGenerationEqualsRecomputingThePrefix) {
  using T = TypeParam;
  const index_t D = 8, V = 16, l_max = 64;
  hyena::hyena_lm_options options;
  options.vocab_size = 12;
  const hyena::hyena_lm<T> model(hyena::test::random_lm_weights<T>(2, D, 16, V, l_max, 21), options);
  const std::vector<std::int64_t> prompt = {7, 8, 9, 10, 7, 11, 7};
  hyena::sampling_options greedy;
  greedy.temperature = 0;
  const auto tokens = hyena::generate(model, prompt, 40, greedy, 0);
  ASSERT_EQ(tokens.size(), 40u);
  // The recompute path: the whole prefix through forward() for every token.
  std::vector<std::int64_t> seq = prompt;
  for (index_t k = 0; k < tokens.size(); ++k) {
    const auto out = model.forward(1, seq.size(), seq);
    const auto last = out.logits.begin() + std::ptrdiff_t((seq.size() - 1) * V);
    ASSERT_EQ(tokens[k], std::max_element(last, last + 12) - last) << "token " << k;
    seq.push_back(tokens[k]);
  }
}

TYPED_TEST(HyenaLmDecoding, BadInputIsRejectedAndLeavesTheStateUnchanged) {
  using T = TypeParam;
  const index_t D = 8, V = 16, l_max = 12;
  const hyena::hyena_lm<T> model(hyena::test::random_lm_weights<T>(1, D, 16, V, l_max, 31));
  const hyena::hyena_lm<T> other(hyena::test::random_lm_weights<T>(1, D, 16, V, l_max, 32));
  expect_invalid([&] { model.make_state(1, l_max + 1); }, {"make_state", "13", "max_length 12"});
  auto state = model.make_state(2, 3);
  std::vector<std::int64_t> ids = {1, 2};
  std::vector<T> h(2 * D), l(2 * V);
  expect_invalid([&] { other.step(state, ids, h, l); }, {"step", "another model"});
  std::vector<std::int64_t> bad = {1, 16};
  expect_invalid([&] { model.step(state, bad, h, l); }, {"token id 16", "batch 1"});
  std::vector<T> short_h(D);
  expect_invalid([&] { model.step(state, ids, short_h, l); }, {"hidden", "batch*length*d_model = 2*1*8"});
  hyena::hyena_lm_workspace<T> ws;
  std::vector<std::int64_t> four(8, 1);
  std::vector<T> h4(8 * D);
  expect_invalid([&] { model.prefill(state, 4, four, h4, {}, ws); }, {"4 tokens", "capacity 3"});
  EXPECT_EQ(state.position(), 0u);
  for (int i = 0; i < 3; ++i) model.step(state, ids, h, l);
  expect_invalid([&] { model.step(state, ids, h, l); }, {"full", "capacity 3"});
  EXPECT_EQ(state.position(), 3u);
  expect_invalid([&] { model.prefill(state, 1, ids, h, {}, ws); }, {"fresh", "3 tokens"});
}

// On the shared HyenaDNA dump's trained weights: greedy tokens through the
// decoder equal the argmax of a full forward over each prefix, for every
// prompt of the dump (its first half), up to the model's l_max.
TYPED_TEST(HyenaLmDecoding, GreedyGenerationOnTheReferenceDumpEqualsRecomputing) {
  using T = TypeParam;
  const hyena::test::reference_case ref("hyenadna", "dna_tiny_d32_n2");
  const hyena::hyena_lm<T> model(hyena::load_hyena_lm_weights<T>(ref.params));
  const auto& info = ref.io.info("input_ids");
  const index_t B = info.shape[0], L = info.shape[1], V = model.padded_vocab_size();
  const auto ids = ref.io.read<std::int64_t>("input_ids");
  const index_t real = 12;  // HyenaDNA's tokenizer: 7 special tokens, A C G T N
  hyena::sampling_options greedy;
  greedy.temperature = 0;
  greedy.vocab_limit = real;
  for (index_t b = 0; b < B; ++b) {
    const std::vector<std::int64_t> prompt(ids.begin() + std::ptrdiff_t(b * L), ids.begin() + std::ptrdiff_t(b * L + L / 2));
    const index_t n = model.max_length() - prompt.size();
    const auto tokens = hyena::generate(model, prompt, n, greedy, 0);
    std::vector<std::int64_t> seq = prompt;
    for (index_t k = 0; k < n; ++k) {
      const auto out = model.forward(1, seq.size(), seq);
      const auto last = out.logits.begin() + std::ptrdiff_t((seq.size() - 1) * V);
      ASSERT_EQ(tokens[k], std::max_element(last, last + real) - last) << "sequence " << b << ", token " << k;
      seq.push_back(tokens[k]);
    }
  }
}

}  // namespace
