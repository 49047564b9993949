// The daemon's own resources stay put under load (issue 11 §3): the soak's thread count
// is only a leak detector if the FUSE worker pool does not shrink and grow with every
// burst of requests.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/mount_fixture.h"

namespace mdfs::itest {
namespace {

using namespace std::chrono_literals;

int threadsOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  int value = -1;
  while (in >> key) {
    if (key == "Threads:") {
      in >> value;
      break;
    }
  }
  return value;
}

// One thread per path stats it, all at once; returns the daemon's thread count while
// they wait for the slow service.
int burst(const std::vector<std::string>& paths, pid_t daemon) {
  std::vector<std::thread> threads;
  threads.reserve(paths.size());
  for (const auto& p : paths) {
    threads.emplace_back([p] {
      struct stat st {};
      (void)::stat(p.c_str(), &st);
    });
  }
  std::this_thread::sleep_for(400ms);  // every request is in the daemon, waiting
  const int during = threadsOf(daemon);
  for (auto& t : threads)
    t.join();
  return during;
}

TEST(Resources, WorkerThreadsStayAfterABurst) {
  emu::Emulator emulator{emu::Options{}};
  ASSERT_TRUE(emulator.start().ok());
  // Requests wait on the answerer's fixed pool, not on libfuse's workers, which only pass
  // them on: with a bound of 2 every burst starts both, and the count is exact.
  Mount m(emulator, {"ttl=1", "max_threads=2"});
  ASSERT_TRUE(m.mounted());
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(m.at("instance"))) {
    if (e.is_regular_file() && files.size() < 24) files.push_back(e.path().string());
  }
  ASSERT_EQ(files.size(), 24U);
  emu::Fault slow;
  slow.kind = emu::Fault::Kind::latency;
  slow.method = "GET";
  slow.path = "/metadata/v1/instance";
  slow.latency = 800ms;
  emulator.addFault(slow);

  std::this_thread::sleep_for(1100ms);  // past the TTL: each stat asks the daemon
  const int during = burst(files, m.pid());
  std::this_thread::sleep_for(300ms);
  const int after = threadsOf(m.pid());
  EXPECT_EQ(after, during) << "worker threads exited after the burst";

  std::this_thread::sleep_for(1100ms);
  const int again = burst(files, m.pid());
  EXPECT_EQ(again, during) << "the same burst needed new threads";
  emulator.clearFaults();
}

}  // namespace
}  // namespace mdfs::itest
