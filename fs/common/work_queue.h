// A fixed set of worker threads running queued jobs. Fetches that must not wait for each
// other (a listing's child endpoints, background refreshes) run here in parallel; the
// number of workers bounds how many requests are in flight at once. The workers start with
// start() or the first job, so a queue built before the daemon detaches (fork keeps only
// the forking thread) is still whole afterwards.
#pragma once

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "common/mutex.h"

namespace mdfs {

class WorkQueue {
 public:
  using Job = std::function<void()>;

  explicit WorkQueue(unsigned workers);
  ~WorkQueue();  // stop()
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Starts the workers now rather than with the first job (call it after any fork): the
  // first request then does not wait while dozens of threads are created.
  void start();
  // Queues `job`; false (and the job is dropped) once stopping.
  bool post(Job job);
  // Drops jobs not yet started, waits for the running ones, joins the workers.
  void stop();

 private:
  void startWorkers() REQUIRES(mu_);
  void work();

  const unsigned size_;
  Mutex mu_;
  CondVar cv_;
  std::deque<Job> jobs_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_ GUARDED_BY(mu_);  // started by the first post()
};

// Counts down jobs started together, so their starter can wait for all of them, or for its
// own deadline, whichever comes first.
class Latch {
 public:
  explicit Latch(std::size_t count) : left_(count) {}
  void countDown();
  // True when every job finished before `deadline`.
  template <class Deadline>
  bool waitUntil(Deadline deadline) {
    UniqueLock lock(mu_);
    return cv_.wait_until(lock, deadline, [this]() REQUIRES(mu_) { return left_ == 0; });
  }

 private:
  Mutex mu_;
  CondVar cv_;
  std::size_t left_ GUARDED_BY(mu_);
};

}  // namespace mdfs
