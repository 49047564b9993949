// In-process probes for the figures a whole-process timer cannot give:
//
//   bench_probe readers --threads N FILE...
//       N threads, released together, each reads FILE[i % count] once (open+read+close).
//       Prints threads= errors= p50_us= p99_us= min_us= max_us= wall_us=
//   bench_probe loop --duration-ms D --interval-us I [--slow-ms S] FILE...
//       One reader on a fixed schedule (a read every I µs, files in turn) for D ms.
//       Prints reads= errors=, the read itself (open+read+close): read_p50_us=
//       read_p99_us= read_max_us=, and the latency from each read's scheduled time, so
//       that a read stuck behind a slow one counts its wait too (no coordinated
//       omission): p50_us= p99_us= p999_us= max_us= slow= (over S ms); stalls= counts
//       reads that themselves took over S ms, each also reported on standard error.
//   bench_probe listing DIR
//       opendir + readdir to the end. Prints first_us= (until the first entry)
//       total_us= entries=
//
// Exits 1 when any read fails, 2 on bad arguments.
#include <dirent.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"

namespace {

using mdfs::bench::nowNs;
using mdfs::bench::quantile;
using mdfs::bench::readWhole;

constexpr std::size_t kBufSize = 64 * 1024;

double us(std::int64_t ns) {
  return static_cast<double>(ns) / 1000.0;
}

int usage(const std::string& why) {
  std::cerr << "bench_probe: " << why << "\n"
            << "usage: bench_probe readers --threads N FILE...\n"
            << "       bench_probe loop --duration-ms D --interval-us I [--slow-ms S] FILE...\n"
            << "       bench_probe listing DIR\n";
  return 2;
}

// Parses "--name value" pairs until the first argument that is not an option.
struct Options {
  long threads = 64;
  long duration_ms = 1000;
  long interval_us = 1000;
  long slow_ms = 250;
  std::vector<std::string> files;
};

bool parse(int argc, char** argv, int first, Options& o, std::string& error) {
  int i = first;
  for (; i < argc && std::strncmp(argv[i], "--", 2) == 0; i += 2) {
    std::string name = argv[i];
    if (i + 1 >= argc) {
      error = "missing value after " + name;
      return false;
    }
    long value = std::atol(argv[i + 1]);
    if (value <= 0) {
      error = "bad value for " + name;
      return false;
    }
    if (name == "--threads") {
      o.threads = value;
    } else if (name == "--duration-ms") {
      o.duration_ms = value;
    } else if (name == "--interval-us") {
      o.interval_us = value;
    } else if (name == "--slow-ms") {
      o.slow_ms = value;
    } else {
      error = "unknown option " + name;
      return false;
    }
  }
  for (; i < argc; ++i)
    o.files.emplace_back(argv[i]);
  if (o.files.empty()) {
    error = "no files";
    return false;
  }
  return true;
}

int readers(const Options& o) {
  const auto n = static_cast<std::size_t>(o.threads);
  std::vector<std::int64_t> latency(n, 0);
  std::vector<std::int64_t> done_at(n, 0);
  std::atomic<int> errors{0};
  std::latch ready(static_cast<std::ptrdiff_t>(n));
  std::latch go(1);
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      std::vector<char> buf(kBufSize);
      const std::string& file = o.files[i % o.files.size()];
      ready.count_down();
      go.wait();
      std::int64_t start = nowNs();
      long got = readWhole(file.c_str(), buf.data(), buf.size());
      done_at[i] = nowNs();
      latency[i] = done_at[i] - start;
      if (got < 0) {
        std::fprintf(stderr, "cannot read %s: %s\n", file.c_str(),
                     std::strerror(static_cast<int>(-got)));
        ++errors;
      }
    });
  }
  ready.wait();
  std::int64_t released = nowNs();
  go.count_down();
  for (auto& t : threads)
    t.join();
  std::int64_t last = *std::max_element(done_at.begin(), done_at.end());
  std::sort(latency.begin(), latency.end());
  std::printf(
      "threads=%zu errors=%d p50_us=%.1f p99_us=%.1f min_us=%.1f max_us=%.1f wall_us=%.1f\n", n,
      errors.load(), us(quantile(latency, 0.5)), us(quantile(latency, 0.99)), us(latency.front()),
      us(latency.back()), us(last - released));
  return errors.load() == 0 ? 0 : 1;
}

void sleepUntil(std::int64_t ns) {
  struct timespec ts {};
  ts.tv_sec = static_cast<time_t>(ns / 1000000000);
  ts.tv_nsec = static_cast<long>(ns % 1000000000);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

int loop(const Options& o) {
  std::vector<char> buf(kBufSize);
  const std::int64_t interval = o.interval_us * 1000;
  const std::int64_t slow = o.slow_ms * 1000000;
  const std::int64_t begin = nowNs();
  const std::int64_t end = begin + o.duration_ms * 1000000;
  std::vector<std::int64_t> latency;
  std::vector<std::int64_t> service;
  latency.reserve(static_cast<std::size_t>(o.duration_ms * 1000 / o.interval_us + 1));
  service.reserve(latency.capacity());
  int errors = 0;
  long stalls = 0;
  for (std::int64_t k = 0;; ++k) {
    std::int64_t scheduled = begin + k * interval;
    if (scheduled >= end) break;
    if (nowNs() < scheduled) sleepUntil(scheduled);
    const std::string& file = o.files[static_cast<std::size_t>(k) % o.files.size()];
    std::int64_t start = nowNs();
    long got = readWhole(file.c_str(), buf.data(), buf.size());
    std::int64_t done = nowNs();
    if (got < 0) {
      if (++errors <= 5) {
        std::fprintf(stderr, "cannot read %s: %s\n", file.c_str(),
                     std::strerror(static_cast<int>(-got)));
      }
    }
    if (done - start >= slow) {
      ++stalls;
      std::fprintf(stderr, "stall at %.3f s: %.1f ms reading %s\n",
                   static_cast<double>(start - begin) / 1e9,
                   static_cast<double>(done - start) / 1e6, file.c_str());
    }
    latency.push_back(done - scheduled);
    service.push_back(done - start);
  }
  std::sort(latency.begin(), latency.end());
  std::sort(service.begin(), service.end());
  auto slow_reads = latency.end() - std::lower_bound(latency.begin(), latency.end(), slow);
  std::printf(
      "reads=%zu errors=%d read_p50_us=%.1f read_p99_us=%.1f read_max_us=%.1f p50_us=%.1f "
      "p99_us=%.1f p999_us=%.1f max_us=%.1f slow=%td stalls=%ld\n",
      latency.size(), errors, us(quantile(service, 0.5)), us(quantile(service, 0.99)),
      us(service.empty() ? 0 : service.back()), us(quantile(latency, 0.5)),
      us(quantile(latency, 0.99)), us(quantile(latency, 0.999)),
      us(latency.empty() ? 0 : latency.back()), slow_reads, stalls);
  return errors == 0 ? 0 : 1;
}

int listing(const std::string& dir) {
  std::int64_t start = nowNs();
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    std::fprintf(stderr, "cannot open %s: %s\n", dir.c_str(), std::strerror(errno));
    return 1;
  }
  std::int64_t first = 0;
  long entries = 0;
  errno = 0;
  while (readdir(d) != nullptr) {
    if (entries++ == 0) first = nowNs();
  }
  int error = errno;
  std::int64_t total = nowNs();
  closedir(d);
  if (error != 0) {
    std::fprintf(stderr, "cannot list %s: %s\n", dir.c_str(), std::strerror(error));
    return 1;
  }
  std::printf("first_us=%.1f total_us=%.1f entries=%ld\n", us(first - start), us(total - start),
              entries);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage("no command");
  std::string command = argv[1];
  if (command == "listing") {
    if (argc != 3) return usage("listing takes one directory");
    return listing(argv[2]);
  }
  Options o;
  std::string error;
  if (command != "readers" && command != "loop") return usage("unknown command " + command);
  if (!parse(argc, argv, 2, o, error)) return usage(error);
  return command == "readers" ? readers(o) : loop(o);
}
