// Laziness and economy, counted at the emulator (DESIGN §2).
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <atomic>
#include <thread>
#include <vector>

#include "integration/mount_fixture.h"

namespace mdfs::itest {
namespace {

using namespace std::chrono_literals;

emu::Options scenario(const char* name) {
  emu::Options o;
  o.scenario = name;
  return o;
}

TEST(Economy, MountingMakesNoRequestAndListingTheRootOneParallelRound) {
  emu::Emulator emulator(scenario("default"));
  ASSERT_TRUE(emulator.start().ok());
  Mount m(emulator);
  ASSERT_TRUE(m.mounted());
  EXPECT_EQ(emulator.totalRequests(), 0U);
  // The root's four endpoints, each 100 ms away: one round trip, not four.
  emu::Fault slow;
  slow.kind = emu::Fault::Kind::latency;
  slow.path = "/metadata/v1/*";
  slow.latency = 100ms;
  emulator.addFault(slow);
  const auto start = std::chrono::steady_clock::now();
  auto ls = run("ls " + quote(m.path()));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(ls.status, 0);
  EXPECT_NE(ls.out.find("instance\n"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("keys.json\n"), std::string::npos) << ls.out;
  EXPECT_EQ(ls.out.find(".status"), std::string::npos) << "hidden from plain ls";
  EXPECT_EQ(emulator.requests("PUT", "/identity/v1/token"), 1U);
  for (const char* path :
       {"/metadata/v1/instance", "/metadata/v1/keys", "/metadata/v1/placement_groups",
        "/metadata/v1/virtual_network_interfaces"}) {
    EXPECT_EQ(emulator.requests("GET", path), 1U) << path;
  }
  EXPECT_EQ(emulator.totalRequests(), 5U);
  EXPECT_LT(took, 350ms) << "the root's endpoints were fetched one after another";
  auto again = run("ls -l " + quote(m.path()));
  EXPECT_EQ(again.status, 0);
  EXPECT_EQ(again.out.find('?'), std::string::npos) << again.out;
  // The sizes of well-known.json and .env need the primary interface's floating IP too.
  EXPECT_EQ(emulator.requests("GET", "/metadata/v1/instance/network_interfaces"), 1U);
  EXPECT_EQ(emulator.totalRequests(), 6U) << "listed endpoints are known for their TTL";
}

TEST(Economy, ReadingOneFileFetchesOneEndpoint) {
  emu::Emulator emulator(scenario("default"));
  ASSERT_TRUE(emulator.start().ok());
  Mount m(emulator);
  int err = -1;
  EXPECT_FALSE(readFile(m.at("instance/name"), &err).empty());
  EXPECT_EQ(err, 0);
  EXPECT_EQ(emulator.requests("PUT", "/identity/v1/token"), 1U);
  EXPECT_EQ(emulator.requests("GET", "/metadata/v1/instance"), 1U);
  EXPECT_EQ(emulator.totalRequests(), 2U);
}

// Pages of a collection at the client's limit of 100 items per page.
std::uint64_t pagesOf(const rapidjson::Document& doc, const char* key) {
  std::uint64_t n = doc.HasMember(key) ? doc[key].Size() : 0;
  return n == 0 ? 1 : (n + 99) / 100;
}

class FullWalk : public ::testing::TestWithParam<std::string> {};

TEST_P(FullWalk, CostsOneTokenPlusOneGetPerEndpointPlusExtraPages) {
  emu::Emulator emulator(scenario(GetParam().c_str()));
  ASSERT_TRUE(emulator.start().ok());
  rapidjson::Document doc;
  doc.Parse(emulator.scenarioJson().c_str());
  Mount m(emulator, {"ttl=3600"});
  auto walk = run("find " + quote(m.path()) + " -type f -exec cat {} + | wc -c");
  ASSERT_EQ(walk.status, 0) << walk.err;

  struct Expected {
    const char* path;
    std::uint64_t gets;
  };
  const std::vector<Expected> endpoints = {
      {"/metadata/v1/instance", 1},
      {"/metadata/v1/instance/initialization", 1},
      {"/metadata/v1/instance/network_interfaces", 1},
      {"/metadata/v1/instance/network_attachments", 1},
      {"/metadata/v1/instance/volume_attachments", 1},
      {"/metadata/v1/instance/cluster_network_attachments",
       pagesOf(doc, "cluster_network_attachments")},
      {"/metadata/v1/virtual_network_interfaces", pagesOf(doc, "virtual_network_interfaces")},
      {"/metadata/v1/keys", 1},
      {"/metadata/v1/placement_groups", pagesOf(doc, "placement_groups")},
  };
  std::uint64_t total = 1;
  for (const auto& e : endpoints) {
    EXPECT_EQ(emulator.requests("GET", e.path), e.gets) << e.path;
    total += e.gets;
  }
  EXPECT_EQ(emulator.requests("PUT", "/identity/v1/token"), 1U);
  EXPECT_EQ(emulator.totalRequests(), total);
  std::cout << GetParam() << ": full walk = " << total << " requests (1 token + "
            << endpoints.size() << " endpoints + " << total - 1 - endpoints.size()
            << " extra pages)\n";
}

// The large scenario's full walk is counted by the reference test, which walks it anyway.
INSTANTIATE_TEST_SUITE_P(Scenarios, FullWalk, ::testing::Values("default"));

TEST(Economy, ConcurrentColdReadersShareOneFetch) {
  emu::Emulator emulator(scenario("default"));
  ASSERT_TRUE(emulator.start().ok());
  emu::Fault slow;
  slow.kind = emu::Fault::Kind::latency;
  slow.path = "/metadata/v1/instance";
  slow.latency = 300ms;
  emulator.addFault(slow);
  Mount m(emulator);
  std::atomic<int> ok{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 32; ++i) {
    readers.emplace_back([&, i] {
      int err = -1;
      // Different files of one endpoint: every reader misses at once.
      std::string file = i % 2 == 0 ? "instance/name" : "instance/zone/name";
      if (!readFile(m.at(file), &err).empty() && err == 0) ++ok;
    });
  }
  for (auto& t : readers)
    t.join();
  EXPECT_EQ(ok, 32);
  EXPECT_EQ(emulator.requests("GET", "/metadata/v1/instance"), 1U);
  EXPECT_EQ(emulator.requests("PUT", "/identity/v1/token"), 1U);
}

}  // namespace
}  // namespace mdfs::itest
