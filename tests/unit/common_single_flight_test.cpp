#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <stdexcept>
#include <thread>

#include "common/single_flight.h"
#include "common/work_queue.h"

namespace mdfs {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(SingleFlight, ConcurrentCallersShareOneRun) {
  SingleFlight<int> flight;
  std::atomic<int> runs{0};
  std::promise<void> release;
  auto gate = release.get_future().share();
  auto work = [&] {
    ++runs;
    gate.wait();
    return 42;
  };
  bool first_led = false;
  auto first =
      std::async(std::launch::async, [&] { return flight.run(deadlineIn(5s), work, &first_led); });
  while (!flight.busy())
    std::this_thread::sleep_for(1ms);
  bool second_led = true;
  auto second =
      std::async(std::launch::async, [&] { return flight.run(deadlineIn(5s), work, &second_led); });
  std::this_thread::sleep_for(50ms);
  release.set_value();
  EXPECT_EQ(first.get(), 42);
  EXPECT_EQ(second.get(), 42);
  EXPECT_EQ(runs, 1);
  EXPECT_TRUE(first_led);
  EXPECT_FALSE(second_led);
  EXPECT_FALSE(flight.busy());
}

// The lock-over-the-network defect of issue 10: a waiter is bounded by its own deadline,
// not by the runner's.
TEST(SingleFlight, WaiterGivesUpAtItsOwnDeadline) {
  SingleFlight<int> flight;
  std::promise<void> release;
  auto gate = release.get_future().share();
  auto slow = std::async(std::launch::async, [&] {
    return flight.run(deadlineIn(10s), [&] {
      gate.wait();
      return 1;
    });
  });
  while (!flight.busy())
    std::this_thread::sleep_for(1ms);
  const auto start = Clock::now();
  auto waited = flight.run(deadlineIn(200ms), [] { return 2; });
  const auto took = Clock::now() - start;
  EXPECT_FALSE(waited.has_value());
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 2s);
  release.set_value();
  EXPECT_EQ(slow.get(), 1);
}

TEST(SingleFlight, ARunThatThrowsReleasesItsWaitersAndTheNextCallerRunsAgain) {
  SingleFlight<int> flight;
  std::promise<void> release;
  auto gate = release.get_future().share();
  auto thrower = std::async(std::launch::async, [&] {
    return flight.run(deadlineIn(5s), [&]() -> int {
      gate.wait();
      throw std::runtime_error("boom");
    });
  });
  while (!flight.busy())
    std::this_thread::sleep_for(1ms);
  auto waiter =
      std::async(std::launch::async, [&] { return flight.run(deadlineIn(5s), [] { return 3; }); });
  std::this_thread::sleep_for(50ms);
  release.set_value();
  EXPECT_THROW(thrower.get(), std::runtime_error);
  auto got = waiter.get();
  EXPECT_TRUE(!got.has_value() || *got == 3);
  EXPECT_EQ(flight.run(deadlineIn(1s), [] { return 4; }), 4);
}

TEST(WorkQueue, RunsJobsInParallelAndTheLatchWaitsForAll) {
  WorkQueue queue(4);
  auto latch = std::make_shared<Latch>(4);
  std::atomic<int> running{0};
  std::atomic<int> peak{0};
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(queue.post([&, latch] {
      int now = ++running;
      int seen = peak.load();
      while (now > seen && !peak.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(100ms);
      --running;
      latch->countDown();
    }));
  }
  EXPECT_TRUE(latch->waitUntil(deadlineIn(5s)));
  EXPECT_EQ(peak, 4);
}

std::size_t threadsOfThisProcess() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& task : std::filesystem::directory_iterator("/proc/self/task"))
    ++n;
  return n;
}

// The daemon starts its pools before serving, so the first request does not wait while
// dozens of threads are created (it made the first cold listing slower).
TEST(WorkQueue, StartedWorkersAreReadyBeforeTheFirstJobAndNoneIsAddedLater) {
  // Sanitizers start a helper thread of their own with the first thread (CI's ASan run).
  std::thread([] {}).join();
  const std::size_t before = threadsOfThisProcess();
  WorkQueue queue(6);
  EXPECT_EQ(threadsOfThisProcess(), before) << "nothing started by construction (fork)";
  queue.start();
  queue.start();
  EXPECT_EQ(threadsOfThisProcess(), before + 6);
  Latch latch(1);
  ASSERT_TRUE(queue.post([&] { latch.countDown(); }));
  EXPECT_TRUE(latch.waitUntil(deadlineIn(5s)));
  EXPECT_EQ(threadsOfThisProcess(), before + 6);
  queue.stop();
  // A joined thread may be listed for a moment after its exit.
  for (int i = 0; i < 100 && threadsOfThisProcess() != before; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(threadsOfThisProcess(), before);
  queue.start();
  EXPECT_EQ(threadsOfThisProcess(), before) << "stopped for good";
}

TEST(WorkQueue, LatchWaitEndsAtTheDeadlineAndStopDropsQueuedJobs) {
  WorkQueue queue(1);
  std::promise<void> release;
  auto gate = release.get_future().share();
  std::atomic<int> ran{0};
  queue.post([&] {
    gate.wait();
    ++ran;
  });
  queue.post([&] { ++ran; });
  Latch latch(1);
  EXPECT_FALSE(latch.waitUntil(deadlineIn(50ms)));
  release.set_value();
  queue.stop();
  EXPECT_GE(ran, 1);
  EXPECT_FALSE(queue.post([] {}));
}

// A waiter that got a result it cannot use (a timeout of the leader's own) and calls run()
// again at once must start a run of its own, not join the one that just ended (found by
// TSan's timing in the token cache: the ended run was still current for a moment).
TEST(SingleFlight, AWaiterThatRunsAgainAtOnceStartsANewRun) {
  for (int i = 0; i < 300; ++i) {
    SingleFlight<int> flight;
    std::promise<void> release;
    auto gate = release.get_future().share();
    auto leader = std::async(std::launch::async, [&] {
      return flight.run(deadlineIn(5s), [&] {
        gate.wait();
        return 1;
      });
    });
    while (!flight.busy())
      std::this_thread::yield();
    auto waiter = std::async(std::launch::async, [&] {
      auto first = flight.run(deadlineIn(5s), [] { return 2; });
      bool led = false;
      auto again = flight.run(
          deadlineIn(5s), [] { return 3; }, &led);
      return std::make_pair(first, again.value_or(0) == 3 && led);
    });
    std::this_thread::sleep_for(1ms);
    release.set_value();
    EXPECT_EQ(leader.get(), 1);
    // (The waiter may have come late and led the first run itself: that is fine too.)
    ASSERT_TRUE(waiter.get().second) << "iteration " << i;
  }
}

}  // namespace
}  // namespace mdfs
