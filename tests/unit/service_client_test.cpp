// MetadataClient and HttpTransport against the in-process emulator: retries, deadlines,
// broken answers, pagination, connection reuse, TLS, and what reaches the logs.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <rapidjson/document.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
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
using Clock = std::chrono::steady_clock;

constexpr const char* kInstance = "/metadata/v1/instance";
constexpr const char* kPlacementGroups = "/metadata/v1/placement_groups";
constexpr const char* kKeys = "/metadata/v1/keys";
// What a deadline may be overrun by: scheduling, and one last syscall returning.
constexpr Millis kDeadlineSlack{300};

Millis since(Clock::time_point start) {
  return std::chrono::duration_cast<Millis>(Clock::now() - start);
}

// Everything the logger was given, for searching.
class LogCapture {
 public:
  Logger::Sink sink() {
    return [this](LogLevel level, std::string_view line) {
      std::lock_guard lock(mu_);
      text_ += levelName(level);
      text_ += ": ";
      text_ += line;
      text_ += '\n';
      ++lines_;
    };
  }
  std::string text() const {
    std::lock_guard lock(mu_);
    return text_;
  }
  int lines() const {
    std::lock_guard lock(mu_);
    return lines_;
  }

 private:
  mutable std::mutex mu_;
  std::string text_;
  int lines_ = 0;
};

// A port on 127.0.0.1 where nothing listens.
int closedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  EXPECT_TRUE(bound);
  return ntohs(addr.sin_port);
}

emu::Fault statusFault(const char* path, int status, int count = -1, int retry_after_s = -1) {
  emu::Fault fault;
  fault.kind = emu::Fault::Kind::status;
  fault.method = "GET";
  fault.path = path;
  fault.status = status;
  fault.count = count;
  fault.retry_after_s = retry_after_s;
  return fault;
}

emu::Fault kindFault(emu::Fault::Kind kind, const char* path, int count = -1) {
  emu::Fault fault;
  fault.kind = kind;
  fault.method = "GET";
  fault.path = path;
  fault.count = count;
  return fault;
}

class ServiceClient : public ::testing::Test {
 protected:
  void SetUp() override { startEmulator(emu::Options{}); }

  void TearDown() override {
    client_.reset();
    tokens_.reset();
    http_.reset();
    if (emu_) emu_->stop();
  }

  void startEmulator(emu::Options options) {
    if (emu_) emu_->stop();
    emu_ = std::make_unique<emu::Emulator>(std::move(options));
    Status started = emu_->start();
    ASSERT_TRUE(started.ok()) << started.error().describe();
    api_.endpoint = emu_->url();
    api_.retry.initial_backoff = 20ms;
    api_.retry.max_backoff = 100ms;
    api_.retry.max_retry_after = 3000ms;
    connect(TransportOptions{});
  }

  // (Re)builds the client stack with these transport options.
  void connect(TransportOptions options) {
    client_.reset();
    tokens_.reset();
    http_ = std::make_unique<HttpTransport>(std::move(options), log_);
    tokens_ = std::make_unique<TokenSource>(api_, *http_, clock_, log_);
    client_ = std::make_unique<MetadataClient>(api_, *http_, *tokens_, log_);
  }

  Result<std::string> get(const char* path, const char* list_key = "", Millis budget = 5s,
                          FetchStats* stats = nullptr) {
    return client_->get(path, list_key, deadlineIn(budget), stats);
  }

  // The emulator's raw answer, fetched without the client's merging.
  std::string rawGet(const std::string& url) {
    auto token = tokens_->token(deadlineIn(5s));
    EXPECT_TRUE(token.ok());
    HttpRequest request;
    request.url = url;
    request.headers = {"Authorization: Bearer " + token->access_token};
    HttpResult result = http_->perform(request, deadlineIn(5s));
    EXPECT_TRUE(std::holds_alternative<HttpResponse>(result));
    return std::get<HttpResponse>(result).body;
  }

  std::uint64_t getCount(const char* path) const { return emu_->requests("GET", path); }

  SystemClock clock_;
  LogCapture capture_;
  Logger log_{LogLevel::warning, capture_.sink()};
  ApiConfig api_;
  std::unique_ptr<emu::Emulator> emu_;
  std::unique_ptr<HttpTransport> http_;
  std::unique_ptr<TokenSource> tokens_;
  std::unique_ptr<MetadataClient> client_;
};

// --- retries -------------------------------------------------------------------------

TEST_F(ServiceClient, ServerErrorsThenSuccess) {
  emu_->addFault(statusFault(kInstance, 500, 1));
  emu_->addFault(statusFault(kInstance, 503, 1));
  FetchStats stats;
  auto body = get(kInstance, "", 5s, &stats);
  ASSERT_TRUE(body.ok()) << body.error().describe();
  EXPECT_EQ(getCount(kInstance), 3U);
  EXPECT_EQ(stats.attempts, 3);
  EXPECT_EQ(stats.retries, 2);
  EXPECT_EQ(stats.pages, 1);
}

TEST_F(ServiceClient, ThrottledHonoursRetryAfter) {
  emu_->addFault(statusFault(kInstance, 429, 1, 1));
  const auto start = Clock::now();
  auto body = get(kInstance);
  ASSERT_TRUE(body.ok()) << body.error().describe();
  EXPECT_GE(since(start), 1000ms);
  EXPECT_EQ(getCount(kInstance), 2U);
}

TEST_F(ServiceClient, RetryAfterBeyondTheDeadlineStopsAtOnce) {
  emu_->addFault(statusFault(kInstance, 503, -1, 30));
  const auto start = Clock::now();
  auto body = get(kInstance, "", 2s);
  ASSERT_FALSE(body.ok());
  EXPECT_LT(since(start), 1000ms);
  EXPECT_EQ(body.error().errnum, EIO);
  EXPECT_EQ(body.error().level, LogLevel::warning);
  EXPECT_EQ(body.error().http_status, 503);
  EXPECT_EQ(getCount(kInstance), 1U);
}

TEST_F(ServiceClient, PersistentFailureStopsAtTheDeadline) {
  api_.retry.max_attempts = 1000;  // only the deadline ends this
  emu_->addFault(statusFault(kInstance, 500));
  const Millis budget = 1500ms;
  const auto start = Clock::now();
  auto body = get(kInstance, "", budget);
  const Millis elapsed = since(start);
  ASSERT_FALSE(body.ok());
  EXPECT_LE(elapsed, budget + kDeadlineSlack);
  EXPECT_GE(elapsed, budget - 200ms);  // it kept trying while there was time
  EXPECT_EQ(body.error().errnum, EIO);
  EXPECT_EQ(body.error().level, LogLevel::warning);
  EXPECT_EQ(body.error().http_status, 500);
  EXPECT_FALSE(body.error().trace.empty());
  EXPECT_GT(getCount(kInstance), 5U);
}

// A machine slow enough that the last retry outlives the deadline still reports the
// service's answer, not the timeout of that cut-short retry.
TEST_F(ServiceClient, RetryCutShortByTheDeadlineReportsTheLastAnswer) {
  ASSERT_TRUE(tokens_->token(deadlineIn(5s)).ok());
  emu_->addFault(statusFault(kInstance, 500, 2));
  emu_->addFault(kindFault(emu::Fault::Kind::hang, kInstance));
  auto body = get(kInstance, "", 1500ms);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().errnum, EIO);
  EXPECT_EQ(body.error().http_status, 500);
  EXPECT_FALSE(body.error().trace.empty());
  EXPECT_EQ(getCount(kInstance), 3U);
  emu_->clearFaults();
}

TEST_F(ServiceClient, AttemptsAreCapped) {
  api_.retry.max_attempts = 3;
  emu_->addFault(statusFault(kInstance, 502));
  auto body = get(kInstance);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(getCount(kInstance), 3U);
}

TEST_F(ServiceClient, ClientErrorsAreNotRetried) {
  emu_->addFault(statusFault(kInstance, 400));
  auto body = get(kInstance);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().errnum, EIO);
  EXPECT_EQ(body.error().level, LogLevel::error);
  EXPECT_EQ(getCount(kInstance), 1U);
}

TEST_F(ServiceClient, NotFoundIsEnoent) {
  auto body = get("/metadata/v1/keys/r006-no-such-key");
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().errnum, ENOENT);
  EXPECT_EQ(body.error().level, LogLevel::debug);
  EXPECT_EQ(body.error().http_status, 404);
  EXPECT_EQ(body.error().code, "not_found");
  EXPECT_FALSE(body.error().trace.empty());
  EXPECT_NE(body.error().message.find("/metadata/v1/keys/r006-no-such-key"), std::string::npos);
  // An endpoint newer than the API version is absent too.
  auto newer = get("/metadata/v1/instance/software_attachments", "software_attachments");
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.error().errnum, ENOENT);
}

// --- transport failures --------------------------------------------------------------

TEST_F(ServiceClient, ConnectionRefused) {
  api_.endpoint = "http://127.0.0.1:" + std::to_string(closedPort());
  const auto start = Clock::now();
  auto body = get(kInstance, "", 1s);
  ASSERT_FALSE(body.ok());
  EXPECT_LE(since(start), 1s + kDeadlineSlack);
  EXPECT_EQ(body.error().errnum, EIO);
  // The token request failed first: its source logged it, once, and hands it on quietly.
  EXPECT_EQ(body.error().level, LogLevel::debug);
  EXPECT_EQ(capture_.lines(), 1);
  EXPECT_EQ(capture_.text().rfind("warning: ", 0), 0U) << capture_.text();
  EXPECT_EQ(body.error().http_status, 0);
  EXPECT_NE(body.error().message.find(api_.endpoint), std::string::npos);
  EXPECT_GE(tokens_->requestCount(), 2U);  // connection failures are retried
}

TEST_F(ServiceClient, DisabledServiceFailsWithinTheDeadline) {
  ASSERT_TRUE(get(kInstance).ok());  // an open keep-alive connection, reset on disable
  emu_->setServiceEnabled(false);
  const auto start = Clock::now();
  auto body = get(kInstance, "", 1s);
  ASSERT_FALSE(body.ok());
  EXPECT_LE(since(start), 1s + kDeadlineSlack);
  EXPECT_TRUE(body.error().errnum == EIO || body.error().errnum == ETIMEDOUT);
  emu_->setServiceEnabled(true);
  EXPECT_TRUE(get(kInstance).ok());
}

TEST_F(ServiceClient, AcceptAndNeverAnswerIsBoundedByTheTimeout) {
  TransportOptions options;
  options.attempt_timeout = 300ms;
  connect(options);
  ASSERT_TRUE(tokens_->token(deadlineIn(5s)).ok());
  emu_->addFault(kindFault(emu::Fault::Kind::hang, kInstance));
  const Millis budget = 1000ms;
  const auto start = Clock::now();
  auto body = get(kInstance, "", budget);
  const Millis elapsed = since(start);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().errnum, ETIMEDOUT);
  EXPECT_EQ(body.error().level, LogLevel::warning);
  EXPECT_LE(elapsed, budget + kDeadlineSlack);
  EXPECT_GE(getCount(kInstance), 2U);  // a timed-out attempt is retried while time remains
  emu_->clearFaults();
}

TEST_F(ServiceClient, HangLongerThanTheDeadlineEndsAtTheDeadline) {
  ASSERT_TRUE(tokens_->token(deadlineIn(5s)).ok());
  emu_->addFault(kindFault(emu::Fault::Kind::hang, kInstance));
  const auto start = Clock::now();
  auto body = get(kInstance, "", 400ms);  // attempt timeout (5 s) > deadline
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().errnum, ETIMEDOUT);
  EXPECT_LE(since(start), 400ms + kDeadlineSlack);
  EXPECT_EQ(getCount(kInstance), 1U);
  emu_->clearFaults();
}

TEST_F(ServiceClient, DeadlineAlreadyPassed) {
  const auto start = Clock::now();
  auto body = client_->get(kInstance, "", Clock::now() - 1ms);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().errnum, ETIMEDOUT);
  EXPECT_LT(since(start), 100ms);
  EXPECT_EQ(emu_->totalRequests(), 0U);
}

TEST_F(ServiceClient, TruncatedBodyIsAnError) {
  api_.retry.max_attempts = 3;
  emu_->addFault(kindFault(emu::Fault::Kind::truncate, kInstance));
  const auto start = Clock::now();
  auto body = get(kInstance, "", 3s);
  ASSERT_FALSE(body.ok());
  EXPECT_LT(since(start), 1s);
  EXPECT_EQ(body.error().errnum, EIO);
  EXPECT_EQ(body.error().level, LogLevel::warning);
  EXPECT_EQ(getCount(kInstance), 3U);  // a cut-off answer is a connection failure: retried
  emu_->clearFaults();
  EXPECT_TRUE(get(kInstance).ok());  // the pool recovers
}

TEST_F(ServiceClient, TruncatedOnceThenComplete) {
  emu_->addFault(kindFault(emu::Fault::Kind::truncate, kInstance, 1));
  auto body = get(kInstance);
  ASSERT_TRUE(body.ok()) << body.error().describe();
  rapidjson::Document doc;
  doc.Parse(body->c_str());
  EXPECT_TRUE(doc.IsObject());
  EXPECT_EQ(getCount(kInstance), 2U);
}

TEST_F(ServiceClient, ResetConnectionIsRetried) {
  emu_->addFault(kindFault(emu::Fault::Kind::reset, kInstance, 2));
  auto body = get(kInstance);
  ASSERT_TRUE(body.ok()) << body.error().describe();
  EXPECT_EQ(getCount(kInstance), 3U);
}

TEST_F(ServiceClient, MalformedBodies) {
  emu_->addFault(kindFault(emu::Fault::Kind::malformed, "*"));
  // A single resource comes back as bytes: parsing it is the caller's job.
  auto single = get(kInstance);
  ASSERT_TRUE(single.ok());
  // A collection must parse (to look for `next`).
  auto list = get(kPlacementGroups, "placement_groups");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.error().errnum, EIO);
  EXPECT_EQ(list.error().level, LogLevel::error);
  EXPECT_NE(list.error().message.find(kPlacementGroups), std::string::npos);
  EXPECT_EQ(getCount(kPlacementGroups), 1U);  // malformed is final
}

TEST_F(ServiceClient, OversizedBodyIsAnError) {
  emu::Fault fault = kindFault(emu::Fault::Kind::oversized, kInstance);
  fault.oversized_bytes = std::size_t{5} << 20;  // above the 4 MiB default cap
  emu_->addFault(fault);
  auto body = get(kInstance);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().errnum, EIO);
  EXPECT_EQ(body.error().level, LogLevel::error);
  EXPECT_NE(body.error().message.find("larger than"), std::string::npos);
  EXPECT_EQ(getCount(kInstance), 1U);  // not retried
  emu_->clearFaults();
  EXPECT_TRUE(get(kInstance).ok());
}

TEST_F(ServiceClient, ResponseCapIsConfigurable) {
  TransportOptions options;
  options.max_response_bytes = 3000;  // the instance document is larger, a key smaller
  connect(options);
  auto body = get(kInstance);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().errnum, EIO);
  auto small = get("/metadata/v1/keys/r006-0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f");
  EXPECT_TRUE(small.ok()) << small.error().describe();
}

// --- pagination ----------------------------------------------------------------------

std::vector<std::string> idsOf(const std::string& json, const char* list_key,
                               rapidjson::Document& doc) {
  doc.Parse(json.c_str());
  std::vector<std::string> ids;
  if (!doc.IsObject() || !doc.HasMember(list_key)) return ids;
  for (const auto& item : doc[list_key].GetArray())
    ids.emplace_back(item["id"].GetString());
  return ids;
}

TEST_F(ServiceClient, PaginationReturnsEveryItemInOrder) {
  // Six groups by default; add more so that the pages are uneven.
  for (int i = 0; i < 3; ++i) {
    const std::string item = R"({"id":"r006-extra-)" + std::to_string(i) + R"(","name":"extra-)" +
                             std::to_string(i) +
                             R"(","resource_type":"placement_group","strategy":"host_spread"})";
    ASSERT_TRUE(emu_->addData("/placement_groups", item).ok());
  }
  api_.page_limit = 2;
  FetchStats stats;
  auto body = get(kPlacementGroups, "placement_groups", 5s, &stats);
  ASSERT_TRUE(body.ok()) << body.error().describe();

  rapidjson::Document merged;
  const auto ids = idsOf(*body, "placement_groups", merged);
  ASSERT_TRUE(merged.HasMember("total_count"));
  EXPECT_EQ(ids.size(), merged["total_count"].GetUint64());
  EXPECT_EQ(ids.size(), 9U);
  EXPECT_FALSE(merged.HasMember("next"));
  rapidjson::Document scenario;
  scenario.Parse(emu_->scenarioJson().c_str());
  std::vector<std::string> expected;
  for (const auto& item : scenario["placement_groups"].GetArray()) {
    expected.emplace_back(item["id"].GetString());
  }
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(stats.pages, 5);
  EXPECT_EQ(getCount(kPlacementGroups), 5U);
}

TEST_F(ServiceClient, SinglePageCollectionIsReturnedByteForByte) {
  auto body = get(kPlacementGroups, "placement_groups");  // limit 100: one page
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, rawGet(api_.url(kPlacementGroups, "limit=100")));
  auto keys = get(kKeys, "keys");  // unpaginated keys
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, rawGet(api_.url(kKeys)));
}

TEST_F(ServiceClient, PaginatedKeysAreMerged) {
  emu_->setKeysPaginated(true);
  api_.page_limit = 1;
  auto body = get(kKeys, "keys");
  ASSERT_TRUE(body.ok()) << body.error().describe();
  rapidjson::Document doc;
  EXPECT_EQ(idsOf(*body, "keys", doc).size(), 2U);
  EXPECT_EQ(getCount(kKeys), 2U);
}

// --- connections ---------------------------------------------------------------------

TEST_F(ServiceClient, SequentialGetsReuseOneConnection) {
  emu_->resetCounters();
  constexpr int kGets = 100;
  for (int i = 0; i < kGets; ++i)
    ASSERT_TRUE(get(kInstance).ok());
  EXPECT_EQ(getCount(kInstance), static_cast<std::uint64_t>(kGets));
  EXPECT_EQ(emu_->requests("PUT", "/identity/v1/token"), 1U);
  EXPECT_EQ(emu_->connectionsAccepted(), 1U);
  EXPECT_EQ(http_->connectionsOpened(), 1U);
}

TEST_F(ServiceClient, ConcurrentGetsStayWithinThePool) {
  TransportOptions options;
  options.pool_size = 4;
  connect(options);
  constexpr int kThreads = 8;
  constexpr int kEach = 15;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        if (get(i % 2 == 0 ? kInstance : kKeys, i % 2 == 0 ? "" : "keys").ok()) ++ok;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(ok, kThreads * kEach);
  RecordProperty("connections", static_cast<int>(emu_->connectionsAccepted()));
  EXPECT_EQ(emu_->requests("PUT", "/identity/v1/token"), 1U);
  EXPECT_LE(emu_->connectionsAccepted(), 4U);
  EXPECT_LE(http_->connectionsOpened(), 4U);
}

TEST_F(ServiceClient, BusyPoolWaitsOnlyUntilTheDeadline) {
  TransportOptions options;
  options.pool_size = 1;
  connect(options);
  ASSERT_TRUE(tokens_->token(deadlineIn(5s)).ok());
  emu_->addFault(kindFault(emu::Fault::Kind::hang, kInstance));
  std::thread holder([&] { (void)get(kInstance, "", 1500ms); });
  std::this_thread::sleep_for(200ms);
  const auto start = Clock::now();
  auto keys = get(kKeys, "keys", 300ms);
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.error().errnum, ETIMEDOUT);
  EXPECT_LE(since(start), 300ms + kDeadlineSlack);
  emu_->clearFaults();
  holder.join();
}

TEST_F(ServiceClient, PinnedHostNameResolvesWithoutDns) {
  TransportOptions options;
  const std::string port = std::to_string(emu_->port());
  api_.endpoint = "http://api.metadata.cloud.ibm.com:" + port;
  options.resolve = {*resolveEntry(api_.endpoint, "127.0.0.1")};
  connect(options);
  auto body = get(kInstance);
  ASSERT_TRUE(body.ok()) << body.error().describe();
}

// --- TLS -----------------------------------------------------------------------------

class ServiceClientTls : public ServiceClient {
 protected:
  void SetUp() override {
    emu::Options options;
    options.https = true;
    startEmulator(options);
    api_.endpoint = "https://api.metadata.cloud.ibm.com:" + std::to_string(emu_->port());
  }
  TransportOptions pinned(bool with_ca) {
    TransportOptions options;
    options.resolve = {*resolveEntry(api_.endpoint, "127.0.0.1")};
    if (with_ca) options.cacert = emu_->caCertPath();
    return options;
  }
};

TEST_F(ServiceClientTls, VerifiedWithTheConfiguredCa) {
  connect(pinned(true));
  auto body = get(kInstance);
  ASSERT_TRUE(body.ok()) << body.error().describe();
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(get(kInstance).ok());
  EXPECT_EQ(emu_->connectionsAccepted(), 1U);
}

TEST_F(ServiceClientTls, UnverifiableCertificateIsAClearErrorNotAFallback) {
  connect(pinned(false));  // the system store does not know the emulator's CA
  const auto start = Clock::now();
  auto body = get(kInstance, "", 3s);
  ASSERT_FALSE(body.ok());
  EXPECT_LT(since(start), 1s);  // not retried
  EXPECT_EQ(body.error().errnum, EIO);
  EXPECT_EQ(body.error().level, LogLevel::debug);  // logged once by the token source
  EXPECT_NE(capture_.text().find("error: TLS certificate verification failed"), std::string::npos)
      << capture_.text();
  EXPECT_NE(body.error().message.find("TLS certificate verification failed for https://"),
            std::string::npos)
      << body.error().message;
  EXPECT_EQ(emu_->totalRequests(), 0U);
}

TEST_F(ServiceClientTls, WrongHostNameIsRefused) {
  api_.endpoint = "https://metadata.example.org:" + std::to_string(emu_->port());
  TransportOptions options;
  options.resolve = {*resolveEntry(api_.endpoint, "127.0.0.1")};
  options.cacert = emu_->caCertPath();
  connect(options);
  auto body = get(kInstance, "", 3s);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().errnum, EIO);
  EXPECT_NE(body.error().message.find("TLS certificate verification failed"), std::string::npos)
      << body.error().message;
  EXPECT_EQ(emu_->totalRequests(), 0U);
}

// --- secrets -------------------------------------------------------------------------

TEST_F(ServiceClient, DebugLoggingHasNoWireTraceUnlessAskedFor) {
  log_ = Logger(LogLevel::debug, capture_.sink());
  connect(TransportOptions{});
  ASSERT_TRUE(get(kInstance).ok());
  EXPECT_EQ(capture_.text().find("curl: "), std::string::npos) << capture_.text();
  TransportOptions traced;
  traced.wire_trace = true;
  connect(traced);
  ASSERT_TRUE(get(kInstance).ok());
  EXPECT_NE(capture_.text().find("curl: > GET /metadata/v1/instance"), std::string::npos)
      << capture_.text();
}

TEST_F(ServiceClient, VerboseLogsHoldNoTokenNorUserData) {
  log_ = Logger(LogLevel::debug, capture_.sink());
  TransportOptions traced;
  traced.wire_trace = true;  // libcurl's trace: the most a log can show
  connect(traced);
  IamTokenSource iam(api_, {}, *http_, *tokens_, clock_, log_);

  // Exercise every path that carries a secret: token PUT, IAM POST, user data GET, a 401
  // re-acquire, an error answer, a retried failure.
  auto initialization = get("/metadata/v1/instance/initialization");
  ASSERT_TRUE(initialization.ok());
  auto iam_token = iam.token(deadlineIn(5s));
  ASSERT_TRUE(iam_token.ok()) << iam_token.error().describe();
  const std::string first_token = tokens_->token(deadlineIn(5s))->access_token;
  emu_->expireAllTokens();
  ASSERT_TRUE(get(kInstance).ok());
  const std::string second_token = tokens_->token(deadlineIn(5s))->access_token;
  emu_->addFault(statusFault(kInstance, 503, 1));
  ASSERT_TRUE(get(kInstance).ok());
  ASSERT_FALSE(get("/metadata/v1/keys/missing").ok());

  rapidjson::Document scenario;
  scenario.Parse(emu_->scenarioJson().c_str());
  const std::string user_data = scenario["initialization"]["user_data"].GetString();
  ASSERT_GT(user_data.size(), 20U);
  ASSERT_NE(initialization->find("user_data"), std::string::npos);

  const std::string logged = capture_.text();
  EXPECT_GT(capture_.lines(), 20);  // debug output was on
  EXPECT_NE(logged.find("GET /metadata/v1/instance/initialization"), std::string::npos);
  EXPECT_EQ(logged.find(first_token), std::string::npos);
  EXPECT_EQ(logged.find(second_token), std::string::npos);
  EXPECT_EQ(logged.find(iam_token->access_token), std::string::npos);
  // Neither the whole user data nor any line of it.
  EXPECT_EQ(logged.find(user_data), std::string::npos);
  std::size_t from = 0;
  while (from < user_data.size()) {
    const std::size_t eol = user_data.find('\n', from);
    const std::string line = user_data.substr(from, eol - from);
    if (line.size() >= 12) {
      EXPECT_EQ(logged.find(line), std::string::npos) << line;
    }
    from = eol == std::string::npos ? user_data.size() : eol + 1;
  }
  EXPECT_EQ(logged.find("Authorization"), std::string::npos);
  EXPECT_EQ(logged.find("Bearer"), std::string::npos);
  // JWTs start with a base64url '{"' header.
  EXPECT_EQ(logged.find("eyJ"), std::string::npos);
}

TEST_F(ServiceClient, ErrorsNameTheUrlButNoSecret) {
  emu_->addFault(statusFault(kInstance, 500));
  api_.retry.max_attempts = 2;
  auto body = get(kInstance);
  ASSERT_FALSE(body.ok());
  const std::string text = body.error().describe();
  EXPECT_NE(text.find(api_.url(kInstance)), std::string::npos) << text;
  EXPECT_EQ(text.find(tokens_->token(deadlineIn(5s))->access_token), std::string::npos);
}

}  // namespace
}  // namespace mdfs::service
