// A fixed set of worker threads running queued jobs. Fetches that must not wait for each
// other (a listing's child endpoints, background refreshes) run here in parallel; the
// number of workers bounds how many requests are in flight at once. The workers start with
// the first job, so a queue built before the daemon detaches (fork keeps only the forking
// thread) is still whole afterwards.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mdfs {

class WorkQueue {
 public:
  using Job = std::function<void()>;

  explicit WorkQueue(unsigned workers);
  ~WorkQueue();  // stop()
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `job`; false (and the job is dropped) once stopping.
  bool post(Job job);
  // Drops jobs not yet started, waits for the running ones, joins the workers.
  void stop();

 private:
  void work();

  const unsigned size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;              // guarded by mu_
  bool stopping_ = false;             // guarded by mu_
  std::vector<std::thread> workers_;  // guarded by mu_; started by the first post()
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
    std::unique_lock lock(mu_);
    return cv_.wait_until(lock, deadline, [this] { return left_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::size_t left_;  // guarded by mu_
};

}  // namespace mdfs
