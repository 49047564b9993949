// Command line and -o options -> Config. Every value is checked before anything is
// mounted; a bad one is refused with a message naming the option and what it accepts.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/error.h"

namespace mdfs::cli {

inline constexpr const char* kDefaultEndpoint = "http://api.metadata.cloud.ibm.com";
inline constexpr const char* kMetadataHost = "api.metadata.cloud.ibm.com";
inline constexpr const char* kLinkLocalAddress = "169.254.169.254";

struct Config {
  std::string source = "metadatafs";
  std::string mountpoint;
  bool foreground = false;
  bool debug = false;  // debug logging (-d, -o debug); implies foreground
  bool show_help = false;
  bool show_version = false;

  std::string endpoint = kDefaultEndpoint;
  std::string api_version = "2025-08-26";
  Seconds ttl{60};
  std::map<std::string, Seconds> ttl_overrides;  // mount path -> ttl
  int token_ttl = 300;
  Seconds timeout{10};
  Seconds max_stale{3600};
  bool newline = true;
  std::string cacert;
  std::vector<std::string> resolve;  // HOST:PORT:ADDR, as given
  std::optional<std::uint32_t> uid;
  std::optional<std::uint32_t> gid;
  bool identity = false;
  std::string trusted_profile;  // "", "default", an id or a crn
  std::string config_file;
  unsigned max_threads = 16;
  std::vector<std::string> fuse_options;  // passed to libfuse (allow_other, auto_unmount, ...)

  // The CURLOPT_RESOLVE entries to use: the configured ones, or the endpoint host pinned
  // to the link-local address when it is IBM's metadata host.
  [[nodiscard]] std::vector<std::string> effectiveResolve() const;
  // Mount options handed to libfuse, with the ones metadatafs always adds.
  [[nodiscard]] std::string mountOptions() const;
};

// Parses argv (argv[0] is the program). Reads -o config=FILE when given: its values sit
// between the defaults and the command line.
Result<Config> parseCommandLine(int argc, char** argv);
std::string helpText(const std::string& program);
std::string versionText();

}  // namespace mdfs::cli
