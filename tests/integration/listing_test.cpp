// Issue 10: every listing tells the truth. A name readdir shows can be looked up and
// opened, on a fresh mount too, whatever the service answers 404 for; endpoints that start
// or stop to exist appear or disappear within their TTL; waiting on another reader's
// request never outlasts a reader's own deadline.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "integration/mount_fixture.h"

namespace mdfs::itest {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Endpoints a service that lags behind the API version does not know.
const char* const kUnknownToTheService[] = {
    "/metadata/v1/instance/network_attachments",
    "/metadata/v1/instance/cluster_network_attachments",
    "/metadata/v1/virtual_network_interfaces",
};

class Listing : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(emulator_.start().ok());
    for (const char* path : kUnknownToTheService)
      emulator_.addFault(notFound(path));
  }

  static emu::Fault notFound(const char* path) {
    emu::Fault f;
    f.kind = emu::Fault::Kind::status;
    f.status = 404;
    f.path = path;
    return f;
  }

  emu::Emulator emulator_{emu::Options{}};
};

// The first walk of a fresh mount, by each tool that treats a listed name it cannot open
// as an error.
TEST_F(Listing, EveryTreeWalkingToolCompletesOnAFreshMount) {
  const std::vector<std::pair<std::string, std::string>> walks = {
      {"find", "find M -type f -exec cat {} + >/dev/null"},
      {"grep -r", "grep -r -e . M >/dev/null; [ $? -le 1 ]"},
      {"tar", "t=$(mktemp) && tar -cf \"$t\" -C M .; rc=$?; rm -f \"$t\"; exit $rc"},
      {"rsync -a",
       "dest=$(mktemp -d) && rsync -a M/ \"$dest\"/; rc=$?; rm -rf \"$dest\"; "
       "exit $rc"},
  };
  for (const auto& [tool, script] : walks) {
    SCOPED_TRACE(tool);
    Mount m(emulator_);
    ASSERT_TRUE(m.mounted());
    std::string command = script;
    for (auto at = command.find('M'); at != std::string::npos; at = command.find('M', at + 1)) {
      if ((at == 0 || command[at - 1] == ' ') &&
          (at + 1 == command.size() || command[at + 1] == ' ' || command[at + 1] == '/')) {
        command.replace(at, 1, quote(m.path()));
      }
    }
    auto r = run(command, 60s);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err, "") << command;
  }
}

TEST_F(Listing, AbsentEndpointsAreNotListedAndLsShowsNoUnknownAttributes) {
  Mount m(emulator_);
  auto ls = run("ls -l " + quote(m.path()) + " " + quote(m.at("instance")));
  EXPECT_EQ(ls.status, 0) << ls.err;
  EXPECT_EQ(ls.out.find('?'), std::string::npos) << ls.out;
  for (const char* gone :
       {"virtual_network_interfaces", "network_attachments", "cluster_network_attachments"}) {
    EXPECT_EQ(ls.out.find(std::string(" ") + gone + "\n"), std::string::npos) << gone;
    EXPECT_EQ(ls.out.find(std::string(" ") + gone + ".json\n"), std::string::npos) << gone;
  }
  EXPECT_NE(ls.out.find(" initialization.json\n"), std::string::npos) << ls.out;
  struct stat st {};
  EXPECT_NE(::stat(m.at("instance/network_attachments.json").c_str(), &st), 0);
  EXPECT_EQ(errno, ENOENT);
}

bool listed(const Mount& m, const std::string& name) {
  auto ls = run("ls " + quote(m.path()));
  return ls.status == 0 && ls.out.find(name + "\n") != std::string::npos;
}

TEST_F(Listing, EndpointsAppearAndDisappearWithinTheirTtl) {
  Mount m(emulator_, {"ttl=2"});
  ASSERT_TRUE(listed(m, "keys"));
  emulator_.addFault(notFound("/metadata/v1/keys"));
  auto start = Clock::now();
  EXPECT_TRUE(waitFor([&] { return !listed(m, "keys") && !listed(m, "keys.json"); }, 6s));
  EXPECT_LT(Clock::now() - start, 3500ms) << "the listing changed later than the TTL";
  struct stat st {};
  EXPECT_NE(::stat(m.at("keys").c_str(), &st), 0);
  EXPECT_EQ(errno, ENOENT);

  emulator_.clearFaults();
  for (const char* path : kUnknownToTheService)
    emulator_.addFault(notFound(path));
  emulator_.addFault(notFound("/metadata/v1/placement_groups"));
  start = Clock::now();
  EXPECT_TRUE(waitFor([&] { return listed(m, "keys") && !listed(m, "placement_groups"); }, 6s));
  EXPECT_LT(Clock::now() - start, 3500ms);
  EXPECT_EQ(::stat(m.at("keys/by-name").c_str(), &st), 0) << "the kernel forgot keys' absence";
  EXPECT_NE(::stat(m.at("placement_groups").c_str(), &st), 0);
}

// Issue 10 §2: a second reader of identity/token never waits past its own deadline for the
// first reader's token request.
TEST_F(Listing, ASecondReaderOfAHungTokenKeepsItsOwnDeadline) {
  Mount m(emulator_, {"identity", "timeout=3"});
  ASSERT_TRUE(m.mounted());
  emu::Fault hang;
  hang.kind = emu::Fault::Kind::hang;
  hang.method = "PUT";
  hang.path = "/identity/v1/token";
  emulator_.addFault(hang);
  auto timed = [&] {
    auto start = Clock::now();
    int err = 0;
    readFile(m.at("identity/token"), &err);
    return std::make_pair(err, Clock::now() - start);
  };
  auto first = std::async(std::launch::async, timed);
  std::this_thread::sleep_for(1s);
  auto second = std::async(std::launch::async, timed);
  auto [first_err, first_took] = first.get();
  auto [second_err, second_took] = second.get();
  emulator_.clearFaults();
  EXPECT_TRUE(first_err == ETIMEDOUT || first_err == EIO) << first_err;
  EXPECT_TRUE(second_err == ETIMEDOUT || second_err == EIO) << second_err;
  EXPECT_LT(first_took, 4s);
  EXPECT_LT(second_took, 4s) << "the second reader outlived its own deadline";
}

}  // namespace
}  // namespace mdfs::itest
