// Token sampling (greedy, temperature, top-k) and generation with a model.
#include <hyena/model/sampling.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "support/naive_lm.hpp"

namespace {

using hyena::index_t;

TEST(LmSampling, GreedyPicksTheLargestLowestIdOnTies) {
  std::mt19937_64 rng(1);
  hyena::sampling_options greedy;
  greedy.temperature = 0;
  const std::vector<float> logits = {0.f, 3.f, 1.f, 3.f, 9.f};
  EXPECT_EQ(hyena::sample_token<float>(logits, greedy, rng), 4);
  greedy.vocab_limit = 4;  // id 4 is padding
  EXPECT_EQ(hyena::sample_token<float>(logits, greedy, rng), 1);
  hyena::sampling_options top1;
  top1.top_k = 1;
  top1.vocab_limit = 4;
  EXPECT_EQ(hyena::sample_token<float>(logits, top1, rng), 1) << "top-1 sampling is greedy";
}

TEST(LmSampling, FrequenciesFollowTheSoftmax) {
  // p ∝ exp(l / T) with T = 2: logits (0, 2 ln 2, 2 ln 3) give 1 : 2 : 3.
  const std::vector<double> logits = {0.0, 2 * std::log(2.0), 2 * std::log(3.0), 50.0};
  hyena::sampling_options o;
  o.temperature = 2.0;
  o.vocab_limit = 3;
  std::mt19937_64 rng(42);
  std::vector<int> counts(3);
  const int draws = 60000;
  for (int i = 0; i < draws; ++i) ++counts[std::size_t(hyena::sample_token<double>(logits, o, rng))];
  // Binomial standard deviation sqrt(n p (1-p)) <= 122; 5 sigma is 610.
  EXPECT_NEAR(counts[0], draws / 6.0, 610);
  EXPECT_NEAR(counts[1], draws * 2 / 6.0, 610);
  EXPECT_NEAR(counts[2], draws * 3 / 6.0, 610);
  // Top-2 drops the smallest.
  o.top_k = 2;
  std::vector<int> top(3);
  for (int i = 0; i < 6000; ++i) ++top[std::size_t(hyena::sample_token<double>(logits, o, rng))];
  EXPECT_EQ(top[0], 0);
  EXPECT_GT(top[1], 0);
  EXPECT_GT(top[2], top[1]);
}

TEST(LmSampling, ExtremeLogitsAndBadOptions) {
  std::mt19937_64 rng(3);
  hyena::sampling_options o;
  o.temperature = 1e-30;  // every weight but the peak's underflows
  EXPECT_EQ(hyena::sample_token<float>(std::vector<float>{1.f, 2.f, 1.5f}, o, rng), 1);
  o.temperature = 1;
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(hyena::sample_token<float>(std::vector<float>{-inf, inf, 0.f}, o, rng), 1);
  const auto all_minus_inf = hyena::sample_token<float>(std::vector<float>{-inf, -inf}, o, rng);
  EXPECT_TRUE(all_minus_inf == 0 || all_minus_inf == 1);
  EXPECT_THROW((void)hyena::sample_token<float>(std::vector<float>{1.f, NAN}, o, rng), std::invalid_argument);
  EXPECT_THROW((void)hyena::sample_token<float>(std::vector<float>{}, o, rng), std::invalid_argument);
  o.temperature = -1;
  EXPECT_THROW((void)hyena::sample_token<float>(std::vector<float>{1.f}, o, rng), std::invalid_argument);
  o.temperature = 1;
  o.vocab_limit = 3;
  EXPECT_THROW((void)hyena::sample_token<float>(std::vector<float>{1.f, 2.f}, o, rng), std::invalid_argument);
}

TEST(LmSampling, GenerateIsGreedyArgmaxAndDeterministic) {
  const index_t D = 8, V = 16, l_max = 24;
  hyena::hyena_lm_options options;
  options.vocab_size = 12;
  const hyena::hyena_lm<double> model(hyena::test::random_lm_weights<double>(2, D, 16, V, l_max, 11), options);
  const std::vector<std::int64_t> prompt = {7, 8, 9, 10, 7};
  hyena::sampling_options greedy;
  greedy.temperature = 0;
  const auto continuation = hyena::generate(model, prompt, 6, greedy, 0);
  ASSERT_EQ(continuation.size(), 6u);
  // Each greedy token is the argmax over the real vocabulary of a full forward.
  std::vector<std::int64_t> seq = prompt;
  for (const auto token : continuation) {
    const auto out = model.forward(1, seq.size(), seq);
    const auto last = out.logits.begin() + std::ptrdiff_t((seq.size() - 1) * V);
    EXPECT_EQ(token, std::max_element(last, last + 12) - last);
    seq.push_back(token);
  }
  hyena::sampling_options sample;
  sample.top_k = 4;
  const auto a = hyena::generate(model, prompt, 10, sample, 99);
  EXPECT_EQ(a, hyena::generate(model, prompt, 10, sample, 99)) << "a seed fixes the tokens";
  for (const auto t : a) EXPECT_LT(t, 12) << "never a padding id";
  EXPECT_EQ(hyena::generate(model, prompt, 0, sample, 1).size(), 0u);
  EXPECT_THROW((void)hyena::generate(model, prompt, l_max - 4, sample, 1), std::invalid_argument);
  EXPECT_THROW((void)hyena::generate(model, std::vector<std::int64_t>{}, 1, sample, 1), std::invalid_argument);
}

}  // namespace
