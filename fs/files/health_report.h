// One look at everything .status and .metrics report, taken at once so both tell the same
// story: the service, the tokens, every endpoint, and whether all is well.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cache/resource_cache.h"
#include "common/clock.h"
#include "mount/filesystem.h"
#include "service/health.h"
#include "service/token_source.h"

namespace mdfs::files {

// The effective settings .status shows (nothing secret).
struct Settings {
  std::string cloud = "ibm";
  std::string mountpoint;
  std::string endpoint;
  std::string api_version;
  Seconds ttl{60};
  Seconds timeout{10};
  Seconds max_stale{3600};
  int token_ttl = 300;
  std::string cloud_reason;  // why this cloud (cloud=auto: the SMBIOS marker)
  bool identity = false;
  std::string trusted_profile;
};

// What is observed. The IAM token source and the service's health are optional.
struct Sources {
  const cache::ResourceCache& cache;
  // The service's session tokens (IBM's identity token, AWS's IMDSv2 token); null: none.
  const service::SessionTokens* identity = nullptr;
  std::string identity_name = "identity_token";
  const service::IamTokenSource* iam = nullptr;
  const service::ServiceHealth* service = nullptr;
};

struct TokenReport {
  std::string name;  // "identity_token", "iam_token"
  service::TokenHealth health;
  std::uint64_t requests = 0;
};

struct Report {
  // Every endpoint fresh, absent or never needed; no token request failing; the service
  // answering. What a monitor checks with `jq -e .healthy`.
  bool healthy = true;
  std::optional<WallTime> last_success;  // the most recent successful fetch of any endpoint
  bool service_answering = true;
  std::optional<WallTime> service_down_since;
  std::uint64_t outages = 0;
  std::vector<TokenReport> tokens;
  std::vector<cache::EndpointStatus> endpoints;
  std::vector<Seconds> ttls;  // per endpoint, as `endpoints`
  cache::LatencyHistogram latency;
};

Report observe(const Sources& sources);

// A file hidden from listings, readable by everyone, whose bytes `render` makes afresh at
// most once a second (.status, .metrics). Reading it never fetches anything.
mount::DynamicFile liveReport(std::string path, std::function<std::string()> render,
                              const Clock& clock);

// RFC 3339 UTC with milliseconds, e.g. 2026-11-28T20:41:57.123Z.
std::string formatTime(WallTime t);

}  // namespace mdfs::files
