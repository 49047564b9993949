// Identity and IAM tokens against the in-process emulator. Token time runs on a FakeClock
// shared by the emulator and the client, so lifetimes pass without waiting.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "emulator/emulator.h"
#include "service/http_transport.h"
#include "service/metadata_client.h"
#include "service/token_source.h"

namespace mdfs::service {
namespace {

using namespace std::chrono_literals;

constexpr const char* kInstance = "/metadata/v1/instance";
constexpr const char* kToken = "/identity/v1/token";
constexpr const char* kLegacyToken = "/instance_identity/v1/token";

class ServiceToken : public ::testing::Test {
 protected:
  void SetUp() override {
    emu::Options options;
    options.clock = &clock_;
    emu_ = std::make_unique<emu::Emulator>(options);
    Status started = emu_->start();
    ASSERT_TRUE(started.ok()) << started.error().describe();
    api_.endpoint = emu_->url();
    api_.retry.initial_backoff = 10ms;
    api_.retry.max_backoff = 50ms;
    api_.retry.max_retry_after = 2000ms;
    http_ = std::make_unique<HttpTransport>(TransportOptions{}, log_);
    tokens_ = std::make_unique<TokenSource>(api_, *http_, clock_, log_);
    client_ = std::make_unique<MetadataClient>(api_, *http_, *tokens_, log_);
  }

  void TearDown() override {
    if (emu_) emu_->stop();
  }

  Result<std::string> getInstance(Millis budget = 5s) {
    return client_->get(kInstance, "", deadlineIn(budget));
  }

  std::unique_ptr<IamTokenSource> iam(TrustedProfile profile = {}) {
    return std::make_unique<IamTokenSource>(api_, std::move(profile), *http_, *tokens_, clock_,
                                            log_);
  }

  std::uint64_t puts(const char* path = kToken) const { return emu_->requests("PUT", path); }

  FakeClock clock_;
  Logger log_{LogLevel::error, Logger::nullSink()};
  ApiConfig api_;
  std::unique_ptr<emu::Emulator> emu_;
  std::unique_ptr<HttpTransport> http_;
  std::unique_ptr<TokenSource> tokens_;
  std::unique_ptr<MetadataClient> client_;
};

TEST_F(ServiceToken, ManyGetsCostOneTokenRequest) {
  constexpr int kGets = 50;
  for (int i = 0; i < kGets; ++i)
    ASSERT_TRUE(getInstance().ok());
  EXPECT_EQ(puts(), 1U);
  EXPECT_EQ(tokens_->requestCount(), 1U);
  EXPECT_EQ(emu_->requests("GET", kInstance), static_cast<std::uint64_t>(kGets));
  ASSERT_TRUE(tokens_->expiresAt().has_value());
  EXPECT_EQ(*tokens_->expiresAt(), clock_.wall() + Seconds(api_.token_ttl_s));
}

TEST_F(ServiceToken, RequestsTheConfiguredLifetime) {
  api_.token_ttl_s = 900;
  auto token = tokens_->token(deadlineIn(5s));
  ASSERT_TRUE(token.ok()) << token.error().describe();
  EXPECT_EQ(token->expires_in, 900);
  EXPECT_EQ(token->public_json.find("access_token"), std::string::npos);
  EXPECT_NE(token->public_json.find("\"expires_in\":900"), std::string::npos);
}

TEST_F(ServiceToken, RenewedAheadOfExpiry) {
  ASSERT_TRUE(getInstance().ok());
  const std::string first = tokens_->token(deadlineIn(5s))->access_token;
  clock_.advance(239s);  // 300 s token: due at 240 s
  ASSERT_TRUE(getInstance().ok());
  EXPECT_EQ(puts(), 1U);
  clock_.advance(1s);
  ASSERT_TRUE(getInstance().ok());
  EXPECT_EQ(puts(), 2U);
  EXPECT_NE(tokens_->token(deadlineIn(5s))->access_token, first);
  // Across several lifetimes, one request per lifetime.
  for (int i = 0; i < 5; ++i) {
    clock_.advance(240s);
    ASSERT_TRUE(getInstance().ok());
  }
  EXPECT_EQ(puts(), 7U);
  EXPECT_EQ(emu_->requests("GET", kInstance), 8U);  // never a 401 on the way
}

TEST_F(ServiceToken, CappedLifetimeIsHonoured) {
  emu_->setTokenLifetimes(30s, 3600s);
  ASSERT_TRUE(getInstance().ok());
  EXPECT_EQ(tokens_->token(deadlineIn(5s))->expires_in, 30);
  clock_.advance(19s);
  ASSERT_TRUE(getInstance().ok());
  EXPECT_EQ(puts(), 1U);
  clock_.advance(1s);  // 10 s left
  ASSERT_TRUE(getInstance().ok());
  EXPECT_EQ(puts(), 2U);
}

TEST_F(ServiceToken, ExpiredTokenIsReacquiredOnceAfter401) {
  ASSERT_TRUE(getInstance().ok());
  emu_->expireAllTokens();
  FetchStats stats;
  auto body = client_->get(kInstance, "", deadlineIn(5s), &stats);
  ASSERT_TRUE(body.ok()) << body.error().describe();
  EXPECT_EQ(puts(), 2U);
  EXPECT_EQ(emu_->requests("GET", kInstance), 3U);  // ok, 401, ok
  EXPECT_EQ(stats.attempts, 2);
  EXPECT_EQ(stats.retries, 1);
}

TEST_F(ServiceToken, Persistent401IsEacces) {
  emu::Fault fault;
  fault.kind = emu::Fault::Kind::status;
  fault.path = kInstance;
  fault.status = 401;
  emu_->addFault(fault);
  auto body = getInstance();
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().errnum, EACCES);
  EXPECT_EQ(body.error().level, LogLevel::error);
  EXPECT_EQ(body.error().http_status, 401);
  EXPECT_FALSE(body.error().trace.empty());
  EXPECT_EQ(puts(), 2U);                            // the first and one re-acquire
  EXPECT_EQ(emu_->requests("GET", kInstance), 2U);  // no more
}

TEST_F(ServiceToken, ForbiddenIsEaccesWithTrace) {
  emu::Fault fault;
  fault.kind = emu::Fault::Kind::status;
  fault.path = kInstance;
  fault.status = 403;
  emu_->addFault(fault);
  auto body = getInstance();
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().errnum, EACCES);
  EXPECT_EQ(body.error().http_status, 403);
  EXPECT_FALSE(body.error().trace.empty());
  EXPECT_EQ(emu_->requests("GET", kInstance), 1U);  // a 403 is final
}

TEST_F(ServiceToken, ConcurrentCallersWithoutTokenShareOneRequest) {
  emu::Fault slow;
  slow.kind = emu::Fault::Kind::latency;
  slow.path = kToken;
  slow.latency = 200ms;
  emu_->addFault(slow);
  constexpr int kCallers = 16;
  std::atomic<int> ok{0};
  std::vector<std::thread> callers;
  callers.reserve(kCallers);
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&] {
      if (getInstance().ok()) ++ok;
    });
  }
  for (auto& t : callers)
    t.join();
  EXPECT_EQ(ok, kCallers);
  EXPECT_EQ(puts(), 1U);
  EXPECT_EQ(tokens_->requestCount(), 1U);
  EXPECT_EQ(emu_->requests("GET", kInstance), static_cast<std::uint64_t>(kCallers));
}

TEST_F(ServiceToken, LegacyVersionUsesLegacyPaths) {
  api_.version = "2024-11-12";
  ASSERT_TRUE(getInstance().ok());
  auto iam_token = iam()->token(deadlineIn(5s));
  ASSERT_TRUE(iam_token.ok()) << iam_token.error().describe();
  EXPECT_EQ(puts(kLegacyToken), 1U);
  EXPECT_EQ(emu_->requests("POST", "/instance_identity/v1/iam_token"), 1U);
  EXPECT_EQ(puts(kToken), 0U);
  EXPECT_EQ(emu_->requests("POST", "/identity/v1/iam_tokens"), 0U);
}

TEST_F(ServiceToken, CurrentVersionNeverCallsLegacyPaths) {
  api_.version = "2025-08-26";
  ASSERT_TRUE(getInstance().ok());
  auto iam_token = iam()->token(deadlineIn(5s));
  ASSERT_TRUE(iam_token.ok()) << iam_token.error().describe();
  emu_->expireAllTokens();
  ASSERT_TRUE(getInstance().ok());
  EXPECT_EQ(puts(kToken), 2U);
  EXPECT_EQ(emu_->requests("POST", "/identity/v1/iam_tokens"), 1U);
  EXPECT_EQ(puts(kLegacyToken), 0U);
  EXPECT_EQ(emu_->requests("POST", "/instance_identity/v1/iam_token"), 0U);
}

TEST_F(ServiceToken, TokenEndpoint400IsNotRetried) {
  emu::Fault fault;
  fault.kind = emu::Fault::Kind::status;
  fault.method = "PUT";
  fault.path = kToken;
  fault.status = 400;
  emu_->addFault(fault);
  const auto start = std::chrono::steady_clock::now();
  auto body = getInstance();
  ASSERT_FALSE(body.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(body.error().errnum, EIO);
  EXPECT_EQ(body.error().level, LogLevel::debug);  // logged once by the token source
  EXPECT_EQ(body.error().http_status, 400);
  EXPECT_FALSE(body.error().code.empty());
  EXPECT_FALSE(body.error().trace.empty());
  EXPECT_NE(body.error().message.find(kToken), std::string::npos);
  EXPECT_EQ(puts(), 1U);
  EXPECT_EQ(emu_->requests("GET", kInstance), 0U);
}

TEST_F(ServiceToken, InvalidTtlIsReportedWithIbmCode) {
  api_.token_ttl_s = 7200;  // the service refuses: 400 invalid_value
  auto token = tokens_->token(deadlineIn(5s));
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().http_status, 400);
  EXPECT_EQ(token.error().code, "invalid_value");
  EXPECT_EQ(puts(), 1U);
}

TEST_F(ServiceToken, LegacyPathAtNewVersionIsAClearError) {
  // Simulates a service that only knows the legacy family at this version: the token
  // endpoint 404 must not read as "endpoint absent" (ENOENT).
  emu::Fault fault;
  fault.kind = emu::Fault::Kind::status;
  fault.method = "PUT";
  fault.path = kToken;
  fault.status = 404;
  emu_->addFault(fault);
  auto body = getInstance();
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().errnum, EIO);
  EXPECT_NE(body.error().message.find("api_version=2025-08-26"), std::string::npos);
  EXPECT_NE(body.error().message.find("token endpoint not found"), std::string::npos);
}

TEST_F(ServiceToken, TokenEndpoint5xxAnd429AreRetried) {
  emu::Fault fault;
  fault.kind = emu::Fault::Kind::status;
  fault.method = "PUT";
  fault.path = kToken;
  fault.status = 503;
  fault.count = 2;
  emu_->addFault(fault);
  fault.status = 429;
  fault.retry_after_s = 0;
  fault.count = 1;
  emu_->addFault(fault);
  ASSERT_TRUE(getInstance().ok());
  EXPECT_EQ(puts(), 4U);
  EXPECT_EQ(tokens_->requestCount(), 4U);
}

TEST_F(ServiceToken, TokenEndpointUnreachableStopsAtDeadline) {
  emu_->setServiceEnabled(false);
  const auto start = std::chrono::steady_clock::now();
  auto token = tokens_->token(deadlineIn(800ms));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(token.ok());
  EXPECT_TRUE(token.error().errnum == EIO || token.error().errnum == ETIMEDOUT);
  EXPECT_LT(elapsed, 800ms + 300ms);
  EXPECT_GE(tokens_->requestCount(), 2U);  // it did retry
}

TEST_F(ServiceToken, IamTokenForDefaultProfileIsCached) {
  auto source = iam();
  auto first = source->token(deadlineIn(5s));
  ASSERT_TRUE(first.ok()) << first.error().describe();
  EXPECT_TRUE(emu_->iamTokenValid(first->access_token));
  EXPECT_EQ(first->public_json.find("access_token"), std::string::npos);
  EXPECT_NE(first->public_json.find("expires_in"), std::string::npos);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(source->token(deadlineIn(5s))->access_token, first->access_token);
  }
  EXPECT_EQ(source->requestCount(), 1U);
  EXPECT_EQ(emu_->requests("POST", "/identity/v1/iam_tokens"), 1U);
  ASSERT_TRUE(source->expiresAt().has_value());
  EXPECT_EQ(*source->expiresAt(), clock_.wall() + Seconds(first->expires_in));
}

TEST_F(ServiceToken, IamTokenRenewedAheadOfExpiry) {
  emu_->setTokenLifetimes(0s, 100s);
  auto source = iam();
  ASSERT_TRUE(source->token(deadlineIn(5s)).ok());
  clock_.advance(79s);
  ASSERT_TRUE(source->token(deadlineIn(5s)).ok());
  EXPECT_EQ(source->requestCount(), 1U);
  clock_.advance(1s);
  auto renewed = source->token(deadlineIn(5s));
  ASSERT_TRUE(renewed.ok()) << renewed.error().describe();
  EXPECT_EQ(source->requestCount(), 2U);
  EXPECT_TRUE(emu_->iamTokenValid(renewed->access_token));
}

TEST_F(ServiceToken, IamTokenByIdAndByCrn) {
  const std::string id = "Profile-8dd84246-7df4-4667-94e4-8cede51d5ac5";
  const std::string crn =
      "crn:v1:bluemix:public:iam-identity::a/8e2a1f04c6b34d9c9b5e7a3d0f12c4e6::profile:" + id;
  auto by_id = iam({TrustedProfile::By::id, id})->token(deadlineIn(5s));
  ASSERT_TRUE(by_id.ok()) << by_id.error().describe();
  auto by_crn = iam({TrustedProfile::By::crn, crn})->token(deadlineIn(5s));
  ASSERT_TRUE(by_crn.ok()) << by_crn.error().describe();
  EXPECT_TRUE(emu_->iamTokenValid(by_id->access_token));
  EXPECT_TRUE(emu_->iamTokenValid(by_crn->access_token));
  EXPECT_EQ(puts(), 1U);  // both exchanges used the one identity token
}

TEST_F(ServiceToken, IamTokenForUnlinkedProfileIsEacces) {
  auto token = iam({TrustedProfile::By::id, "Profile-not-linked"})->token(deadlineIn(5s));
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().errnum, EACCES);
  EXPECT_EQ(token.error().level, LogLevel::error);
  EXPECT_EQ(token.error().code, "profile_not_linked");
  EXPECT_FALSE(token.error().trace.empty());
  EXPECT_EQ(emu_->requests("POST", "/identity/v1/iam_tokens"), 1U);
}

TEST_F(ServiceToken, IamTokenWithoutDefaultProfileIsEnoent) {
  ASSERT_TRUE(emu_->deleteData("/initialization/default_trusted_profile").ok());
  auto token = iam()->token(deadlineIn(5s));
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().errnum, ENOENT);
  EXPECT_EQ(token.error().level, LogLevel::warning);
  EXPECT_EQ(token.error().code, "missing_field");
}

TEST_F(ServiceToken, IamExchangeReacquiresARefusedIdentityToken) {
  ASSERT_TRUE(tokens_->token(deadlineIn(5s)).ok());
  emu_->expireAllTokens();
  auto token = iam()->token(deadlineIn(5s));
  ASSERT_TRUE(token.ok()) << token.error().describe();
  EXPECT_EQ(puts(), 2U);
  EXPECT_EQ(emu_->requests("POST", "/identity/v1/iam_tokens"), 2U);
}

}  // namespace
}  // namespace mdfs::service
