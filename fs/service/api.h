// Facts about the metadata service API that depend on configuration: base URL, API
// version date and the identity paths it selects (ref §5.4), token lifetime, retries.
#pragma once

#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/error.h"

namespace mdfs::service {

// The first version at which /instance_identity/v1/* answers 404 (ref §5.4).
inline constexpr std::string_view kIdentityPathBreak = "2025-08-26";
inline constexpr std::string_view kMinimumVersion = "2022-03-01";
inline constexpr int kMinTokenTtl = 5;  // expires_in bounds of the token PUT (ref §5.1)
inline constexpr int kMaxTokenTtl = 3600;
inline constexpr int kMaxPageLimit = 100;  // the VPC API's largest `limit` (ref §4.12)

struct RetryPolicy {
  int max_attempts = 6;         // including the first
  Millis initial_backoff{100};  // doubled per attempt, with full jitter
  Millis max_backoff{3000};
  Millis max_retry_after{10000};  // a Retry-After beyond this is clamped (and the deadline rules)
};

struct ApiConfig {
  std::string endpoint = "http://api.metadata.cloud.ibm.com";  // scheme://host[:port], no path
  std::string version = "2025-08-26";                          // YYYY-MM-DD
  int token_ttl_s = 300;                                       // expires_in, 5..3600
  int page_limit = 100;                                        // limit= for paginated lists
  int max_pages = 1000;
  RetryPolicy retry;

  // "/identity/v1" from kIdentityPathBreak on, "/instance_identity/v1" before.
  [[nodiscard]] std::string identityBase() const;
  [[nodiscard]] std::string tokenUrl() const;     // .../token?version=...
  [[nodiscard]] std::string iamTokenUrl() const;  // .../iam_tokens or .../iam_token
  // endpoint + path + "?version=..." (+ "&" extra query when given).
  [[nodiscard]] std::string url(std::string_view path, std::string_view query = {}) const;
  // Rejects what the service would refuse or what cannot work: a non-http(s) endpoint or
  // one with a path, a version that is not a date or before kMinimumVersion, a token TTL
  // outside 5..3600, a page limit outside 1..100, fewer than one page or attempt.
  [[nodiscard]] Status validate() const;
};

// True for a well-formed YYYY-MM-DD date (calendar-valid).
bool isValidVersionDate(std::string_view date);

}  // namespace mdfs::service
