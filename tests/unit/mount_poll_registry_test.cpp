// Poll semantics per open file (issue 15), without a kernel: versions in, answers out.
#include <gtest/gtest.h>

#include "mount/poll_registry.h"

namespace mdfs::mount {
namespace {

PollHandle handle() {
  return std::make_shared<int>(0);
}

constexpr std::uint64_t kIno = 42;
const std::vector<int> kSources{3};

TEST(PollRegistry, AnOpenFileSeesEachChangeOnce) {
  PollRegistry r;
  EXPECT_FALSE(r.poll(kIno, 1, 100, handle(), kSources).changed) << "first poll: the baseline";
  EXPECT_FALSE(r.poll(kIno, 1, 100, handle(), kSources).changed);
  EXPECT_TRUE(r.poll(kIno, 1, 200, handle(), kSources).changed);
  EXPECT_FALSE(r.poll(kIno, 1, 200, handle(), kSources).changed) << "reported once";
  EXPECT_TRUE(r.poll(kIno, 1, PollRegistry::kGone, handle(), kSources).changed) << "vanished";
  EXPECT_FALSE(r.poll(kIno, 1, std::nullopt, handle(), kSources).changed) << "unknown now";
  EXPECT_FALSE(r.poll(kIno, 1, PollRegistry::kGone, handle(), kSources).changed);
}

TEST(PollRegistry, SeveralOpenFilesOfOneInodeEachSeeTheChange) {
  PollRegistry r;
  for (std::uint64_t kh : {1, 2, 3})
    EXPECT_FALSE(r.poll(kIno, kh, 100, handle(), kSources).changed);
  for (std::uint64_t kh : {3, 1, 2})
    EXPECT_TRUE(r.poll(kIno, kh, 200, handle(), kSources).changed) << kh;
  for (std::uint64_t kh : {1, 2, 3})
    EXPECT_FALSE(r.poll(kIno, kh, 200, handle(), kSources).changed) << kh;
}

// A reader reads, the content changes, then it polls for the first time: the page cache
// it read from held the version last served, so the change is reported.
TEST(PollRegistry, TheFirstPollStartsFromWhatWasLastServed) {
  PollRegistry r;
  r.served(kIno, 100);
  EXPECT_TRUE(r.poll(kIno, 1, 200, handle(), kSources).changed);
  r.served(kIno, 200);
  EXPECT_FALSE(r.poll(kIno, 2, 200, handle(), kSources).changed);
}

TEST(PollRegistry, APollThatNamesNoOpenFileIsAnsweredForTheInode) {
  PollRegistry r;
  EXPECT_FALSE(r.poll(kIno, std::nullopt, 100, nullptr, kSources).changed) << "nothing served";
  r.served(kIno, 100);
  EXPECT_FALSE(r.poll(kIno, std::nullopt, 100, nullptr, kSources).changed);
  EXPECT_TRUE(r.poll(kIno, std::nullopt, 200, nullptr, kSources).changed);
  EXPECT_TRUE(r.poll(kIno, std::nullopt, 200, nullptr, kSources).changed) << "until reread";
  r.served(kIno, 200);
  EXPECT_FALSE(r.poll(kIno, std::nullopt, 200, nullptr, kSources).changed);
  EXPECT_EQ(r.pollers(), 0U);
}

TEST(PollRegistry, WaitingPollersAreWokenAndTheSilentOnesStopWaiting) {
  PollRegistry r;
  auto first = r.poll(kIno, 1, 100, handle(), kSources);
  ASSERT_EQ(first.transitions.size(), 1U);
  EXPECT_TRUE(first.transitions[0].waiting);
  EXPECT_EQ(first.transitions[0].sources, kSources);
  EXPECT_TRUE(r.poll(kIno, 2, 100, handle(), kSources).transitions.empty()) << "not the first";
  EXPECT_TRUE(r.poll(7, 9, 5, handle(), {4}).transitions.size() == 1);

  auto w = r.wake(3);
  EXPECT_EQ(w.handles.size(), 2U) << "the pollers of source 3 only";
  EXPECT_TRUE(w.transitions.empty());
  // Open file 1 answers its wake-up with a poll; open file 2 stays silent (it was closed).
  (void)r.poll(kIno, 1, 100, handle(), kSources);
  w = r.wake(3);
  EXPECT_EQ(w.handles.size(), 1U);
  EXPECT_TRUE(w.transitions.empty()) << "one poller still waits";
  w = r.wake(3);
  EXPECT_TRUE(w.handles.empty());
  ASSERT_EQ(w.transitions.size(), 1U);
  EXPECT_FALSE(w.transitions[0].waiting);
  EXPECT_EQ(w.transitions[0].sources, kSources);
  EXPECT_EQ(r.waitingInodes(), std::vector<std::uint64_t>{7});
  // A busy poller that comes back waits again, and still knows what it saw.
  auto back = r.poll(kIno, 2, 300, handle(), kSources);
  EXPECT_TRUE(back.changed);
  ASSERT_EQ(back.transitions.size(), 1U);
  EXPECT_TRUE(back.transitions[0].waiting);
}

TEST(PollRegistry, ForgettingTheInodeDropsItsPollers) {
  PollRegistry r;
  r.served(kIno, 100);
  (void)r.poll(kIno, 1, 100, handle(), kSources);
  (void)r.poll(kIno, 2, 100, nullptr, kSources);
  EXPECT_EQ(r.pollers(), 2U);
  auto gone = r.forget(kIno);
  ASSERT_EQ(gone.size(), 1U);
  EXPECT_FALSE(gone[0].waiting);
  EXPECT_EQ(r.pollers(), 0U);
  EXPECT_TRUE(r.waitingInodes().empty());
  EXPECT_FALSE(r.poll(kIno, 3, 200, handle(), kSources).changed) << "served was forgotten too";
}

TEST(PollRegistry, BeyondTheCapTheLeastRecentlyPolledGoes) {
  PollRegistry r(2);
  (void)r.poll(kIno, 1, 100, handle(), kSources);
  (void)r.poll(kIno, 2, 100, handle(), kSources);
  (void)r.poll(kIno, 1, 100, handle(), kSources);
  auto third = r.poll(kIno, 3, 100, handle(), kSources);
  EXPECT_EQ(r.pollers(), 2U);
  EXPECT_TRUE(third.transitions.empty()) << "the inode still has waiting pollers";
  EXPECT_EQ(r.handlesOf(kIno).size(), 2U);
  EXPECT_TRUE(r.poll(kIno, 1, 200, handle(), kSources).changed) << "1 was kept";
  EXPECT_FALSE(r.poll(kIno, 2, 200, handle(), kSources).changed) << "2 starts over";
}

}  // namespace
}  // namespace mdfs::mount
