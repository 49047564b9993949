// <mount>/.status (issue 5): what an administrator reads after a successful fetch, a
// failing one and while stale data is served, without reading code or logs.
#include <dirent.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>
#include <regex>
#include <thread>

#include "integration/mount_fixture.h"

namespace mdfs::itest {
namespace {

using namespace std::chrono_literals;
using SysClock = std::chrono::system_clock;

// .status as a parsed document; a parse failure fails the test with the text.
rapidjson::Document readStatus(const Mount& m) {
  int err = 0;
  std::string text = readFile(m.at(".status"), &err);
  EXPECT_EQ(err, 0) << "reading .status";
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  EXPECT_FALSE(doc.HasParseError()) << text;
  EXPECT_TRUE(doc.IsObject()) << text;
  EXPECT_EQ(text.find("eyJ"), std::string::npos) << "a JWT in .status:\n" << text;
  return doc;
}

const rapidjson::Value& endpointOf(const rapidjson::Document& doc, const char* path) {
  static const rapidjson::Value kNull;
  if (!doc.IsObject() || !doc.HasMember("endpoints") || !doc["endpoints"].HasMember(path)) {
    ADD_FAILURE() << "no endpoints." << path << " in .status";
    return kNull;
  }
  return doc["endpoints"][path];
}

std::string str(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject() || !v.HasMember(key) || !v[key].IsString()) return "<not a string>";
  return v[key].GetString();
}

std::uint64_t count(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject() || !v.HasMember(key) || !v[key].IsUint64()) {
    ADD_FAILURE() << key << " is not a counter";
    return 0;
  }
  return v[key].GetUint64();
}

bool isNull(const rapidjson::Value& v, const char* key) {
  return v.IsObject() && v.HasMember(key) && v[key].IsNull();
}

// "2026-11-28T20:41:57.123Z" -> time point; nullopt when it is not that format.
std::optional<SysClock::time_point> parseTime(const std::string& text) {
  std::tm tm{};
  int ms = 0;
  char z = 0;
  if (std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d.%3d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &z) != 8 ||
      z != 'Z') {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return SysClock::from_time_t(timegm(&tm)) + std::chrono::milliseconds(ms);
}

SysClock::time_point timeOf(const rapidjson::Value& v, const char* key) {
  auto t = parseTime(str(v, key));
  EXPECT_TRUE(t.has_value()) << key << " = " << str(v, key);
  return t.value_or(SysClock::time_point{});
}

const std::regex kUuid("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

class OpsStatus : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(emulator_.start().ok()); }
  emu::Emulator emulator_{emu::Options{}};
};

TEST_F(OpsStatus, IsAReadOnlyFileLeftOutOfListingsButOpenByName) {
  Mount m(emulator_);
  struct stat st {};
  ASSERT_EQ(::stat(m.at(".status").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0444U);
  // Not even `ls -a` lists it, so find, tar and grep -r never read an ever-changing file.
  DIR* dir = opendir(m.path().c_str());
  ASSERT_NE(dir, nullptr);
  std::vector<std::string> names;
  while (dirent* e = readdir(dir))
    names.emplace_back(e->d_name);
  closedir(dir);
  EXPECT_FALSE(names.empty());
  EXPECT_EQ(std::find(names.begin(), names.end(), ".status"), names.end());
  auto ls = run("ls -a " + quote(m.path()), 20s);
  EXPECT_EQ(ls.status, 0) << ls.err;
  EXPECT_EQ(ls.out.find(".status"), std::string::npos);
  const auto requests = emulator_.totalRequests();
  auto cat = run("cat " + quote(m.at(".status")), 20s);
  EXPECT_NE(cat.out.find("\"endpoints\""), std::string::npos);
  EXPECT_EQ(emulator_.totalRequests(), requests) << "reading .status fetches nothing";
}

TEST_F(OpsStatus, AfterSuccessfulFetchesShowsTimesCountersAndTokenExpiry) {
  Mount m(emulator_, {"ttl=120", "ttl.keys=30", "token_ttl=600"});
  auto before = SysClock::now();
  ASSERT_FALSE(readFile(m.at("instance/name")).empty());
  ASSERT_FALSE(readFile(m.at("keys/by-name/ops-rsa/name")).empty());
  auto after = SysClock::now();
  auto doc = readStatus(m);

  ASSERT_TRUE(doc.HasMember("healthy") && doc["healthy"].IsBool());
  EXPECT_TRUE(doc["healthy"].GetBool());
  EXPECT_FALSE(str(doc, "version").empty());
  ASSERT_TRUE(doc.HasMember("pid") && doc["pid"].IsInt64());
  EXPECT_EQ(doc["pid"].GetInt64(), daemonPids(m.path()).at(0));
  EXPECT_EQ(str(doc, "mountpoint"), m.path());
  ASSERT_TRUE(doc.HasMember("options") && doc["options"].IsObject());
  const auto& options = doc["options"];
  EXPECT_EQ(str(options, "endpoint"), emulator_.url());
  EXPECT_EQ(str(options, "api_version"), "2025-08-26");
  EXPECT_EQ(options["ttl_s"].GetInt64(), 120);
  EXPECT_EQ(options["timeout_s"].GetInt64(), 10);
  EXPECT_EQ(options["max_stale_s"].GetInt64(), 3600);
  EXPECT_EQ(options["token_ttl_s"].GetInt(), 600);
  EXPECT_FALSE(options["identity"].GetBool());
  EXPECT_TRUE(isNull(options, "trusted_profile"));
  ASSERT_TRUE(doc.HasMember("service") && doc["service"].IsObject());
  EXPECT_TRUE(doc["service"]["answering"].GetBool());
  EXPECT_TRUE(isNull(doc["service"], "down_since"));
  auto last_success = timeOf(doc, "last_success");
  EXPECT_GE(last_success, before - 1s);
  EXPECT_LE(last_success, after + 1s);
  ASSERT_TRUE(doc.HasMember("uptime_s") && doc["uptime_s"].IsInt64());
  EXPECT_GE(doc["uptime_s"].GetInt64(), 0);
  EXPECT_LE(timeOf(doc, "started_at"), after);

  // The token's expiry, never the token: token_ttl=600 from the time it was requested.
  ASSERT_TRUE(doc.HasMember("identity_token"));
  const auto& token = doc["identity_token"];
  auto expires = timeOf(token, "expires_at");
  EXPECT_GE(expires, before + 600s - 5s);
  EXPECT_LE(expires, after + 600s + 5s);
  EXPECT_EQ(count(token, "requests"), 1U);
  EXPECT_EQ(count(token, "failures"), 0U);
  EXPECT_TRUE(isNull(token, "last_error"));

  for (auto [path, ttl] : {std::pair{"instance", 120}, std::pair{"keys", 30}}) {
    SCOPED_TRACE(path);
    const auto& e = endpointOf(doc, path);
    EXPECT_EQ(str(e, "state"), "fresh");
    ASSERT_TRUE(e.HasMember("ttl_s") && e["ttl_s"].IsInt64());
    EXPECT_EQ(e["ttl_s"].GetInt64(), ttl);
    auto fetched = timeOf(e, "last_fetch");
    EXPECT_GE(fetched, before - 1s);
    EXPECT_LE(fetched, after + 1s);
    auto lag = timeOf(e, "expires") - fetched;
    EXPECT_GE(lag, std::chrono::seconds(ttl) - 1s);
    EXPECT_LE(lag, std::chrono::seconds(ttl) + 1s);
    EXPECT_TRUE(isNull(e, "last_error"));
    EXPECT_EQ(count(e, "fetches"), 1U);
    EXPECT_EQ(count(e, "retries"), 0U);
    EXPECT_EQ(count(e, "failures"), 0U);
    EXPECT_EQ(count(e, "stale_serves"), 0U);
    EXPECT_EQ(count(e, "http_requests"), 1U);
    // json_bytes is the size of <name>.json; memory_bytes what the snapshot holds.
    struct stat raw {};
    ASSERT_EQ(::stat(m.at(std::string(path) + ".json").c_str(), &raw), 0);
    EXPECT_EQ(count(e, "json_bytes"), static_cast<std::uint64_t>(raw.st_size));
    EXPECT_GT(count(e, "memory_bytes"), count(e, "json_bytes"));
  }
  // Lazy: what nobody read was never fetched.
  const auto& untouched = endpointOf(doc, "placement_groups");
  EXPECT_EQ(str(untouched, "state"), "never fetched");
  EXPECT_TRUE(isNull(untouched, "last_fetch"));
  EXPECT_TRUE(isNull(untouched, "expires"));
  EXPECT_EQ(count(untouched, "fetches"), 0U);
}

TEST_F(OpsStatus, AfterAFailingFetchShowsTheErrorWithStatusCodeAndIbmTraceId) {
  emu::Fault f;
  f.kind = emu::Fault::Kind::status;
  f.status = 503;
  f.path = "/metadata/v1/keys";
  emulator_.addFault(f);
  // debug_http: the log then shows each response's X-Request-Id, to compare the trace with.
  Mount m(emulator_, {"timeout=2", "debug_http"});
  int err = 0;
  readFile(m.at("keys/by-name/ops-rsa/name"), &err);
  EXPECT_EQ(err, EIO);
  auto doc = readStatus(m);

  const auto& keys = endpointOf(doc, "keys");
  EXPECT_EQ(str(keys, "state"), "error");
  EXPECT_TRUE(isNull(keys, "last_fetch")) << "nothing good was ever fetched";
  EXPECT_GE(count(keys, "fetches"), 1U);
  EXPECT_GE(count(keys, "failures"), 1U);
  EXPECT_GE(count(keys, "retries"), 1U) << "503 is retried within the deadline";
  EXPECT_EQ(count(keys, "stale_serves"), 0U);
  ASSERT_TRUE(keys.HasMember("last_error") && keys["last_error"].IsObject());
  const auto& e = keys["last_error"];
  ASSERT_TRUE(e.HasMember("http_status") && e["http_status"].IsInt());
  EXPECT_EQ(e["http_status"].GetInt(), 503);
  EXPECT_EQ(str(e, "code"), "service_unavailable");
  EXPECT_NE(str(e, "message").find(emulator_.url() + "/metadata/v1/keys"), std::string::npos)
      << str(e, "message");
  EXPECT_FALSE(str(e, "errno").empty());
  timeOf(e, "at");
  const std::string trace = str(e, "trace");
  EXPECT_TRUE(std::regex_match(trace, kUuid)) << trace;
  // IBM's trace id is the response's X-Request-Id (and the body's "trace").
  std::string log = m.log();
  EXPECT_NE(log.find("X-Request-Id: " + trace), std::string::npos) << log;
  // The same failure in the log, with endpoint, status and trace.
  EXPECT_NE(log.find("/metadata/v1/keys"), std::string::npos);
  EXPECT_NE(log.find("HTTP 503, code service_unavailable, trace " + trace), std::string::npos)
      << log;

  // Other endpoints are untouched by one endpoint's failure.
  EXPECT_EQ(str(endpointOf(doc, "instance"), "state"), "never fetched");
  EXPECT_TRUE(isNull(endpointOf(doc, "instance"), "last_error"));
  emulator_.clearFaults();
}

TEST_F(OpsStatus, WhileServingStaleDataShowsStaleStateAndCountsStaleServes) {
  Mount m(emulator_, {"ttl=1", "max_stale=3600", "timeout=2"});
  const std::string name = readFile(m.at("instance/name"));
  ASSERT_FALSE(name.empty());
  const std::string fetched_at = str(endpointOf(readStatus(m), "instance"), "last_fetch");

  emulator_.setServiceEnabled(false);
  std::this_thread::sleep_for(1300ms);  // past the TTL
  int err = -1;
  EXPECT_EQ(readFile(m.at("instance/name"), &err), name) << "the last good copy is served";
  EXPECT_EQ(err, 0);
  auto doc = readStatus(m);
  const auto& e = endpointOf(doc, "instance");
  EXPECT_EQ(str(e, "state"), "stale");
  EXPECT_EQ(str(e, "last_fetch"), fetched_at) << "the copy served is the old fetch";
  EXPECT_GE(count(e, "stale_serves"), 1U);
  EXPECT_GE(count(e, "failures"), 1U);
  EXPECT_GE(count(e, "fetches"), 2U);
  ASSERT_TRUE(e.HasMember("last_error") && e["last_error"].IsObject());
  const auto& error = e["last_error"];
  EXPECT_TRUE(isNull(error, "http_status")) << "a refused connection has no HTTP status";
  EXPECT_NE(str(error, "message").find("/metadata/v1/instance"), std::string::npos)
      << str(error, "message");
  EXPECT_GT(timeOf(error, "at"), timeOf(e, "last_fetch"));
  // The log says so too.
  std::string log = m.log();
  EXPECT_NE(log.find("warning: serving the copy of instance"), std::string::npos) << log;

  emulator_.setServiceEnabled(true);
}

// Past max_stale the old copy is no longer served and reads fail, so .status must say
// "error": "stale" would tell the administrator the opposite of what readers see.
TEST_F(OpsStatus, PastMaxStaleTheStateIsErrorNotStale) {
  Mount m(emulator_, {"ttl=1", "max_stale=1", "timeout=1"});
  ASSERT_FALSE(readFile(m.at("instance/name")).empty());
  emulator_.setServiceEnabled(false);
  std::this_thread::sleep_for(2500ms);  // past ttl + max_stale
  int err = 0;
  readFile(m.at("instance/name"), &err);
  EXPECT_TRUE(err == EIO || err == ETIMEDOUT) << err;
  EXPECT_EQ(str(endpointOf(readStatus(m), "instance"), "state"), "error");
  emulator_.setServiceEnabled(true);
}

}  // namespace
}  // namespace mdfs::itest
