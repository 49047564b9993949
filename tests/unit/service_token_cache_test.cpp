#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "service/token_cache.h"

namespace mdfs::service {
namespace {

using namespace std::chrono_literals;

IssuedToken tokenFor(const FakeClock& clock, std::string value, Seconds lifetime) {
  IssuedToken t;
  t.access_token = std::move(value);
  t.expires_in = static_cast<long>(lifetime.count());
  t.obtained = clock.steady();
  t.expiry = t.obtained + lifetime;
  t.expiry_wall = clock.wall() + lifetime;
  return t;
}

TEST(ServiceTokenCache, RenewAtFollowsTheRules) {
  FakeClock clock;
  auto renewAfter = [&](Seconds lifetime) {
    IssuedToken t = tokenFor(clock, "x", lifetime);
    return std::chrono::duration_cast<Millis>(t.renewAt() - t.obtained);
  };
  EXPECT_EQ(renewAfter(300s), 240s);    // 80%
  EXPECT_EQ(renewAfter(3600s), 2880s);  // 80%
  EXPECT_EQ(renewAfter(40s), 30s);      // 10 s left comes before 80%
  EXPECT_EQ(renewAfter(30s), 20s);
  EXPECT_EQ(renewAfter(10s), 5s);  // never before half the lifetime
  EXPECT_EQ(renewAfter(5s), 2500ms);
}

TEST(ServiceTokenCache, ParsesTokenResponse) {
  FakeClock clock;
  auto parsed = parseIssuedToken(
      R"({"access_token":"eyJ.secret.sig","created_at":"2026-01-05T11:08:39.363Z",
          "expires_at":"2026-01-05T11:13:39.363Z","expires_in":300})",
      clock, "PUT u");
  ASSERT_TRUE(parsed.ok()) << parsed.error().describe();
  EXPECT_EQ(parsed->access_token, "eyJ.secret.sig");
  EXPECT_EQ(parsed->created_at, "2026-01-05T11:08:39.363Z");
  EXPECT_EQ(parsed->expires_at, "2026-01-05T11:13:39.363Z");
  EXPECT_EQ(parsed->expires_in, 300);
  EXPECT_EQ(parsed->obtained, clock.steady());
  EXPECT_EQ(parsed->expiry, clock.steady() + 300s);
  EXPECT_EQ(parsed->expiry_wall, clock.wall() + 300s);
  EXPECT_EQ(parsed->public_json,
            R"({"created_at":"2026-01-05T11:08:39.363Z","expires_at":"2026-01-05T11:13:39.363Z",)"
            R"("expires_in":300})");
}

TEST(ServiceTokenCache, MalformedTokenResponsesNeverQuoteTheBody) {
  FakeClock clock;
  for (const char* body : {"", "secret-token-text", R"({"access_token":"secret-token-text"})",
                           R"({"access_token":"secret-token-text","expires_in":0})",
                           R"({"access_token":"secret-token-text","expires_in":"300"})",
                           R"({"access_token":"","expires_in":300})",
                           R"({"access_token":7,"expires_in":300})", R"(["secret-token-text"])"}) {
    auto parsed = parseIssuedToken(body, clock, "PUT http://x/identity/v1/token");
    ASSERT_FALSE(parsed.ok()) << body;
    EXPECT_EQ(parsed.error().errnum, EIO);
    EXPECT_EQ(parsed.error().describe().find("secret-token-text"), std::string::npos);
    EXPECT_NE(parsed.error().message.find("PUT http://x/identity/v1/token"), std::string::npos);
  }
}

TEST(ServiceTokenCache, AbsurdLifetimeIsClamped) {
  FakeClock clock;
  auto parsed = parseIssuedToken(R"({"access_token":"t","expires_in":1e300})", clock, "u");
  ASSERT_TRUE(parsed.ok());
  EXPECT_GT(parsed->expiry, clock.steady());
}

class CountingFetch {
 public:
  explicit CountingFetch(FakeClock& clock, Seconds lifetime = 300s)
      : clock_(clock), lifetime_(lifetime) {}
  TokenCache::Fetch fetch() {
    return [this](Deadline) -> Result<IssuedToken> {
      const int n = ++calls_;
      if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
      if (fail_) return makeError(EIO, "token endpoint down", LogLevel::warning);
      return tokenFor(clock_, "token-" + std::to_string(n), lifetime_);
    };
  }
  [[nodiscard]] int calls() const { return calls_; }
  void setDelay(Millis d) { delay_ = d; }
  void setFailing(bool f) { fail_ = f; }

 private:
  FakeClock& clock_;
  Seconds lifetime_;
  std::atomic<int> calls_{0};
  Millis delay_{0};
  std::atomic<bool> fail_{false};
};

TEST(ServiceTokenCache, ReusesUntilRenewalIsDue) {
  FakeClock clock;
  TokenCache cache(clock, "identity token");
  CountingFetch fetch(clock);
  EXPECT_EQ(cache.expiresAt(), std::nullopt);
  for (int i = 0; i < 50; ++i) {
    auto t = cache.get(deadlineIn(1s), fetch.fetch());
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->access_token, "token-1");
  }
  EXPECT_EQ(fetch.calls(), 1);
  EXPECT_EQ(cache.expiresAt(), clock.wall() + 300s);
  clock.advance(239s);
  EXPECT_EQ(cache.get(deadlineIn(1s), fetch.fetch())->access_token, "token-1");
  clock.advance(1s);  // 80% of 300 s
  EXPECT_EQ(cache.get(deadlineIn(1s), fetch.fetch())->access_token, "token-2");
  EXPECT_EQ(fetch.calls(), 2);
}

TEST(ServiceTokenCache, ConcurrentCallersShareOneFetch) {
  FakeClock clock;
  TokenCache cache(clock, "identity token");
  CountingFetch fetch(clock);
  fetch.setDelay(100ms);
  std::vector<std::thread> threads;
  threads.reserve(16);
  std::atomic<int> ok{0};
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      auto t = cache.get(deadlineIn(5s), fetch.fetch());
      if (t.ok() && t->access_token == "token-1") ++ok;
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(ok, 16);
  EXPECT_EQ(fetch.calls(), 1);
}

TEST(ServiceTokenCache, ConcurrentCallersShareOneFailure) {
  FakeClock clock;
  TokenCache cache(clock, "identity token");
  CountingFetch fetch(clock);
  fetch.setDelay(100ms);
  fetch.setFailing(true);
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  threads.reserve(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (!cache.get(deadlineIn(5s), fetch.fetch()).ok()) ++failed;
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(failed, 8);
  // Callers that arrived during the failing fetch took its answer; late arrivals may try
  // once more, but never one fetch each.
  EXPECT_LE(fetch.calls(), 2);
}

TEST(ServiceTokenCache, FailedRenewalKeepsTheStillValidToken) {
  FakeClock clock;
  TokenCache cache(clock, "identity token");
  CountingFetch fetch(clock);
  ASSERT_TRUE(cache.get(deadlineIn(1s), fetch.fetch()).ok());
  clock.advance(250s);  // due for renewal, 50 s left
  fetch.setFailing(true);
  auto t = cache.get(deadlineIn(1s), fetch.fetch());
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->access_token, "token-1");
  clock.advance(50s);  // now expired: the failure shows
  EXPECT_FALSE(cache.get(deadlineIn(1s), fetch.fetch()).ok());
}

TEST(ServiceTokenCache, WaitersUseTheOldTokenWhileOneRenews) {
  FakeClock clock;
  TokenCache cache(clock, "identity token");
  CountingFetch fetch(clock);
  ASSERT_TRUE(cache.get(deadlineIn(1s), fetch.fetch()).ok());
  clock.advance(250s);
  fetch.setDelay(300ms);
  std::thread renewer(
      [&] { EXPECT_EQ(cache.get(deadlineIn(5s), fetch.fetch())->access_token, "token-2"); });
  std::this_thread::sleep_for(50ms);
  const auto start = std::chrono::steady_clock::now();
  auto t = cache.get(deadlineIn(5s), fetch.fetch());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 200ms);  // did not wait for the renewal
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->access_token, "token-1");
  renewer.join();
  EXPECT_EQ(fetch.calls(), 2);
}

TEST(ServiceTokenCache, WaiterWithMoreTimeRetriesAFetchThatTimedOut) {
  FakeClock clock;
  TokenCache cache(clock, "identity token");
  std::atomic<int> calls{0};
  // Takes 200 ms; a caller with less time gets a timeout, like a real request would.
  TokenCache::Fetch fetch = [&](Deadline deadline) -> Result<IssuedToken> {
    const int n = ++calls;
    if (remaining(deadline) < 200ms) {
      std::this_thread::sleep_for(remaining(deadline));
      return makeError(ETIMEDOUT, "no answer", LogLevel::warning);
    }
    std::this_thread::sleep_for(200ms);
    return tokenFor(clock, "token-" + std::to_string(n), 300s);
  };
  std::thread hurried([&] { EXPECT_FALSE(cache.get(deadlineIn(100ms), fetch).ok()); });
  std::this_thread::sleep_for(20ms);
  auto patient = cache.get(deadlineIn(3s), fetch);
  hurried.join();
  ASSERT_TRUE(patient.ok()) << patient.error().describe();
  EXPECT_EQ(patient->access_token, "token-2");
  EXPECT_EQ(calls, 2);
}

TEST(ServiceTokenCache, InvalidateDropsOnlyTheRefusedToken) {
  FakeClock clock;
  TokenCache cache(clock, "identity token");
  CountingFetch fetch(clock);
  ASSERT_TRUE(cache.get(deadlineIn(1s), fetch.fetch()).ok());
  cache.invalidate("some-older-token");
  EXPECT_EQ(cache.get(deadlineIn(1s), fetch.fetch())->access_token, "token-1");
  cache.invalidate("token-1");
  EXPECT_EQ(cache.expiresAt(), std::nullopt);
  EXPECT_EQ(cache.get(deadlineIn(1s), fetch.fetch())->access_token, "token-2");
}

TEST(ServiceTokenCache, WaiterGivesUpAtItsDeadline) {
  FakeClock clock;
  TokenCache cache(clock, "identity token");
  CountingFetch fetch(clock);
  fetch.setDelay(500ms);
  std::thread slow([&] { (void)cache.get(deadlineIn(5s), fetch.fetch()); });
  std::this_thread::sleep_for(50ms);
  const auto start = std::chrono::steady_clock::now();
  auto t = cache.get(deadlineIn(100ms), fetch.fetch());
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().errnum, ETIMEDOUT);
  EXPECT_LT(waited, 400ms);
  slow.join();
}

}  // namespace
}  // namespace mdfs::service
