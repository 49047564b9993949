#include "cli/watch_command.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

namespace mdfs::cli {
namespace {

constexpr long kFuseSuperMagic = 0x65735546;
constexpr double kMaxTimeoutSeconds = 365.0 * 24 * 3600;
constexpr int kChanged = 0;
constexpr int kTimedOut = 1;
constexpr int kFailed = 2;

const char* const kUsage =
    "usage: metadatafs watch [--once] [--timeout S] PATH...\n"
    "Prints each PATH (a file of a metadatafs mount) on a line of its own when its content\n"
    "changes. --once: exit 0 at the first change. --timeout S: give up after S seconds\n"
    "(exit 1 when no change was seen). Exit 2 on errors, and when the daemon ends.\n";

struct Args {
  bool once = false;
  std::optional<double> timeout_s;
  std::vector<std::string> paths;
};

struct Watched {
  std::string path;
  int fd = -1;
};

int fail(const std::string& message) {
  std::fprintf(stderr, "metadatafs watch: %s\n", message.c_str());
  return kFailed;
}

std::string errnoText(int e) {
  return std::error_code(e, std::generic_category()).message();
}

std::optional<double> parseSeconds(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || errno != 0 || end != text.c_str() + text.size() || !std::isfinite(v) ||
      v < 0 || v > kMaxTimeoutSeconds) {
    return std::nullopt;
  }
  return v;
}

// The command line, or the exit status to leave with.
std::optional<int> parseArgs(int argc, char** argv, Args& args) {
  bool options = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (options && (a == "-h" || a == "--help")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (options && a == "--") {
      options = false;
    } else if (options && a == "--once") {
      args.once = true;
    } else if (options && (a == "--timeout" || a.rfind("--timeout=", 0) == 0)) {
      std::string value = a == "--timeout" ? (i + 1 < argc ? argv[++i] : "") : a.substr(10);
      args.timeout_s = parseSeconds(value);
      if (!args.timeout_s) return fail("bad value for --timeout: '" + value + "' (seconds)");
    } else if (options && a.size() > 1 && a[0] == '-') {
      return fail("unknown option '" + a + "'\n" + kUsage);
    } else {
      args.paths.push_back(a);
    }
  }
  if (args.paths.empty()) return fail(std::string("no PATH given\n") + kUsage);
  return std::nullopt;
}

// Whether the filesystem holding `st` is a metadatafs mount, by its device number in
// /proc/self/mountinfo ("ID PARENT MAJOR:MINOR ROOT MOUNTPOINT ... - FSTYPE SOURCE ...").
bool onMetadatafsMount(const struct stat& st) {
  std::ifstream in("/proc/self/mountinfo");
  const std::string device =
      std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id;
    std::string parent;
    std::string dev;
    std::string word;
    fields >> id >> parent >> dev;
    if (dev != device) continue;
    while (fields >> word && word != "-") {
    }
    std::string fstype;
    fields >> fstype;
    if (fstype == "fuse.metadatafs") return true;
  }
  return false;
}

// Reads to the end, as a reader does before it polls (and after each change).
void drain(int fd) {
  char buf[65536];
  if (lseek(fd, 0, SEEK_SET) < 0) return;
  while (read(fd, buf, sizeof buf) > 0) {
  }
}

std::optional<int> openWatched(const std::string& path, Watched& w) {
  w.path = path;
  w.fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (w.fd < 0) return fail(path + ": " + errnoText(errno));
  struct stat st {};
  struct statfs fs {};
  if (fstat(w.fd, &st) != 0 || fstatfs(w.fd, &fs) != 0) return fail(path + ": " + errnoText(errno));
  if (!S_ISREG(st.st_mode)) return fail(path + ": not a regular file");
  if (fs.f_type != kFuseSuperMagic || !onMetadatafsMount(st)) {
    return fail(path + ": not in a metadatafs mount");
  }
  drain(w.fd);
  return std::nullopt;
}

// POLLERR without POLLPRI: the daemon's end (its connection is gone), or worse.
int brokenWatch(const Watched& w) {
  struct statfs fs {};
  if (fstatfs(w.fd, &fs) != 0) {
    return fail("the metadatafs daemon serving " + w.path + " ended (" + errnoText(errno) + ")");
  }
  return fail(w.path + ": poll failed");
}

int waitForChanges(const Args& args, std::vector<Watched>& watched) {
  std::vector<pollfd> fds;
  fds.reserve(watched.size());
  for (const auto& w : watched)
    fds.push_back({w.fd, POLLPRI, 0});
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> end;
  if (args.timeout_s) {
    end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(*args.timeout_s));
  }
  bool seen = false;
  for (;;) {
    int wait_ms = -1;
    if (end) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(*end - Clock::now()).count();
      if (left <= 0) return seen ? kChanged : kTimedOut;
      wait_ms = static_cast<int>(std::min<long long>(left, 1 << 30));
    }
    int n = poll(fds.data(), fds.size(), wait_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("poll: " + errnoText(errno));
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if ((fds[i].revents & POLLPRI) != 0) {
        std::printf("%s\n", watched[i].path.c_str());
        std::fflush(stdout);
        if (args.once) return kChanged;
        seen = true;
        drain(fds[i].fd);
      } else if ((fds[i].revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
        return brokenWatch(watched[i]);
      }
    }
  }
}

}  // namespace

int watchCommand(int argc, char** argv) {
  Args args;
  if (auto status = parseArgs(argc, argv, args)) return *status;
  std::vector<Watched> watched(args.paths.size());
  int status = kFailed;
  bool opened = true;
  for (std::size_t i = 0; i < args.paths.size() && opened; ++i) {
    if (auto failed = openWatched(args.paths[i], watched[i])) {
      status = *failed;
      opened = false;
    }
  }
  if (opened) status = waitForChanges(args, watched);
  for (const auto& w : watched) {
    if (w.fd >= 0) close(w.fd);
  }
  return status;
}

}  // namespace mdfs::cli
