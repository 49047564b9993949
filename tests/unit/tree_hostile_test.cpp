// Issue 11: whatever the service sends, every name is a valid unique file name, links stay
// inside the mount, numbers and bytes are kept, and building is linear and bounded.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "fuzz/tree_invariants.h"
#include "tree/catalog.h"
#include "tree/names.h"
#include "tree/snapshot.h"

namespace mdfs::tree {
namespace {

const EndpointSpec& endpoint(std::string_view mount) {
  static const std::vector<EndpointSpec> all = allEndpoints();
  for (const auto& e : all) {
    if (e.mount_path == mount) return e;
  }
  throw std::runtime_error("no endpoint");
}

std::shared_ptr<Snapshot> build(std::string_view mount, const std::string& body,
                                const std::vector<std::string>& hidden = {}) {
  auto snap = Snapshot::build(endpoint(mount), body, {}, hidden, 1);
  EXPECT_TRUE(snap.ok()) << (snap.ok() ? "" : snap.error().message);
  if (!snap.ok()) return nullptr;
  EXPECT_EQ(snapshotViolation(*snap.value()), "");
  return snap.value();
}

std::vector<std::string> names(const Snapshot& snap, std::string_view path) {
  std::vector<std::string> out;
  for (const auto& n : snap.children(*snap.find(path)))
    out.emplace_back(snap.name(n));
  return out;
}

std::string duplicates(std::size_t n) {
  std::string body = R"({"name":"x","d":{)";
  for (std::size_t i = 0; i < n; ++i)
    body += i == 0 ? R"("a":0)" : R"(,"a":0)";
  return body + "}}";
}

TEST(HostileNames, ControlCharactersAreEscaped) {
  EXPECT_EQ(escapeName("a\nb"), "a%0Ab");
  EXPECT_EQ(escapeName("tab\there\x7f"), "tab%09here%7F");
  EXPECT_EQ(escapeName("\x1b[31mred"), "%1B[31mred");
  EXPECT_FALSE(isValidName("a\rb"));
  EXPECT_TRUE(isValidName("\xff\xfe"));  // bytes, not necessarily UTF-8
}

// Issue 11 D1: every duplicate used to try ~2, ~3, ... from 2 (quadratic).
TEST(HostileNames, DuplicatesCostLinearProbes) {
  NameAllocator names;
  const std::size_t n = 40000;
  for (std::size_t i = 0; i < n; ++i)
    names.add("a");
  names.assign();
  EXPECT_LE(names.probes(), n);
  EXPECT_EQ(names.name(0), "a");
  EXPECT_EQ(names.name(n - 1), "a~40000");
  std::set<std::string_view> unique;
  for (std::size_t i = 0; i < n; ++i)
    unique.insert(names.name(i));
  EXPECT_EQ(unique.size(), n);
}

TEST(HostileNames, SuffixedNamesSentAsTheyAreCostOneProbeEach) {
  NameAllocator names;
  const std::size_t n = 20000;
  for (std::size_t i = 2; i < n; ++i)
    names.add("a~" + std::to_string(i));
  for (std::size_t i = 0; i < n; ++i)
    names.add("a");
  names.assign();
  EXPECT_LE(names.probes(), 2 * n);
  EXPECT_EQ(names.name(0), "a~2");                         // held as sent: never taken away
  EXPECT_EQ(names.name(n - 2), "a");                       // the first "a"
  EXPECT_EQ(names.name(n - 1), "a~" + std::to_string(n));  // the next free one
}

TEST(HostileNames, LongNamesSharingAPrefixStayUniqueAndLinear) {
  NameAllocator names;
  const std::string prefix(250, 'p');
  for (int round = 0; round < 3; ++round) {
    for (char c = 'a'; c <= 'z'; ++c)
      names.add(prefix + std::string(5, c));
  }
  names.assign();
  EXPECT_LE(names.probes(), 2 * names.size());
  std::set<std::string_view> unique;
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_TRUE(isValidName(names.name(i))) << names.name(i);
    unique.insert(names.name(i));
  }
  EXPECT_EQ(unique.size(), names.size());
}

TEST(HostileTree, FortyThousandDuplicateMembersBuildAndStayUnique) {
  auto snap = build("instance", duplicates(40000));
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->find("d")->count, 40000U);
  EXPECT_NE(snap->find("d/a~40000"), nullptr);
}

// The issue's worst reproduction: 690,000 duplicates hung a reader for 697 s.
TEST(HostileTree, SixHundredNinetyThousandDuplicatesBuild) {
  auto snap = Snapshot::build(endpoint("instance"), duplicates(690000), {}, {}, 1);
  ASSERT_TRUE(snap.ok()) << snap.error().message;
  EXPECT_EQ(snap.value()->find("d")->count, 690000U);
  EXPECT_NE(snap.value()->find("d/a~690000"), nullptr);
}

TEST(HostileTree, BuildingHonoursTheDeadline) {
  auto past = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  auto snap = Snapshot::build(endpoint("instance"), duplicates(100000), {}, {}, 1, past);
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.error().errnum, ETIMEDOUT);
}

// Issue 11 D2: a member named like a synthesized entry was listed twice, and its 0444
// attributes reached the kernel for the 0400 raw file.
TEST(HostileTree, SynthesizedNamesWin) {
  auto snap = build("instance",
                    R"({"initialization":{"user_data":"s"},"initialization.json":{"x":1},)"
                    R"("network_interfaces.json":"y","network_interfaces":[1],"name":"n"})",
                    {"initialization", "network_interfaces"});
  ASSERT_TRUE(snap);
  EXPECT_EQ(names(*snap, ""), (std::vector<std::string>{"initialization.json~2", "name",
                                                        "network_interfaces.json~2"}));
  EXPECT_EQ(snap->find("initialization.json~2")->kind, Node::Kind::directory);
}

TEST(HostileTree, ByNameIsReservedInIdKeyedArrays) {
  auto snap = build("keys", R"({"keys":[{"id":"a","name":"by-name"},{"id":"b","name":"x"}]})");
  ASSERT_TRUE(snap);
  EXPECT_EQ(names(*snap, ""), (std::vector<std::string>{"a", "b", "by-name"}));
  EXPECT_EQ(names(*snap, "by-name"), (std::vector<std::string>{"by-name", "x"}));
  EXPECT_EQ(snap->data(*snap->find("by-name/by-name")), "../a");
}

// Issue 11 D7: 1e999 failed the whole endpoint.
TEST(HostileTree, NumbersAreKeptExactlyAsSent) {
  auto snap = build("instance", R"({"huge":1e999,"neg":-0,"big":123456789012345678901234567890,)"
                                R"("tiny":-1.5E-400,"half":0.50,"name":"ok"})");
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->data(*snap->find("huge")), "1e999\n");
  EXPECT_EQ(snap->data(*snap->find("neg")), "-0\n");
  EXPECT_EQ(snap->data(*snap->find("big")), "123456789012345678901234567890\n");
  EXPECT_EQ(snap->data(*snap->find("tiny")), "-1.5E-400\n");
  EXPECT_EQ(snap->data(*snap->find("half")), "0.50\n");
  EXPECT_EQ(snap->data(*snap->find("name")), "ok\n");
}

TEST(HostileTree, InvalidUtf8BytesAreKept) {
  auto snap = build("instance", "{\"\xff\":\"\xc3\x28\",\"name\":\"ok\"}");
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->data(*snap->find("\xff")), "\xc3\x28\n");
}

TEST(HostileTree, AwkwardMemberNamesBecomeValidUniqueNames) {
  std::string body = R"({"a/b":1,"a%2Fb":2,"":3,".":4,"..":5,"\u0000":6,"x\ny":7,"x%0Ay":8,)";
  body += "\"" + std::string(300, 'L') + "\":9,\"" + std::string(300, 'L') + "M\":10}";
  auto snap = build("instance", body);
  ASSERT_TRUE(snap);
  auto listed = names(*snap, "");
  EXPECT_EQ(listed.size(), 10U);
  for (const char* expected : {"%", "%00", "%2E", "%2E%2E", "a%2Fb", "a%2Fb~2", "x%0Ay", "x%0Ay~2"})
    EXPECT_NE(snap->find(expected), nullptr) << expected;
  for (const auto& n : listed)
    EXPECT_LE(n.size(), kMaxNameBytes);
}

TEST(HostileTree, IdsAndNamesCannotEscapeTheMount) {
  auto snap = build("keys", R"({"keys":[{"id":"../../etc","name":"/root"},{"id":"..","name":".."},)"
                            R"({"id":"/root","name":"../x"},{"id":"","name":""}]})");
  ASSERT_TRUE(snap);
  EXPECT_EQ(names(*snap, ""),
            (std::vector<std::string>{"%", "%2E%2E", "%2Froot", "..%2F..%2Fetc", "by-name"}));
  EXPECT_EQ(names(*snap, "by-name"),
            (std::vector<std::string>{"%", "%2E%2E", "%2Froot", "..%2Fx"}));
  EXPECT_EQ(snap->data(*snap->find("by-name/%2Froot")), "../..%2F..%2Fetc");
  EXPECT_EQ(snap->data(*snap->find("by-name/%2E%2E")), "../%2E%2E");
}

TEST(HostileTree, DuplicateIdsFallBackToIndices) {
  auto snap = build("keys", R"({"keys":[{"id":"k","name":"a"},{"id":"k","name":"b"}]})");
  ASSERT_TRUE(snap);
  EXPECT_EQ(names(*snap, ""), (std::vector<std::string>{"0", "1"}));
}

TEST(HostileTree, HundredThousandElementsAreNamedInOrder) {
  std::string body = R"({"name":"x","list":[)";
  for (int i = 0; i < 100000; ++i)
    body += i == 0 ? "{}" : ",{}";
  auto snap = build("instance", body + "]}");
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->find("list")->count, 100000U);
  EXPECT_NE(snap->find("list/99999"), nullptr);
  EXPECT_EQ(snap->find("list/100000"), nullptr);
}

TEST(HostileTree, IndexedArraysOfEverySizeAreSorted) {
  for (int n = 0; n <= 1201; ++n) {
    std::string body = R"({"l":[)";
    for (int i = 0; i < n; ++i)
      body += i == 0 ? "0" : ",0";
    auto snap = Snapshot::build(endpoint("instance"), body + "]}", {}, {}, 1);
    ASSERT_TRUE(snap.ok());
    ASSERT_EQ(snapshotViolation(*snap.value()), "") << n;
    ASSERT_EQ(snap.value()->find("l")->count, static_cast<std::uint32_t>(n));
    if (n > 0) {
      ASSERT_NE(snap.value()->find("l/" + std::to_string(n - 1)), nullptr) << n;
    }
  }
}

TEST(HostileTree, NestingBeyondTheLimitFailsOnlyThatEndpointWithAReason) {
  std::string ok = R"({"a":)" + std::string(63, '[') + std::string(63, ']') + "}";
  EXPECT_TRUE(Snapshot::build(endpoint("instance"), ok, {}, {}, 1).ok());
  std::string deep = R"({"a":)" + std::string(64, '[') + std::string(64, ']') + "}";
  auto snap = Snapshot::build(endpoint("instance"), deep, {}, {}, 1);
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.error().errnum, EIO);
  EXPECT_NE(snap.error().message.find("nested deeper than 64 levels"), std::string::npos)
      << snap.error().message;
}

TEST(HostileTree, OversizedBodiesAreRefusedBeforeParsing) {
  std::string body = "{\"a\":\"" + std::string(kMaxBodyBytes, 'x') + "\"}";
  auto snap = Snapshot::build(endpoint("instance"), body, {}, {}, 1);
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.error().errnum, EIO);
}

}  // namespace
}  // namespace mdfs::tree
