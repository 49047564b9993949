// <mount>/.status: a JSON document describing the daemon and every endpoint's cache
// state (fetch times, expiry, last error with trace id, counters). Never holds a token.
#pragma once

#include <string>

#include "cache/resource_cache.h"
#include "cli/options.h"
#include "common/clock.h"
#include "mount/filesystem.h"
#include "service/token_source.h"

namespace mdfs::cli {

class StatusFile {
 public:
  StatusFile(const Config& config, const cache::ResourceCache& cache,
             const service::TokenSource& tokens, const Clock& clock);

  // The dynamic file to register at ".status" (0444, hidden from listings).
  [[nodiscard]] mount::DynamicFile file() const;
  // Optional IAM token source whose expiry is reported too.
  void setIamTokens(const service::IamTokenSource* iam) { iam_ = iam; }
  [[nodiscard]] std::string render() const;

 private:
  const Config& config_;
  const cache::ResourceCache& cache_;
  const service::TokenSource& tokens_;
  const service::IamTokenSource* iam_ = nullptr;
  const Clock& clock_;
  SteadyTime started_;
  WallTime started_wall_;
};

// RFC 3339 UTC with milliseconds, e.g. 2026-11-28T20:41:57.123Z.
std::string formatTime(WallTime t);

}  // namespace mdfs::cli
