// Concurrency guarantees (README "Thread safety"): many threads planning at
// once, and one prepared operator shared by many threads, give the same
// results as one thread. Also run under ThreadSanitizer in CI.
#include <hyena/operator/hyena_operator.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "support/numerics.hpp"

namespace {

using hyena::index_t;

hyena::hyena_config config(index_t max_length) {
  hyena::hyena_config c;
  c.d_model = 8;
  c.order = 3;
  c.max_length = max_length;
  c.filter_width = 16;
  return c;
}

// Each thread builds its own operators and prepares filters for several
// lengths, so FFTW plans are created (and destroyed) from many threads at once.
TEST(Concurrency, ManyThreadsConstructingOperatorsMatchOneThread) {
  const auto weights = hyena::random_hyena_weights<float>(config(300), 1);
  const auto u = hyena::test::random_vector<float>(2 * 300 * 8, 2);
  std::vector<std::vector<float>> expected;
  for (index_t L : {index_t(50), index_t(97), index_t(211), index_t(300)}) {
    hyena::hyena_operator<float> serial(weights);
    serial.set_execution(hyena::execution_context::serial());
    expected.push_back(serial.forward(2, L, hyena::span<const float>(u.data(), 2 * L * 8)));
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      for (int rep = 0; rep < 2; ++rep) {
        hyena::hyena_operator<float> op(weights);
        op.set_execution(1 + unsigned(i % 3));
        index_t j = 0;
        for (index_t L : {index_t(50), index_t(97), index_t(211), index_t(300)}) {
          const auto out = op.forward(2, L, hyena::span<const float>(u.data(), 2 * L * 8));
          if (out != expected[j++]) ++mismatches;
        }
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// One operator, filters prepared by whichever thread asks first, shared by all.
TEST(Concurrency, OnePreparedOperatorUsedFromManyThreads) {
  hyena::hyena_options options;
  options.filter_cache_capacity = 2;  // lengths below evict each other: cache churn under contention
  hyena::hyena_operator<double> op(hyena::random_hyena_weights<double>(config(256), 3), options);
  op.set_execution(2);  // each call also splits its own work
  const auto u = hyena::test::random_vector<double>(256 * 8, 4);
  const std::vector<index_t> lengths = {64, 129, 256};
  std::vector<std::vector<double>> expected;
  for (index_t L : lengths) expected.push_back(op.forward(1, L, hyena::span<const double>(u.data(), L * 8)));
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i)
    threads.emplace_back([&, i] {
      hyena::hyena_workspace<double> ws;
      for (int rep = 0; rep < 4; ++rep)
        for (std::size_t j = 0; j < lengths.size(); ++j) {
          const index_t L = lengths[(j + std::size_t(i)) % lengths.size()];
          std::vector<double> out(L * 8);
          op.forward(1, L, hyena::span<const double>(u.data(), L * 8), out, ws);
          if (out != expected[(j + std::size_t(i)) % lengths.size()]) ++mismatches;
        }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace

// Threads that miss the cache for one length at once may each compute the
// filters, but the cache keeps one entry and every caller gets that entry.
TEST(Concurrency, ConcurrentMissesOfOneLengthStoreItOnce) {
  hyena::hyena_options options;
  options.filter_cache_capacity = 4;
  hyena::hyena_operator<float> op(hyena::random_hyena_weights<float>(config(512), 5), options);
  op.set_execution(hyena::execution_context::serial());
  for (index_t L : {index_t(300), index_t(511)}) {
    std::atomic<int> waiting{8};
    std::vector<std::shared_ptr<const hyena::hyena_prepared_filters<float>>> got(8);
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i)
      threads.emplace_back([&, i] {
        for (--waiting; waiting.load() > 0;) std::this_thread::yield();  // start together
        got[i] = op.prepared_filters(L);
      });
    for (auto& t : threads) t.join();
    for (int i = 1; i < 8; ++i) EXPECT_EQ(got[i], got[0]) << "L = " << L << ", thread " << i;
  }
  EXPECT_EQ(op.cached_lengths(), 2u);
}
