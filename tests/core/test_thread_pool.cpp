// The persistent thread pool: every task runs exactly once, nested and
// concurrent submissions finish, and the first exception reaches the caller
// after every task ended, leaving the pool usable.
#include <hyena/core/thread_pool.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

TEST(ThreadPool, RunsEveryTaskExactlyOnce) {
  hyena::thread_pool pool(3);
  for (unsigned tasks : {1u, 2u, 3u, 7u, 64u}) {
    std::vector<std::atomic<int>> runs(tasks);
    pool.run(tasks, [&](unsigned i) { runs[i].fetch_add(1); });
    for (unsigned i = 0; i < tasks; ++i) EXPECT_EQ(runs[i].load(), 1) << tasks << " tasks, task " << i;
  }
  EXPECT_GE(pool.size(), 64u);  // grew to run 64 at once, once
}

TEST(ThreadPool, NestedRunsFinish) {
  hyena::thread_pool pool(2);
  std::atomic<int> leaves{0};
  pool.run(4, [&](unsigned) { pool.run(5, [&](unsigned) { leaves.fetch_add(1); }); });
  EXPECT_EQ(leaves.load(), 20);
}

TEST(ThreadPool, ManyThreadsSubmittingAtOnce) {
  hyena::thread_pool pool(2);
  std::atomic<long> sum{0};
  std::vector<std::thread> submitters;
  for (int s = 0; s < 6; ++s)
    submitters.emplace_back([&] {
      for (int rep = 0; rep < 200; ++rep) pool.run(3, [&](unsigned i) { sum.fetch_add(long(i) + 1); });
    });
  for (auto& t : submitters) t.join();
  EXPECT_EQ(sum.load(), 6L * 200 * (1 + 2 + 3));
}

TEST(ThreadPool, TheFirstExceptionReachesTheCallerAfterEveryTaskEnded) {
  hyena::thread_pool pool(2);
  std::atomic<int> finished{0};
  try {
    pool.run(6, [&](unsigned i) {
      if (i == 4) throw std::runtime_error("task 4 failed");
      finished.fetch_add(1);
    });
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "task 4 failed");
  }
  EXPECT_EQ(finished.load(), 5);
  // The pool is still usable.
  std::atomic<int> again{0};
  pool.run(3, [&](unsigned) { again.fetch_add(1); });
  EXPECT_EQ(again.load(), 3);
}

// Jobs posted back to back (workers may still be leaving the last one) and
// after the workers went to sleep on the condition variable all run.
TEST(ThreadPool, JobsPostedBackToBackOrAfterASleepAllRun) {
  hyena::thread_pool pool(3);
  std::atomic<long> sum{0};
  for (int rep = 0; rep < 50; ++rep) {
    pool.run(4, [&](unsigned i) { sum.fetch_add(long(i) + 1); });  // back to back
    if (rep % 10 == 9) std::this_thread::sleep_for(std::chrono::milliseconds(5));  // workers asleep
  }
  EXPECT_EQ(sum.load(), 50L * (1 + 2 + 3 + 4));
}

}  // namespace
