// Identity and IAM tokens: one of each per client, reused, renewed ahead of expiry
// (once 80% of the lifetime has passed, or fewer than 10 s are left), single-flight.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "service/api.h"
#include "service/http_transport.h"
#include "service/retry.h"
#include "service/token_cache.h"

namespace mdfs::service {

// The instance identity token: PUT {identity path}/token.
class TokenSource final : public SessionTokens {
 public:
  TokenSource(const ApiConfig& api, HttpTransport& http, const Clock& clock, const Logger& log,
              ServiceHealth* health = nullptr);

  // A token valid now, renewed first when due. Concurrent callers share one request.
  // Errors: 4xx from the token endpoint are final at once (with IBM's code and trace);
  // 429, 5xx and connection failures are retried inside the deadline.
  Result<IssuedToken> token(Deadline deadline) override;
  // The service refused `access_token` (401): drop it so the next call re-acquires.
  void invalidate(std::string_view access_token) override;
  // Expiry of the current token, if there is one (never the token itself).
  [[nodiscard]] std::optional<WallTime> expiresAt() const;
  [[nodiscard]] TokenHealth health() const override { return cache_.health(); }
  // HTTP requests sent to the token endpoint (retries included).
  [[nodiscard]] std::uint64_t requestCount() const override { return requests_; }

 private:
  Result<IssuedToken> request(Deadline deadline);

  const ApiConfig& api_;
  const Clock& clock_;
  const Logger& log_;
  Retrier retrier_;
  TokenCache cache_;
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<bool> failing_{false};  // the last token request failed (and was logged)
};

// Which trusted profile an IAM token is for.
struct TrustedProfile {
  enum class By { default_profile, id, crn } by = By::default_profile;
  std::string value;  // the id or crn
};

// "default", "crn:..." or a profile id, as the trusted_profile option gives it.
TrustedProfile parseTrustedProfile(const std::string& value);

// An IAM token for one trusted profile: POST {identity path}/iam_token(s) with the
// identity token from `identity` (re-acquired once if the service answers 401).
class IamTokenSource {
 public:
  IamTokenSource(const ApiConfig& api, TrustedProfile profile, HttpTransport& http,
                 TokenSource& identity, const Clock& clock, const Logger& log,
                 ServiceHealth* health = nullptr);

  // Errors besides the identity token's: 400 profile_not_linked → EACCES; 400
  // missing_field without a profile (the instance has no default profile) → ENOENT.
  Result<IssuedToken> token(Deadline deadline);
  [[nodiscard]] std::optional<WallTime> expiresAt() const;
  [[nodiscard]] TokenHealth health() const { return cache_.health(); }
  // HTTP requests sent to the IAM token endpoint (retries included).
  [[nodiscard]] std::uint64_t requestCount() const { return requests_; }

 private:
  Result<IssuedToken> request(Deadline deadline);
  [[nodiscard]] HttpRequest buildRequest(const IssuedToken& identity) const;

  const ApiConfig& api_;
  TrustedProfile profile_;
  TokenSource& identity_;
  const Clock& clock_;
  const Logger& log_;
  Retrier retrier_;
  TokenCache cache_;
  std::atomic<std::uint64_t> requests_{0};
};

// Sends the request `build` makes around a token from `tokens`; when the service answers
// 401, that token is dropped and the request is sent once more with a fresh one (counted as
// a retry). An error when no token could be had or no answer came.
Result<HttpResponse> sendWithToken(SessionTokens& tokens, Retrier& retrier, Deadline deadline,
                                   const std::function<HttpRequest(const IssuedToken&)>& build,
                                   FetchStats& stats, const Logger& log);

}  // namespace mdfs::service
