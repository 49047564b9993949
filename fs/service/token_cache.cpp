#include "service/token_cache.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <utility>

#include "common/mutex.h"
#include "service/errors.h"
#include "service/json.h"

namespace mdfs::service {
namespace {

// A waiter whose shared fetch timed out fetches again itself only with this much time left.
constexpr Millis kWorthAnotherTry{100};

// Longer lifetimes than this are not believed (and would overflow time arithmetic).
constexpr double kMaxLifetimeSeconds = 10.0 * 365 * 24 * 3600;

std::string stringMember(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

}  // namespace

Error reportedOnce(std::atomic<bool>& failing, const Logger& log, Error error) {
  if (!failing.exchange(true)) log.report(error, "");
  error.level = LogLevel::debug;
  return error;
}

SteadyTime IssuedToken::renewAt() const {
  const auto lifetime = expiry - obtained;
  const SteadyTime at_80_percent = obtained + lifetime * 4 / 5;
  const SteadyTime ten_seconds_left = expiry - Seconds(10);
  const SteadyTime half_way = obtained + lifetime / 2;
  return std::max(std::min(at_80_percent, ten_seconds_left), half_way);
}

Result<IssuedToken> parseIssuedToken(std::string_view body, const Clock& clock,
                                     std::string_view what) {
  auto malformed = [&](std::string_view why) {
    return outcomeError(Outcome::malformed, std::string(what) + ": " + std::string(why));
  };
  rapidjson::Document doc;
  if (!parseJson(body, doc) || !doc.IsObject()) return malformed("response is not a JSON object");
  auto token = doc.FindMember("access_token");
  if (token == doc.MemberEnd() || !token->value.IsString() || token->value.GetStringLength() == 0) {
    return malformed("response has no access_token");
  }
  auto expires_in = doc.FindMember("expires_in");
  if (expires_in == doc.MemberEnd() || !expires_in->value.IsNumber() ||
      !(expires_in->value.GetDouble() >= 1)) {
    return malformed("response has no positive expires_in");
  }
  IssuedToken issued;
  issued.access_token.assign(token->value.GetString(), token->value.GetStringLength());
  issued.created_at = stringMember(doc, "created_at");
  issued.expires_at = stringMember(doc, "expires_at");
  const double seconds = std::min(std::floor(expires_in->value.GetDouble()), kMaxLifetimeSeconds);
  issued.expires_in = static_cast<long>(seconds);
  issued.obtained = clock.steady();
  issued.expiry = issued.obtained + Seconds(issued.expires_in);
  issued.expiry_wall = clock.wall() + Seconds(issued.expires_in);
  // A hostile answer may repeat the member: none of them reaches the public document.
  for (auto it = doc.FindMember("access_token"); it != doc.MemberEnd();
       it = doc.FindMember("access_token")) {
    doc.EraseMember(it);
  }
  issued.public_json = writeJson(doc);
  return issued;
}

TokenCache::TokenCache(const Clock& clock, std::string name)
    : clock_(clock), name_(std::move(name)) {}

bool TokenCache::usable() const {
  return current_ && clock_.steady() < current_->expiry;
}

std::optional<IssuedToken> TokenCache::cached(bool renewing) const {
  if (current_ && clock_.steady() < current_->renewAt()) return current_;
  // Someone else is renewing: the old token serves while it lasts.
  if (renewing && usable()) return current_;
  return std::nullopt;
}

Result<IssuedToken> TokenCache::get(Deadline deadline, const Fetch& fetch) {
  for (int round = 0;; ++round) {
    {
      MutexLock lock(mu_);
      if (auto token = cached(flight_.busy())) return *token;
    }
    bool led = false;
    auto shared = flight_.run(
        deadline, [&] { return fetchAndStore(deadline, fetch); }, &led);
    if (!shared) {
      MutexLock lock(mu_);
      if (usable()) return *current_;
      return outcomeError(Outcome::timed_out, "timed out waiting for the " + name_);
    }
    // Another caller's fetch that only ran out of its own time does not answer for a
    // caller with more time left: that one tries once itself.
    const bool theirs_timed_out =
        !led && !shared->ok() && shared->error().kind == ErrorKind::timed_out;
    if (round == 0 && theirs_timed_out && remaining(deadline) >= kWorthAnotherTry) continue;
    return std::move(*shared);
  }
}

Result<IssuedToken> TokenCache::fetchAndStore(Deadline deadline, const Fetch& fetch) {
  Result<IssuedToken> fresh = fetch(deadline);
  MutexLock lock(mu_);
  if (fresh) {
    current_ = fresh.value();
    health_.failing = false;
    return fresh;
  }
  ++health_.failures;
  health_.failing = true;
  health_.last_error = fresh.error();
  health_.last_error_time = clock_.wall();
  if (usable()) return *current_;  // renewal failed early: the old token still works
  return fresh;
}

void TokenCache::invalidate(std::string_view access_token) {
  MutexLock lock(mu_);
  if (current_ && current_->access_token == access_token) current_.reset();
}

std::optional<WallTime> TokenCache::expiresAt() const {
  MutexLock lock(mu_);
  if (!current_) return std::nullopt;
  return current_->expiry_wall;
}

TokenHealth TokenCache::health() const {
  MutexLock lock(mu_);
  TokenHealth h = health_;
  if (current_) h.expires_at = current_->expiry_wall;
  return h;
}

}  // namespace mdfs::service
