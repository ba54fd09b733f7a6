// The per-step filter banks an operator prepares: for FFT convolution at one
// length and for online convolution up to a capacity.
#include <hyena/operator/hyena_operator.hpp>
#include <hyena/operator/step_filters.hpp>

#include <gtest/gtest.h>

#include <vector>

namespace {

using hyena::index_t;

hyena::hyena_config config(index_t order) {
  hyena::hyena_config c;
  c.d_model = 6;
  c.order = order;
  c.max_length = 40;
  c.filter_width = 8;
  c.emb_dim = 3;
  return c;
}

TEST(StepFilters, BytesAreTheSumOfTheSteps) {
  hyena::prepared_step_filters<hyena::fft_filter<float>> bank;
  const std::vector<float> k(3 * 5, 0.5f);
  bank.steps.emplace_back(3, 5, k);
  bank.steps.emplace_back(3, 5, k);
  EXPECT_EQ(bank.bytes(), 2 * bank.steps[0].bytes());
  EXPECT_GT(bank.steps[0].bytes(), 0u);
}

TEST(StepFilters, AnOperatorPreparesOneFilterPerStepForBothKinds) {
  for (const index_t order : {2, 4}) {
    const hyena::hyena_operator<double> op(hyena::random_hyena_weights<double>(config(order), 3));
    const auto fft = op.prepared_filters(17);
    const auto online = op.online_filters(17);
    EXPECT_EQ(fft->length, 17u);
    EXPECT_EQ(online->length, 17u);
    ASSERT_EQ(fft->steps.size(), order - 1);
    ASSERT_EQ(online->steps.size(), order - 1);
    for (index_t o = 0; o + 1 < order; ++o) {
      EXPECT_EQ(online->steps[o].capacity(), 17u);
      EXPECT_EQ(online->steps[o].channels(), 6u);
      // Both hold the same skips D_o.
      for (index_t d = 0; d < 6; ++d) EXPECT_EQ(online->steps[o].skip(d), fft->steps[o].skip(d));
    }
  }
}

}  // namespace
