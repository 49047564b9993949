#include "cli/unmount_keeper.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <utility>

#include "cli/mountpoint.h"
#include "cli/privileges.h"
#include "cli/syscall_filter.h"

namespace mdfs::cli {
namespace {

constexpr char kUnmount = 'U';
constexpr char kReady = 'R';  // the keeper is named, confined and waiting
constexpr char kKeeperName[] = "metadatafs-umnt";

std::string errnoText(int err) {
  return std::strerror(err);  // NOLINT(concurrency-mt-unsafe): one thread
}

// Closes every descriptor from `from` on except `keep`.
void closeAllFrom(int from, int keep) {
#ifdef SYS_close_range
  auto range = [](unsigned first, unsigned last) {
    return first > last || syscall(SYS_close_range, first, last, 0) == 0;
  };
  const auto k = static_cast<unsigned>(keep);
  if (range(static_cast<unsigned>(from), k - 1) && range(k + 1, ~0U)) return;
#endif
  rlimit lim{};
  int last = getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY
                 ? static_cast<int>(lim.rlim_cur)
                 : 65536;
  for (int fd = from; fd < last; ++fd) {
    if (fd != keep) close(fd);
  }
}

ssize_t readRetrying(int fd, void* buf, std::size_t n) {
  ssize_t got = 0;
  while ((got = read(fd, buf, n)) < 0 && errno == EINTR) {
  }
  return got;
}

bool writeAll(int fd, const void* buf, std::size_t n) {
  ssize_t put = 0;
  while ((put = write(fd, buf, n)) < 0 && errno == EINTR) {
  }
  return put == static_cast<ssize_t>(n);
}

// 0: unmounted; ENOENT: no longer ours to unmount; otherwise the errno of the failure.
int unmountIfOurs(const std::string& mountpoint, const std::string& device) {
  auto top = currentMountAt(mountpoint);
  if (!top || top->fstype != "fuse.metadatafs" || top->device != device) return ENOENT;
  Status s = lazyUnmount(mountpoint);
  return s ? 0 : (s.error().errnum != 0 ? s.error().errnum : EIO);
}

void becomeKeeper(bool privileged) {
  prctl(PR_SET_NAME, kKeeperName, 0, 0, 0);
  // The daemon acts on these; the keeper must outlive its "stop" to unmount.
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGUSR1, SIGUSR2})
    signal(sig, SIG_IGN);
  if (privileged) {
    // Failing any of this, the keeper does not keep root: it exits, and the daemon's
    // request finds no keeper (the mount is then left for ExecStopPost / recover).
    dropBoundingSet(true);
    if (!limitCapabilities(true) || !forbidNewPrivileges() ||
        !installSyscallFilter(FilterFor::keeper)) {
      _exit(3);
    }
  }
}

[[noreturn]] void keeperMain(int fd, const std::string& mountpoint, const std::string& device,
                             bool privileged) {
  closeAllFrom(STDERR_FILENO + 1, fd);
  becomeKeeper(privileged);
  if (!writeAll(fd, &kReady, 1)) _exit(0);
  char request = 0;
  if (readRetrying(fd, &request, 1) != 1 || request != kUnmount) _exit(0);  // daemon gone
  int result = unmountIfOurs(mountpoint, device);
  writeAll(fd, &result, sizeof result);
  _exit(0);
}

}  // namespace

UnmountKeeper::~UnmountKeeper() {
  finish();
}

UnmountKeeper::UnmountKeeper(UnmountKeeper&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), pid_(std::exchange(other.pid_, -1)) {}

UnmountKeeper& UnmountKeeper::operator=(UnmountKeeper&& other) noexcept {
  if (this != &other) {
    finish();
    fd_ = std::exchange(other.fd_, -1);
    pid_ = std::exchange(other.pid_, -1);
  }
  return *this;
}

Result<UnmountKeeper> UnmountKeeper::start(const std::string& mountpoint, const std::string& device,
                                           bool privileged) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    int err = errno;
    return makeError(err, "cannot create the unmount keeper's socket: " + errnoText(err));
  }
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(fds[0]);
    close(fds[1]);
    return makeError(err, "cannot start the unmount keeper: " + errnoText(err));
  }
  if (pid == 0) {
    close(fds[0]);
    keeperMain(fds[1], mountpoint, device, privileged);
  }
  close(fds[1]);
  UnmountKeeper keeper(fds[0], pid);
  // Serving starts only once the keeper is in place: a keeper that could not confine
  // itself (it exits rather than keep root) is an error now, not a failed unmount later.
  char ready = 0;
  if (readRetrying(keeper.fd_, &ready, 1) != 1 || ready != kReady) {
    return makeError(ECHILD, "the unmount keeper did not start (could not confine itself)");
  }
  return keeper;
}

Status UnmountKeeper::unmount() {
  if (fd_ < 0) return makeError(ESRCH, "no unmount keeper");
  int result = EPIPE;
  const bool asked = writeAll(fd_, &kUnmount, 1);
  const bool answered =
      asked && readRetrying(fd_, &result, sizeof result) == static_cast<ssize_t>(sizeof result);
  finish();
  if (!answered) {
    return makeError(EPIPE,
                     "the unmount keeper is gone (killed?): the mount is left for umount -l");
  }
  if (result != 0 && result != ENOENT) {
    return makeError(result, "the unmount keeper could not unmount: " + errnoText(result));
  }
  return Ok{};
}

void UnmountKeeper::finish() {
  if (fd_ >= 0) {
    close(fd_);  // a keeper still waiting reads end-of-file and exits without unmounting
    fd_ = -1;
  }
  if (pid_ > 0) {
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
}

}  // namespace mdfs::cli
