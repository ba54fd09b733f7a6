// The StripedHyena 2 Hyena block's and model's contract beyond the reference dump
// (tests/integration/test_reference_stripedhyena2.cpp checks its numbers):
// batch rows are independent, results do not depend on the thread count,
// bad weights and spans are refused with a message naming them.
#include <hyena/model/striped_hyena_block.hpp>
#include <hyena/model/striped_hyena_model.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "support/expect_error.hpp"
#include "support/numerics.hpp"

namespace {

using hyena::index_t;
using hyena::sh2_filter_kind;

template <class T = float>
hyena::sh2_hyena_block_weights<T> random_block(index_t D, sh2_filter_kind kind, std::uint32_t seed) {
  using hyena::test::random_vector;
  hyena::sh2_hyena_block_weights<T> w;
  w.d_model = D, w.kind = kind;
  w.pre_norm_scale = random_vector<T>(D, seed++);
  w.post_norm_scale = random_vector<T>(D, seed++);
  w.projections = random_vector<T>(3 * D * D, seed++, 0.3);
  w.short_filter = random_vector<T>(3 * D * 3, seed++);
  w.out_weight = random_vector<T>(D * D, seed++, 0.3);
  w.out_bias = random_vector<T>(D, seed++);
  if (kind == sh2_filter_kind::hcl) {
    w.state_size = 4;
    w.log_poles = random_vector<T>(D * 4, seed++);
    for (auto& lp : w.log_poles) lp = T(-0.01) - std::fabs(lp);
    w.residues = random_vector<T>(D * 4, seed++);
  } else {
    w.filter_groups = 2, w.filter_taps = kind == sh2_filter_kind::hcs ? 7 : 128;
    w.filter_h = random_vector<T>(2 * w.filter_taps, seed++, 0.3);
  }
  if (kind != sh2_filter_kind::hcs) w.filter_skip = random_vector<T>(D, seed++);
  w.mlp.d_model = D, w.mlp.inner = 2 * D, w.mlp.gelu = true;
  w.mlp.l1 = random_vector<T>(2 * D * D, seed++, 0.3);
  w.mlp.l2 = random_vector<T>(2 * D * D, seed++, 0.3);
  w.mlp.l3 = random_vector<T>(D * 2 * D, seed++, 0.3);
  return w;
}

TEST(StripedHyenaBlock, BatchRowsAreIndependentAndThreadsDoNotMatter) {
  // Large enough that every stage splits over 2 threads (GEMM tiles of 256
  // rows, the FIR and FFT rows), so the thread comparison can fail, and
  // that hcm's 128 taps go by FFT (rows of at least one 897-output block).
  const index_t D = 64, L = 1000;
  for (auto kind : {sh2_filter_kind::hcs, sh2_filter_kind::hcm, sh2_filter_kind::hcl}) {
    const hyena::sh2_hyena_block<float> block(random_block(D, kind, 10));
    const auto u = hyena::test::random_vector<float>(3 * L * D, 20);
    std::vector<float> all(u.size()), two(u.size()), one(L * D);
    block.forward(3, L, u, all, nullptr, hyena::execution_context(1));
    block.forward(3, L, u, two, nullptr, hyena::execution_context(2));
    EXPECT_EQ(all, two) << hyena::sh2_filter_kind_name(kind);
    // One sequence alone gives its row of the batch, to rounding: a GEMM
    // (a BLAS especially) may pick other kernels for another row count,
    // which reorders each D-term dot product: u*sqrt(D/8) per GEMM (the
    // projection model of the reference tests), five GEMMs deep (in, out,
    // three in the MLP), both runs: tolerance 4x u*sqrt(2*5*D/8). A row
    // mixed with its neighbours would be off by O(1).
    for (index_t b = 0; b < 3; ++b) {
      block.forward(1, L, std::vector<float>(u.begin() + b * L * D, u.begin() + (b + 1) * L * D), one);
      hyena::test::expect_error_within(
          hyena::test::relative_l2_error(one, std::vector<float>(all.begin() + b * L * D, all.begin() + (b + 1) * L * D)),
          4 * hyena::test::unit_roundoff<float>() * std::sqrt(2.0 * 5.0 * double(D) / 8.0),
          std::string(hyena::sh2_filter_kind_name(kind)) + " row " + std::to_string(b));
    }
  }
}

TEST(StripedHyenaBlock, RejectsBadInput) {
  using hyena::test::expect_invalid;
  auto w = random_block(8, sh2_filter_kind::hcm, 1);
  w.projections.values.pop_back();
  expect_invalid([&] { hyena::sh2_hyena_block<float>{w}; }, {"projections", "[3*d_model][d_model]"});
  w = random_block(8, sh2_filter_kind::hcm, 1);
  w.filter_skip.clear();
  expect_invalid([&] { hyena::sh2_hyena_block<float>{w}; }, {"filter_skip"});
  w = random_block(8, sh2_filter_kind::hcs, 1);
  w.filter_groups = 3, w.filter_h.resize(3 * 7);
  expect_invalid([&] { hyena::sh2_hyena_block<float>{w}; }, {"3 filter groups do not divide 8 channels"});
  // The kind must agree with the length, as vortex's choice of convolution does.
  w = random_block(8, sh2_filter_kind::hcm, 1);
  w.filter_taps = 7, w.filter_h.resize(2 * 7);
  expect_invalid([&] { hyena::sh2_hyena_block<float>{w}; }, {"an hcm filter has at least 128 taps (got 7)"});
  w = random_block(8, sh2_filter_kind::hcs, 1);
  w.filter_skip.assign(8, 1.0f);
  expect_invalid([&] { hyena::sh2_hyena_block<float>{w}; }, {"an hcs filter has fewer than 128 taps and no skip"});
  w = random_block(8, sh2_filter_kind::hcl, 1);
  w.residues[2] = std::nanf("");
  expect_invalid([&] { hyena::sh2_hyena_block<float>{w}; }, {"residues[2]", "not finite"});
  w = random_block(8, sh2_filter_kind::hcl, 1);
  w.mlp.d_model = 4;
  expect_invalid([&] { hyena::sh2_hyena_block<float>{w}; }, {"mlp.d_model"});

  const hyena::sh2_hyena_block<float> block(random_block(8, sh2_filter_kind::hcs, 1));
  std::vector<float> u(2 * 5 * 8), out(2 * 5 * 8), short_out(3);
  expect_invalid([&] { block.forward(2, 4, u, out); }, {"u", "batch*length*d_model"});
  expect_invalid([&] { block.forward(0, 5, u, out); }, {"batch", ">= 1"});
  expect_invalid([&] { block.forward(2, 5, u, short_out); }, {"out"});
}

TEST(StripedHyenaModel, RejectsBadInput) {
  using hyena::test::expect_invalid;
  hyena::sh2_model_weights<float> w;
  w.vocab_size = 16, w.d_model = 8;
  w.embedding = hyena::test::random_vector<float>(16 * 8, 1);
  w.final_norm_scale = std::vector<float>(8, 1.0f);
  w.blocks.emplace_back(random_block(8, sh2_filter_kind::hcl, 2));
  auto wide = random_block(12, sh2_filter_kind::hcs, 3);
  auto bad = w;
  bad.blocks.emplace_back(wide);
  expect_invalid([&] { hyena::sh2_model<float>{bad}; }, {"block 1 has d_model 12, the model 8"});
  bad = w;
  bad.blocks.emplace_back(random_block(8, sh2_filter_kind::hcm, 4));
  std::get<hyena::sh2_hyena_block_weights<float>>(bad.blocks[1]).out_bias.pop_back();
  expect_invalid([&] { hyena::sh2_model<float>{bad}; }, {"block 1", "out_bias"});
  bad = w;
  bad.embedding.pop_back();
  expect_invalid([&] { hyena::sh2_model<float>{bad}; }, {"embedding", "[vocab_size][d_model]"});

  const hyena::sh2_model<float> model(w);
  const std::vector<std::int64_t> ids = {0, 5, 15, 16}, negative = {0, -1, 2, 3};
  std::vector<float> logits(4 * 16);
  expect_invalid([&] { model.forward(1, 4, ids, logits); }, {"ids[3] = 16", "[0, 16)"});
  expect_invalid([&] { model.forward(2, 2, negative, logits); }, {"ids[1] = -1"});
  expect_invalid([&] { model.forward(1, 3, ids, logits); }, {"ids", "batch*length"});
  const std::vector<std::int64_t> fine = {0, 5, 15, 1};
  model.forward(2, 2, fine, logits);
  for (float x : logits) EXPECT_TRUE(std::isfinite(x));
}

// Decoding a block: prefill P inputs, then step the rest, in double (where
// rounding is 1e-16 and any wrong state shows): equal to forward() on the
// whole sequence within 1e-14 relative (GEMMs of B rows vs B L rows and
// hcl's recurrence vs its FFT differ by a few roundings of 1.1e-16;
// measured 2.2e-16 at most), for batch 3, past
// hcm's 127-value cache, from a fresh state (P = 0) and from prefills
// shorter and longer than the filters. hcm also at L = 1000, where its
// forward sums by FFT (overlap-save blocks of 897 outputs) and its steps
// directly, with a prompt beyond one block.
TEST(StripedHyenaBlock, DecodingEqualsTheForward) {
  const index_t D = 8, B = 3;
  for (auto [kind, L] : {std::pair{sh2_filter_kind::hcs, index_t(140)}, std::pair{sh2_filter_kind::hcm, index_t(140)},
                         std::pair{sh2_filter_kind::hcm, index_t(1000)}, std::pair{sh2_filter_kind::hcl, index_t(140)}}) {
    const hyena::sh2_hyena_block<double> block(random_block<double>(D, kind, 30));
    const auto u = hyena::test::random_vector<double>(B * L * D, 40);
    std::vector<double> expected(u.size());
    block.forward(B, L, u, expected);
    for (index_t prompt : {index_t(0), index_t(1), index_t(5), index_t(130), L - 50}) {
      auto state = block.make_state(B);
      std::vector<double> got(u.size()), u_t(B * D), y_t(B * D);
      if (prompt > 0) {
        std::vector<double> up(B * prompt * D), yp(B * prompt * D);
        for (index_t b = 0; b < B; ++b)
          std::copy(u.begin() + b * L * D, u.begin() + (b * L + prompt) * D, up.begin() + b * prompt * D);
        block.prefill(state, prompt, up, yp);
        for (index_t b = 0; b < B; ++b)
          std::copy(yp.begin() + b * prompt * D, yp.begin() + (b + 1) * prompt * D, got.begin() + b * L * D);
      }
      for (index_t t = prompt; t < L; ++t) {
        for (index_t b = 0; b < B; ++b)
          std::copy(u.begin() + (b * L + t) * D, u.begin() + (b * L + t + 1) * D, u_t.begin() + b * D);
        block.step(state, u_t, y_t);
        for (index_t b = 0; b < B; ++b)
          std::copy(y_t.begin() + b * D, y_t.begin() + (b + 1) * D, got.begin() + (b * L + t) * D);
      }
      EXPECT_EQ(state.position(), L);
      hyena::test::expect_error_within(hyena::test::relative_max_error(got, expected), 1e-14,
                                       std::string(hyena::sh2_filter_kind_name(kind)) + " L " + std::to_string(L) +
                                           " prompt " + std::to_string(prompt));
    }
  }
}

TEST(StripedHyenaBlock, DecodingRejectsMisuse) {
  const hyena::sh2_hyena_block<float> block(random_block(8, sh2_filter_kind::hcs, 50));
  const hyena::sh2_hyena_block<float> other(random_block(8, sh2_filter_kind::hcs, 50));
  auto state = block.make_state(2);
  std::vector<float> u(2 * 8), y(2 * 8), wrong(8);
  hyena::test::expect_invalid([&] { other.step(state, u, y); }, {"another block"});
  hyena::test::expect_invalid([&] { block.step(state, wrong, y); }, {"u_t", "batch*d_model"});
  block.prefill(state, 1, u, y);
  hyena::test::expect_invalid([&] { block.prefill(state, 1, u, y); }, {"fresh"});
  hyena::test::expect_invalid([&] { (void)block.make_state(0); }, {"batch"});
}

}  // namespace
