// Landlock: the serving process's own view of the filesystem (and, from ABI 4, of TCP).
// Read-only access to what it may still need after start-up: the CA bundle, the config
// file, the resolver's files, the time zone and the libraries getaddrinfo may load (NSS
// modules); nothing else, and never a write. From ABI 4, outgoing TCP only to the ports of
// the endpoint and of resolve= entries (and 53, DNS over TCP); no listening socket. From
// ABI 6, no signals to processes outside and no abstract Unix sockets outside.
//
// Optional by nature: a kernel without Landlock (before 5.13, or not enabled), or a build
// against headers without <linux/landlock.h> (Debian 11's), leaves it out and says so.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"

namespace mdfs::cli {

struct LandlockPolicy {
  std::vector<std::string> read_only;        // files or directories (recursively); missing: skipped
  std::vector<std::string> executable;       // also mapped executable (shared libraries)
  std::vector<std::uint16_t> connect_ports;  // TCP ports that may be connected to
};

// The policy of the serving process for these settings (paths the config names).
LandlockPolicy daemonPolicy(const std::string& endpoint, const std::vector<std::string>& resolve,
                            const std::string& cacert, const std::string& config_file);

// What restrictSelf did: the ABI version used (0: not applied) and a sentence for the log.
struct LandlockOutcome {
  int abi = 0;
  std::string summary;
};

// The Landlock ABI version this build and kernel offer together; 0 for none.
int landlockAbi();

// Restricts the calling process (and every thread and child it starts later) to `policy`.
// Not being able to (no kernel support) is an outcome, not an error; a failure of the
// system calls on a kernel that supports them is an error.
Result<LandlockOutcome> restrictSelf(const LandlockPolicy& policy);

}  // namespace mdfs::cli
