// No single call may take longer than timeout= and a second (issue 11 §3), however many
// readers there are and however the service fails.
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

long long ms(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// A service that takes 1.8 s to answer each GET, with timeout=2. With more calls needing a
// fetch than there are worker threads, a call waits in the kernel's queue for a worker and
// then for its own fetch: its deadline only starts when a worker takes it, so it can take
// up to twice timeout=.
TEST(CallBounds, CallsQueuedForAWorkerStillEndWithinTheTimeout) {
  emu::Emulator emulator{emu::Options{}};
  ASSERT_TRUE(emulator.start().ok());
  emu::Fault slow;
  slow.kind = emu::Fault::Kind::latency;
  slow.latency = 1800ms;
  slow.method = "GET";
  slow.path = "/metadata/v1/*";
  emulator.addFault(slow);
  Mount m(emulator, {"timeout=2", "max_threads=2"});
  ASSERT_TRUE(m.mounted());
  if (m.callsInADirectoryRunOneAtATime()) {
    GTEST_SKIP() << "this libfuse cannot pass parallel directory operations to the kernel "
                    "(the daemon's log says so): stats in one directory wait for each other";
  }

  const std::vector<std::string> names = {"keys", "placement_groups", "virtual_network_interfaces"};
  std::vector<Clock::duration> took(names.size());
  std::vector<int> errs(names.size());
  StartingGate go(static_cast<std::ptrdiff_t>(names.size()));
  std::vector<std::thread> threads;
  threads.reserve(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    threads.emplace_back([&, i] {
      go.arriveAndWait();
      const auto start = Clock::now();
      struct stat st {};
      errs[i] = ::stat(m.at(names[i]).c_str(), &st) == 0 ? 0 : errno;
      took[i] = Clock::now() - start;
    });
  }
  for (auto& t : threads)
    t.join();
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_TRUE(errs[i] == 0 || errs[i] == EIO || errs[i] == ETIMEDOUT)
        << names[i] << ": " << std::strerror(errs[i]);
    EXPECT_LT(took[i], 3s) << "stat " << names[i] << " took " << ms(took[i])
                           << " ms with timeout=2: it waited for a worker, then for its fetch";
  }
  emulator.clearFaults();
}

}  // namespace
}  // namespace mdfs::itest
