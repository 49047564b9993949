#include "mount/invalidator.h"

#include <cerrno>
#include <system_error>
#include <utility>

namespace mdfs::mount {

Invalidator::Invalidator(Sender send, const Logger& log) : send_(std::move(send)), log_(log) {}

Invalidator::~Invalidator() {
  stop();
}

void Invalidator::start() {
  thread_ = std::thread([this] { run(); });
}

void Invalidator::post(std::vector<Invalidation> items) {
  if (items.empty()) return;
  {
    MutexLock lock(mu_);
    for (auto& item : items)
      queue_.push_back(std::move(item));
  }
  cv_.notify_all();
}

void Invalidator::schedule(std::uint64_t key, Invalidation item, SteadyTime at) {
  {
    MutexLock lock(mu_);
    scheduled_[key] = {at, std::move(item)};
    rescan_ = true;
  }
  cv_.notify_all();
}

std::optional<SteadyTime> Invalidator::releaseDue() {
  const SteadyTime now = std::chrono::steady_clock::now();
  std::optional<SteadyTime> next;
  for (auto it = scheduled_.begin(); it != scheduled_.end();) {
    if (it->second.first <= now) {
      queue_.push_back(std::move(it->second.second));
      it = scheduled_.erase(it);
      continue;
    }
    if (!next || it->second.first < *next) next = it->second.first;
    ++it;
  }
  return next;
}

void Invalidator::postAll(std::function<std::vector<Invalidation>()> everything) {
  {
    MutexLock lock(mu_);
    everything_ = std::move(everything);
  }
  cv_.notify_all();
}

void Invalidator::drain() {
  UniqueLock lock(mu_);
  cv_.wait(lock, [this]() REQUIRES(mu_) {
    return (queue_.empty() && !everything_ && !busy_) || stopping_;
  });
}

void Invalidator::stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t Invalidator::sent() const {
  MutexLock lock(mu_);
  return sent_;
}

void Invalidator::run() {
  UniqueLock lock(mu_);
  for (;;) {
    auto ready = [this]() REQUIRES(mu_) {
      return stopping_ || !queue_.empty() || everything_ || rescan_;
    };
    rescan_ = false;
    std::optional<SteadyTime> next = releaseDue();
    if (next) {
      cv_.wait_until(lock, *next, ready);
    } else {
      cv_.wait(lock, ready);
    }
    if (stopping_) return;
    if (queue_.empty() && !everything_) continue;
    if (everything_ && queue_.empty()) {
      auto make = std::exchange(everything_, nullptr);
      busy_ = true;
      lock.unlock();
      auto items = make();
      lock.lock();
      busy_ = false;
      for (auto& item : items)
        queue_.push_back(std::move(item));
      continue;
    }
    Invalidation item = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    int rc = send_(item);
    // ENOENT: the kernel holds nothing for it, which is the point.
    if (rc < 0 && rc != -ENOENT) {
      log_.debug("kernel invalidation failed: " +
                 std::error_code(-rc, std::generic_category()).message());
    }
    lock.lock();
    busy_ = false;
    ++sent_;
    cv_.notify_all();
  }
}

}  // namespace mdfs::mount
