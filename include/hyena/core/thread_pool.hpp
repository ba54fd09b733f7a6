// hyena/core/thread_pool.hpp: a persistent pool of worker threads.
//
// Threads are created once and reused by every call, so splitting a
// microsecond-scale piece of work (a decoding step, a short sequence) costs a
// wake-up, not a thread creation. Submitting work allocates nothing: a job
// lives on the submitting thread's stack and is linked into the pool's list.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include "config.hpp"

namespace hyena {

/// The machine's hardware threads (at least 1), asked once: every split of
/// work resolves "all threads" through it, and the answer does not change.
inline unsigned hardware_threads() noexcept {
  static const unsigned count = std::max(1u, std::thread::hardware_concurrency());
  return count;
}

class thread_pool {
 public:
  /// A pool that runs up to `threads` tasks at once: the calling thread plus
  /// threads - 1 workers, started now.
  explicit thread_pool(unsigned threads = 1) { grow(threads); }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;
  ~thread_pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    work_.notify_all();
    for (auto& t : workers_) t.join();
  }

  /// The process-wide pool every execution_context uses unless given another.
  /// Starts with one thread per hardware thread and grows on demand.
  static thread_pool& shared() {
    static thread_pool pool(hardware_threads());
    return pool;
  }

  /// Tasks that can run at once (workers + the caller).
  unsigned size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<unsigned>(workers_.size()) + 1;
  }

  /// Starts workers until size() >= threads (never shrinks).
  void grow(unsigned threads) {
    std::lock_guard<std::mutex> lock(mutex_);
    while (workers_.size() + 1 < threads) workers_.emplace_back([this] { work_loop(); });
  }

  /// task(i) for i in [0, tasks), each exactly once, the calling thread
  /// taking part; returns when all have finished. The first exception a task
  /// throws is rethrown here after the others finished. Safe to call from
  /// many threads at once and from inside a task (the caller runs what no
  /// worker has claimed, so nesting cannot deadlock).
  template <class Task>
  void run(unsigned tasks, Task&& task) {
    if (tasks == 0) return;
    if (tasks == 1) {
      task(0u);
      return;
    }
    grow(tasks);
    job j;
    j.tasks = tasks;
    j.remaining = tasks;
    j.context = &task;
    j.invoke = [](void* context, unsigned i) { (*static_cast<std::remove_reference_t<Task>*>(context))(i); };
    std::unique_lock<std::mutex> lock(mutex_);
    j.next_job = jobs_;
    jobs_ = &j;
    work_.notify_all();
    while (j.next < j.tasks) execute(j, j.next++, lock);
    unlink(j);
    done_.wait(lock, [&] { return j.remaining == 0; });
    lock.unlock();
    if (j.error) std::rethrow_exception(j.error);
  }

 private:
  struct job {
    unsigned tasks = 0, next = 0, remaining = 0;
    void* context = nullptr;
    void (*invoke)(void*, unsigned) = nullptr;
    std::exception_ptr error;
    job* next_job = nullptr;
  };

  // Runs task i of j with the lock released; counts it done under the lock.
  void execute(job& j, unsigned i, std::unique_lock<std::mutex>& lock) {
    lock.unlock();
    std::exception_ptr error;
    try {
      j.invoke(j.context, i);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    if (error && !j.error) j.error = error;
    // The submitter may return as soon as it sees 0, so j is not touched after.
    if (--j.remaining == 0) done_.notify_all();
  }

  void unlink(job& j) {
    for (job** p = &jobs_; *p != nullptr; p = &(*p)->next_job)
      if (*p == &j) {
        *p = j.next_job;
        return;
      }
  }

  job* claimable() const {
    for (job* j = jobs_; j != nullptr; j = j->next_job)
      if (j->next < j->tasks) return j;
    return nullptr;
  }

  void work_loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      job* j = nullptr;
      work_.wait(lock, [&] { return stopping_ || (j = claimable()) != nullptr; });
      if (stopping_) return;
      execute(*j, j->next++, lock);
    }
  }

  mutable std::mutex mutex_;
  std::condition_variable work_;  // a job was posted, or the pool stops
  std::condition_variable done_;  // a job's last task finished
  std::vector<std::thread> workers_;
  job* jobs_ = nullptr;  // jobs with tasks possibly unclaimed, newest first
  bool stopping_ = false;
};

}  // namespace hyena
