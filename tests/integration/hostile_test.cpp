// Issue 11 §1 through a real mount: whatever the service sends, every read ends within
// timeout= + 1 s with data or a documented errno, a failure is logged with its cause, no
// name or link leaves the mount, and the daemon keeps serving the other endpoints.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "integration/mount_fixture.h"

namespace mdfs::itest {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
using Kind = emu::Fault::Kind;

constexpr auto kBound = 3s;  // timeout=2, plus 1 s
constexpr const char* kInstance = "/metadata/v1/instance";

struct Outcome {
  std::string data;
  int err = 0;
  std::chrono::milliseconds took{0};
};

Outcome timedRead(const std::string& path) {
  const auto start = SteadyClock::now();
  Outcome o;
  o.data = readFile(path, &o.err);
  o.took = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start);
  return o;
}

std::vector<std::string> listDir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(name);
  }
  ::closedir(d);
  return out;
}

std::string jsonString(const std::string& bytes) {
  std::string out = "\"";
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

class Hostile : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(emulator_.start().ok()); }
  void TearDown() override { emulator_.clearFaults(); }

  static emu::Fault fault(Kind kind, const char* path = kInstance) {
    emu::Fault f;
    f.kind = kind;
    f.path = path;
    return f;
  }
  // The daemon is alive, mounted, and `rel` (another endpoint) reads with data.
  static void expectStillServing(const Mount& m, const std::string& rel) {
    EXPECT_EQ(::kill(m.pid(), 0), 0) << "the daemon died\n" << m.log();
    EXPECT_TRUE(isMounted(m.path()));
    const Outcome other = timedRead(m.at(rel));
    EXPECT_EQ(other.err, 0) << rel << ": " << std::strerror(other.err) << "\n" << m.log();
    EXPECT_FALSE(other.data.empty()) << rel;
    EXPECT_LT(other.took, kBound) << rel;
  }
  // A failed read: a documented errno within the bound, and a log line naming `cause`.
  static void expectFailure(const Mount& m, const Outcome& o, const std::string& cause) {
    EXPECT_TRUE(o.err == EIO || o.err == ETIMEDOUT || o.err == EACCES)
        << std::strerror(o.err) << " data: " << o.data.substr(0, 100);
    EXPECT_LT(o.took, kBound);
    EXPECT_TRUE(waitFor([&] { return m.log().find(cause) != std::string::npos; }, 2s))
        << "no log line naming " << cause << "\n"
        << m.log();
  }

  emu::Emulator emulator_{emu::Options{}};
};

// Every entry below `dir`: a name of at most 255 bytes, unique, that lstat finds; files
// read; every link resolves inside `root`. Returns the entries seen.
std::size_t checkTree(const std::string& root, const std::string& dir, int depth = 0) {
  std::size_t seen = 0;
  std::set<std::string> unique;
  for (const auto& name : listDir(dir)) {
    ++seen;
    EXPECT_LE(name.size(), std::size_t{NAME_MAX}) << dir;
    EXPECT_TRUE(unique.insert(name).second) << "listed twice: " << name;
    const std::string path = dir + "/" + name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      ADD_FAILURE() << "listed but not found: " << path << ": " << std::strerror(errno);
      continue;
    }
    if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      EXPECT_GT(::readlink(path.c_str(), target, sizeof target), 0) << path;
      char* real = ::realpath(path.c_str(), nullptr);
      EXPECT_NE(real, nullptr) << path << ": " << std::strerror(errno);
      if (real != nullptr) {
        EXPECT_EQ(std::string(real).rfind(root + "/", 0), 0U) << path << " -> " << real;
        std::free(real);
      }
    } else if (S_ISDIR(st.st_mode) && depth < 4) {
      seen += checkTree(root, path, depth + 1);
    } else if (S_ISREG(st.st_mode)) {
      int err = 0;
      readFile(path, &err);
      EXPECT_EQ(err, 0) << path << ": " << std::strerror(err);
    }
  }
  return seen;
}

TEST_F(Hostile, AwkwardMemberNamesAreValidUniqueAndReadable) {
  const std::string long_name(300, 'L');
  std::string object = "{";
  for (const std::string& name :
       {std::string("a/b"), std::string("a%2Fb"), std::string("."), std::string(".."),
        std::string(), std::string("x\ny"), std::string("\x1b[31mred\x7f"),
        std::string("nul\0x", 5), long_name, long_name + "M"}) {
    object += (object.size() > 1 ? "," : "") + jsonString(name) + ":1";
  }
  ASSERT_TRUE(emulator_.setData("/instance/odd", object + "}").ok());
  Mount m(emulator_, {"timeout=2"});
  EXPECT_EQ(checkTree(m.path(), m.at("instance/odd")), 10U) << m.log();
  EXPECT_EQ(readFile(m.at("instance/odd/a%2Fb")), "1\n");
  expectStillServing(m, "keys.json");
}

TEST_F(Hostile, IdsAndNamesThatTryToEscapeStayInsideTheMount) {
  ASSERT_TRUE(emulator_
                  .setData("/keys", R"([{"id":"../../etc","name":"/root"},{"id":"/root",)"
                                    R"("name":"../../etc"},{"id":"..","name":".."},)"
                                    R"({"id":"","name":""},{"id":".","name":"by-name"}])")
                  .ok());
  Mount m(emulator_, {"timeout=2"});
  EXPECT_GE(checkTree(m.path(), m.at("keys")), 10U) << m.log();
  EXPECT_EQ(readFile(m.at("keys/by-name/%2Froot/id")), "../../etc\n");
  expectStillServing(m, "instance/name");
}

TEST_F(Hostile, DuplicateIdsAreNamedByIndex) {
  ASSERT_TRUE(emulator_.setData("/keys", R"([{"id":"k","name":"a"},{"id":"k","name":"b"}])").ok());
  Mount m(emulator_, {"timeout=2"});
  EXPECT_EQ(listDir(m.at("keys")).size(), 2U);
  EXPECT_EQ(readFile(m.at("keys/1/name")), "b\n");
  checkTree(m.path(), m.at("keys"));
}

TEST_F(Hostile, AHundredThousandElementsAreServedWithinTheBound) {
  std::string array = "[";
  for (int i = 0; i < 100000; ++i)
    array += i == 0 ? "0" : ",0";
  ASSERT_TRUE(emulator_.setData("/instance/many", array + "]").ok());
  Mount m(emulator_, {"timeout=2"});
  const Outcome name = timedRead(m.at("instance/name"));
  EXPECT_EQ(name.err, 0) << m.log();
  EXPECT_LT(name.took, kBound);
  EXPECT_EQ(listDir(m.at("instance/many")).size(), 100000U);
  EXPECT_EQ(readFile(m.at("instance/many/99999")), "0\n");
}

TEST_F(Hostile, NestingBeyondTheLimitFailsThatEndpointOnly) {
  ASSERT_TRUE(
      emulator_.setData("/instance/deep", std::string(80, '[') + std::string(80, ']')).ok());
  Mount m(emulator_, {"timeout=2"});
  expectFailure(m, timedRead(m.at("instance/name")), "nested deeper than");
  expectStillServing(m, "keys.json");
}

TEST_F(Hostile, NumbersAndInvalidUtf8AreKeptAsSent) {
  auto f = fault(Kind::body);
  f.body =
      "{\"id\":\"i\",\"name\":\"n\",\"huge\":1e999,\"neg\":-0,"
      "\"big\":123456789012345678901234567890,\"bad\":\"\xc3\x28\xff\"}";
  emulator_.addFault(f);
  Mount m(emulator_, {"timeout=2"});
  EXPECT_EQ(readFile(m.at("instance/huge")), "1e999\n") << m.log();
  EXPECT_EQ(readFile(m.at("instance/neg")), "-0\n");
  EXPECT_EQ(readFile(m.at("instance/big")), "123456789012345678901234567890\n");
  EXPECT_EQ(readFile(m.at("instance/bad")), "\xc3\x28\xff\n");
  EXPECT_EQ(readFile(m.at("instance.json")), f.body);
  expectStillServing(m, "keys.json");
}

// Answers to GET /instance that must fail that endpoint only, within the bound.
struct TransportCase {
  const char* name;
  Kind kind;
  const char* cause;  // what the log line names besides the URL
};

class HostileTransport : public Hostile, public ::testing::WithParamInterface<TransportCase> {};

TEST_P(HostileTransport, FailsThatEndpointWithinTheBoundAndServesTheOthers) {
  emu::Emulator elsewhere{emu::Options{}};
  ASSERT_TRUE(elsewhere.start().ok());
  auto f = fault(GetParam().kind);
  f.oversized_bytes = std::size_t{5} << 20;
  f.location = elsewhere.url() + kInstance;
  emulator_.addFault(f);
  Mount m(emulator_, {"timeout=2"});
  expectFailure(m, timedRead(m.at("instance/name")), kInstance);
  EXPECT_NE(m.log().find(GetParam().cause), std::string::npos) << m.log();
  expectStillServing(m, "keys.json");
  EXPECT_EQ(elsewhere.totalRequests(), 0U) << "a redirect was followed";
}

INSTANTIATE_TEST_SUITE_P(
    Answers, HostileTransport,
    ::testing::Values(TransportCase{"Oversized", Kind::oversized, "larger than the limit"},
                      TransportCase{"ContentLengthShort", Kind::truncate, kInstance},
                      TransportCase{"ContentLengthLong", Kind::overlong, kInstance},
                      TransportCase{"ChunkedNeverEnding", Kind::endless, kInstance},
                      TransportCase{"Trickle", Kind::trickle, kInstance},
                      TransportCase{"Redirect", Kind::redirect, "302"}),
    [](const auto& info) { return std::string(info.param.name); });

std::string loopingPage(const std::string& next_href) {
  return R"({"first":{"href":")" + next_href + R"("},"limit":1,"next":{"href":")" + next_href +
         R"("},"placement_groups":[{"id":"pg","name":"pg"}],"total_count":5})";
}

TEST_F(Hostile, PaginationWhoseNextLoopsEnds) {
  auto f = fault(Kind::body, "/metadata/v1/placement_groups");
  f.body = loopingPage(emulator_.url() + "/metadata/v1/placement_groups?limit=1&start=again");
  emulator_.addFault(f);
  Mount m(emulator_, {"timeout=2"});
  const Outcome o = timedRead(m.at("placement_groups.json"));
  EXPECT_LT(o.took, kBound);
  if (o.err != 0) expectFailure(m, o, "/metadata/v1/placement_groups");
  EXPECT_LT(emulator_.requests("GET", "/metadata/v1/placement_groups"), 50U);
  expectStillServing(m, "instance/name");
}

TEST_F(Hostile, PaginationWhoseNextPointsAtAnotherHostIsNotFollowed) {
  emu::Emulator elsewhere{emu::Options{}};
  ASSERT_TRUE(elsewhere.start().ok());
  auto f = fault(Kind::body, "/metadata/v1/placement_groups");
  f.body = loopingPage(elsewhere.url() + "/metadata/v1/placement_groups?limit=1&start=x");
  emulator_.addFault(f);
  Mount m(emulator_, {"timeout=2"});
  const Outcome o = timedRead(m.at("placement_groups.json"));
  EXPECT_LT(o.took, kBound);
  if (o.err != 0) expectFailure(m, o, "/metadata/v1/placement_groups");
  EXPECT_EQ(elsewhere.totalRequests(), 0U);
  expectStillServing(m, "instance/name");
}

// Token answers the daemon must refuse: the read fails and says why; once the service
// answers properly again, reads succeed.
struct TokenCase {
  const char* name;
  const char* body;        // a whole answer to PUT /identity/v1/token, or
  const char* expires_in;  // what a real token's answer claims
};

class HostileToken : public Hostile, public ::testing::WithParamInterface<TokenCase> {};

TEST_P(HostileToken, IsRefusedWithinTheBoundAndTheMountRecovers) {
  if (*GetParam().body != '\0') {
    auto f = fault(Kind::body, "/identity/v1/token");
    f.body = GetParam().body;
    emulator_.addFault(f);
  } else {
    emulator_.setReportedTokenExpiresIn(GetParam().expires_in);
  }
  Mount m(emulator_, {"timeout=2"});
  expectFailure(m, timedRead(m.at("instance/name")), "/identity/v1/token");
  emulator_.clearFaults();
  emulator_.setReportedTokenExpiresIn("");
  EXPECT_TRUE(waitFor([&] { return !readFile(m.at("instance/name")).empty(); }, 15s)) << m.log();
  expectStillServing(m, "keys.json");
}

INSTANTIATE_TEST_SUITE_P(Answers, HostileToken,
                         ::testing::Values(TokenCase{"MissingToken", R"({"expires_in":300})", ""},
                                           TokenCase{"Garbage", "<html>not a token", ""},
                                           TokenCase{"ExpiresInZero", "", "0"},
                                           TokenCase{"ExpiresInNegative", "", "-300"},
                                           TokenCase{"ExpiresInTooBigForJson", "", "1e999"}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_F(Hostile, AHugeExpiresInIsBoundedAndServes) {
  emulator_.setReportedTokenExpiresIn("99999999999999999999");
  Mount m(emulator_, {"timeout=2"});
  const Outcome o = timedRead(m.at("instance/name"));
  EXPECT_EQ(o.err, 0) << m.log();
  EXPECT_LT(o.took, kBound);
  expectStillServing(m, "keys.json");
}

TEST_F(Hostile, UnauthorizedOnEveryDataRequestIsEaccesWithinTheBound) {
  auto storm = fault(Kind::status, "/metadata/v1/*");
  storm.status = 401;
  emulator_.addFault(storm);
  Mount m(emulator_, {"timeout=2"});
  for (const char* rel : {"instance/name", "keys.json", "placement_groups.json"}) {
    const Outcome o = timedRead(m.at(rel));
    EXPECT_EQ(o.err, EACCES) << rel;
    expectFailure(m, o, "401");
  }
  emulator_.clearFaults();
  EXPECT_TRUE(waitFor([&] { return !readFile(m.at("instance/name")).empty(); }, 15s)) << m.log();
}

}  // namespace
}  // namespace mdfs::itest
