// The libfuse low-level adapter: translates kernel requests into Filesystem calls and
// answers every request, with an errno on failure. No exception crosses into libfuse.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/log.h"
#include "mount/filesystem.h"

struct fuse_session;

namespace mdfs::mount {

class FuseSession {
 public:
  FuseSession(Filesystem& fs, const Logger& log);
  ~FuseSession();
  FuseSession(const FuseSession&) = delete;
  FuseSession& operator=(const FuseSession&) = delete;

  // Creates the session from libfuse arguments (argv[0] first) and mounts it.
  Status mount(const std::vector<std::string>& args, const std::string& mountpoint);
  // Serves requests on up to `max_threads` threads until exit() or an unmount, and
  // returns once every request taken is answered. `end_work` is called when the loop has
  // ended: it makes work still waiting on the service end now, so that its answers are
  // sent while the connection is open (never to a closed, or reused, fd). Unmounting is
  // the caller's: unmount(), or release() where another process unmounts.
  Status loop(unsigned max_threads, const std::function<void()>& end_work = {});
  // Asks loop() to return once the calls in progress are answered (for at most the
  // operation timeout and half a second); a second call makes it return at once. Safe
  // from any thread (not from a signal handler).
  void exit();
  void unmount();
  // Closes the FUSE device and forgets the mount without unmounting: for a process that may
  // not unmount and has another do it (cli/unmount_keeper.h), before or after this.
  void release();
  // Sends one kernel notification (an invalidation, or a poller's wake-up); 0 or a
  // negative errno.
  int notify(const Invalidation& item);
  // True once the kernel answered INIT; notifications are only sent after that.
  [[nodiscard]] bool ready() const;

  struct State;

 private:
  void stopWhenDrained();

  std::unique_ptr<State> state_;
};

}  // namespace mdfs::mount
