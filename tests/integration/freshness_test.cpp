// Freshness through the kernel: TTL, change detection, mtimes, invalidation.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <thread>

#include "integration/mount_fixture.h"

namespace mdfs::itest {
namespace {

using namespace std::chrono_literals;

class Freshness : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(emulator_.start().ok()); }
  emu::Emulator emulator_{emu::Options{}};
};

TEST_F(Freshness, ChangedValueReadsOldUntilTheTtlThenCompleteAndNew) {
  Mount m(emulator_, {"ttl=2"});
  std::string file = m.at("instance/name");
  std::string before = readFile(file);
  ASSERT_FALSE(before.empty());
  auto st_before = statOf(file);
  std::string renamed = "a-considerably-longer-instance-name-after-the-rename";
  ASSERT_TRUE(emulator_.setData("/instance/name", "\"" + renamed + "\"").ok());

  EXPECT_EQ(readFile(file), before) << "within the TTL the old value stays";
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(readFile(file), renamed + "\n");
  auto st_after = statOf(file);
  EXPECT_EQ(st_after.st_size, static_cast<off_t>(renamed.size() + 1));
  EXPECT_GT(mtimeNs(st_after), mtimeNs(st_before));
  // The raw document changed with it.
  EXPECT_NE(readFile(m.at("instance.json")).find(renamed), std::string::npos);
}

TEST_F(Freshness, UnchangedRefetchKeepsTheMtime) {
  Mount m(emulator_, {"ttl=1"});
  std::string file = m.at("instance/memory");
  ASSERT_FALSE(readFile(file).empty());
  auto before = statOf(file);
  std::this_thread::sleep_for(2500ms);
  ASSERT_FALSE(readFile(file).empty());
  auto after = statOf(file);
  EXPECT_GE(emulator_.requests("GET", "/metadata/v1/instance"), 2U);
  EXPECT_EQ(mtimeNs(after), mtimeNs(before));
}

TEST_F(Freshness, DeletedKeyDisappearsAndAddedKeyAppearsAfterTheTtl) {
  Mount m(emulator_, {"ttl=2"});
  auto before = run("ls " + quote(m.at("keys")) + " " + quote(m.at("keys/by-name")));
  ASSERT_EQ(before.status, 0) << before.err;
  std::string first_id = run("cat " + quote(m.at("keys.json")) + " | jq -r '.keys[0].id'").out;
  first_id.pop_back();
  ASSERT_NE(before.out.find(first_id), std::string::npos);

  ASSERT_TRUE(emulator_.deleteData("/keys/0").ok());
  ASSERT_TRUE(emulator_
                  .addData("/keys",
                           R"({"id":"r006-added-key","name":"added","type":"ed25519",)"
                           R"("public_key":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAdded x"})")
                  .ok());
  // A negative lookup now, so the kernel caches the absence of the new key.
  struct stat st {};
  EXPECT_NE(::stat(m.at("keys/r006-added-key").c_str(), &st), 0);
  EXPECT_EQ(::stat(m.at("keys/" + first_id).c_str(), &st), 0);

  std::this_thread::sleep_for(2500ms);
  auto after = run("ls " + quote(m.at("keys")) + " " + quote(m.at("keys/by-name")));
  EXPECT_EQ(after.out.find(first_id), std::string::npos) << after.out;
  EXPECT_NE(after.out.find("r006-added-key"), std::string::npos) << after.out;
  EXPECT_NE(after.out.find("added"), std::string::npos) << after.out;
  EXPECT_NE(::stat(m.at("keys/" + first_id).c_str(), &st), 0);
  EXPECT_EQ(readFile(m.at("keys/r006-added-key/name")), "added\n");
  EXPECT_EQ(readFile(m.at("keys/by-name/added/name")), "added\n");
}

TEST_F(Freshness, TokenExpiringMidRunIsInvisibleToReaders) {
  Mount m(emulator_, {"ttl=1"});
  ASSERT_FALSE(readFile(m.at("instance/name")).empty());
  emulator_.expireAllTokens();
  std::this_thread::sleep_for(1500ms);
  int err = -1;
  EXPECT_FALSE(readFile(m.at("instance/name"), &err).empty());
  EXPECT_EQ(err, 0);
  EXPECT_FALSE(readFile(m.at("keys.json"), &err).empty());
  EXPECT_EQ(err, 0);
  EXPECT_EQ(emulator_.requests("PUT", "/identity/v1/token"), 2U);
}

TEST_F(Freshness, SighupRefetchesAndKeepsUnchangedMtimes) {
  Mount m(emulator_, {"ttl=3600"});
  ASSERT_FALSE(readFile(m.at("instance/name")).empty());
  auto before = statOf(m.at("instance/name"));
  ASSERT_TRUE(emulator_.setData("/instance/status", "\"stopping\"").ok());
  auto pids = daemonPids(m.path());
  ASSERT_EQ(pids.size(), 1U);
  kill(pids[0], SIGHUP);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(readFile(m.at("instance/status")), "stopping\n");
  EXPECT_EQ(emulator_.requests("GET", "/metadata/v1/instance"), 2U);
  EXPECT_EQ(mtimeNs(statOf(m.at("instance/name"))), mtimeNs(before));
}

}  // namespace
}  // namespace mdfs::itest
