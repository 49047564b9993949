// SIGHUP (`systemctl reload metadatafs`, issue 5): every cached snapshot is dropped and the
// kernel's caches invalidated, so the next access refetches, even far inside a long TTL,
// and values the kernel had cached are seen new at once.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <functional>
#include <thread>

#include "integration/mount_fixture.h"

namespace mdfs::itest {
namespace {

using namespace std::chrono_literals;

class OpsReload : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(emulator_.start().ok()); }
  emu::Emulator emulator_{emu::Options{}};
};

TEST_F(OpsReload, SighupRefetchesOnNextAccessAndTheKernelForgetsCachedValues) {
  Mount m(emulator_, {"ttl=3600"});
  const std::string file = m.at("instance/name");
  const std::string old_name = readFile(file);
  ASSERT_FALSE(old_name.empty());
  ASSERT_FALSE(readFile(m.at("keys/by-name/ops-rsa/name")).empty());
  // Read again and stat: name, attributes and pages are now in the kernel's caches.
  ASSERT_EQ(readFile(file), old_name);
  const auto old_st = statOf(file);
  ASSERT_EQ(emulator_.requests("GET", "/metadata/v1/instance"), 1U);
  ASSERT_EQ(emulator_.requests("GET", "/metadata/v1/keys"), 1U);

  const std::string renamed = "renamed-by-the-operator-after-mount";
  ASSERT_TRUE(emulator_.setData("/instance/name", "\"" + renamed + "\"").ok());
  EXPECT_EQ(readFile(file), old_name) << "inside the TTL nothing is refetched";
  EXPECT_EQ(emulator_.requests("GET", "/metadata/v1/instance"), 1U);

  auto pids = daemonPids(m.path());
  ASSERT_EQ(pids.size(), 1U);
  ASSERT_EQ(kill(pids[0], SIGHUP), 0);
  // Lazy: SIGHUP itself fetches nothing.
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(emulator_.totalRequests(), 3U) << "one token, instance and keys";
  // The drop happens on the daemon's signal thread; the first read after it refetches.
  EXPECT_TRUE(waitFor([&] { return readFile(file) == renamed + "\n"; }))
      << "still " << readFile(file) << m.log();
  EXPECT_EQ(emulator_.requests("GET", "/metadata/v1/instance"), 2U) << "one refetch";
  const auto new_st = statOf(file);
  EXPECT_EQ(new_st.st_size, static_cast<off_t>(renamed.size() + 1));
  EXPECT_GT(new_st.st_mtim.tv_sec * 1000000000LL + new_st.st_mtim.tv_nsec,
            old_st.st_mtim.tv_sec * 1000000000LL + old_st.st_mtim.tv_nsec);

  // The path through the root revalidated it: its endpoints known to exist were asked again
  // in the background (so its listing turns true without the walk waiting), nothing else was.
  EXPECT_TRUE(waitFor([&] { return emulator_.requests("GET", "/metadata/v1/keys") == 2U; }));
  EXPECT_EQ(emulator_.requests("GET", "/metadata/v1/placement_groups"), 0U);
  EXPECT_FALSE(readFile(m.at("keys/by-name/ops-rsa/name")).empty());
  EXPECT_EQ(emulator_.requests("GET", "/metadata/v1/keys"), 2U);
  // The token is not part of the cache: no new one is requested.
  EXPECT_EQ(emulator_.requests("PUT", "/identity/v1/token"), 1U);

  EXPECT_NE(m.log().find("info: SIGHUP"), std::string::npos) << m.log();
  EXPECT_TRUE(m.mounted());
}

TEST_F(OpsReload, RepeatedSighupsWhileReadingNeverFailAReader) {
  Mount m(emulator_, {"ttl=3600"});
  ASSERT_FALSE(readFile(m.at("instance/name")).empty());
  auto pids = daemonPids(m.path());
  ASSERT_EQ(pids.size(), 1U);
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    while (!stop) {
      int err = 0;
      std::string v = readFile(m.at("instance/name"), &err);
      if (err != 0 || v.empty()) ++failures;
      ++reads;
    }
  });
  for (int i = 0; i < 10; ++i) {
    kill(pids[0], SIGHUP);
    std::this_thread::sleep_for(30ms);
  }
  stop = true;
  reader.join();
  EXPECT_EQ(failures.load(), 0) << "of " << reads.load() << " reads";
  EXPECT_GE(emulator_.requests("GET", "/metadata/v1/instance"), 2U);
  EXPECT_LE(emulator_.requests("GET", "/metadata/v1/instance"), 11U) << "one refetch per SIGHUP";
}

}  // namespace
}  // namespace mdfs::itest
