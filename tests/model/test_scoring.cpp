// Next-token log-likelihood, perplexity and mean pooling.
#include <hyena/model/scoring.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace {

using hyena::index_t;

TEST(LmScoring, LogSoftmaxIsStableAndExact) {
  const std::vector<double> row = {1.0, 2.0, 3.0};
  const double log_total = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  EXPECT_NEAR(hyena::log_softmax_at<double>(row, 2), 3.0 - log_total, 1e-15);
  // Shifting every logit by a constant changes nothing, however large.
  const std::vector<float> big = {1001.f, 1002.f, 1003.f};
  EXPECT_NEAR(hyena::log_softmax_at<float>(big, 0), 1.0 - log_total, 1e-12);
  const std::vector<float> huge = {-1e30f, 0.f};
  EXPECT_EQ(hyena::log_softmax_at<float>(huge, 1), 0.0);
  EXPECT_THROW((void)hyena::log_softmax_at<double>(row, 3), std::invalid_argument);
}

TEST(LmScoring, SumsTheNextTokensLogProbabilities) {
  // Three positions, vocab 2; row t predicts ids[t+1].
  const std::vector<double> logits = {0.0,           std::log(3.0),  // p(1) = 3/4
                                      std::log(4.0), 0.0,            // p(0) = 4/5
                                      5.0,           -5.0};          // unused: predicts past the end
  const std::vector<std::int64_t> ids = {0, 1, 0};
  const auto s = hyena::next_token_log_likelihood<double>(3, 2, logits, ids);
  EXPECT_EQ(s.predictions, 2u);
  EXPECT_NEAR(s.log_likelihood, std::log(0.75) + std::log(0.8), 1e-15);
  EXPECT_NEAR(s.perplexity(), std::exp(-(std::log(0.75) + std::log(0.8)) / 2), 1e-15);
  // Uniform logits: perplexity is the vocabulary size.
  const std::vector<float> flat(5 * 16, 0.25f);
  const std::vector<std::int64_t> any = {3, 1, 4, 1, 5};
  EXPECT_NEAR(hyena::next_token_log_likelihood<float>(5, 16, flat, any).perplexity(), 16.0, 1e-12);
  // One token predicts nothing.
  const auto one = hyena::next_token_log_likelihood<float>(1, 16, std::vector<float>(16), std::vector<std::int64_t>{2});
  EXPECT_EQ(one.predictions, 0u);
  EXPECT_TRUE(std::isnan(one.perplexity()));
  EXPECT_THROW((void)hyena::next_token_log_likelihood<double>(3, 2, logits, std::vector<std::int64_t>{0, 2, 0}),
               std::invalid_argument);
  EXPECT_THROW((void)hyena::next_token_log_likelihood<double>(2, 2, logits, ids), std::invalid_argument);
}

TEST(LmScoring, MeanPoolAveragesOverTime) {
  // batch 2, length 3, width 2
  const std::vector<float> hidden = {1, 10, 2, 20, 3, 30, -1, 0, -2, 0, -6, 3};
  std::vector<float> out(4);
  hyena::mean_pool<float>(2, 3, 2, hidden, out);
  EXPECT_EQ(out, (std::vector<float>{2, 20, -3, 1}));
  std::vector<float> short_out(3);
  EXPECT_THROW(hyena::mean_pool<float>(2, 3, 2, hidden, short_out), std::invalid_argument);
  EXPECT_THROW(hyena::mean_pool<float>(2, 0, 2, hidden, out), std::invalid_argument);
}

}  // namespace
