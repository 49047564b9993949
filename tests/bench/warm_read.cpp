// Figure 1: warm open+read+close of small files, in one process, on the mounted tree
// against an identical copy of it (tmpfs, the limit). Google Benchmark does the looping
// and repetitions; scripts/bench.sh reads the medians from its JSON output.
//
//   bench_warm_read --root mount=DIR --root tmpfs=DIR --files LIST --one REL [benchmark flags]
//
// LIST holds paths relative to each root, one a line; REL is the single file of the
// one-file benchmark. Every file is read once before timing starts, and a root where any
// file reads differently from the first root is refused: the trees must be identical.
#include <benchmark/benchmark.h>

#include <cstring>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "bench_util.h"

namespace {

using mdfs::bench::readWhole;

struct Root {
  std::string name;
  std::string dir;
  std::vector<std::string> files;  // absolute paths, in LIST order
  std::string one;
};

constexpr std::size_t kBufSize = 64 * 1024;

// One file, over and over: the kernel's fastest path for a hot value.
void oneFile(benchmark::State& state, const Root* root) {
  std::vector<char> buf(kBufSize);
  const char* path = root->one.c_str();
  for (auto _ : state) {
    long n = readWhole(path, buf.data(), buf.size());
    if (n < 0) {
      state.SkipWithError(
          ("cannot read " + root->one + ": " + std::strerror(static_cast<int>(-n))).c_str());
      break;
    }
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations());
}

// Every small file of the tree in turn, so each iteration touches a different dentry.
void allFiles(benchmark::State& state, const Root* root) {
  std::vector<char> buf(kBufSize);
  std::size_t i = 0;
  const std::size_t count = root->files.size();
  for (auto _ : state) {
    const std::string& path = root->files[i];
    long n = readWhole(path.c_str(), buf.data(), buf.size());
    if (n < 0) {
      state.SkipWithError(
          ("cannot read " + path + ": " + std::strerror(static_cast<int>(-n))).c_str());
      break;
    }
    benchmark::DoNotOptimize(n);
    if (++i == count) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["files"] = static_cast<double>(count);
}

std::string readAll(const std::string& path, bool* ok) {
  std::vector<char> buf(kBufSize);
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *ok = false;
    return out;
  }
  ssize_t n = 0;
  while ((n = ::read(fd, buf.data(), buf.size())) > 0)
    out.append(buf.data(), static_cast<std::size_t>(n));
  *ok = n == 0;
  ::close(fd);
  return out;
}

int usage(const char* argv0, const std::string& why) {
  std::cerr << argv0 << ": " << why << "\n"
            << "usage: " << argv0
            << " --root NAME=DIR [--root NAME=DIR...] --files LIST --one REL [benchmark flags]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::vector<Root> roots;
  std::string list;
  std::string one;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) return usage(argv[0], "missing value after " + arg);
    std::string value = argv[++i];
    if (arg == "--root") {
      auto eq = value.find('=');
      if (eq == std::string::npos || eq == 0) return usage(argv[0], "--root needs NAME=DIR");
      roots.push_back({value.substr(0, eq), value.substr(eq + 1), {}, {}});
    } else if (arg == "--files") {
      list = value;
    } else if (arg == "--one") {
      one = value;
    } else {
      return usage(argv[0], "unknown argument " + arg);
    }
  }
  if (roots.empty() || list.empty() || one.empty()) return usage(argv[0], "missing arguments");
  const auto rel = mdfs::bench::readLines(list);
  if (rel.empty()) return usage(argv[0], "no files in " + list);

  // Warm every file and check that the trees hold the same bytes.
  std::vector<std::string> reference;
  for (auto& root : roots) {
    root.one = root.dir + "/" + one;
    for (std::size_t k = 0; k < rel.size(); ++k) {
      root.files.push_back(root.dir + "/" + rel[k]);
      bool ok = false;
      std::string bytes = readAll(root.files.back(), &ok);
      if (!ok) {
        std::cerr << "cannot read " << root.files.back() << ": " << std::strerror(errno) << "\n";
        return 1;
      }
      if (&root == &roots.front()) {
        reference.push_back(std::move(bytes));
      } else if (bytes != reference[k]) {
        std::cerr << root.files.back() << " differs from " << roots.front().files[k] << "\n";
        return 1;
      }
    }
  }

  for (const auto& root : roots) {
    benchmark::RegisterBenchmark(("warm_read/one_file/" + root.name).c_str(), oneFile, &root);
    benchmark::RegisterBenchmark(("warm_read/all_files/" + root.name).c_str(), allFiles, &root);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
