// The direct convolution against values worked out by hand.
#include <hyena/conv/direct_conv.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace {

TEST(DirectConv, HandComputedExample) {
  // k = [1, 2, 3], u = [1, 0, -1], D = 0.5:
  // y0 = 1*1 + 0.5*1 = 1.5; y1 = 1*0 + 2*1 + 0 = 2; y2 = 1*(-1) + 2*0 + 3*1 - 0.5 = 1.5
  const std::vector<double> k = {1, 2, 3}, skip = {0.5}, u = {1, 0, -1};
  std::vector<double> y(3);
  hyena::direct_causal_conv<double>(k, skip, {1, 1, 3}, u, y);
  EXPECT_EQ(y, (std::vector<double>{1.5, 2, 1.5}));
}

TEST(DirectConv, ChannelsUseTheirOwnFilterAndBatchesAreIndependent) {
  // Two channels (k0 = delta, k1 = one-step delay), two batches.
  const std::vector<float> k = {1, 0, 0, 0, 1, 0};
  const std::vector<float> u = {1, 2, 3, 4, 5, 6, /* batch 1 */ 7, 8, 9, 10, 11, 12};
  std::vector<float> y(12);
  hyena::direct_causal_conv<float>(k, {}, {2, 2, 3}, u, y);
  EXPECT_EQ(y, (std::vector<float>{1, 2, 3, 0, 4, 5, 7, 8, 9, 0, 10, 11}));
}

TEST(DirectConv, RejectsBadInput) {
  const std::vector<double> k(6), u(12);
  std::vector<double> y(12);
  EXPECT_THROW(hyena::direct_causal_conv<double>(k, {}, {0, 2, 3}, u, y), std::invalid_argument);
  EXPECT_THROW(hyena::direct_causal_conv<double>(k, {}, {2, 2, 2}, u, y), std::invalid_argument);
  EXPECT_THROW(hyena::direct_causal_conv<double>(k, std::vector<double>(3), {2, 2, 3}, u, y),
               std::invalid_argument);
}

}  // namespace
