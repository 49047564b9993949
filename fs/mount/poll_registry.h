// What poll(2) on a file of the mount is answered with (issue 15): sysfs semantics, so a
// poller is told POLLPRI | POLLERR once after the content it read has changed.
//
// The kernel never tells the daemon about reads served from its page cache, nor about opens
// and closes (opens are skipped, DESIGN §2). What it does tell: every FUSE_POLL names the
// inode and the kernel's handle of the open file (`kh`), and every cold READ reaches the
// daemon. So an open file's state starts at its first poll, with the version of the content
// the daemon last served for the inode (what a reader holds, as the page cache is dropped
// whenever the content changes), and each poll answer compares against it:
//   - a changed version is reported once to each open file, which then holds the new one
//     (each poller sees each change once; a level-triggered epoll sees it once too);
//   - a poll that names no open file (a poll(2) with a zero timeout asks for no
//     notification, and libfuse then hides `kh`) is answered for the inode: changed when
//     the content differs from what the daemon last served.
// A version is the content's mtime (it moves exactly when the bytes change), or kGone.
//
// Liveness: closes are never seen, so an open file counts as waiting from a poll that asked
// for a notification until a wake-up it does not answer with a new poll. The caller wakes
// the waiting pollers of an endpoint after every fetch of it (a change, or a check that
// found none: one FUSE_POLL round trip inside the machine, never a user-visible wake-up);
// one left silent since the last wake-up stopped waiting (its process exited, or it is busy
// and will poll again). Pollers are also dropped with their inode (FORGET: no open file
// remains) and beyond a cap, the least recently polled first.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/mutex.h"

namespace mdfs::mount {

// A kernel poll handle, opaque here: notifying it wakes the open file that polled.
using PollHandle = std::shared_ptr<void>;

class PollRegistry {
 public:
  static constexpr std::int64_t kGone = INT64_MIN;  // the file no longer exists
  static constexpr std::size_t kDefaultCap = 65536;

  // An inode's first waiting poller arrived (`waiting`), or its last one stopped: the
  // caller starts or stops keeping the inode's sources fresh. Transitions may be applied in
  // any order (they are counted: a start and a stop cancel out).
  struct Transition {
    std::uint64_t ino = 0;
    bool waiting = false;
    std::vector<int> sources;  // the endpoints the inode's content comes from
  };
  struct Answer {
    bool changed = false;
    std::vector<Transition> transitions;
  };
  struct Wakeups {
    std::vector<PollHandle> handles;
    std::vector<Transition> transitions;
  };

  explicit PollRegistry(std::size_t cap = kDefaultCap) : cap_(cap) {}

  // A READ of `ino` returned content at `version`.
  void served(std::uint64_t ino, std::int64_t version) EXCLUDES(mu_);
  // A FUSE_POLL on `ino`, from open file `kh` when known, with the content now at `current`
  // (nullopt when that is not known now: the service fails). `handle` is null when the
  // kernel asked for no notification. `sources`: the endpoints the content comes from.
  Answer poll(std::uint64_t ino, std::optional<std::uint64_t> kh,
              std::optional<std::int64_t> current, PollHandle handle, std::vector<int> sources)
      EXCLUDES(mu_);
  // Wakes the waiting pollers of the inodes whose content comes from `source`, and stops
  // counting those that stayed silent since their last wake-up.
  Wakeups wake(int source) EXCLUDES(mu_);
  // The handles of the pollers of `ino` that wait (for a wake-up at a time of their own).
  std::vector<PollHandle> handlesOf(std::uint64_t ino) const EXCLUDES(mu_);
  // The kernel forgot `ino`: no open file of it remains.
  std::vector<Transition> forget(std::uint64_t ino) EXCLUDES(mu_);
  // Every inode with a waiting poller.
  std::vector<std::uint64_t> waitingInodes() const EXCLUDES(mu_);
  [[nodiscard]] std::size_t pollers() const EXCLUDES(mu_);

 private:
  struct Poller {
    std::uint64_t ino = 0;
    std::optional<std::int64_t> seen;  // the version this open file holds
    PollHandle handle;                 // while waiting
    bool polled = false;               // polled since the last wake-up
    std::uint64_t last_poll = 0;       // sequence number, for eviction
  };
  // Stops `p` waiting; records the transition when it was its inode's last.
  void stopWaiting(Poller& p, std::vector<Transition>& out) REQUIRES(mu_);
  void evictOne(std::vector<Transition>& out) REQUIRES(mu_);

  const std::size_t cap_;
  mutable Mutex mu_;
  std::unordered_map<std::uint64_t, Poller> pollers_ GUARDED_BY(mu_);   // by kh
  std::multimap<std::uint64_t, std::uint64_t> by_ino_ GUARDED_BY(mu_);  // ino -> kh
  struct Waiting {
    int pollers = 0;
    std::vector<int> sources;
  };
  std::unordered_map<std::uint64_t, Waiting> waiting_ GUARDED_BY(mu_);  // by ino
  std::unordered_map<std::uint64_t, std::int64_t> served_ GUARDED_BY(mu_);
  std::uint64_t sequence_ GUARDED_BY(mu_) = 0;
};

}  // namespace mdfs::mount
