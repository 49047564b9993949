// Sends kernel cache invalidations from one dedicated thread (DESIGN §2): never from a
// request handler and never under a lock, because a notification can block until the
// kernel finishes a request that is itself waiting on the daemon.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/log.h"
#include "mount/filesystem.h"

namespace mdfs::mount {

class Invalidator {
 public:
  // `send` delivers one notification and returns 0 or a negative errno.
  using Sender = std::function<int(const Invalidation&)>;

  Invalidator(Sender send, const Logger& log);
  ~Invalidator();
  Invalidator(const Invalidator&) = delete;
  Invalidator& operator=(const Invalidator&) = delete;

  void start();
  // Queues notifications; never blocks on the kernel.
  void post(std::vector<Invalidation> items);
  // Blocks until everything posted so far was sent (tests, shutdown).
  void drain();
  void stop();
  [[nodiscard]] std::uint64_t sent() const;

 private:
  void run();

  Sender send_;
  const Logger& log_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Invalidation> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  std::uint64_t sent_ = 0;
  std::thread thread_;
};

}  // namespace mdfs::mount
