// The identity API (ref §5): identity tokens, and IAM tokens exchanged for a trusted
// profile. Tokens are JWT-shaped and remembered with their expiry, which is what decides
// whether a bearer token is accepted.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"
#include "emulator/api.h"
#include "emulator/scenario.h"

namespace mdfs::emu {

// identity and iam: IBM; aws_session: AWS IMDSv2 session tokens.
enum class TokenKind { identity, iam, aws_session };

class TokenTable {
 public:
  explicit TokenTable(const Clock& clock) : clock_(clock) {}
  void add(const std::string& token, TokenKind kind, Seconds lifetime);
  [[nodiscard]] bool valid(std::string_view token, TokenKind kind) const;
  void expireAll();

 private:
  struct Entry {
    TokenKind kind;
    SteadyTime expires;
  };
  void pruneExpired();  // with mu_ held

  const Clock& clock_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> tokens_;
  std::size_t prune_at_ = 4096;
};

// Switches tests flip while requests are served.
struct TokenSettings {
  // 0 = no cap on IBM expires_in and on the TTL of AWS session tokens.
  std::atomic<std::int64_t> identity_cap_s{0};
  std::atomic<std::int64_t> iam_lifetime_s{3600};
  std::atomic<int> legacy_token_status{200};
  // What identity token answers claim as expires_in (JSON text); empty = the truth.
  void setReportedExpiresIn(std::string json_number) {
    std::lock_guard lock(mu_);
    reported_expires_in_ = std::move(json_number);
  }
  [[nodiscard]] std::string reportedExpiresIn() const {
    std::lock_guard lock(mu_);
    return reported_expires_in_;
  }

 private:
  mutable std::mutex mu_;
  std::string reported_expires_in_;
};

class IdentityApi {
 public:
  IdentityApi(const Clock& clock, const ScenarioStore& store, TokenTable& tokens,
              const TokenSettings& settings);

  // PUT …/token. Checks Metadata-Flavor itself (the only route that requires it).
  [[nodiscard]] HttpResponse createToken(const HttpRequest& request, bool legacy) const;
  // POST …/iam_token(s). The caller has already accepted the bearer identity token.
  [[nodiscard]] HttpResponse createIamToken(const HttpRequest& request, bool legacy) const;

 private:
  const Clock& clock_;
  const ScenarioStore& store_;
  TokenTable& tokens_;
  const TokenSettings& settings_;
  std::string signing_key_;  // random per emulator: tokens of another run are unknown anyway
};

}  // namespace mdfs::emu
