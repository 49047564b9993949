// The option and config-file parser, through parseCommandLine only (the parser's inside
// is another unit's business). The input up to the first NUL byte is the config file;
// the NUL-separated rest are command-line arguments after "metadatafs /mnt/fuzz".
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/options.h"

namespace {

constexpr std::size_t kMaxArgs = 24;

// One config file per process, rewritten for every input.
const std::string& configPath() {
  static const std::string path = [] {
    char name[] = "/tmp/mdfs-fuzz-config-XXXXXX";
    int fd = mkstemp(name);
    if (fd < 0) std::abort();
    close(fd);
    return std::string(name);
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::size_t nul = input.find('\0');
  {
    std::ofstream out(configPath(), std::ios::binary | std::ios::trunc);
    out << input.substr(0, nul);
  }
  std::vector<std::string> args = {"metadatafs", "/mnt/fuzz", "-o", "config=" + configPath()};
  while (nul != std::string_view::npos && args.size() < kMaxArgs) {
    input.remove_prefix(nul + 1);
    nul = input.find('\0');
    args.emplace_back(input.substr(0, nul));
    // Another config file could be /dev/zero: local files are trusted input, not fuzzed.
    if (args.back().find("config=") != std::string::npos) return 0;
  }
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  auto config = mdfs::cli::parseCommandLine(static_cast<int>(args.size()), argv.data());
  if (config.ok()) {
    (void)config.value().mountOptions();
    (void)config.value().effectiveResolve();
  }
  return 0;
}
