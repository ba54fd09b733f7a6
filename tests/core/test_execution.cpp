// The execution context: the thread count is capped by the work, absurd
// counts are rejected, the chunks a split makes depend only on (count,
// workers), and work runs on the pool it is given. (The pool itself:
// test_thread_pool.cpp.)
#include <hyena/core/execution.hpp>
#include <hyena/core/thread_pool.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using hyena::index_t;

TEST(ExecutionContext, ThreadsAreCappedByTheWork) {
  const hyena::execution_context eight(8);
  EXPECT_EQ(eight.threads(), 8u);
  EXPECT_EQ(eight.workers(3), 3u);
  EXPECT_EQ(eight.workers(0), 1u);
  EXPECT_EQ(eight.workers(100), 8u);
  EXPECT_EQ(hyena::execution_context::serial().threads(), 1u);
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_EQ(hyena::execution_context().threads(), hw);
  EXPECT_EQ(hyena::execution_context(0).threads(), hw);
}

// Tiny calls run inline: waking a pool thread costs more than they compute.
TEST(ExecutionContext, SplitsByWorkOnlyWhenEachThreadGetsEnough) {
  const hyena::execution_context eight(8);
  const index_t grain = hyena::execution_context::min_work_per_worker;
  EXPECT_EQ(eight.workers(16, 1), 1u);                 // 16 operations in all
  EXPECT_EQ(eight.workers(16, grain / 16), 1u);        // one grain in all
  EXPECT_EQ(eight.workers(16, grain / 4), 4u);         // four grains: four threads
  EXPECT_EQ(eight.workers(16, grain), 8u);             // capped by the threads
  EXPECT_EQ(eight.workers(3, 100 * grain), 3u);        // and by the items
  EXPECT_EQ(eight.workers(2, ~index_t(0)), 2u);        // no overflow
  EXPECT_EQ(eight.workers(0, grain), 1u);
  // The split really runs with that many workers.
  std::atomic<unsigned> chunks{0};
  eight.parallel_for(16, grain / 4, [&](index_t, index_t, unsigned) { ++chunks; });
  EXPECT_EQ(chunks.load(), 4u);
  chunks = 0;
  eight.parallel_for(16, 1, [&](index_t first, index_t last, unsigned worker) {
    EXPECT_EQ(first, 0u);
    EXPECT_EQ(last, 16u);
    EXPECT_EQ(worker, 0u);
    ++chunks;
  });
  EXPECT_EQ(chunks.load(), 1u);
}

TEST(ExecutionContext, RejectsAbsurdThreadCounts) {
  EXPECT_NO_THROW(hyena::execution_context{hyena::execution_context::max_threads});
  try {
    hyena::execution_context e(200000);
    FAIL() << "accepted 200000 threads";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("200000 threads requested, at most 1024"), std::string::npos) << e.what();
  }
}

// The chunks depend on (count, workers) alone, each worker index is used by
// one chunk, and together they tile [0, count): what bit-identity across
// thread counts and per-worker workspaces rely on.
TEST(ExecutionContext, ChunksTileTheRangeWithDistinctWorkers) {
  for (unsigned threads : {1u, 2u, 3u, 5u})
    for (index_t count : {index_t(1), index_t(2), index_t(7), index_t(100)}) {
      const hyena::execution_context exec(threads);
      std::vector<std::atomic<int>> covered(count);
      std::vector<std::atomic<int>> worker_used(exec.workers(count));
      exec.parallel_for(count, [&](index_t begin, index_t end, unsigned worker) {
        ASSERT_LT(worker, worker_used.size());
        worker_used[worker].fetch_add(1);
        EXPECT_EQ(begin, count * worker / exec.workers(count));
        EXPECT_EQ(end, count * (worker + 1) / exec.workers(count));
        for (index_t i = begin; i < end; ++i) covered[i].fetch_add(1);
      });
      for (index_t i = 0; i < count; ++i) EXPECT_EQ(covered[i].load(), 1) << threads << " " << count << " " << i;
      for (auto& w : worker_used) EXPECT_EQ(w.load(), 1);
    }
}

// for_each_tile: every cell of a rows x cols grid lies in exactly one tile,
// tiles are row_block x col_block except at the edges, and the set of tiles
// is the same for every thread count (what makes a GEMM per tile round the
// same way whatever the threads). Odd sizes, a single row, one tile larger
// than the grid.
TEST(ExecutionContext, TilesCoverTheGridOnceAndDoNotDependOnTheThreads) {
  struct shape { index_t rows, row_block, cols, col_block; };
  for (const shape s : {shape{1, 256, 2304, 256}, shape{300, 256, 768, 256}, shape{7, 3, 5, 2},
                        shape{4, 8, 3, 16}}) {
    std::vector<std::vector<index_t>> tiles_by_threads;
    for (unsigned threads : {1u, 2u, 3u}) {
      const hyena::execution_context exec(threads);
      std::vector<std::atomic<int>> covered(s.rows * s.cols);
      std::vector<std::atomic<index_t>> tile_at(s.rows * s.cols);  // r0 * cols + c0 of each cell's tile, + 1
      exec.for_each_tile(s.rows, s.row_block, s.cols, s.col_block, hyena::execution_context::min_work_per_worker,
                         [&](index_t r0, index_t nr, index_t c0, index_t nc) {
        EXPECT_EQ(r0 % s.row_block, 0);
        EXPECT_EQ(c0 % s.col_block, 0);
        EXPECT_EQ(nr, std::min(s.row_block, s.rows - r0));
        EXPECT_EQ(nc, std::min(s.col_block, s.cols - c0));
        for (index_t r = r0; r < r0 + nr; ++r)
          for (index_t c = c0; c < c0 + nc; ++c) {
            covered[r * s.cols + c].fetch_add(1);
            tile_at[r * s.cols + c].store(r0 * s.cols + c0 + 1);
          }
      });
      std::vector<index_t> tiles;
      for (index_t i = 0; i < s.rows * s.cols; ++i) {
        EXPECT_EQ(covered[i].load(), 1) << threads << " threads, cell " << i;
        tiles.push_back(tile_at[i].load());
      }
      tiles_by_threads.push_back(tiles);
    }
    EXPECT_EQ(tiles_by_threads[1], tiles_by_threads[0]);
    EXPECT_EQ(tiles_by_threads[2], tiles_by_threads[0]);
  }
}

TEST(ExecutionContext, RunsOnTheGivenPool) {
  hyena::thread_pool pool(2);
  const hyena::execution_context exec(3, pool);
  EXPECT_EQ(&exec.pool(), &pool);
  std::atomic<int> n{0};
  exec.parallel_for(9, [&](index_t b, index_t e, unsigned) { n.fetch_add(int(e - b)); });
  EXPECT_EQ(n.load(), 9);
  EXPECT_EQ(&hyena::execution_context().pool(), &hyena::thread_pool::shared());
}

}  // namespace
