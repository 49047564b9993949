// Checks of the mountpoint before mounting that need no mount: missing, not a directory,
// symbolic links, non-empty, and reading /proc/self/mountinfo.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli/mountpoint.h"

namespace mdfs::cli {
namespace {

struct Lines {
  std::vector<std::string> lines;
  [[nodiscard]] Logger logger() {
    return {LogLevel::debug, [this](LogLevel level, std::string_view m) {
              lines.push_back(std::string(levelName(level)) + ": " + std::string(m));
            }};
  }
  [[nodiscard]] std::string all() const {
    std::string out;
    for (const auto& l : lines)
      out += l + "\n";
    return out;
  }
};

class Mountpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/mdfs-mountpoint-XXXXXX";
    ASSERT_NE(mkdtemp(t), nullptr);
    dir_ = t;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(Mountpoint, MissingSaysDoesNotExist) {
  Lines log;
  auto r = prepareMountpoint(dir_ + "/nothing", false, log.logger());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(
      r.error().message,
      "mountpoint " + dir_ + "/nothing does not exist (create it: mkdir -p " + dir_ + "/nothing)");
  auto deeper = prepareMountpoint(dir_ + "/no/such/dir", false, log.logger());
  ASSERT_FALSE(deeper.ok());
  EXPECT_NE(deeper.error().message.find("does not exist"), std::string::npos);
}

TEST_F(Mountpoint, AFileIsNotADirectory) {
  Lines log;
  std::ofstream(dir_ + "/file") << "x";
  auto r = prepareMountpoint(dir_ + "/file", false, log.logger());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "mountpoint " + dir_ + "/file is not a directory");
}

TEST_F(Mountpoint, AnEmptyDirectoryIsUsedAsItIsSilently) {
  Lines log;
  ASSERT_EQ(mkdir((dir_ + "/m").c_str(), 0755), 0);
  auto r = prepareMountpoint(dir_ + "/m/", false, log.logger());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, dir_ + "/m");
  EXPECT_TRUE(log.lines.empty()) << log.all();
}

TEST_F(Mountpoint, ANonEmptyDirectoryIsMountedOverWithAWarning) {
  Lines log;
  ASSERT_EQ(mkdir((dir_ + "/m").c_str(), 0755), 0);
  std::ofstream(dir_ + "/m/.hidden") << "x";
  auto r = prepareMountpoint(dir_ + "/m", false, log.logger());
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(log.lines.size(), 1U) << log.all();
  EXPECT_EQ(log.lines[0], "warning: mountpoint " + dir_ +
                              "/m is not empty: its entries are hidden while metadatafs is "
                              "mounted there");
}

TEST_F(Mountpoint, ASymbolicLinkIsResolvedAndSaidSo) {
  Lines log;
  ASSERT_EQ(mkdir((dir_ + "/target").c_str(), 0755), 0);
  ASSERT_EQ(symlink("target", (dir_ + "/link").c_str()), 0);
  ASSERT_EQ(symlink(("link"), (dir_ + "/link2").c_str()), 0);
  auto r = prepareMountpoint(dir_ + "/link2", false, log.logger());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, dir_ + "/target");
  ASSERT_EQ(log.lines.size(), 1U) << log.all();
  EXPECT_NE(log.lines[0].find("info: mountpoint " + dir_ + "/link2 is a symbolic link"),
            std::string::npos)
      << log.lines[0];
  EXPECT_NE(log.lines[0].find("fusermount3 -u " + dir_ + "/target"), std::string::npos);
}

TEST_F(Mountpoint, ADanglingLinkDoesNotExist) {
  Lines log;
  ASSERT_EQ(symlink("gone", (dir_ + "/link").c_str()), 0);
  auto r = prepareMountpoint(dir_ + "/link", false, log.logger());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("does not exist"), std::string::npos) << r.error().message;
}

TEST_F(Mountpoint, RelativePathsBecomeAbsolute) {
  ASSERT_EQ(mkdir((dir_ + "/m").c_str(), 0755), 0);
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  ASSERT_EQ(chdir(dir_.c_str()), 0);
  bool was_link = true;
  auto r = resolveMountpoint("m", was_link);
  auto dot = resolveMountpoint("m/.", was_link);
  ASSERT_EQ(chdir(cwd), 0);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, dir_ + "/m");
  EXPECT_FALSE(was_link);
  ASSERT_TRUE(dot.ok()) << dot.error().message;
  EXPECT_EQ(*dot, dir_ + "/m");
}

TEST(Mountinfo, ParsesMountPointsAndTypesTopmostLast) {
  const std::string text =
      "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
      "90 29 0:50 / /tmp/a\\040b rw,nosuid,nodev shared:5 master:1 - fuse.metadatafs metadatafs "
      "ro,user_id=0\n"
      "91 90 0:51 / /tmp/a\\040b rw - tmpfs tmpfs rw\n"
      "garbage\n"
      "92 1 0:52 / /m rw - fuse.sshfs host: rw\n";
  auto mounts = parseMountinfo(text);
  ASSERT_EQ(mounts.size(), 4U);
  EXPECT_EQ(mounts[1].mount_point, "/tmp/a b");
  EXPECT_EQ(mounts[1].fstype, "fuse.metadatafs");
  auto top = topMountAt(mounts, "/tmp/a b");
  ASSERT_TRUE(top.has_value());
  EXPECT_EQ(top->fstype, "tmpfs");
  EXPECT_EQ(topMountAt(mounts, "/m")->fstype, "fuse.sshfs");
  EXPECT_FALSE(topMountAt(mounts, "/nowhere").has_value());
}

}  // namespace
}  // namespace mdfs::cli
