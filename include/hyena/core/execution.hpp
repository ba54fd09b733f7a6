// hyena/core/execution.hpp: how many threads a call or an object uses, and
// the one way work is split across them.
//
// Every kernel takes an execution_context as its last argument, and every
// object that computes (operators, models, attention baselines) holds one
// (execution() / set_execution()). Both default to every hardware thread on
// the process-wide persistent pool. Work is always cut into the same blocks
// whatever the thread count, so results are bit-identical for every count.
#pragma once

#include <algorithm>
#include <limits>

#include "config.hpp"
#include "thread_pool.hpp"
#include "../detail/checks.hpp"

namespace hyena {

class execution_context {
 public:
  /// Largest thread count accepted: far above any machine this runs on,
  /// low enough that a typo cannot start millions of threads.
  static constexpr unsigned max_threads = 1024;

  /// Every hardware thread, on the shared pool.
  execution_context() noexcept = default;
  /// `threads` threads (0: every hardware thread), on the shared pool.
  /// Implicit, so a thread count can be passed wherever a context is taken.
  /// Throws std::invalid_argument above max_threads.
  execution_context(unsigned threads) : threads_(checked(threads)) {}  // NOLINT(google-explicit-constructor)
  /// `threads` threads on `pool`, which must outlive every call made with this context.
  execution_context(unsigned threads, thread_pool& pool) : threads_(checked(threads)), pool_(&pool) {}

  /// One thread: the calling one.
  static execution_context serial() noexcept {
    execution_context e;
    e.threads_ = 1;
    return e;
  }

  /// The thread count, resolved (>= 1).
  unsigned threads() const noexcept { return threads_ != 0 ? threads_ : hardware_threads(); }
  /// Threads a split of `work` independent items uses: never more than the
  /// items (so per-thread workspaces are sized by the work, not the request).
  unsigned workers(index_t work) const noexcept {
    return static_cast<unsigned>(std::max<index_t>(1, std::min<index_t>(threads(), work)));
  }
  thread_pool& pool() const noexcept { return pool_ != nullptr ? *pool_ : thread_pool::shared(); }

  /// body(begin, end, worker) over workers(count) contiguous chunks of
  /// [0, count); worker in [0, workers(count)) is unique among the chunks,
  /// so it can index per-thread workspaces. Chunks are disjoint: bodies that
  /// write only their own items need no synchronisation. The first exception
  /// a body throws is rethrown after every chunk ended.
  template <class Body>
  void parallel_for(index_t count, Body&& body) const {
    split(count, workers(count), body);
  }

  /// Work (in rough scalar operations) a pool thread must get before it is
  /// worth waking: a hand-off costs several microseconds of wake-up latency,
  /// more than tiny calls compute in all.
  static constexpr index_t min_work_per_worker = index_t(1) << 16;

  /// Threads worth using for `count` items of about `work_per_item`
  /// operations each: workers(count), fewer when each would get less than
  /// min_work_per_worker, 1 for a tiny call.
  unsigned workers(index_t count, index_t work_per_item) const noexcept {
    const index_t per = std::max<index_t>(1, work_per_item);
    const index_t total = count > std::numeric_limits<index_t>::max() / per ? std::numeric_limits<index_t>::max()
                                                                            : count * per;
    const index_t worth = std::max<index_t>(1, total / min_work_per_worker);
    return static_cast<unsigned>(std::min<index_t>(workers(count), worth));
  }

  /// parallel_for over workers(count, work_per_item) chunks: the same
  /// contract, for callers that know what an item costs. How the items are
  /// chunked never changes what each item computes, so results stay the same
  /// for every thread count.
  template <class Body>
  void parallel_for(index_t count, index_t work_per_item, Body&& body) const {
    split(count, workers(count, work_per_item), body);
  }

  /// fn(begin, size) for the fixed blocks [begin, begin + size) of `block`
  /// items that tile [0, count) (the last may be shorter), blocks shared out
  /// over the threads. The blocks do not depend on the thread count, so a
  /// GEMM per block rounds the same way for every count.
  template <class Fn>
  void for_each_block(index_t count, index_t block, Fn&& fn) const {
    parallel_for((count + block - 1) / block, [&](index_t first, index_t last, unsigned) {
      for (index_t b = first; b < last; ++b) fn(b * block, std::min(block, count - b * block));
    });
  }

  /// fn(r0, nr, c0, nc) for the fixed tiles [r0, r0 + nr) x [c0, c0 + nc) of
  /// row_block x col_block that cover a rows x cols grid (edge tiles are
  /// smaller), shared out over the threads in row-major order. As with
  /// for_each_block the tiles depend on the shape alone, so results are the
  /// same for every thread count; cutting the columns as well keeps every
  /// thread busy when there are fewer row blocks than threads (a GEMM over a
  /// short sequence). `depth`: the work per cell (a GEMM's inner dimension),
  /// so that tiny grids (a decode step's single row) stay on the calling
  /// thread, as parallel_for(count, work_per_item) decides.
  template <class Fn>
  void for_each_tile(index_t rows, index_t row_block, index_t cols, index_t col_block, index_t depth,
                     Fn&& fn) const {
    const index_t row_tiles = (rows + row_block - 1) / row_block, col_tiles = (cols + col_block - 1) / col_block;
    const index_t tile_cells = std::min(rows, row_block) * std::min(cols, col_block);
    const index_t work = depth > 0 && tile_cells > std::numeric_limits<index_t>::max() / depth
                             ? std::numeric_limits<index_t>::max()
                             : tile_cells * depth;
    parallel_for(row_tiles * col_tiles, work, [&](index_t first, index_t last, unsigned) {
      for (index_t i = first; i < last; ++i) {
        const index_t r0 = (i / col_tiles) * row_block, c0 = (i % col_tiles) * col_block;
        fn(r0, std::min(row_block, rows - r0), c0, std::min(col_block, cols - c0));
      }
    });
  }

 private:
  template <class Body>
  void split(index_t count, unsigned n, Body& body) const {
    if (count == 0) return;
    if (n == 1) {
      body(index_t(0), count, 0u);
      return;
    }
    pool().run(n, [&](unsigned w) { body(count * w / n, count * (w + 1) / n, w); });
  }

  static unsigned checked(unsigned threads) {
    if (threads > max_threads)
      detail::throw_invalid("hyena::execution_context: ", threads, " threads requested, at most ", max_threads);
    return threads;
  }

  unsigned threads_ = 0;  // 0: every hardware thread
  thread_pool* pool_ = nullptr;  // null: thread_pool::shared()
};

/// What objects that compute derive from: the execution context they use for
/// every call, the same accessors on operators, models and baselines.
class uses_execution {
 public:
  const execution_context& execution() const noexcept { return execution_; }
  void set_execution(execution_context execution) noexcept { execution_ = execution; }

 protected:
  execution_context execution_;
};

}  // namespace hyena
