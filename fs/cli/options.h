// Command line and -o options -> Config. Every value is checked before anything is
// mounted; a bad one is refused with a message naming the option and what it accepts.
// The options themselves are described in cli/option_table.h.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "service/api.h"
#include "service/aws.h"
#include "service/azure.h"
#include "service/cloud_detect.h"

namespace mdfs::cli {

// The defaults live here (and the service's in service/api.h); --help shows Config{}.
struct Config {
  std::string source = "metadatafs";
  std::string mountpoint;
  bool foreground = false;
  bool debug = false;       // debug logging (-d, -o debug); implies foreground
  bool debug_http = false;  // also libcurl's wire trace; implies debug
  bool recover = false;     // clear a dead mount at the mountpoint before mounting
  bool show_help = false;
  bool show_version = false;

  // Which cloud's service: "auto" (SMBIOS markers under dmi_dir), ibm, aws, gcp or azure.
  std::string cloud = "auto";
  std::string dmi_dir = service::kDmiDir;
  bool ipv6 = false;  // AWS: the IPv6 address of the service
  int aws_token_ttl = service::kAwsMaxTokenTtl;
  bool aws_imdsv1 = false;
  std::string azure_api_version{service::kAzureDefaultApiVersion};
  std::string azure_resource;  // adds identity/oauth2/token
  std::string gcp_audience;    // lists instance/service-accounts/*/identity

  std::string endpoint{service::kDefaultEndpoint};  // IBM's; each cloud has its own
  bool endpoint_given = false;
  std::string api_version{service::kDefaultVersion};
  Seconds ttl{60};
  std::map<std::string, Seconds> ttl_overrides;  // mount path -> ttl
  int token_ttl = service::kDefaultTokenTtl;
  Seconds timeout{10};
  Seconds max_stale{3600};
  bool newline = true;
  std::string cacert;
  std::vector<std::string> resolve;  // HOST:PORT:ADDR, as given
  std::optional<std::uint32_t> uid;
  std::optional<std::uint32_t> gid;
  // The group that may read secrets (0440 instead of 0400); unset: owner only.
  std::optional<std::uint32_t> secrets_group;
  // Who serves after a mount made as root: a user name or uid; empty: metadatafs when the
  // system has that user, otherwise nobody. "root" (or 0) keeps root, with a warning.
  std::string run_as;
  bool identity = false;
  std::string trusted_profile;  // "", "default", an id or a crn
  std::string config_file;
  unsigned max_threads = 16;
  std::vector<std::string> fuse_options;  // passed to libfuse (allow_other, auto_unmount, ...)

  // Accepted, but worth saying before mounting (an api_version later than today).
  std::vector<std::string> warnings;

  // The cloud in use and why (cloud=auto: the SMBIOS marker found), and endpoint= set to
  // its default unless given. Call once the options are read.
  [[nodiscard]] service::Detected resolveCloud();

  // The CURLOPT_RESOLVE entries to use: the configured ones, or else
  // service::defaultResolve (IBM's host pinned to its link-local address).
  [[nodiscard]] std::vector<std::string> effectiveResolve() const;
  // Mount options handed to libfuse, with the ones metadatafs always adds.
  [[nodiscard]] std::string mountOptions() const;
};

// The mount options metadatafs always adds before the user's (fsname and subtype follow).
inline constexpr std::string_view kAlwaysAddedOptions = "ro,default_permissions,nosuid,nodev";

// Parses argv (argv[0] is the program). Reads -o config=FILE when given: its values sit
// between the defaults and the command line.
Result<Config> parseCommandLine(int argc, char** argv);
std::string helpText(const std::string& program);
std::string versionText();

// The warning for an api_version later than `today` (YYYY-MM-DD), or nullopt.
std::optional<std::string> futureVersionWarning(std::string_view version, std::string_view today);

}  // namespace mdfs::cli
