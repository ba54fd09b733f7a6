// Warm calls allocate nothing: once a workspace has grown and the filters
// are prepared, causal_conv, hyena_operator::forward and hyena_lm::forward
// make no heap allocation through operator new, on one thread or several
// (the persistent pool reuses its threads; error messages are built only
// when a check fails). Counted by replacing the global operator new in this
// test program. Eigen's GEMM buffers come from malloc, not operator new, and
// are not counted.
#include <hyena/conv/fft_conv.hpp>
#include <hyena/model/hyena_lm.hpp>
#include <hyena/operator/hyena_operator.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

#include "support/naive_lm.hpp"
#include "support/numerics.hpp"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// The replacements below pair operator new with malloc and delete with free,
// which GCC cannot see through.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace {

using hyena::index_t;

// Allocations made by `call`, after one warm-up call.
template <class Call>
long allocations_of_warm_call(Call&& call) {
  call();
  const long before = g_allocations.load();
  call();
  call();
  return g_allocations.load() - before;
}

hyena::hyena_config small_config(index_t d_model, index_t max_length) {
  hyena::hyena_config c;
  c.d_model = d_model;
  c.order = 3;
  c.max_length = max_length;
  c.filter_width = 8;
  c.emb_dim = 5;
  c.inner_layers = 1;
  return c;
}

// The counter sees this program's allocations: a vector must register.
TEST(Allocations, TheCounterCounts) {
  const long before = g_allocations.load();
  std::vector<int> v(10);
  EXPECT_GT(g_allocations.load() - before, 0);
}

TEST(Allocations, WarmCausalConvAllocatesNothing) {
  const index_t C = 6, L = 97, B = 2;
  const auto k = hyena::test::random_vector<float>(C * L, 1);
  const auto u = hyena::test::random_vector<float>(B * C * L, 2);
  std::vector<float> y(u.size());
  const hyena::fft_filter<float> filter(C, L, k);
  for (unsigned threads : {1u, 2u}) {
    hyena::fft_conv_workspace<float> ws;
    const hyena::execution_context exec(threads);
    EXPECT_EQ(allocations_of_warm_call([&] { hyena::causal_conv(filter, B, u, y, ws, exec); }), 0)
        << threads << " threads";
  }
}

TEST(Allocations, WarmOperatorForwardAllocatesNothing) {
  const index_t D = 8, L = 300, B = 2;
  hyena::hyena_operator<float> op(hyena::random_hyena_weights<float>(small_config(D, 512), 3));
  const auto u = hyena::test::random_vector<float>(B * L * D, 4);
  std::vector<float> out(u.size());
  for (unsigned threads : {1u, 2u}) {
    op.set_execution(threads);
    hyena::hyena_workspace<float> ws;
    EXPECT_EQ(allocations_of_warm_call([&] { op.forward(B, L, u, out, ws); }), 0) << threads << " threads";
  }
}

TEST(Allocations, WarmLanguageModelForwardAllocatesNothing) {
  const index_t D = 8, V = 16, L = 300, B = 2;
  hyena::hyena_lm<float> model(hyena::test::random_lm_weights<float>(2, D, 16, V, 512, 5));
  std::vector<std::int64_t> ids(B * L);
  for (index_t i = 0; i < ids.size(); ++i) ids[i] = std::int64_t((7 * i + 3) % V);
  std::vector<float> hidden(B * L * D), logits(B * L * V);
  for (unsigned threads : {1u, 2u}) {
    model.set_execution(threads);
    hyena::hyena_lm_workspace<float> ws;
    EXPECT_EQ(allocations_of_warm_call([&] { model.forward(B, L, ids, hidden, logits, ws); }), 0)
        << threads << " threads";
  }
}

// Decoding: once a state has run its first blocks of every kind (direct,
// FFT, split over threads), further steps allocate nothing.
TEST(Allocations, WarmDecodingStepsAllocateNothing) {
  const index_t D = 8, V = 16, B = 2, capacity = 600, warm = 300;
  hyena::hyena_operator<float> op(hyena::random_hyena_weights<float>(small_config(D, 1024), 6));
  hyena::hyena_lm<float> model(hyena::test::random_lm_weights<float>(2, D, 16, V, 1024, 7));
  const auto u = hyena::test::random_vector<float>(B * D, 8);
  std::vector<float> y(B * D), hidden(B * D), logits(B * V);
  const std::vector<std::int64_t> ids = {3, 9};
  for (unsigned threads : {1u, 2u}) {
    op.set_execution(threads);
    model.set_execution(threads);
    auto op_state = op.make_state(B, capacity);
    auto lm_state = model.make_state(B, capacity);
    for (index_t t = 0; t < warm; ++t) {
      op.step(op_state, u, y);
      model.step(lm_state, ids, hidden, logits);
    }
    const long before = g_allocations.load();
    for (index_t t = warm; t < capacity; ++t) {
      op.step(op_state, u, y);
      model.step(lm_state, ids, hidden, logits);
    }
    EXPECT_EQ(g_allocations.load() - before, 0) << threads << " threads";
  }
}

}  // namespace
