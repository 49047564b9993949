// Real mounts for integration tests: metadatafs runs as a child process against an
// emulator hosted in the test process. A Mount always unmounts: on destruction, on test
// failure, and (through PR_SET_PDEATHSIG) even when the test process dies.
#pragma once

#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "emulator/emulator.h"

namespace mdfs::itest {

std::string buildDir();
std::string sourceDir();

struct CommandResult {
  int status = -1;  // exit status, or -1 when killed by the timeout
  std::string out;  // standard output
  std::string err;  // standard error
};

// Runs `command` with /bin/sh, bounded by `timeout`.
CommandResult run(const std::string& command,
                  std::chrono::seconds timeout = std::chrono::seconds(120));

// Runs `script` with sh in a private mount namespace (unshare -m), so mounts made there
// (a tmpfs over /usr/local/bin, a private /dev) never touch the machine. Before `script`,
// the copies of other tests' metadatafs mounts are detached (they would keep those
// daemons alive), the shell sits in / and `set -e` holds, and these functions exist:
//   use_build_binary        put build/metadatafs on mount(8)'s fixed helper PATH
//   daemons_under DIR       pids of metadatafs processes whose command line names DIR
//   unmount_and_wait DIR... umount, then wait until those daemons are gone (or exit 1)
CommandResult runInPrivateMountNamespace(const std::string& script, std::chrono::seconds timeout);

// Shell-quotes one argument.
std::string quote(const std::string& arg);

class Mount {
 public:
  // Mounts at a fresh directory with endpoint=<emulator url> and `options` (-o items).
  Mount(const emu::Emulator& emulator, const std::vector<std::string>& options = {});
  ~Mount();
  Mount(const Mount&) = delete;
  Mount& operator=(const Mount&) = delete;

  [[nodiscard]] const std::string& path() const { return dir_; }
  [[nodiscard]] std::string at(const std::string& rel) const { return dir_ + "/" + rel; }
  [[nodiscard]] bool mounted() const { return mounted_; }
  // The daemon's standard error so far.
  [[nodiscard]] std::string log() const;
  // The daemon said at start that its libfuse (before 3.14) cannot pass parallel directory
  // operations to the kernel, which then runs the calls in one directory one at a time.
  [[nodiscard]] bool callsInADirectoryRunOneAtATime() const {
    return log().find("lookups in one directory are answered one at a time") != std::string::npos;
  }
  // The same start-up line: without session I/O hooks a stop cannot wait for the calls in
  // progress.
  [[nodiscard]] bool stopDoesNotWaitForCallsInProgress() const {
    return log().find("a stop does not wait for calls in progress") != std::string::npos;
  }
  // Sends `signal`, then waits; returns the exit status (-1 if it had to be killed).
  int stop(int signal = SIGTERM);
  // SIGKILL, as a crash would: the mountpoint is left dead until the destructor.
  void crash();
  // The daemon's process id while it runs (-1 once it has been reaped).
  [[nodiscard]] pid_t pid() const { return pid_; }
  // Waits up to `limit` for the daemon to exit on its own (after an unmount): its exit
  // status (128 + signal when killed), or -1 while it is still running.
  int waitExit(std::chrono::milliseconds limit);

 private:
  bool waitMounted();
  // /proc/PID/status says Seccomp: 2 (a filter is installed).
  static bool confined(pid_t pid);

  std::string dir_;
  std::string log_path_;
  pid_t pid_ = -1;
  bool mounted_ = false;
  int status_ = 0;
};

// Lets `count` threads start together (std::latch is missing from libstdc++ 10).
class StartingGate {
 public:
  explicit StartingGate(std::ptrdiff_t count) : left_(count) {}
  void arriveAndWait() {
    std::unique_lock lock(mu_);
    if (--left_ <= 0) {
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [this] { return left_ <= 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::ptrdiff_t left_;
};

// True when `path` is listed in /proc/mounts as a metadatafs mount.
bool isMounted(const std::string& path);

// Polls `condition` every 20 ms until it holds or `limit` passes; its last answer.
bool waitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds limit = std::chrono::seconds(10));

// stat(2) that fails the test when the call fails.
struct stat statOf(const std::string& path);
std::int64_t mtimeNs(const struct stat& st);

// Pids of metadatafs processes whose command line names `dir`.
std::vector<pid_t> daemonPids(const std::string& dir);

// Reads a whole file; errno of the first failure in `error` (0 when fine).
std::string readFile(const std::string& path, int* error = nullptr);

}  // namespace mdfs::itest
