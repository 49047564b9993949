// Mounting the way administrators do (issue 5): an /etc/fstab entry used by
// `mount /metadata` and by the boot (`mount -a`, or systemd's generated mount unit running
// `mount SOURCE DIR -t TYPE -o OPTIONS`), with options from a config file, and a mount that
// never waits for the metadata service.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "integration/mount_fixture.h"

namespace mdfs::itest {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct TempDir {
  TempDir() {
    char t[] = "/tmp/mdfs-ops-mount-XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() {
    for (const char* sub : {"/a", "/b", "/c"}) {
      std::string p = path + sub;
      if (isMounted(p)) run("umount -l " + quote(p), 10s);
      rmdir(p.c_str());
    }
    unlink((path + "/fstab").c_str());
    unlink((path + "/metadatafs.conf").c_str());
    rmdir(path.c_str());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path;
};

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

class OpsMount : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(emulator_.start().ok()); }
  emu::Emulator emulator_{emu::Options{}};
};

TEST_F(OpsMount, FstabEntryMountsByMountpointAndByMountAllWithAConfigFile) {
  TempDir t;
  const std::string a = t.path + "/a";  // `mount /metadata`
  const std::string b = t.path + "/b";  // the boot's `mount -a`
  const std::string c = t.path + "/c";  // systemd's metadata.mount
  for (const auto& d : {a, b, c})
    ASSERT_EQ(mkdir(d.c_str(), 0755), 0);
  const std::string conf = t.path + "/metadatafs.conf";
  writeFile(conf, "# options for the test mounts\ncloud=ibm\nendpoint=" + emulator_.url() +
                      "\napi_version=2024-11-12\nttl = 5\n");
  // The documented line, plus config= on one entry; ttl=7 on the line beats the file's 5.
  writeFile(t.path + "/fstab",
            "# test fstab\n"
            "metadatafs " +
                a + " fuse.metadatafs ro,allow_other,_netdev,nofail,config=" + conf +
                ",ttl=7 0 0\n"
                "metadatafs " +
                b + " fuse.metadatafs ro,allow_other,_netdev,nofail,cloud=ibm,endpoint=" +
                emulator_.url() + " 0 0\n");

  // mount(8) runs mount.fuse.metadatafs or mount.fuse, which runs `metadatafs` from the
  // fixed helper PATH; in a private mount namespace /usr/local/bin holds just our build.
  const std::string fstab = quote(t.path + "/fstab");
  // The namespace's prelude also works from / as at boot: mount(8) would canonicalize the
  // source "metadatafs" against a file of that name in the current directory.
  std::string script =
      "use_build_binary\n"
      "mount -T " +
      fstab + " " + quote(a) +
      "\n"
      "echo \"a: $(cat " +
      quote(a + "/instance/name") +
      ")\"\n"
      "cat " +
      quote(a + "/.status") +
      "\n"
      "mount -a -T " +
      fstab +
      " -t fuse.metadatafs\n"
      "echo \"b: $(cat " +
      quote(b + "/instance/name") +
      ")\"\n"
      "mount metadatafs " +
      quote(c) +
      " -t fuse.metadatafs -o ro,allow_other,_netdev,nofail,cloud=ibm,endpoint=" + emulator_.url() +
      "\n"
      "echo \"c: $(cat " +
      quote(c + "/instance/name") +
      ")\"\n"
      "findmnt -rn -t fuse.metadatafs -o TARGET,SOURCE,FSTYPE,OPTIONS\n"
      "echo \"daemons: $(daemons_under " +
      quote(t.path + "/") +
      " | xargs)\"\n"
      "unmount_and_wait " +
      quote(a) + " " + quote(b) + " " + quote(c) + "\n";
  auto r = runInPrivateMountNamespace(script, 60s);
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  for (const char* expected : {"a: web-frontend-01", "b: web-frontend-01", "c: web-frontend-01"}) {
    EXPECT_NE(r.out.find(expected), std::string::npos) << expected << " in " << r.out;
  }
  // The config file's values arrived, and the fstab line's ttl won over the file's.
  EXPECT_NE(r.out.find("\"api_version\": \"2024-11-12\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"ttl_s\": 7,"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\"ttl_s\": 5,"), std::string::npos) << r.out;
  // One daemon per mount, each with the options metadatafs always adds.
  for (const auto& d : {a, b, c}) {
    auto line = r.out.find(d + " metadatafs fuse.metadatafs ");
    ASSERT_NE(line, std::string::npos) << d << " in " << r.out;
    std::string opts = r.out.substr(line, r.out.find('\n', line) - line);
    for (const char* opt : {" ro,", "nosuid", "nodev", "allow_other"}) {
      EXPECT_NE(opts.find(opt), std::string::npos) << opt << " in " << opts;
    }
  }
  EXPECT_EQ(r.out.find("daemons: \n"), std::string::npos) << "one daemon per mount";
  EXPECT_FALSE(isMounted(a) || isMounted(b) || isMounted(c));
}

TEST_F(OpsMount, MountingNeverWaitsForTheMetadataService) {
  // As at boot before the network is up: nothing answers, yet mounting succeeds at once;
  // listing the root says what is wrong (it never shows names that cannot be opened), and
  // the tree appears once the service does.
  emulator_.setServiceEnabled(false);
  auto start = Clock::now();
  Mount m(emulator_, {"timeout=1"});
  ASSERT_TRUE(m.mounted());
  EXPECT_LT(Clock::now() - start, 3s);
  auto ls = run("ls " + quote(m.path()), 10s);
  EXPECT_LT(Clock::now() - start, 5s);
  EXPECT_NE(ls.status, 0);
  EXPECT_NE(ls.err.find("Input/output error"), std::string::npos) << ls.err;
  int err = 0;
  readFile(m.at("instance/name"), &err);
  EXPECT_TRUE(err == EIO || err == ETIMEDOUT) << err;

  emulator_.setServiceEnabled(true);
  std::string name;
  for (int i = 0; i < 100 && name.empty(); ++i) {
    std::this_thread::sleep_for(50ms);
    name = readFile(m.at("instance/name"));
  }
  EXPECT_EQ(name, "web-frontend-01\n");
  ls = run("ls " + quote(m.path()), 10s);
  EXPECT_EQ(ls.status, 0) << ls.err;
  EXPECT_NE(ls.out.find("instance"), std::string::npos) << ls.out;
}

// After a crash the kernel may still answer stat(2) of the mountpoint from its attribute
// cache, so a check by stat alone would miss the dead mount and mount on top of it (the
// dead one would reappear after the next umount).
TEST_F(OpsMount, DeadMountIsRecognisedEvenWhileTheKernelCachesItsRoot) {
  Mount m(emulator_);
  ASSERT_TRUE(m.mounted());
  struct stat st {};
  ASSERT_EQ(::stat(m.path().c_str(), &st), 0);  // the root's attributes are now cached
  ASSERT_FALSE(readFile(m.at("instance/name")).empty());
  m.crash();
  // Bounded: should metadatafs mount on top, `timeout` ends it (SIGTERM unmounts it).
  auto r = run("timeout 5 " + quote(buildDir() + "/metadatafs") + " " + quote(m.path()) +
                   " -f -o cloud=ibm,endpoint=" + emulator_.url(),
               20s);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("Transport endpoint is not connected"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("serving"), std::string::npos) << "mounted over the dead mount";
}

}  // namespace
}  // namespace mdfs::itest
