// Sends kernel cache invalidations and pollers' wake-ups from one dedicated thread
// (DESIGN §2): never from a request handler and never under a lock, because a notification
// can block until the kernel finishes a request that is itself waiting on the daemon. Items
// go out in the order they were posted, so a poller is woken after the invalidations posted
// with it (it rereads the new content).
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "common/log.h"
#include "common/mutex.h"
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
  // Queues `item` at `at`. One item per `key` waits: a later call with the same key
  // replaces it (a poller's next wake-up replaces its previous one).
  void schedule(std::uint64_t key, Invalidation item, SteadyTime at);
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
  // Moves scheduled items that are due into the queue; the next due time, if any.
  std::optional<SteadyTime> releaseDue() REQUIRES(mu_);

  Sender send_;
  const Logger& log_;
  mutable Mutex mu_;
  CondVar cv_;
  std::deque<Invalidation> queue_ GUARDED_BY(mu_);
  std::map<std::uint64_t, std::pair<SteadyTime, Invalidation>> scheduled_ GUARDED_BY(mu_);
  bool rescan_ GUARDED_BY(mu_) = false;  // scheduled_ changed while the thread slept
  std::function<std::vector<Invalidation>()> everything_ GUARDED_BY(mu_);  // pending postAll
  bool busy_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::uint64_t sent_ GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace mdfs::mount
