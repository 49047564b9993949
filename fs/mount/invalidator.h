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
  // Queues what `everything` returns, computed when the thread gets to it; requests made
  // meanwhile collapse into one, so a burst of SIGHUPs costs one pass over the inodes the
  // kernel may hold.
  void postAll(std::function<std::vector<Invalidation>()> everything);
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
  std::deque<Invalidation> queue_;                         // guarded by mu_
  std::function<std::vector<Invalidation>()> everything_;  // guarded by mu_; pending postAll
  bool busy_ = false;                                      // guarded by mu_
  bool stopping_ = false;                                  // guarded by mu_
  std::uint64_t sent_ = 0;                                 // guarded by mu_
  std::thread thread_;
};

}  // namespace mdfs::mount
