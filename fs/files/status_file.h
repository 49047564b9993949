// <mount>/.status: the health check (DESIGN §7, issue 17). One JSON document: a summary at
// the top (healthy, version, pid, last success, the effective options), the service's
// state, each token's expiry and failures, and every endpoint's cache state with its last
// failure (kept after a recovery). Never holds a token. Every field is documented in the
// README and metadatafs(8).
#pragma once

#include <string>

#include "common/clock.h"
#include "files/health_report.h"
#include "mount/filesystem.h"

namespace mdfs::files {

class StatusFile {
 public:
  StatusFile(Settings settings, Sources sources, const Clock& clock);

  // The dynamic file to register at ".status" (0444, hidden from listings).
  [[nodiscard]] mount::DynamicFile file() const;
  [[nodiscard]] std::string render() const;

 private:
  Settings settings_;
  Sources sources_;
  const Clock& clock_;
  SteadyTime started_;
  WallTime started_wall_;
};

}  // namespace mdfs::files
