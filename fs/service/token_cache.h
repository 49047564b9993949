// One cached token, renewed ahead of expiry by a single request that concurrent callers
// share (single-flight). Shared by the identity and the IAM token sources.
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
#include "common/mutex.h"
#include "common/single_flight.h"

namespace mdfs::service {

// A token as the identity API returned it. `access_token` is a secret: never logged.
struct IssuedToken {
  std::string access_token;
  std::string created_at;   // RFC 3339, as returned
  std::string expires_at;   // RFC 3339, as returned
  long expires_in = 0;      // seconds, as returned
  SteadyTime obtained;      // Clock::steady() when the response arrived
  SteadyTime expiry;        // obtained + expires_in
  WallTime expiry_wall;     // Clock::wall() + expires_in
  std::string public_json;  // the response document without access_token, for .json files

  // The instant from which this token must be renewed before use: once 80% of its
  // lifetime has passed or fewer than 10 s are left, but never before half of it (a
  // 5 s token would otherwise be renewed on every use).
  [[nodiscard]] SteadyTime renewAt() const;
};

// Parses a token response ({access_token, created_at, expires_at, expires_in}) received
// now. Errors (malformed) name `what` and never quote the body, which holds the secret.
Result<IssuedToken> parseIssuedToken(std::string_view body, const Clock& clock,
                                     std::string_view what);

// What .status shows of a token: never the token itself.
struct TokenHealth {
  std::optional<WallTime> expires_at;
  std::optional<Error> last_error;  // the most recent failed request, kept after a success
  std::optional<WallTime> last_error_time;
  bool failing = false;  // the most recent request failed
  std::uint64_t failures = 0;
};

// Where the token that authorizes requests to the metadata service comes from (IBM's
// instance identity token, AWS's IMDSv2 session token).
class SessionTokens {
 public:
  virtual ~SessionTokens() = default;
  // A token valid now, renewed first when due; concurrent callers share one request.
  virtual Result<IssuedToken> token(Deadline deadline) = 0;
  // The service refused `access_token` (401): the next call gets a new one.
  virtual void invalidate(std::string_view access_token) = 0;
  [[nodiscard]] virtual TokenHealth health() const = 0;
  // HTTP requests sent for tokens (retries included).
  [[nodiscard]] virtual std::uint64_t requestCount() const = 0;
};

// A token endpoint's failure reaches every reader of every endpoint; it is logged once per
// run of failures (`failing` remembers the run), and handed on at debug level so that
// nobody logs it again.
Error reportedOnce(std::atomic<bool>& failing, const Logger& log, Error error);

class TokenCache {
 public:
  using Fetch = std::function<Result<IssuedToken>(Deadline)>;

  TokenCache(const Clock& clock, std::string name);

  // The cached token while it is not due for renewal; otherwise the result of `fetch`,
  // which runs for one caller at a time while the others wait for its result until their
  // own deadlines (or use the old token while it is still valid). A failed renewal falls
  // back to an unexpired token.
  Result<IssuedToken> get(Deadline deadline, const Fetch& fetch);
  // Drops the cached token if it is `access_token` (one that the service refused).
  void invalidate(std::string_view access_token);
  [[nodiscard]] std::optional<WallTime> expiresAt() const;
  [[nodiscard]] TokenHealth health() const;

 private:
  // An unexpired token to use while a renewal is under way or failed.
  [[nodiscard]] bool usable() const REQUIRES(mu_);
  // The cached token when it serves without a request; the caller holds mu_.
  [[nodiscard]] std::optional<IssuedToken> cached(bool renewing) const REQUIRES(mu_);
  Result<IssuedToken> fetchAndStore(Deadline deadline, const Fetch& fetch) EXCLUDES(mu_);

  const Clock& clock_;
  const std::string name_;  // "identity token" / "IAM token", for messages
  SingleFlight<Result<IssuedToken>> flight_;
  mutable Mutex mu_;
  std::optional<IssuedToken> current_ GUARDED_BY(mu_);
  TokenHealth health_ GUARDED_BY(mu_);  // its expires_at is filled in by health()
};

}  // namespace mdfs::service
