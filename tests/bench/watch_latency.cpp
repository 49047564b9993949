// Change-to-wake-up latency (issue 15): the time from a change at the service to the
// moment a waiter learns of it, for poll(2) on a file of the mount and for
// `metadatafs watch --once`, over N changes with ttl=1. The emulator runs in this process;
// metadatafs is mounted at a temporary directory and always unmounted.
//
//   bench_watch --metadatafs PATH [--changes N] [--ttl S]
//
// Each change comes at a random point of the refresh cycle (a random pause first), so the
// figures cover the whole range from "just before a refresh" to "just after one". One line
// per waiter: watch_latency waiter=poll changes=N ttl_s=S p50_ms=… p99_ms=… min_ms=… max_ms=…
// Exits 1 when something fails (a mount, a wake-up that never comes), 2 on bad arguments.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "emulator/emulator.h"

namespace {

using namespace std::chrono_literals;
using mdfs::bench::nowNs;

bool mounted(const std::string& dir) {
  std::ifstream in("/proc/mounts");
  std::string dev, mp, type, rest;
  while (in >> dev >> mp >> type && std::getline(in, rest)) {
    if (mp == dir && type == "fuse.metadatafs") return true;
  }
  return false;
}

// metadatafs in the foreground at a fresh directory; stopped and unmounted when destroyed.
class Mounted {
 public:
  Mounted(const std::string& binary, const std::string& url, int ttl) {
    char dir[] = "/tmp/mdfs-bench-watch-XXXXXX";
    if (mkdtemp(dir) == nullptr) return;
    dir_ = dir;
    std::string opts = "endpoint=" + url + ",ttl=" + std::to_string(ttl);
    pid_ = fork();
    if (pid_ == 0) {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, STDOUT_FILENO);
      dup2(null, STDERR_FILENO);
      execl(binary.c_str(), binary.c_str(), dir_.c_str(), "-f", "-o", opts.c_str(), nullptr);
      _exit(127);
    }
    for (int i = 0; i < 1000 && !mounted(dir_); ++i)
      std::this_thread::sleep_for(10ms);
  }
  ~Mounted() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    if (!dir_.empty() && mounted(dir_)) {
      std::string cmd = "fusermount3 -uz '" + dir_ + "'";
      (void)std::system(cmd.c_str());  // NOLINT(concurrency-mt-unsafe)
    }
    if (!dir_.empty()) rmdir(dir_.c_str());
  }
  Mounted(const Mounted&) = delete;
  Mounted& operator=(const Mounted&) = delete;
  [[nodiscard]] bool ok() const { return pid_ > 0 && mounted(dir_); }
  [[nodiscard]] std::string at(const std::string& rel) const { return dir_ + "/" + rel; }

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

void drain(int fd) {
  char buf[4096];
  lseek(fd, 0, SEEK_SET);
  while (read(fd, buf, sizeof buf) > 0) {
  }
}

class Changer {
 public:
  explicit Changer(mdfs::emu::Emulator& emu) : emu_(emu), random_(std::random_device{}()) {}
  // A random pause within one TTL, then a change; the time of the change.
  std::int64_t change(int ttl_s) {
    std::uniform_int_distribution<int> pause(0, ttl_s * 1000);
    std::this_thread::sleep_for(std::chrono::milliseconds(pause(random_)));
    std::string value = "\"bench-" + std::to_string(++n_) + "\"";
    (void)emu_.setData("/instance/name", value);
    return nowNs();
  }

 private:
  mdfs::emu::Emulator& emu_;
  std::mt19937 random_;
  int n_ = 0;
};

// poll(2) on an open file that was read; -1 when no wake-up came.
std::int64_t pollOnce(int fd, Changer& changer, int ttl_s) {
  // The change the watch made while this file was not waiting is reported to its next
  // poll (the daemon cannot tell that it was read meanwhile): take it first.
  for (;;) {
    drain(fd);
    pollfd p{fd, POLLPRI, 0};
    if (poll(&p, 1, 100) != 1) break;
  }
  auto woken = std::async(std::launch::async, [fd] {
    pollfd p{fd, POLLPRI, 0};
    int n = poll(&p, 1, 30000);
    return n == 1 && (p.revents & POLLPRI) != 0 ? nowNs() : std::int64_t{-1};
  });
  std::this_thread::sleep_for(200ms);
  std::int64_t changed = changer.change(ttl_s);
  std::int64_t at = woken.get();
  return at < 0 ? -1 : at - changed;
}

// `metadatafs watch --once FILE`, started before the change; the time its line arrives.
std::int64_t watchOnce(const std::string& binary, const std::string& file, Changer& changer,
                       int ttl_s) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    execl(binary.c_str(), binary.c_str(), "watch", "--once", "--timeout", "30", file.c_str(),
          nullptr);
    _exit(127);
  }
  close(out[1]);
  std::this_thread::sleep_for(300ms);
  std::int64_t changed = changer.change(ttl_s);
  char c = 0;
  std::int64_t at = -1;
  while (read(out[0], &c, 1) == 1) {
    if (c == '\n') {
      at = nowNs();
      break;
    }
  }
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return at < 0 ? -1 : at - changed;
}

void report(const char* waiter, std::vector<std::int64_t> ns, int ttl_s) {
  std::sort(ns.begin(), ns.end());
  auto ms = [](std::int64_t v) { return static_cast<double>(v) / 1e6; };
  std::printf(
      "watch_latency waiter=%s changes=%zu ttl_s=%d p50_ms=%.0f p99_ms=%.0f min_ms=%.0f "
      "max_ms=%.0f\n",
      waiter, ns.size(), ttl_s, ms(mdfs::bench::quantile(ns, 0.50)),
      ms(mdfs::bench::quantile(ns, 0.99)), ms(ns.front()), ms(ns.back()));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string binary;
  int changes = 20;
  int ttl_s = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--metadatafs")
      binary = argv[i + 1];
    else if (a == "--changes")
      changes = std::atoi(argv[i + 1]);
    else if (a == "--ttl")
      ttl_s = std::atoi(argv[i + 1]);
    else
      return std::cerr << "bench_watch: unknown argument " << a << "\n", 2;
  }
  if (binary.empty() || changes < 1 || ttl_s < 1) {
    std::cerr << "usage: bench_watch --metadatafs PATH [--changes N] [--ttl S]\n";
    return 2;
  }
  mdfs::emu::Emulator emu{mdfs::emu::Options{}};
  if (!emu.start().ok()) return std::cerr << "bench_watch: the emulator did not start\n", 1;
  Mounted m(binary, emu.url(), ttl_s);
  if (!m.ok()) return std::cerr << "bench_watch: metadatafs did not mount\n", 1;
  Changer changer(emu);
  const std::string file = m.at("instance/name");
  int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::cerr << "bench_watch: cannot open " << file << "\n", 1;
  std::vector<std::int64_t> polled;
  std::vector<std::int64_t> watched;
  for (int i = 0; i < changes; ++i) {
    std::int64_t p = pollOnce(fd, changer, ttl_s);
    std::int64_t w = watchOnce(binary, file, changer, ttl_s);
    if (p < 0 || w < 0) {
      std::cerr << "bench_watch: change " << i + 1 << " woke no " << (p < 0 ? "poller" : "watch")
                << "\n";
      return 1;
    }
    polled.push_back(p);
    watched.push_back(w);
  }
  close(fd);
  report("poll", polled, ttl_s);
  report("metadatafs-watch", watched, ttl_s);
  return 0;
}
