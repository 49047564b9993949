// Calls in one directory do not wait for each other (issue 11 §3: no single call may take
// longer than timeout= + 1 s). Without FUSE_PARALLEL_DIROPS the kernel runs the lookups and
// listings of a directory one at a time, so with a slow or failing service one `ls` or
// `stat` waits out the fetches of every other name looked up before it.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "integration/mount_fixture.h"

namespace mdfs::itest {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kLatency = 1500ms;
constexpr const char* kSerialized =
    "this libfuse cannot pass parallel directory operations to the kernel (the daemon's log "
    "says so at start, and the README under Supported systems)";

struct Outcome {
  std::string what;
  Clock::duration took{};
  int err = 0;
};

long long ms(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// Every GET of the metadata API takes kLatency; the token comes at once.
class ParallelDirops : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(emulator_.start().ok());
    emu::Fault slow;
    slow.kind = emu::Fault::Kind::latency;
    slow.method = "GET";
    slow.path = "/metadata/v1/*";
    slow.latency = kLatency;
    emulator_.addFault(slow);
  }
  void TearDown() override { emulator_.clearFaults(); }

  emu::Emulator emulator_{emu::Options{}};
};

Outcome statOf(const std::string& path) {
  Outcome o;
  o.what = "stat " + path;
  auto start = Clock::now();
  struct stat st {};
  o.err = ::stat(path.c_str(), &st) == 0 ? 0 : errno;
  o.took = Clock::now() - start;
  return o;
}

Outcome list(const std::string& dir) {
  Outcome o;
  o.what = "ls " + dir;
  auto start = Clock::now();
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    o.err = errno;
  } else {
    errno = 0;
    while (readdir(d) != nullptr) {  // NOLINT(concurrency-mt-unsafe): one DIR per call
    }
    o.err = errno;
    closedir(d);
  }
  o.took = Clock::now() - start;
  return o;
}

TEST_F(ParallelDirops, LookupsOfNamesInOneDirectoryRunAtOnce) {
  // Each root child is an endpoint of its own: looking it up costs one fetch.
  const std::vector<std::string> names = {"instance", "keys", "placement_groups",
                                          "virtual_network_interfaces"};
  Mount m(emulator_, {"timeout=10"});
  ASSERT_TRUE(m.mounted());
  if (m.callsInADirectoryRunOneAtATime()) GTEST_SKIP() << kSerialized;
  std::vector<Outcome> outcomes(names.size());
  StartingGate go(static_cast<std::ptrdiff_t>(names.size()));
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < names.size(); ++i) {
    threads.emplace_back([&, i] {
      go.arriveAndWait();
      outcomes[i] = statOf(m.at(names[i]));
    });
  }
  for (auto& t : threads)
    t.join();
  for (const auto& o : outcomes) {
    EXPECT_EQ(o.err, 0) << o.what << ": " << std::strerror(o.err);
    // One round trip each; one at a time, the last would wait for all four.
    EXPECT_LT(o.took, 2 * kLatency)
        << o.what << " took " << ms(o.took) << " ms: it waited for the other lookups";
  }
}

TEST_F(ParallelDirops, ListingDoesNotWaitForALookupInTheSameDirectory) {
  Mount m(emulator_, {"timeout=10"});
  ASSERT_TRUE(m.mounted());
  if (m.callsInADirectoryRunOneAtATime()) GTEST_SKIP() << kSerialized;
  Outcome looked;
  std::thread lookup([&] { looked = statOf(m.at("keys")); });
  std::this_thread::sleep_for(100ms);  // the lookup is waiting for its fetch
  Outcome listed = list(m.path());
  lookup.join();
  EXPECT_EQ(looked.err, 0) << std::strerror(looked.err);
  EXPECT_EQ(listed.err, 0) << std::strerror(listed.err);
  // The listing fetches the root's endpoints in one round (joining the lookup's fetch of
  // keys); after the lookup, it would take about two.
  EXPECT_LT(listed.took, kLatency + kLatency / 2)
      << "ls took " << ms(listed.took) << " ms: it waited for the lookup of keys";
}

}  // namespace
}  // namespace mdfs::itest
