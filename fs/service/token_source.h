// Identity and IAM tokens: one of each per client, reused, renewed ahead of expiry
// (once 80% of the lifetime has passed, or fewer than 10 s are left), single-flight.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "service/api.h"
#include "service/http_transport.h"

namespace mdfs::service {

// A token as the identity API returned it. `access_token` is a secret: never logged.
struct IssuedToken {
  std::string access_token;
  std::string created_at;  // RFC 3339, as returned
  std::string expires_at;  // RFC 3339, as returned
  long expires_in = 0;     // seconds, as returned
  SteadyTime obtained;     // Clock::steady() when the response arrived
  SteadyTime expiry;       // obtained + expires_in
  WallTime expiry_wall;    // Clock::wall() + expires_in

  // The instant from which this token must be renewed before use.
  [[nodiscard]] SteadyTime renewAt() const;
  // The response document without access_token, for <name>.json files.
  std::string public_json;
};

// The instance identity token: PUT {identity path}/token.
class TokenSource {
 public:
  TokenSource(const ApiConfig& api, HttpTransport& http, const Clock& clock, const Logger& log);

  // A token valid now, renewed first when due. Concurrent callers share one request.
  Result<IssuedToken> token(Deadline deadline);
  // The service refused `access_token` (401): drop it so the next call re-acquires.
  void invalidate(std::string_view access_token);
  // Expiry of the current token, if there is one (never the token itself).
  [[nodiscard]] std::optional<WallTime> expiresAt() const;
  [[nodiscard]] std::uint64_t requestCount() const { return requests_; }

 private:
  Result<IssuedToken> request(Deadline deadline);

  const ApiConfig& api_;
  HttpTransport& http_;
  const Clock& clock_;
  const Logger& log_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool in_flight_ = false;
  std::optional<IssuedToken> current_;
  std::atomic<std::uint64_t> requests_{0};
};

// Which trusted profile an IAM token is for.
struct TrustedProfile {
  enum class By { default_profile, id, crn } by = By::default_profile;
  std::string value;  // the id or crn
};

// An IAM token for one trusted profile: POST {identity path}/iam_token(s) with the
// identity token from `identity`.
class IamTokenSource {
 public:
  IamTokenSource(const ApiConfig& api, TrustedProfile profile, HttpTransport& http,
                 TokenSource& identity, const Clock& clock, const Logger& log);

  Result<IssuedToken> token(Deadline deadline);
  [[nodiscard]] std::optional<WallTime> expiresAt() const;
  [[nodiscard]] std::uint64_t requestCount() const { return requests_; }

 private:
  Result<IssuedToken> request(Deadline deadline);

  const ApiConfig& api_;
  TrustedProfile profile_;
  HttpTransport& http_;
  TokenSource& identity_;
  const Clock& clock_;
  const Logger& log_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool in_flight_ = false;
  std::optional<IssuedToken> current_;
  std::atomic<std::uint64_t> requests_{0};
};

}  // namespace mdfs::service
