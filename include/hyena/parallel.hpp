// hyena/parallel.hpp: splitting independent rows of work across threads.
#pragma once

#include <algorithm>
#include <exception>
#include <thread>
#include <vector>

#include "config.hpp"

namespace hyena {

/// The number of threads a call may use: 0 means every hardware thread.
inline unsigned resolve_threads(unsigned threads) noexcept {
  if (threads != 0) return threads;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}

namespace detail {

/// body(begin, end, worker) over contiguous chunks of [0, count), one chunk
/// per worker, worker 0 on the calling thread. Chunks are disjoint, so bodies
/// that write only their own rows need no synchronisation. The first
/// exception thrown by any body is rethrown here after every worker ended.
/// Threads are started per call: a few tens of microseconds, small against
/// the millisecond-scale work this splits (callers stay serial below that).
template <class Body>
void parallel_for(index_t count, unsigned threads, Body&& body) {
  const index_t workers = std::min<index_t>(std::max(1u, threads), count);
  if (workers <= 1) {
    if (count > 0) body(index_t(0), count, 0u);
    return;
  }
  std::vector<std::exception_ptr> errors(workers);
  auto run = [&](index_t w) {
    const index_t begin = count * w / workers, end = count * (w + 1) / workers;
    try {
      body(begin, end, static_cast<unsigned>(w));
    } catch (...) {
      errors[w] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (index_t w = 1; w < workers; ++w) pool.emplace_back(run, w);
  run(0);
  for (auto& t : pool) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace detail
}  // namespace hyena
