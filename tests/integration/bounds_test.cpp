// No single call may take longer than timeout= and a second (issue 11 §3), however many
// readers there are and however the service fails.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
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

// The names a directory lists (opendir and readdir to the end: every getdents of one
// listing), "." and ".." left out; errno when it fails.
std::vector<std::string> listing(const std::string& dir, int* err) {
  std::vector<std::string> names;
  *err = 0;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    *err = errno;
    return names;
  }
  errno = 0;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  *err = errno;
  ::closedir(d);
  return names;
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

// The soak's last slow calls: one system call made of two requests (a listing's chunks, a
// LOOKUP then a GETATTR) whose second request was handed to the answerer and queued behind
// requests waiting on a hung service, although the first had just met the failure the
// second would get. Here 48 calls wait on a hung endpoint (more than the answerer's 32
// workers) while a listing of an endpoint whose refetch just failed is made: it is answered
// from memory, at once, with the stale copy.
TEST(CallBounds, CallsAnsweredFromAFailureJustMetDoNotQueueBehindHungOnes) {
  emu::Emulator emulator{emu::Options{}};
  ASSERT_TRUE(emulator.start().ok());
  Mount m(emulator, {"timeout=2"});
  ASSERT_TRUE(m.mounted());
  int err = 0;
  const std::vector<std::string> keys = listing(m.at("keys"), &err);
  ASSERT_EQ(err, 0) << std::strerror(err);
  std::vector<std::string> inst = listing(m.at("instance"), &err);
  ASSERT_EQ(err, 0) << std::strerror(err);
  ASSERT_GE(inst.size(), 40U) << "the default scenario's instance has enough members";
  inst.resize(std::min<std::size_t>(inst.size(), 48));
  for (const auto& name : inst)
    (void)statOf(m.at("instance/" + name));

  emu::Fault garbage;
  garbage.kind = emu::Fault::Kind::malformed;
  garbage.method = "GET";
  garbage.path = "/metadata/v1/keys*";
  emulator.addFault(garbage);
  emu::Fault hang;
  hang.kind = emu::Fault::Kind::hang;
  hang.method = "GET";
  hang.path = "/metadata/v1/instance*";
  emulator.addFault(hang);
  // As in the soak: SIGHUP makes every copy stale and the kernel forget what it holds.
  ASSERT_EQ(::kill(m.pid(), SIGHUP), 0);
  std::this_thread::sleep_for(300ms);
  struct stat st {};
  ASSERT_EQ(::stat(m.at("keys").c_str(), &st), 0) << "the stale copy, its refetch failed";

  std::vector<std::thread> waiting;
  std::vector<Clock::duration> waited(inst.size());
  waiting.reserve(inst.size());
  for (std::size_t i = 0; i < inst.size(); ++i) {
    waiting.emplace_back([&m, &waited, &inst, i] {
      const auto t0 = Clock::now();
      struct stat s {};
      (void)::stat(m.at("instance/" + inst[i]).c_str(), &s);
      waited[i] = Clock::now() - t0;
    });
  }
  std::this_thread::sleep_for(300ms);  // the answerer's workers all wait on instance now
  const auto start = Clock::now();
  const std::vector<std::string> again = listing(m.at("keys"), &err);
  const auto took = Clock::now() - start;
  for (auto& t : waiting)
    t.join();
  emulator.clearFaults();
  ASSERT_GE(*std::max_element(waited.begin(), waited.end()), 1500ms)
      << "the calls on instance did not wait on the service: the test proves nothing";
  EXPECT_EQ(err, 0) << std::strerror(err);
  EXPECT_EQ(again, keys) << "the stale copy";
  EXPECT_LT(took, 1s) << "listing keys/ took " << ms(took)
                      << " ms: it waited behind the calls waiting on instance";
}

}  // namespace
}  // namespace mdfs::itest
