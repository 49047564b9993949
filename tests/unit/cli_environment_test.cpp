// The host checks before mounting: /dev/fuse, user_allow_other, the syslog socket.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "cli/environment.h"

namespace mdfs::cli {
namespace {

class Environment : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/mdfs-environment-XXXXXX";
    ASSERT_NE(mkdtemp(t), nullptr);
    dir_ = t;
    host_.fuse_device = dir_ + "/fuse";
    host_.fuse_conf = dir_ + "/fuse.conf";
    host_.syslog_socket = dir_ + "/log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  HostPaths host_;
};

TEST_F(Environment, AMissingFuseDeviceNamesTheCauseAndTheFix) {
  auto s = checkFuseDevice(host_, 0);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("no " + host_.fuse_device), std::string::npos);
  EXPECT_NE(s.error().message.find("modprobe fuse"), std::string::npos);
  EXPECT_NE(s.error().message.find("--device /dev/fuse"), std::string::npos);
  std::ofstream(host_.fuse_device) << "";
  auto file = checkFuseDevice(host_, 1000);
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.error().message.find("is not a character device"), std::string::npos);
}

TEST_F(Environment, TheRealFuseDevicePasses) {
  if (access("/dev/fuse", F_OK) != 0) GTEST_SKIP() << "this machine has no /dev/fuse";
  EXPECT_TRUE(checkFuseDevice(HostPaths{}, geteuid()).ok());
}

TEST_F(Environment, AllowOtherAsAUserNeedsUserAllowOther) {
  const std::vector<std::string> other = {"allow_other"};
  std::ofstream(host_.fuse_conf) << "# user_allow_other\n#user_allow_other\nmount_max = 10\n";
  auto refused = checkAllowOther(other, 1000, host_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message,
            "allow_other needs the line user_allow_other in " + host_.fuse_conf +
                " when a user other than root mounts (fusermount3 refuses it otherwise): add "
                "that line as root, mount as root, or leave out allow_other");
  EXPECT_FALSE(checkAllowOther({"allow_root"}, 1000, host_).ok());
  EXPECT_TRUE(checkAllowOther(other, 0, host_).ok()) << "root needs no user_allow_other";
  EXPECT_TRUE(checkAllowOther({"auto_unmount"}, 1000, host_).ok());
  std::ofstream(host_.fuse_conf) << "mount_max = 10\n  user_allow_other  # yes\n";
  EXPECT_TRUE(checkAllowOther(other, 1000, host_).ok());
  unlink(host_.fuse_conf.c_str());
  EXPECT_FALSE(checkAllowOther(other, 1000, host_).ok()) << "no fuse.conf: not allowed";
}

TEST_F(Environment, SyslogIsReachableOnlyWhenSomethingListens) {
  EXPECT_FALSE(syslogReachable(host_));
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, host_.syslog_socket.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_TRUE(syslogReachable(host_));
  close(fd);
  EXPECT_FALSE(syslogReachable(host_)) << "a socket file nobody listens on";
}

}  // namespace
}  // namespace mdfs::cli
