#include "service/token_cache.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <utility>

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

// Clears the in-flight flag even if the fetch throws, so waiters are never stranded.
class InFlight {
 public:
  InFlight(std::mutex& mu, std::condition_variable& cv, bool& flag)
      : mu_(mu), cv_(cv), flag_(flag) {
    flag_ = true;
  }
  ~InFlight() {
    if (done_) return;
    {
      std::lock_guard lock(mu_);
      flag_ = false;
    }
    cv_.notify_all();
  }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
  void finish() {  // with mu_ held
    flag_ = false;
    done_ = true;
  }

 private:
  std::mutex& mu_;
  std::condition_variable& cv_;
  bool& flag_;
  bool done_ = false;
};

}  // namespace

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

Result<IssuedToken> TokenCache::get(Deadline deadline, const Fetch& fetch) {
  std::unique_lock lock(mu_);
  std::uint64_t arrived_at = generation_;
  for (;;) {
    // A fetch that finished while this caller waited answers for it too, good or bad...
    const bool fetched_meanwhile = generation_ != arrived_at;
    if (current_ && (clock_.steady() < current_->renewAt() || (fetched_meanwhile && usable()))) {
      return *current_;
    }
    if (fetched_meanwhile && last_error_) {
      // ...unless it only ran out of its own caller's time, and this caller has more.
      if (last_error_->errnum != ETIMEDOUT || remaining(deadline) < kWorthAnotherTry) {
        return *last_error_;
      }
      arrived_at = generation_;
    }
    if (!in_flight_) break;
    // Someone else is renewing: the old token serves while it lasts.
    if (usable()) return *current_;
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && in_flight_) {
      return outcomeError(Outcome::timed_out, "timed out waiting for the " + name_);
    }
  }
  InFlight flight(mu_, cv_, in_flight_);
  lock.unlock();
  Result<IssuedToken> fresh = fetch(deadline);
  lock.lock();
  flight.finish();
  ++generation_;
  if (fresh) {
    current_ = fresh.value();
    last_error_.reset();
  } else {
    last_error_ = fresh.error();
  }
  cv_.notify_all();
  if (!fresh && usable()) return *current_;  // renewal failed early: the old token still works
  return fresh;
}

void TokenCache::invalidate(std::string_view access_token) {
  std::lock_guard lock(mu_);
  if (current_ && current_->access_token == access_token) current_.reset();
}

std::optional<WallTime> TokenCache::expiresAt() const {
  std::lock_guard lock(mu_);
  if (!current_) return std::nullopt;
  return current_->expiry_wall;
}

}  // namespace mdfs::service
