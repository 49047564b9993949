// Issue 17: failures explain themselves. A failing token request is an error with a log
// line and a .status entry, never an absent tree; a silent service costs one timeout, not
// one per endpoint; .status says whether all is well; .metrics is valid Prometheus text.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "integration/mount_fixture.h"

namespace mdfs::itest {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

rapidjson::Document statusOf(const Mount& m) {
  rapidjson::Document doc;
  std::string text = readFile(m.at(".status"));
  doc.Parse(text.c_str(), text.size());
  EXPECT_TRUE(doc.IsObject()) << text;
  return doc;
}

bool healthy(const Mount& m) {
  auto doc = statusOf(m);
  return doc.IsObject() && doc.HasMember("healthy") && doc["healthy"].GetBool();
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

struct TokenFailure {
  const char* name;
  emu::Fault::Kind kind;
  int status;
  int expected_errno;
};

void PrintTo(const TokenFailure& f, std::ostream* os) {
  *os << f.name;
}

class TokenEndpoint : public ::testing::TestWithParam<TokenFailure> {
 protected:
  void SetUp() override { ASSERT_TRUE(emulator_.start().ok()); }
  emu::Emulator emulator_{emu::Options{}};
};

TEST_P(TokenEndpoint, FailureIsAnErrorWithALogLineAndAStatusEntryNeverAnAbsentTree) {
  const TokenFailure& f = GetParam();
  emu::Fault fault;
  fault.kind = f.kind;
  fault.status = f.status;
  fault.method = "PUT";
  fault.path = "/identity/v1/token";
  emulator_.addFault(fault);
  Mount m(emulator_, {"timeout=2"});
  int err = 0;
  readFile(m.at("instance/name"), &err);
  EXPECT_EQ(err, f.expected_errno) << std::strerror(err);
  auto ls = run("ls " + quote(m.path()));
  EXPECT_NE(ls.status, 0) << "a broken token path must not look like an empty tree";
  EXPECT_EQ(ls.err.find("No such file"), std::string::npos) << ls.err;

  const std::string log = m.log();
  const std::string url = emulator_.url() + "/identity/v1/token";
  EXPECT_NE(log.find(url), std::string::npos) << log;
  if (f.status != 0) {
    EXPECT_NE(log.find("HTTP " + std::to_string(f.status)), std::string::npos) << log;
  }
  EXPECT_EQ(log.find(": debug: "), std::string::npos) << "said at the default level";

  auto doc = statusOf(m);
  ASSERT_TRUE(doc.IsObject());
  EXPECT_FALSE(doc["healthy"].GetBool());
  const auto& token = doc["identity_token"];
  EXPECT_TRUE(token["failing"].GetBool());
  EXPECT_GE(token["failures"].GetUint64(), 1U);
  ASSERT_TRUE(token["last_error"].IsObject());
  if (f.status != 0) {
    EXPECT_EQ(token["last_error"]["http_status"].GetInt(), f.status);
  }
  EXPECT_STRNE(doc["endpoints"]["instance"]["state"].GetString(), "absent");
  emulator_.clearFaults();
}

INSTANTIATE_TEST_SUITE_P(
    Diagnostics, TokenEndpoint,
    ::testing::Values(TokenFailure{"404", emu::Fault::Kind::status, 404, EIO},
                      TokenFailure{"401", emu::Fault::Kind::status, 401, EACCES},
                      TokenFailure{"403", emu::Fault::Kind::status, 403, EACCES},
                      TokenFailure{"500", emu::Fault::Kind::status, 500, EIO},
                      TokenFailure{"hang", emu::Fault::Kind::hang, 0, ETIMEDOUT}),
    [](const auto& info) { return std::string("Token") + info.param.name; });

class Diagnostics : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(emulator_.start().ok()); }
  emu::Emulator emulator_{emu::Options{}};
};

// A silent service is known to be down after one timeout: later requests fail at once,
// and one recovery brings everything back.
TEST_F(Diagnostics, ASilentServiceCostsOneTimeoutNotOnePerEndpoint) {
  Mount m(emulator_, {"timeout=2"});
  emu::Fault hang;
  hang.kind = emu::Fault::Kind::hang;
  emulator_.addFault(hang);
  auto start = Clock::now();
  auto first = run("ls -l " + quote(m.path()));
  const auto first_took = Clock::now() - start;
  EXPECT_NE(first.status, 0);
  EXPECT_LT(first_took, 4s) << "the first listing waited more than about one timeout";
  start = Clock::now();
  auto second = run("ls -l " + quote(m.path()));
  EXPECT_LT(Clock::now() - start, 1s) << "the service is known to be down: no new wait";
  EXPECT_NE(second.status, 0);
  start = Clock::now();
  run("find " + quote(m.path()) + " -type f -exec cat {} +");
  EXPECT_LT(Clock::now() - start, 1s);
  EXPECT_NE(m.log().find("warning: the metadata service is not answering"), std::string::npos)
      << m.log();

  emulator_.clearFaults();
  std::string name;
  EXPECT_TRUE(waitFor([&] { return !(name = readFile(m.at("instance/name"))).empty(); }, 10s));
  EXPECT_EQ(name, "web-frontend-01\n");
  EXPECT_NE(m.log().find("info: the metadata service answers again after"), std::string::npos)
      << m.log();
  EXPECT_EQ(run("ls -l " + quote(m.path())).status, 0);
}

TEST_F(Diagnostics, StatusHealthyFlipsFalseDuringAnOutageAndBackAfterIt) {
  Mount m(emulator_, {"ttl=1", "timeout=1"});
  ASSERT_FALSE(readFile(m.at("instance/name")).empty());
  EXPECT_TRUE(healthy(m));
  emulator_.setServiceEnabled(false);
  std::this_thread::sleep_for(1200ms);
  EXPECT_FALSE(readFile(m.at("instance/name")).empty()) << "stale data is still served";
  EXPECT_TRUE(waitFor([&] { return !healthy(m); }, 5s));
  auto down = statusOf(m);
  EXPECT_FALSE(down["service"]["answering"].GetBool());
  EXPECT_TRUE(down["service"]["down_since"].IsString());
  emulator_.setServiceEnabled(true);
  EXPECT_TRUE(waitFor(
      [&] {
        (void)readFile(m.at("instance/name"));
        return healthy(m);
      },
      10s));
  auto up = statusOf(m);
  const auto& instance = up["endpoints"]["instance"];
  EXPECT_STREQ(instance["state"].GetString(), "fresh");
  EXPECT_TRUE(instance["last_error"].IsObject()) << "the last failure stays after recovery";
  EXPECT_GE(up["service"]["outages"].GetUint64(), 1U);
  const std::string log = m.log();
  EXPECT_NE(log.find("instance fetched again after"), std::string::npos) << log;
}

// Issue 10: a service that refuses the API version says so once; not a tree of errors.
TEST_F(Diagnostics, AnApiVersionTheServiceRefusesIsSaidOnce) {
  ASSERT_TRUE(emulator_.setNewestVersion("2025-01-01").ok());
  Mount m(emulator_, {"timeout=2"});
  auto ls = run("ls " + quote(m.path()));
  EXPECT_NE(ls.status, 0);
  EXPECT_NE(ls.err.find("Input/output error"), std::string::npos) << ls.err;
  for (const char* path : {"instance/name", "keys/by-name", "placement_groups.json"}) {
    int err = 0;
    readFile(m.at(path), &err);
    EXPECT_EQ(err, EIO) << path;
  }
  const std::string log = m.log();
  EXPECT_EQ(occurrences(log, "refuses api_version=2025-08-26"), 1U) << log;
  EXPECT_NE(log.find("invalid_version_range"), std::string::npos) << log;
}

// .metrics in Prometheus text format, checked by the reference client library's parser.
TEST_F(Diagnostics, MetricsAreValidPrometheusText) {
  Mount m(emulator_);
  ASSERT_FALSE(readFile(m.at("instance/name")).empty());
  ASSERT_FALSE(readFile(m.at("keys.json")).empty());
  struct stat st {};
  ASSERT_EQ(::stat(m.at(".metrics").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0444U);
  EXPECT_EQ(run("ls -a " + quote(m.path())).out.find(".metrics"), std::string::npos);
  const std::string script =
      "import sys\n"
      "from prometheus_client.parser import text_string_to_metric_families\n"
      "families = {f.name: f for f in text_string_to_metric_families(sys.stdin.read())}\n"
      "def value(name, **labels):\n"
      "    for f in families.values():\n"
      "        for s in f.samples:\n"
      "            if s.name in (name, name + '_total') and \\\n"
      "               all(s.labels.get(k) == v for k, v in labels.items()):\n"
      "                return s.value\n"
      "    raise SystemExit('no sample ' + name + str(labels))\n"
      "assert value('metadatafs_healthy') == 1\n"
      "assert value('metadatafs_service_up') == 1\n"
      "assert value('metadatafs_fetches', endpoint='instance') == 1\n"
      "assert value('metadatafs_http_requests', endpoint='keys') == 1\n"
      "assert value('metadatafs_token_requests', token='identity_token') == 1\n"
      "assert value('metadatafs_token_expiry_timestamp_seconds', token='identity_token') > 1e9\n"
      "assert families['metadatafs_fetch_duration_seconds'].type == 'histogram'\n"
      "assert value('metadatafs_fetch_duration_seconds_count') == 2\n"
      "print('ok', len(families))\n";
  const std::string py = "/tmp/mdfs-metrics-check-" + std::to_string(getpid()) + ".py";
  {
    FILE* f = std::fopen(py.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(script.c_str(), f);
    std::fclose(f);
  }
  // Debian's Python, which has the parser (python3-prometheus-client), whatever is on PATH.
  auto r = run("/usr/bin/python3 " + py + " < " + quote(m.at(".metrics")));
  std::remove(py.c_str());
  EXPECT_EQ(r.status, 0) << r.out << r.err << readFile(m.at(".metrics"));
  EXPECT_EQ(r.out.rfind("ok ", 0), 0U) << r.out;
}

}  // namespace
}  // namespace mdfs::itest
