// What a failing read says (DESIGN §3), and that failures stay bounded and local.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "integration/mount_fixture.h"

namespace mdfs::itest {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class Errors : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(emulator_.start().ok()); }

  emu::Fault fault(emu::Fault::Kind kind, const char* path) {
    emu::Fault f;
    f.kind = kind;
    f.path = path;
    return f;
  }

  emu::Emulator emulator_{emu::Options{}};
};

int errnoOfRead(const std::string& path) {
  int err = 0;
  readFile(path, &err);
  return err;
}

TEST_F(Errors, UnknownNamesAreEnoent) {
  Mount m(emulator_);
  struct stat st {};
  for (const char* rel :
       {"nope", "instance/nope", "keys/nope/name", "instance/zone/nope.json", "nope.json"}) {
    errno = 0;
    EXPECT_NE(::stat(m.at(rel).c_str(), &st), 0) << rel;
    EXPECT_EQ(errno, ENOENT) << rel;
  }
  errno = 0;
  EXPECT_NE(::stat(m.at("instance/name/below").c_str(), &st), 0);
  EXPECT_EQ(errno, ENOTDIR) << "a path below a file";
}

TEST_F(Errors, ServiceDownBeforeTheFirstFetchFailsWithinTheTimeout) {
  emulator_.setServiceEnabled(false);
  Mount m(emulator_, {"timeout=2"});
  auto start = Clock::now();
  int err = errnoOfRead(m.at("instance/name"));
  auto took = Clock::now() - start;
  EXPECT_TRUE(err == EIO || err == ETIMEDOUT) << std::strerror(err);
  EXPECT_LT(took, 3s);
  EXPECT_NE(m.log().find("warning: the metadata service is not answering: PUT " + emulator_.url() +
                         "/identity/v1/token"),
            std::string::npos)
      << m.log();
}

TEST_F(Errors, HangingServiceIsBoundedByTheTimeout) {
  emulator_.addFault(fault(emu::Fault::Kind::hang, "*"));
  Mount m(emulator_, {"timeout=2"});
  auto start = Clock::now();
  int err = errnoOfRead(m.at("instance/name"));
  auto took = Clock::now() - start;
  EXPECT_TRUE(err == EIO || err == ETIMEDOUT) << std::strerror(err);
  EXPECT_GE(took, 1500ms);
  EXPECT_LT(took, 3s) << "timeout=2 bounds the whole operation, retries included";
  emulator_.clearFaults();
}

TEST_F(Errors, ServiceDownAfterWarmUpServesStaleThenFailsAfterMaxStale) {
  Mount m(emulator_, {"ttl=1", "max_stale=3", "timeout=2"});
  std::string name = readFile(m.at("instance/name"));
  ASSERT_FALSE(name.empty());
  emulator_.setServiceEnabled(false);
  std::this_thread::sleep_for(1500ms);
  int err = -1;
  EXPECT_EQ(readFile(m.at("instance/name"), &err), name) << "stale copy served";
  EXPECT_EQ(err, 0);
  std::this_thread::sleep_for(3500ms);
  err = errnoOfRead(m.at("instance/name"));
  EXPECT_TRUE(err == EIO || err == ETIMEDOUT) << std::strerror(err);
  EXPECT_NE(m.log().find("serving the copy"), std::string::npos) << m.log();
  emulator_.setServiceEnabled(true);
}

TEST_F(Errors, UnauthorizedStormIsEaccesWithTheTraceLogged) {
  auto storm = fault(emu::Fault::Kind::status, "/metadata/v1/*");
  storm.status = 401;
  emulator_.addFault(storm);
  Mount m(emulator_);
  EXPECT_EQ(errnoOfRead(m.at("instance/name")), EACCES);
  std::string log = m.log();
  EXPECT_NE(log.find("401"), std::string::npos) << log;
  EXPECT_NE(log.find("trace"), std::string::npos) << log;
  emulator_.clearFaults();
}

TEST_F(Errors, MalformedAnswerIsEioAndOtherEndpointsStillServe) {
  emulator_.addFault(fault(emu::Fault::Kind::malformed, "/metadata/v1/keys"));
  Mount m(emulator_);
  EXPECT_EQ(errnoOfRead(m.at("keys.json")), EIO);
  struct stat st {};
  EXPECT_NE(::stat(m.at("keys/by-name").c_str(), &st), 0);
  EXPECT_EQ(errno, EIO);
  int err = -1;
  EXPECT_FALSE(readFile(m.at("instance/name"), &err).empty());
  EXPECT_EQ(err, 0);
  emulator_.clearFaults();
}

TEST_F(Errors, EveryWriteIsErofs) {
  Mount m(emulator_);
  std::string file = m.at("instance/name");
  ASSERT_FALSE(readFile(file).empty());
  auto expectErofs = [](int rc, const char* what) {
    EXPECT_EQ(rc, -1) << what;
    EXPECT_EQ(errno, EROFS) << what << ": " << std::strerror(errno);
  };
  expectErofs(open(file.c_str(), O_WRONLY), "write");
  expectErofs(open(m.at("instance/new").c_str(), O_CREAT | O_WRONLY, 0644), "create");
  expectErofs(mkdir(m.at("newdir").c_str(), 0755), "mkdir");
  expectErofs(unlink(file.c_str()), "unlink");
  expectErofs(rename(file.c_str(), m.at("instance/renamed").c_str()), "rename");
  expectErofs(chmod(file.c_str(), 0600), "chmod");
  expectErofs(setxattr(file.c_str(), "user.x", "1", 1, 0), "setxattr");
  expectErofs(truncate(file.c_str(), 0), "truncate");
  expectErofs(symlink("x", m.at("link").c_str()), "symlink");
  expectErofs(rmdir(m.at("instance/zone").c_str()), "rmdir");
}

}  // namespace
}  // namespace mdfs::itest
