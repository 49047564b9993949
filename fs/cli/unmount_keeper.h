// The unmount keeper: the one piece of metadatafs that keeps the right to unmount.
//
// Why a process of its own. After mounting, the serving process gives up root and every
// capability, so it can no longer unmount; yet SIGTERM and SIGINT must still unmount and
// exit 0, and the mount must be gone when the daemon's exit is seen (systemd, scripts and
// tests rely on that). The alternatives fall short:
//   - libfuse's auto_unmount hands the mount to a fusermount3 that unmounts once every
//     holder of a socket has exited, i.e. after the daemon's exit, not before it; and it
//     also unmounts after a crash, which would change what a crash leaves (a dead mount
//     that ExecStartPre / -o recover clear, and that tells readers something is wrong).
//   - a privileged thread: privileges are per process as far as /proc, setuid and seccomp
//     (TSYNC) are concerned; a "dropped" process with one root thread is not dropped.
//   - exec'ing fusermount3 -u at exit: no_new_privs ignores its setuid bit, and the
//     serving process may not execve at all.
// So, just before dropping, the daemon forks a keeper. The keeper closes every file
// descriptor but its end of a socket pair (above all the FUSE device: a crashed daemon must
// leave a dead mount, not a hung one), keeps at most CAP_SYS_ADMIN (nothing else, not even
// its root uid's other powers: no_new_privs, its own seccomp filter of ~25 calls, umount2
// the only privileged one), ignores SIGTERM/SIGINT/SIGHUP (they are the daemon's to act on)
// and blocks in read(). When the daemon has stopped serving and closed the device, it asks
// "unmount"; the keeper lazily unmounts the mountpoint if the mount there is still the one
// the daemon made (same device number: never someone else's later mount), answers, and
// exits. If the daemon dies without asking (SIGKILL, a crash, a seccomp violation), the
// keeper reads end-of-file and exits without touching the mount, exactly as before.
//
// The keeper's process name is metadatafs-umnt, so `pgrep -x metadatafs` still finds only
// the daemon. A daemon started as an ordinary user (through fusermount3) gets a keeper too:
// it unmounts with fusermount3 -u -z, which it may exec because it keeps no_new_privs off.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/error.h"

namespace mdfs::cli {

class UnmountKeeper {
 public:
  UnmountKeeper() = default;
  ~UnmountKeeper();
  UnmountKeeper(UnmountKeeper&& other) noexcept;
  UnmountKeeper& operator=(UnmountKeeper&& other) noexcept;
  UnmountKeeper(const UnmountKeeper&) = delete;
  UnmountKeeper& operator=(const UnmountKeeper&) = delete;

  // Forks the keeper of the mount at `mountpoint` whose device is `device` ("0:52").
  // `privileged`: the process may unmount by itself (root or CAP_SYS_ADMIN); the keeper then
  // keeps only CAP_SYS_ADMIN and installs its filter.
  static Result<UnmountKeeper> start(const std::string& mountpoint, const std::string& device,
                                     bool privileged);

  // Asks the keeper to unmount and waits for its answer. Call once the FUSE device is
  // closed. Ok when the mount is gone (or was already unmounted by someone else).
  Status unmount();

  [[nodiscard]] bool running() const { return pid_ > 0; }
  [[nodiscard]] pid_t pid() const { return pid_; }

 private:
  UnmountKeeper(int fd, pid_t pid) : fd_(fd), pid_(pid) {}
  void finish();

  int fd_ = -1;
  pid_t pid_ = -1;
};

}  // namespace mdfs::cli
