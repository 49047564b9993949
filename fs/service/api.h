// Facts about the metadata service API that depend on configuration: base URL, API
// version date and the identity paths it selects (ref §5.4), token lifetime, retries.
#pragma once

#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/error.h"

namespace mdfs::service {

// The service's host name and the link-local address it always has (ref §7).
inline constexpr std::string_view kMetadataHost = "api.metadata.cloud.ibm.com";
inline constexpr std::string_view kMetadataAddress = "169.254.169.254";
inline constexpr std::string_view kDefaultEndpoint = "http://api.metadata.cloud.ibm.com";
// Google's metadata server name, pinned to the same address (no DNS at boot).
inline constexpr std::string_view kGoogleMetadataHost = "metadata.google.internal";
static_assert(kDefaultEndpoint.substr(7) == kMetadataHost);

// The first version at which /instance_identity/v1/* answers 404 (ref §5.4).
inline constexpr std::string_view kIdentityPathBreak = "2025-08-26";
inline constexpr std::string_view kMinimumVersion = "2022-03-01";
inline constexpr std::string_view kDefaultVersion = "2025-08-26";
inline constexpr int kMinTokenTtl = 5;  // expires_in bounds of the token PUT (ref §5.1)
inline constexpr int kMaxTokenTtl = 3600;
inline constexpr int kDefaultTokenTtl = 300;
inline constexpr int kMaxPageLimit = 100;  // the VPC API's largest `limit` (ref §4.12)

struct RetryPolicy {
  int max_attempts = 6;         // including the first
  Millis initial_backoff{100};  // doubled per attempt, with full jitter
  Millis max_backoff{3000};
  Millis max_retry_after{10000};  // a Retry-After beyond this is clamped (and the deadline rules)
  bool retry_gone = false;        // Azure: 410 means "IMDS is updating", back within 70 s
};

struct ApiConfig {
  std::string endpoint{kDefaultEndpoint};  // scheme://host[:port], no path (see parseEndpoint)
  std::string version{kDefaultVersion};    // YYYY-MM-DD (see checkVersion)
  int token_ttl_s = kDefaultTokenTtl;      // expires_in, kMinTokenTtl..kMaxTokenTtl
  int page_limit = kMaxPageLimit;          // limit= for paginated lists
  int max_pages = 1000;
  RetryPolicy retry;

  // "/identity/v1" from kIdentityPathBreak on, "/instance_identity/v1" before.
  [[nodiscard]] std::string identityBase() const;
  [[nodiscard]] std::string tokenUrl() const;     // .../token?version=...
  [[nodiscard]] std::string iamTokenUrl() const;  // .../iam_tokens or .../iam_token
  // endpoint + path + "?version=..." (+ "&" extra query when given).
  [[nodiscard]] std::string url(std::string_view path, std::string_view query = {}) const;
};

// The rules for what ApiConfig holds; the command line applies them to what users write.
//
// An endpoint is http:// or https:// and a host (and port): no path, query, fragment, user
// or space. The endpoint without trailing slashes, or EINVAL saying what is expected.
Result<std::string> parseEndpoint(std::string_view endpoint);
// A version is a calendar-valid YYYY-MM-DD date, kMinimumVersion or later (the service
// refuses earlier dates). EINVAL saying what is expected.
Status checkVersion(std::string_view version);

// True for a well-formed YYYY-MM-DD date (calendar-valid).
bool isValidVersionDate(std::string_view date);

}  // namespace mdfs::service
