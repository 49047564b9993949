#include "common/work_queue.h"

#include <pthread.h>

#include <csignal>
#include <utility>

namespace mdfs {

WorkQueue::WorkQueue(unsigned workers) : size_(workers == 0 ? 1 : workers) {}

WorkQueue::~WorkQueue() {
  stop();
}

void WorkQueue::start() {
  MutexLock lock(mu_);
  if (!stopping_) startWorkers();
}

bool WorkQueue::post(Job job) {
  {
    MutexLock lock(mu_);
    if (stopping_) return false;
    jobs_.push_back(std::move(job));
    startWorkers();
  }
  cv_.notify_one();
  return true;
}

void WorkQueue::startWorkers() {
  while (workers_.size() < size_)
    workers_.emplace_back([this] { work(); });
}

void WorkQueue::stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
    jobs_.clear();
  }
  cv_.notify_all();
  std::vector<std::thread> workers;
  {
    MutexLock lock(mu_);
    workers.swap(workers_);
  }
  for (auto& w : workers) {
    if (w.joinable()) w.join();
  }
}

void WorkQueue::work() {
  // Process signals (SIGTERM, SIGHUP) belong to the daemon's signal thread, whenever the
  // queue was created.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  UniqueLock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this]() REQUIRES(mu_) { return stopping_ || !jobs_.empty(); });
    if (stopping_) return;
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    try {
      job();
    } catch (...) {  // NOLINT(bugprone-empty-catch): jobs report their own failures; a
    }                // stray exception must not end the worker (and the process with it)
    lock.lock();
  }
}

void Latch::countDown() {
  {
    MutexLock lock(mu_);
    if (left_ > 0) --left_;
  }
  cv_.notify_all();
}

}  // namespace mdfs
