// Times whole processes, the way a shell user experiences them: spawn, run, exit, reaped.
// No shell sits between this program and the one timed (unless the command is a shell).
//
//   bench_run [--runs N] [--warmup N] [--stderr] -- PROGRAM [ARG...] [:: PROGRAM [ARG...]]...
//
// Several commands, separated by "::", are run in turn, the order reversed every other
// round (A B C, C B A, A B C, ...): drift in the machine's load hits each of them alike,
// and none always runs right after the same neighbour's exit. For each command
// one line: command=K runs=N median_us=… mean_us=… min_us=… p90_us=… max_us=…
// The programs' standard output goes to /dev/null (standard error too, unless --stderr).
// Exits 1 when any run fails (non-zero status or a signal), 2 on bad arguments.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "bench_util.h"

extern char** environ;

namespace {

using mdfs::bench::nowNs;

int usage(const char* argv0, const std::string& why) {
  std::cerr << argv0 << ": " << why << "\n"
            << "usage: " << argv0
            << " [--runs N] [--warmup N] [--stderr] -- PROGRAM [ARG...] [:: PROGRAM [ARG...]]...\n";
  return 2;
}

// Runs argv once; the wall time in ns, or -1 when it failed.
std::int64_t runOnce(char** argv, bool keep_stderr) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  if (!keep_stderr) {
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid = 0;
  std::int64_t start = nowNs();
  int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    std::cerr << "cannot start " << argv[0] << ": " << std::strerror(rc) << "\n";
    return -1;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  std::int64_t elapsed = nowNs() - start;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return elapsed;
  if (WIFEXITED(status)) {
    std::cerr << argv[0] << " exited with status " << WEXITSTATUS(status) << "\n";
  } else if (WIFSIGNALED(status)) {
    std::cerr << argv[0] << " was killed by signal " << WTERMSIG(status) << "\n";
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 10;
  int warmup = 1;
  bool keep_stderr = false;
  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "--stderr") {
      keep_stderr = true;
      continue;
    }
    if (i + 1 >= argc) return usage(argv[0], "missing value after " + arg);
    int value = std::atoi(argv[++i]);
    if (arg == "--runs" && value > 0) {
      runs = value;
    } else if (arg == "--warmup" && value >= 0) {
      warmup = value;
    } else {
      return usage(argv[0], "bad argument " + arg);
    }
  }
  // Split the rest at "::" into null-terminated argument vectors.
  std::vector<std::vector<char*>> commands(1);
  for (; i < argc; ++i) {
    if (std::strcmp(argv[i], "::") == 0) {
      commands.emplace_back();
      continue;
    }
    commands.back().push_back(argv[i]);
  }
  for (auto& c : commands) {
    if (c.empty()) return usage(argv[0], "an empty command");
    c.push_back(nullptr);
  }

  for (int w = 0; w < warmup; ++w) {
    for (auto& c : commands) {
      if (runOnce(c.data(), keep_stderr) < 0) return 1;
    }
  }
  std::vector<std::vector<std::int64_t>> samples(commands.size());
  const std::size_t n = commands.size();
  for (int r = 0; r < runs; ++r) {
    for (std::size_t j = 0; j < n; ++j) {
      const std::size_t k = r % 2 == 0 ? j : n - 1 - j;
      std::int64_t ns = runOnce(commands[k].data(), keep_stderr);
      if (ns < 0) return 1;
      samples[k].push_back(ns);
    }
  }
  using mdfs::bench::toUs;
  for (std::size_t k = 0; k < commands.size(); ++k) {
    auto& v = samples[k];
    std::sort(v.begin(), v.end());
    double sum = 0;
    for (auto s : v)
      sum += static_cast<double>(s);
    std::printf(
        "command=%zu runs=%d median_us=%.1f mean_us=%.1f min_us=%.1f p90_us=%.1f max_us=%.1f\n",
        k + 1, runs, toUs(mdfs::bench::median(v)), toUs(sum / static_cast<double>(runs)),
        toUs(static_cast<double>(v.front())),
        toUs(static_cast<double>(mdfs::bench::quantile(v, 0.9))),
        toUs(static_cast<double>(v.back())));
  }
  return 0;
}
