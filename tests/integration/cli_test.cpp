// The command line: refusals before mounting, help and version, mount(8), detaching,
// signals and dead mountpoints.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <thread>

#include "integration/mount_fixture.h"

namespace mdfs::itest {
namespace {

using namespace std::chrono_literals;

std::string binary() {
  return buildDir() + "/metadatafs";
}

struct TempDir {
  TempDir() {
    char t[] = "/tmp/mdfs-cli-XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() {
    if (isMounted(path)) run("fusermount3 -uz " + quote(path));
    rmdir(path.c_str());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path;
};

TEST(Cli, BadValuesAreRefusedBeforeMountingWithAClearMessage) {
  TempDir dir;
  struct Case {
    const char* option;
    const char* mentions;
  };
  for (const Case& c :
       {Case{"ttl=abc", "ttl"}, Case{"ttl=0", "ttl"}, Case{"token_ttl=4", "5..3600"},
        Case{"token_ttl=3601", "token_ttl"}, Case{"api_version=2021-09-30", "2022-03-01"},
        Case{"api_version=2025-02-30", "api_version"}, Case{"endpoint=ftp://x", "http://"},
        Case{"newline=2", "0 or 1"}, Case{"max_stale=-1", "max_stale"},
        Case{"timeout=0", "timeout"}, Case{"cacert=/nonexistent.pem", "cacert"},
        Case{"resolve=nonsense", "HOST:PORT:ADDR"}, Case{"ttl.nothing=5", "ttl.keys"},
        Case{"uid=nosuchuser", "uid"}, Case{"frobnicate", "unknown option"}}) {
    auto r = run(binary() + " " + quote(dir.path) + " -f -o " + quote(c.option), 10s);
    EXPECT_NE(r.status, 0) << c.option;
    EXPECT_NE(r.err.find(c.mentions), std::string::npos) << c.option << ": " << r.err;
    EXPECT_FALSE(isMounted(dir.path)) << c.option;
  }
  auto none = run(binary(), 10s);
  EXPECT_NE(none.status, 0);
  EXPECT_NE(none.err.find("mountpoint"), std::string::npos) << none.err;
}

TEST(Cli, HelpListsEveryOptionWithItsDefault) {
  auto r = run(binary() + " --help", 10s);
  EXPECT_EQ(r.status, 0);
  for (const char* text :
       {"endpoint=URL", "api_version=",   "[2025-08-26]", "ttl=N",        "[60]",
        "ttl.PATH=N",   "token_ttl=N",    "[300]",        "timeout=N",    "[10]",
        "max_stale=N",  "[3600]",         "newline=0|1",  "cacert=FILE",  "resolve=",
        "uid=",         "gid=",           "allow_other",  "auto_unmount", "config=FILE",
        "identity",     "trusted_profile"}) {
    EXPECT_NE(r.out.find(text), std::string::npos) << text;
  }
  auto v = run(binary() + " --version", 10s);
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(v.out.rfind("metadatafs 0.", 0), 0U) << v.out;
}

TEST(Cli, MountTypeFuseMetadatafsWorks) {
  emu::Emulator emulator{emu::Options{}};
  ASSERT_TRUE(emulator.start().ok());
  TempDir dir;
  // mount(8) -> mount.fuse3 -> "metadatafs metadatafs DIR -o ...", looked up on the fixed
  // helper PATH, where the private namespace puts our build.
  std::string d = quote(dir.path);
  auto r = runInPrivateMountNamespace(
      "use_build_binary\n"
      "mount -t fuse.metadatafs metadatafs " +
          d + " -o allow_other,endpoint=" + emulator.url() +
          "\n"
          "cat " +
          d +
          "/instance/name\n"
          "findmnt -no FSTYPE,OPTIONS,SOURCE " +
          d +
          "\n"
          "unmount_and_wait " +
          d + "\n",
      30s);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("web-frontend-01"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fuse.metadatafs"), std::string::npos) << r.out;
  for (const char* opt : {"ro,", "nosuid", "nodev", "allow_other"}) {
    EXPECT_NE(r.out.find(opt), std::string::npos) << opt << " in " << r.out;
  }
}

TEST(Cli, DetachesWithoutForeground) {
  emu::Emulator emulator{emu::Options{}};
  ASSERT_TRUE(emulator.start().ok());
  TempDir dir;
  auto r = run(binary() + " " + quote(dir.path) + " -o endpoint=" + emulator.url(), 20s);
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(isMounted(dir.path));
  EXPECT_FALSE(readFile(dir.path + "/instance/name").empty());
  EXPECT_EQ(run("fusermount3 -u " + quote(dir.path)).status, 0);
  EXPECT_TRUE(waitFor([&] { return daemonPids(dir.path).empty(); }));
}

TEST(Cli, SigintUnmountsCleanly) {
  emu::Emulator emulator{emu::Options{}};
  ASSERT_TRUE(emulator.start().ok());
  Mount m(emulator);
  EXPECT_FALSE(readFile(m.at("instance/name")).empty());
  EXPECT_EQ(m.stop(SIGINT), 0);
  EXPECT_FALSE(isMounted(m.path()));
}

TEST(Cli, DeadMountpointIsDetectedAndTheFixPrinted) {
  emu::Emulator emulator{emu::Options{}};
  ASSERT_TRUE(emulator.start().ok());
  Mount m(emulator);
  m.crash();  // "Transport endpoint is not connected" from now on
  struct stat st {};
  ASSERT_NE(::stat(m.path().c_str(), &st), 0);
  ASSERT_EQ(errno, ENOTCONN);
  auto r = run(binary() + " " + quote(m.path()) + " -f -o endpoint=" + emulator.url(), 10s);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("Transport endpoint is not connected"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("fusermount3 -u " + m.path()), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mdfs::itest

namespace mdfs::itest {
namespace {

// Under systemd, standard error is the journal: each line carries its syslog priority.
TEST(Cli, StandardErrorLinesCarryJournalPrioritiesUnderSystemd) {
  auto plain = run(binary() + " /nonexistent-mountpoint -f", 10s);
  EXPECT_NE(plain.status, 0);
  EXPECT_EQ(plain.err.rfind("metadatafs[", 0), 0U) << plain.err;
  auto journal = run("JOURNAL_STREAM=8:1234 " + binary() + " /nonexistent-mountpoint -f", 10s);
  EXPECT_NE(journal.status, 0);
  EXPECT_EQ(journal.err.rfind("<3>metadatafs[", 0), 0U) << journal.err;
  EXPECT_NE(journal.err.find("error: mountpoint /nonexistent-mountpoint"), std::string::npos);
}

}  // namespace
}  // namespace mdfs::itest
