// Least privilege (issue 13): after a mount as root, the serving process has non-zero
// uids and gids, no capabilities, no_new_privs and a seccomp filter; the unmount keeper
// keeps CAP_SYS_ADMIN only; run_as picks the user (root keeps root, warned); secrets_group
// opens the secrets to one group; and every way of ending a mount still works.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "integration/mount_fixture.h"

namespace mdfs::itest {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kSysAdmin = 1ULL << 21;

// "Uid" -> "65534\t65534\t65534\t65534", from /proc/PID/status.
std::map<std::string, std::string> statusOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::map<std::string, std::string> out;
  for (std::string line; std::getline(in, line);) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    out[line.substr(0, colon)] = value;
  }
  return out;
}

std::vector<std::string> fields(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string f; in >> f;)
    out.push_back(f);
  return out;
}

std::uint64_t hex(const std::string& text) {
  return std::stoull(text, nullptr, 16);
}

// The one metadatafs process serving `m`.
pid_t daemonOf(const Mount& m) {
  auto pids = daemonPids(m.path());
  EXPECT_EQ(pids.size(), 1U) << "expected one metadatafs process for " << m.path();
  return pids.empty() ? -1 : pids.front();
}

// The unmount keeper: the child of `daemon` called metadatafs-umnt.
pid_t keeperOf(pid_t daemon) {
  auto r = run("pgrep -x -P " + std::to_string(daemon) + " metadatafs-umnt");
  return r.status == 0 ? static_cast<pid_t>(std::stoi(r.out)) : -1;
}

// uid (= gid) run_as picks by default here: metadatafs when the system has that user.
std::string defaultUser() {
  return run("getent passwd metadatafs").status == 0 ? "metadatafs" : "nobody";
}

std::string idOf(const std::string& user, const char* flag) {
  auto r = run(std::string("id ") + flag + " " + user);
  return r.out.substr(0, r.out.find('\n'));
}

class Privilege : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "mounting as root is what is tested here";
    ASSERT_TRUE(emulator_.start().ok());
  }
  emu::Emulator emulator_{emu::Options{}};
};

TEST_F(Privilege, ServingProcessHasNoPrivilegeLeft) {
  Mount m(emulator_, {"allow_other", "identity"});
  ASSERT_TRUE(m.mounted());
  EXPECT_EQ(readFile(m.at("instance/name")), "web-frontend-01\n");
  auto st = statusOf(daemonOf(m));
  const std::string uid = idOf(defaultUser(), "-u");
  const std::string gid = idOf(defaultUser(), "-g");
  EXPECT_EQ(fields(st["Uid"]), std::vector<std::string>(4, uid)) << st["Uid"];
  EXPECT_EQ(fields(st["Gid"]), std::vector<std::string>(4, gid)) << st["Gid"];
  EXPECT_NE(uid, "0");
  EXPECT_TRUE(fields(st["Groups"]).empty()) << st["Groups"];
  EXPECT_EQ(hex(st["CapEff"]), 0U);
  EXPECT_EQ(hex(st["CapPrm"]), 0U);
  EXPECT_EQ(hex(st["CapAmb"]), 0U);
  EXPECT_EQ(hex(st["CapInh"]), 0U);
  EXPECT_EQ(st["NoNewPrivs"], "1");
  EXPECT_EQ(st["Seccomp"], "2");
  // Files keep the mounting user's ownership and their modes; the token is still root's.
  struct stat token = statOf(m.at("identity/token"));
  EXPECT_EQ(token.st_uid, 0U);
  EXPECT_EQ(token.st_gid, 0U);
  EXPECT_EQ(token.st_mode & 07777, 0400U);
  EXPECT_FALSE(readFile(m.at("identity/token")).empty()) << m.log();
  auto other = run("runuser -u nobody -- cat " + quote(m.at("identity/token")));
  EXPECT_NE(other.status, 0);
  EXPECT_NE(other.err.find("Permission denied"), std::string::npos) << other.err;
  EXPECT_NE(m.log().find("info: serving as " + defaultUser()), std::string::npos) << m.log();
  EXPECT_NE(m.log().find("a seccomp filter of "), std::string::npos) << m.log();
}

TEST_F(Privilege, UnmountKeeperKeepsOnlySysAdmin) {
  Mount m(emulator_);
  ASSERT_TRUE(m.mounted());
  pid_t keeper = keeperOf(daemonOf(m));
  ASSERT_GT(keeper, 0) << "no metadatafs-umnt child";
  auto st = statusOf(keeper);
  EXPECT_EQ(hex(st["CapEff"]), kSysAdmin) << st["CapEff"];
  EXPECT_EQ(hex(st["CapPrm"]), kSysAdmin) << st["CapPrm"];
  EXPECT_EQ(hex(st["CapBnd"]), kSysAdmin) << st["CapBnd"];
  EXPECT_EQ(hex(st["CapAmb"]), 0U);
  EXPECT_EQ(st["NoNewPrivs"], "1");
  EXPECT_EQ(st["Seccomp"], "2");
  // It holds no FUSE device: only standard streams and its socket.
  auto fds = run("ls -l /proc/" + std::to_string(keeper) + "/fd");
  EXPECT_EQ(fds.out.find("/dev/fuse"), std::string::npos) << fds.out;
  EXPECT_EQ(m.stop(), 0);
  EXPECT_TRUE(waitFor([&] {
    return kill(keeper, 0) != 0 ||
           run("grep -q '^State:.*Z' /proc/" + std::to_string(keeper) + "/status").status == 0;
  }));
}

TEST_F(Privilege, RunAsChoosesTheUser) {
  Mount m(emulator_, {"run_as=daemon"});
  ASSERT_TRUE(m.mounted());
  EXPECT_EQ(readFile(m.at("instance/name")), "web-frontend-01\n");
  auto st = statusOf(daemonOf(m));
  EXPECT_EQ(fields(st["Uid"]), std::vector<std::string>(4, idOf("daemon", "-u")));
  EXPECT_EQ(fields(st["Gid"]), std::vector<std::string>(4, idOf("daemon", "-g")));
  EXPECT_NE(m.log().find("info: serving as daemon (uid "), std::string::npos) << m.log();
}

TEST_F(Privilege, RunAsRootKeepsRootAndSaysSo) {
  Mount m(emulator_, {"run_as=root"});
  ASSERT_TRUE(m.mounted());
  EXPECT_EQ(readFile(m.at("instance/name")), "web-frontend-01\n");
  pid_t daemon = daemonOf(m);
  auto st = statusOf(daemon);
  EXPECT_EQ(fields(st["Uid"]), std::vector<std::string>(4, "0"));
  EXPECT_NE(hex(st["CapEff"]) & kSysAdmin, 0U);
  EXPECT_EQ(st["Seccomp"], "0");
  EXPECT_EQ(keeperOf(daemon), -1) << "no keeper: root unmounts by itself";
  EXPECT_NE(m.log().find("warning: run_as=root: the daemon keeps root"), std::string::npos)
      << m.log();
  EXPECT_EQ(m.stop(), 0);
  EXPECT_FALSE(isMounted(m.path()));
}

TEST_F(Privilege, UnknownRunAsIsRefusedBeforeMounting) {
  char dir[] = "/tmp/mdfs-priv-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  auto r = run(buildDir() + "/metadatafs " + dir + " -f -o run_as=no-such-user-here", 10s);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("bad value for run_as: 'no-such-user-here'"), std::string::npos) << r.err;
  EXPECT_FALSE(isMounted(dir));
  rmdir(dir);
}

TEST_F(Privilege, SigtermAndSigintUnmountThroughTheKeeper) {
  for (int sig : {SIGTERM, SIGINT}) {
    Mount m(emulator_);
    ASSERT_TRUE(m.mounted());
    EXPECT_FALSE(readFile(m.at("instance/name")).empty());
    pid_t keeper = keeperOf(daemonOf(m));
    EXPECT_GT(keeper, 0);
    EXPECT_EQ(m.stop(sig), 0) << m.log();
    EXPECT_FALSE(isMounted(m.path())) << "the mount is gone when the daemon has exited";
    EXPECT_NE(m.log().find("info: unmounted " + m.path()), std::string::npos) << m.log();
  }
}

TEST_F(Privilege, FusermountAndUmountEndTheDaemon) {
  for (const char* command : {"fusermount3 -u ", "umount "}) {
    Mount m(emulator_);
    ASSERT_TRUE(m.mounted());
    EXPECT_FALSE(readFile(m.at("instance/name")).empty());
    pid_t daemon = daemonOf(m);
    EXPECT_EQ(run(command + quote(m.path())).status, 0) << command;
    EXPECT_TRUE(waitFor([&] { return daemonPids(m.path()).empty(); })) << command;
    EXPECT_FALSE(isMounted(m.path()));
    (void)daemon;
  }
}

TEST_F(Privilege, CrashLeavesADeadMountThatRecoverClears) {
  Mount m(emulator_);
  ASSERT_TRUE(m.mounted());
  pid_t keeper = keeperOf(daemonOf(m));
  m.crash();
  int err = 0;
  readFile(m.at("instance/name"), &err);
  EXPECT_EQ(err, ENOTCONN) << "a crash leaves a dead mount, not a hung one";
  EXPECT_TRUE(isMounted(m.path()));
  // The keeper saw its daemon vanish without asking, and left the mount alone.
  EXPECT_TRUE(waitFor([&] {
    return kill(keeper, 0) != 0 ||
           run("grep -q '^State:.*Z' /proc/" + std::to_string(keeper) + "/status").status == 0;
  }));
  auto r =
      run(buildDir() + "/metadatafs " + quote(m.path()) + " -o recover,endpoint=" + emulator_.url(),
          20s);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(readFile(m.at("instance/name")), "web-frontend-01\n");
  EXPECT_EQ(run("umount " + quote(m.path())).status, 0);
  EXPECT_TRUE(waitFor([&] { return daemonPids(m.path()).empty(); }));
}

TEST_F(Privilege, SighupAndTtlRefreshStillWork) {
  Mount m(emulator_, {"ttl=1"});
  ASSERT_TRUE(m.mounted());
  EXPECT_EQ(readFile(m.at("instance/name")), "web-frontend-01\n");
  EXPECT_EQ(emulator_.requests("GET", "/metadata/v1/instance"), 1U);
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(readFile(m.at("instance/name")), "web-frontend-01\n");
  EXPECT_TRUE(waitFor([&] { return emulator_.requests("GET", "/metadata/v1/instance") >= 2; }));
  const auto before = emulator_.requests("GET", "/metadata/v1/instance");
  kill(daemonOf(m), SIGHUP);
  EXPECT_TRUE(waitFor([&] {
    readFile(m.at("instance/name"));
    return emulator_.requests("GET", "/metadata/v1/instance") > before;
  }));
  EXPECT_NE(m.log().find("info: SIGHUP"), std::string::npos) << m.log();
}

// secrets_group=GROUP: secrets are 0440 and GROUP's; a member reads them, others do not.
TEST_F(Privilege, SecretsGroupLetsItsMembersReadSecrets) {
  const std::string group = "4242";
  Mount m(emulator_,
          {"allow_other", "identity", "trusted_profile=default", "secrets_group=" + group});
  ASSERT_TRUE(m.mounted());
  for (const char* secret :
       {"identity/token", "identity/iam_token", "instance/initialization/user_data",
        "instance/initialization.json", "well-known/userdata"}) {
    struct stat st = statOf(m.at(secret));
    EXPECT_EQ(st.st_mode & 07777, 0440U) << secret;
    EXPECT_EQ(st.st_gid, 4242U) << secret;
    EXPECT_EQ(st.st_uid, 0U) << secret;
    auto member = run("setpriv --reuid=65534 --regid=65534 --groups=" + group + " cat " +
                      quote(m.at(secret)));
    EXPECT_EQ(member.status, 0) << secret << ": " << member.err;
    EXPECT_FALSE(member.out.empty()) << secret;
    auto stranger =
        run("setpriv --reuid=65534 --regid=65534 --clear-groups cat " + quote(m.at(secret)));
    EXPECT_NE(stranger.status, 0) << secret;
    EXPECT_NE(stranger.err.find("Permission denied"), std::string::npos) << stranger.err;
  }
  // Everything else keeps its group and mode.
  struct stat name = statOf(m.at("instance/name"));
  EXPECT_EQ(name.st_mode & 07777, 0444U);
  EXPECT_EQ(name.st_gid, 0U);
}

TEST_F(Privilege, WithoutSecretsGroupSecretsStayOwnerOnly) {
  Mount m(emulator_, {"allow_other", "identity"});
  ASSERT_TRUE(m.mounted());
  for (const char* secret :
       {"identity/token", "instance/initialization/user_data", "well-known/userdata"}) {
    struct stat st = statOf(m.at(secret));
    EXPECT_EQ(st.st_mode & 07777, 0400U) << secret;
    EXPECT_EQ(st.st_gid, 0U) << secret;
  }
}

}  // namespace
}  // namespace mdfs::itest
