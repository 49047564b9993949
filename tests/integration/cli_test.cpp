// The command line: refusals before mounting, help and version, mount(8), detaching,
// signals, and every start-up check with its message (mountpoint, host, config file).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
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
          d + " -o allow_other,cloud=ibm,endpoint=" + emulator.url() +
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
  auto r = run(binary() + " " + quote(dir.path) + " -o cloud=ibm,endpoint=" + emulator.url(), 20s);
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
  auto r =
      run(binary() + " " + quote(m.path()) + " -f -o cloud=ibm,endpoint=" + emulator.url(), 10s);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("Transport endpoint is not connected"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("fusermount3 -u " + m.path()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("-o recover"), std::string::npos) << r.err;
}

TEST(Cli, RecoverClearsADeadMountAndMountsAgain) {
  emu::Emulator emulator{emu::Options{}};
  ASSERT_TRUE(emulator.start().ok());
  Mount m(emulator);
  m.crash();
  auto r = run(
      binary() + " " + quote(m.path()) + " -o recover,cloud=ibm,endpoint=" + emulator.url(), 20s);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("recover: " + m.path() + " was a dead metadatafs mount"), std::string::npos)
      << r.err;
  EXPECT_TRUE(isMounted(m.path()));
  EXPECT_EQ(readFile(m.at("instance/name")), "web-frontend-01\n");
  EXPECT_EQ(run("fusermount3 -u " + quote(m.path())).status, 0);
  EXPECT_TRUE(waitFor([&] { return daemonPids(m.path()).empty(); }));
  struct stat st {};
  EXPECT_EQ(::stat(m.path().c_str(), &st), 0) << "no dead mount left underneath";
}

TEST(Cli, RecoverLeavesALiveMountAndAHealthyDirectoryAlone) {
  emu::Emulator emulator{emu::Options{}};
  ASSERT_TRUE(emulator.start().ok());
  Mount m(emulator);
  ASSERT_FALSE(readFile(m.at("instance/name")).empty());
  // A second daemon over a live mount would hide the first: refused, recover or not.
  for (const char* extra : {"", "recover,"}) {
    auto r = run(binary() + " " + quote(m.path()) + " -f -o " + extra +
                     "cloud=ibm,endpoint=" + emulator.url(),
                 10s);
    EXPECT_EQ(r.status, 1) << extra;
    EXPECT_NE(r.err.find(m.path() + " is already a metadatafs mount, served by another daemon"),
              std::string::npos)
        << r.err;
  }
  EXPECT_EQ(daemonPids(m.path()).size(), 1U);
  EXPECT_EQ(readFile(m.at("instance/name")), "web-frontend-01\n");
  auto mounts = run("grep -c ' " + m.path() + " fuse.metadatafs ' /proc/mounts");
  EXPECT_EQ(mounts.out, "1\n");
}

TEST(Cli, AMissingMountpointDoesNotExist) {
  auto r = run(binary() + " /nonexistent-mountpoint -f", 10s);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("error: mountpoint /nonexistent-mountpoint does not exist (create it: "
                       "mkdir -p /nonexistent-mountpoint)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("not a directory"), std::string::npos) << r.err;
}

TEST(Cli, ASymlinkedMountpointIsMountedAtItsTargetAndSaysSo) {
  emu::Emulator emulator{emu::Options{}};
  ASSERT_TRUE(emulator.start().ok());
  TempDir dir;
  const std::string target = dir.path + "/target";
  const std::string link = dir.path + "/link";
  ASSERT_EQ(mkdir(target.c_str(), 0755), 0);
  ASSERT_EQ(symlink("target", link.c_str()), 0);
  auto r = run(binary() + " " + quote(link) + " -o cloud=ibm,endpoint=" + emulator.url(), 20s);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("mountpoint " + link + " is a symbolic link: mounting at its target " +
                       target + " (unmount with: fusermount3 -u " + target + ")"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(isMounted(target));
  EXPECT_EQ(readFile(link + "/instance/name"), "web-frontend-01\n");
  EXPECT_EQ(run("fusermount3 -u " + quote(target)).status, 0);
  EXPECT_TRUE(waitFor([&] { return daemonPids(link).empty(); }));
  if (isMounted(target)) run("fusermount3 -uz " + quote(target));
  unlink(link.c_str());
  rmdir(target.c_str());
}

TEST(Cli, ANonEmptyMountpointIsMountedOverWithAWarning) {
  emu::Emulator emulator{emu::Options{}};
  ASSERT_TRUE(emulator.start().ok());
  TempDir dir;
  const std::string file = dir.path + "/left-behind";
  { std::ofstream(file) << "x"; }
  auto r = run(binary() + " " + quote(dir.path) + " -o cloud=ibm,endpoint=" + emulator.url(), 20s);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("warning: mountpoint " + dir.path +
                       " is not empty: its entries are hidden while metadatafs is mounted there"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(readFile(dir.path + "/instance/name"), "web-frontend-01\n");
  EXPECT_EQ(run("fusermount3 -u " + quote(dir.path)).status, 0);
  EXPECT_TRUE(waitFor([&] { return daemonPids(dir.path).empty(); }));
  EXPECT_EQ(readFile(file), "x");
  unlink(file.c_str());
}

TEST(Cli, ConfigFileErrorsNameTheFileAndTheLine) {
  TempDir dir;
  const std::string conf = dir.path + "/metadatafs.conf";
  { std::ofstream(conf) << "# settings\nttl=60\nttl=soon\n"; }
  auto bad = run(binary() + " " + quote(dir.path) + " -f -o config=" + quote(conf), 10s);
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("metadatafs: " + conf + ":3: bad value for ttl: 'soon' (whole seconds"),
            std::string::npos)
      << bad.err;
  { std::ofstream(conf) << "tll=5\n"; }
  auto typo = run(binary() + " " + quote(dir.path) + " -f -o config=" + quote(conf), 10s);
  EXPECT_EQ(typo.status, 2);
  EXPECT_NE(typo.err.find(conf + ":1: unknown option 'tll=5'; did you mean 'ttl=5'?"),
            std::string::npos)
      << typo.err;
  unlink(conf.c_str());
  EXPECT_FALSE(isMounted(dir.path));
}

TEST(Cli, AFutureApiVersionIsWarnedAbout) {
  emu::Emulator emulator{emu::Options{}};
  ASSERT_TRUE(emulator.start().ok());
  Mount m(emulator, {"api_version=9999-12-31"});
  ASSERT_TRUE(m.mounted());
  EXPECT_NE(m.log().find("warning: api_version 9999-12-31 is later than today ("),
            std::string::npos)
      << m.log();
}

// A private /dev for one command, holding only `devices` (a private mount namespace, so
// the machine's /dev is untouched). DIR is a scratch folder.
std::string privateDev(const std::string& dir, const std::string& devices) {
  const std::string d = quote(dir);
  return "mkdir " + d + "/realdev\nmount --rbind /dev " + d +
         "/realdev\nmount -t tmpfs mdfs-cli-dev /dev\nfor n in " + devices +
         "; do touch /dev/$n; mount --bind " + d + "/realdev/$n /dev/$n; done\numount -l " + d +
         "/realdev\n";
}

TEST(Cli, WithoutDevFuseTheCauseAndTheFixAreNamed) {
  TempDir dir;
  const std::string m = dir.path + "/m";
  ASSERT_EQ(mkdir(m.c_str(), 0755), 0);
  auto r = runInPrivateMountNamespace(privateDev(dir.path, "null zero random urandom") +
                                          quote(binary()) + " " + quote(m) +
                                          " -f || echo \"status=$?\"\n",
                                      30s);
  EXPECT_NE(r.out.find("status=1"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.err.find("error: no /dev/fuse: the fuse kernel module is not loaded (modprobe "
                       "fuse), or this container was started without the device"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("device not found"), std::string::npos) << "libfuse never tried: " << r.err;
  rmdir(m.c_str());
  rmdir((dir.path + "/realdev").c_str());
}

TEST(Cli, AllowOtherAsAUserWithoutUserAllowOtherIsExplained) {
  TempDir dir;
  const std::string m = dir.path + "/m";
  const std::string conf = dir.path + "/fuse.conf";
  ASSERT_EQ(mkdir(m.c_str(), 0755), 0);
  ASSERT_EQ(chmod(dir.path.c_str(), 0755), 0);
  { std::ofstream(conf) << "#user_allow_other\n"; }
  // fusermount3 reads /etc/fuse.conf; the namespace shows it our copy.
  auto r = runInPrivateMountNamespace("mount --bind " + quote(conf) +
                                          " /etc/fuse.conf\nsetpriv --reuid=65534 --regid=65534 "
                                          "--clear-groups " +
                                          quote(binary()) + " " + quote(m) +
                                          " -f -o allow_other || echo \"status=$?\"\n",
                                      30s);
  EXPECT_NE(r.out.find("status=1"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.err.find("error: allow_other needs the line user_allow_other in /etc/fuse.conf when "
                       "a user other than root mounts"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("fusermount3: "), std::string::npos) << r.err;
  unlink(conf.c_str());
  rmdir(m.c_str());
}

TEST(Cli, DetachingWithoutASyslogSocketSaysTheLogWillBeLost) {
  emu::Emulator emulator{emu::Options{}};
  ASSERT_TRUE(emulator.start().ok());
  TempDir dir;
  const std::string m = dir.path + "/m";
  ASSERT_EQ(mkdir(m.c_str(), 0755), 0);
  auto r = runInPrivateMountNamespace(
      privateDev(dir.path, "fuse null zero random urandom") + quote(binary()) + " " + quote(m) +
          " -o cloud=ibm,endpoint=" + emulator.url() + "\ncat " + quote(m + "/instance/name") +
          "\nunmount_and_wait " + quote(m) + "\n",
      30s);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("web-frontend-01"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("warning: no syslog socket at /dev/log"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("log is lost. Use -f"), std::string::npos) << r.err;
  rmdir(m.c_str());
  rmdir((dir.path + "/realdev").c_str());
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
