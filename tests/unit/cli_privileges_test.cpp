// The pieces of least privilege, each in a child process of its own (a seccomp filter or a
// Landlock domain cannot be undone): a system call outside the filter is named and kills,
// writing opens are refused, Landlock confines reads, users are looked up.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>

#include "cli/build_flags.h"
#include "cli/landlock.h"
#include "cli/privileges.h"
#include "cli/syscall_filter.h"

namespace mdfs::cli {
namespace {

// Sanitizer builds let their runtimes open files for writing, exec a symbolizer and
// ptrace (cli/build_flags.h): what these tests forbid is not forbidden there.
#define SKIP_IN_SANITIZER_BUILDS()                                                    \
  if (MDFS_SANITIZER_BUILD) {                                                         \
    GTEST_SKIP() << "a sanitizer build allows openat for writing, execve and ptrace"; \
  }

void confineForTest(FilterFor who) {
  if (!forbidNewPrivileges()) std::_Exit(90);
  if (!installSyscallFilter(who)) std::_Exit(91);
}

TEST(SyscallFilterDeathTest, AMissingSystemCallIsNamedAndKills) {
  testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_EXIT(
      {
        confineForTest(FilterFor::daemon);
        syscall(SYS_mkdirat, AT_FDCWD, "/tmp/mdfs-never", 0700);
        std::_Exit(0);
      },
      testing::KilledBySignal(SIGSYS),
      "error: seccomp: system call mkdirat \\([0-9]+\\) is not allowed; stopping \\(SIGSYS\\)");
}

TEST(SyscallFilterDeathTest, OpeningForWritingIsNotAllowed) {
  SKIP_IN_SANITIZER_BUILDS();
  testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_EXIT(
      {
        confineForTest(FilterFor::daemon);
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);  // reading is fine
        if (fd < 0) std::_Exit(1);
        open("/dev/null", O_WRONLY | O_CLOEXEC);
        std::_Exit(0);
      },
      testing::KilledBySignal(SIGSYS), "system call openat");
}

TEST(SyscallFilterDeathTest, NewNamespacesAndProgramsAreNotAllowed) {
  SKIP_IN_SANITIZER_BUILDS();
  testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_EXIT(
      {
        confineForTest(FilterFor::daemon);
        syscall(SYS_unshare, 0);
        std::_Exit(0);
      },
      testing::KilledBySignal(SIGSYS), "system call unshare");
  EXPECT_EXIT(
      {
        confineForTest(FilterFor::daemon);
        char* argv[] = {nullptr};
        execve("/bin/true", argv, argv);
        std::_Exit(0);
      },
      testing::KilledBySignal(SIGSYS), "system call execve");
}

TEST(SyscallFilterDeathTest, WhatTheDaemonDoesStillWorks) {
  testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_EXIT(
      {
        confineForTest(FilterFor::daemon);
        std::ifstream in("/proc/self/status");  // openat read-only, read, close
        std::string line;
        if (!std::getline(in, line)) std::_Exit(1);
        int fds[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) std::_Exit(2);
        std::_Exit(write(fds[0], "x", 1) == 1 ? 7 : 3);
      },
      testing::ExitedWithCode(7), "");
}

TEST(SyscallFilterDeathTest, TheKeeperMayUnmountAndLittleElse) {
  testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_EXIT(
      {
        confineForTest(FilterFor::keeper);
        syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
        std::_Exit(0);
      },
      testing::KilledBySignal(SIGSYS), "system call socket");
  auto keeper = allowedSyscalls(FilterFor::keeper);
  EXPECT_NE(std::find(keeper.begin(), keeper.end(), "umount2"), keeper.end());
  auto daemon = allowedSyscalls(FilterFor::daemon);
  EXPECT_EQ(std::find(daemon.begin(), daemon.end(), "umount2"), daemon.end());
  SKIP_IN_SANITIZER_BUILDS();
  EXPECT_EQ(std::find(daemon.begin(), daemon.end(), "execve"), daemon.end());
  EXPECT_EQ(std::find(daemon.begin(), daemon.end(), "ptrace"), daemon.end());
}

TEST(LandlockDeathTest, OnlyThePolicysFilesCanBeRead) {
  if (landlockAbi() == 0) {
    GTEST_SKIP() << "no Landlock in this build or kernel: " << restrictSelf({})->summary;
  }
  testing::FLAGS_gtest_death_test_style = "threadsafe";
  char allowed[] = "/tmp/mdfs-landlock-XXXXXX";
  int fd = mkstemp(allowed);
  ASSERT_GE(fd, 0);
  close(fd);
  EXPECT_EXIT(
      {
        if (!forbidNewPrivileges()) std::_Exit(90);
        LandlockPolicy policy;
        policy.read_only = {allowed};
        auto outcome = restrictSelf(policy);
        if (!outcome) std::_Exit(91);
        const bool mine = open(allowed, O_RDONLY | O_CLOEXEC) >= 0;
        const bool other = open("/etc/passwd", O_RDONLY | O_CLOEXEC) >= 0;
        const bool other_denied = !other && errno == EACCES;
        const bool write = open(allowed, O_WRONLY | O_CLOEXEC) >= 0;
        std::_Exit(mine && other_denied && !write ? 7 : 1);
      },
      testing::ExitedWithCode(7), "");
  unlink(allowed);
}

TEST(Landlock, PolicyOfTheDaemon) {
  auto p = daemonPolicy("http://127.0.0.1:8080", {"api.metadata.cloud.ibm.com:443:169.254.169.254"},
                        "/etc/my-ca.pem", "/etc/metadatafs.conf");
  EXPECT_EQ(p.connect_ports, (std::vector<std::uint16_t>{53, 443, 8080}));
  EXPECT_NE(std::find(p.read_only.begin(), p.read_only.end(), "/etc/my-ca.pem"), p.read_only.end());
  EXPECT_NE(std::find(p.read_only.begin(), p.read_only.end(), "/etc/metadatafs.conf"),
            p.read_only.end());
  EXPECT_EQ(daemonPolicy("https://h", {}, "", "").connect_ports,
            (std::vector<std::uint16_t>{53, 443}));
}

TEST(Privileges, UsersAreLookedUpByNameOrUid) {
  auto root = lookUpUser("root");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->uid, 0U);
  EXPECT_TRUE(root->isRoot());
  auto by_uid = lookUpUser("0");
  ASSERT_TRUE(by_uid.ok());
  EXPECT_EQ(by_uid->name, "root");
  EXPECT_FALSE(lookUpUser("no-such-user-here").ok());
  EXPECT_FALSE(lookUpUser("").ok());
  auto fallback = defaultRunAs();
  ASSERT_TRUE(fallback.ok());
  EXPECT_TRUE(fallback->name == "metadatafs" || fallback->name == "nobody") << fallback->name;
  EXPECT_FALSE(fallback->isRoot());
}

}  // namespace
}  // namespace mdfs::cli
