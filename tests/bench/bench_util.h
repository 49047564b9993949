// Small helpers shared by the benchmark programs: a monotonic clock in nanoseconds,
// percentiles of samples, and reading a small file the way `cat` does.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

namespace mdfs::bench {

inline std::int64_t nowNs() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The q-quantile (0..1) of `sorted` by the nearest-rank rule; 0 when empty.
inline std::int64_t quantile(const std::vector<std::int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

// The median, averaging the middle pair of an even count.
inline double median(std::vector<std::int64_t> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  if (n % 2 == 1) return static_cast<double>(v[n / 2]);
  return (static_cast<double>(v[n / 2 - 1]) + static_cast<double>(v[n / 2])) / 2.0;
}

inline double toUs(double ns) {
  return ns / 1000.0;
}

// open + read to the end + close. Returns the byte count, or -errno.
inline long readWhole(const char* path, char* buf, std::size_t size) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  long total = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return -e;
    }
    if (n == 0) break;
    total += n;
  }
  ::close(fd);
  return total;
}

// One path per line; empty lines are skipped.
inline std::vector<std::string> readLines(const std::string& file) {
  std::vector<std::string> out;
  FILE* f = std::fopen(file.c_str(), "re");
  if (f == nullptr) return out;
  char* line = nullptr;
  std::size_t cap = 0;
  ssize_t n = 0;
  while ((n = getline(&line, &cap, f)) >= 0) {
    std::string s(line, static_cast<std::size_t>(n));
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
      s.pop_back();
    if (!s.empty()) out.push_back(std::move(s));
  }
  std::free(line);
  std::fclose(f);
  return out;
}

}  // namespace mdfs::bench
