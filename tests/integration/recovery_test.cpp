// Death and recovery (issue 11 §4): a killed daemon releases every reader at once; a lazy
// unmount or SIGTERM lets the requests in flight finish within timeout= and the daemon
// exit 0 soon after the last one; a busy mount refuses a plain unmount and keeps serving.
// Readers are threads making real system calls on the mount, each timed; every wait is
// bounded, and the Mount (declared after the readers) always unmounts first, which frees
// any reader still inside the filesystem.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "integration/mount_fixture.h"

namespace mdfs::itest {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

long long msBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

// One system call (or a read to the end) on its own thread.
struct Call {
  std::string what;
  Clock::time_point start;
  Clock::time_point end;
  int err = -1;  // errno; 0 when it succeeded
  std::string data;
  bool done = false;
};

class Readers {
 public:
  Readers() = default;
  Readers(const Readers&) = delete;
  Readers& operator=(const Readers&) = delete;
  ~Readers() {
    for (auto& t : threads_)
      t.join();
  }

  // Starts `body` (which returns an errno and may fill `data`) on a thread of its own.
  void start(const std::string& what, std::function<int(std::string&)> body) {
    auto call = std::make_shared<Call>();
    call->what = what;
    {
      std::lock_guard lock(mu_);
      calls_.push_back(call);
    }
    threads_.emplace_back([this, call, body = std::move(body)] {
      std::string data;
      auto start = Clock::now();
      int err = body(data);
      auto end = Clock::now();
      std::lock_guard lock(mu_);
      call->start = start;
      call->end = end;
      call->err = err;
      call->data = std::move(data);
      call->done = true;
      cv_.notify_all();
    });
  }

  void read(const std::string& path) {
    start("read " + path, [path](std::string& data) {
      int err = 0;
      data = readFile(path, &err);
      return err;
    });
  }

  void list(const std::string& dir) {
    start("ls " + dir, [dir](std::string& data) {
      DIR* d = opendir(dir.c_str());
      if (d == nullptr) return errno;
      errno = 0;
      while (const dirent* e = readdir(d))  // NOLINT(concurrency-mt-unsafe): one DIR each
        data += std::string(e->d_name) + "\n";
      int err = errno;
      closedir(d);
      return err;
    });
  }

  // True when every call returned within `limit`.
  bool waitAll(std::chrono::milliseconds limit) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [this] {
      return std::all_of(calls_.begin(), calls_.end(), [](const auto& c) { return c->done; });
    });
  }

  // The calls (copies), once waitAll() said they all returned.
  std::vector<Call> calls() {
    std::lock_guard lock(mu_);
    std::vector<Call> out;
    for (const auto& c : calls_)
      out.push_back(*c);
    return out;
  }

  std::vector<std::string> running() {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& c : calls_)
      if (!c->done) out.push_back(c->what);
    return out;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<Call>> calls_;  // guarded by mu_
  std::vector<std::thread> threads_;
};

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v)
    out += "\n  " + s;
  return out;
}

class Recovery : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(emulator_.start().ok()); }
  void TearDown() override { emulator_.clearFaults(); }

  void addFault(emu::Fault::Kind kind, const std::string& path,
                std::chrono::milliseconds latency = 0ms) {
    emu::Fault f;
    f.kind = kind;
    f.method = "GET";
    f.path = path;
    f.latency = latency;
    emulator_.addFault(f);
  }

  // Waits until the emulator has received a GET of each of `paths` (the readers are then
  // waiting inside the daemon), then a little longer for the stragglers.
  void waitForRequests(const std::vector<std::string>& paths) {
    for (const auto& p : paths) {
      EXPECT_TRUE(waitFor([&] { return emulator_.requests("GET", p) > 0; }, 10s))
          << "no GET " << p << " arrived";
    }
    std::this_thread::sleep_for(200ms);
  }

  emu::Emulator emulator_{emu::Options{}};
};

constexpr std::array<const char*, 4> kRootEndpoints = {"/metadata/v1/instance", "/metadata/v1/keys",
                                                       "/metadata/v1/placement_groups",
                                                       "/metadata/v1/virtual_network_interfaces"};
constexpr std::array<const char*, 5> kInstanceFiles = {"instance/name", "instance/zone/name",
                                                       "instance/vpc/id", "instance/profile/name",
                                                       "instance.json"};

// ---------------------------------------------------------------- kill -9

TEST_F(Recovery, KillNineReleasesEveryReaderWithinOneSecond) {
  // Every GET hangs: each reader sits in a request the daemon never answers. More readers
  // than worker threads (16), so some requests still wait in the kernel's queue, and
  // several read one file, so some wait for another reader's page.
  addFault(emu::Fault::Kind::hang, "*");
  Readers readers;
  Mount m(emulator_, {"timeout=60"});
  ASSERT_TRUE(m.mounted());
  for (int i = 0; i < 4; ++i) {
    for (const auto& f : kInstanceFiles)
      readers.read(m.at(f));
  }
  for (const char* f : {"keys.json", "placement_groups.json", "virtual_network_interfaces.json",
                        "instance/initialization/user_data"}) {
    readers.read(m.at(f));
  }
  readers.list(m.at("keys"));
  readers.list(m.path());
  if (m.callsInADirectoryRunOneAtATime()) {
    // The kernel looks up one name of the root at a time, and the first, whichever reader
    // gets there first, hangs: one request of any of them is enough.
    EXPECT_TRUE(waitFor(
        [&] {
          return std::any_of(kRootEndpoints.begin(), kRootEndpoints.end(),
                             [&](const char* p) { return emulator_.requests("GET", p) > 0; });
        },
        10s))
        << "no GET arrived";
    std::this_thread::sleep_for(200ms);
  } else {
    waitForRequests({"/metadata/v1/instance", "/metadata/v1/keys"});
  }
  ASSERT_FALSE(readers.running().empty());

  const auto killed = Clock::now();
  m.crash();
  const bool all = readers.waitAll(5s);
  EXPECT_TRUE(all) << "still inside the dead filesystem after 5 s:" << joined(readers.running());
  if (!all) return;
  // The kernel ends the requests it was waiting on with ECONNABORTED and refuses new ones
  // (a reader's next request, or one behind another reader's page) with ENOTCONN.
  for (const auto& c : readers.calls()) {
    EXPECT_TRUE(c.err == ENOTCONN || c.err == ECONNABORTED)
        << c.what << ": " << std::strerror(c.err);
    EXPECT_LT(msBetween(killed, c.end), 1000) << c.what << " returned late";
  }
  // Anything that needs the daemon now fails at once.
  struct statfs fs {};
  auto start = Clock::now();
  errno = 0;
  EXPECT_NE(statfs(m.path().c_str(), &fs), 0);
  EXPECT_EQ(errno, ENOTCONN);
  int err = 0;
  readFile(m.at("keys/by-name/nothing"), &err);
  EXPECT_EQ(err, ENOTCONN);
  EXPECT_LT(msBetween(start, Clock::now()), 1000);
}

// ---------------------------------------------------------------- lazy unmount, SIGTERM

// Requests in flight: reads of an endpoint that answers after 800 ms (they get data) and
// reads and a listing of one that never answers (they get EIO or ETIMEDOUT at timeout=2).
void startReadsInFlight(Readers& readers, const Mount& m) {
  for (const auto& f : kInstanceFiles)
    readers.read(m.at(f));
  readers.read(m.at("keys.json"));
  readers.read(m.at("keys.json"));
  readers.list(m.at("keys"));
}

// Every call was answered with data or a documented error within timeout= (2 s) and a
// second of slack; returns when the last one was answered.
Clock::time_point expectAnsweredInTime(Readers& readers, const emu::Emulator& emulator) {
  const bool all = readers.waitAll(10s);
  EXPECT_TRUE(all) << "unanswered after 10 s:" << joined(readers.running());
  Clock::time_point last{};
  if (!all) return Clock::now();
  for (const auto& c : readers.calls()) {
    EXPECT_TRUE(c.err == 0 || c.err == EIO || c.err == ETIMEDOUT)
        << c.what << ": " << std::strerror(c.err);
    EXPECT_LT(msBetween(c.start, c.end), 3000) << c.what << " was answered late";
    if (c.err == 0 && c.what.ends_with("/instance/name")) {
      auto name = emulator.data("/instance/name");  // JSON text: the string in quotes
      EXPECT_TRUE(name.ok() && "\"" + c.data.substr(0, c.data.size() - 1) + "\"" == *name)
          << c.what << " read " << c.data;
    }
    last = std::max(last, c.end);
  }
  return last;
}

class LazyUnmount : public Recovery, public ::testing::WithParamInterface<const char*> {};

TEST_P(LazyUnmount, RequestsInFlightAreAnsweredAndTheDaemonExitsSoonAfter) {
  addFault(emu::Fault::Kind::latency, "/metadata/v1/instance", 800ms);
  addFault(emu::Fault::Kind::hang, "/metadata/v1/keys");
  Readers readers;
  Mount m(emulator_, {"timeout=2"});
  ASSERT_TRUE(m.mounted());
  startReadsInFlight(readers, m);
  waitForRequests({"/metadata/v1/instance", "/metadata/v1/keys"});

  auto r = run(std::string(GetParam()) + " " + quote(m.path()), 10s);
  EXPECT_EQ(r.status, 0) << GetParam() << ": " << r.err;
  EXPECT_FALSE(isMounted(m.path())) << "detached at once";

  const auto last = expectAnsweredInTime(readers, emulator_);
  // The last reader closed its files: the kernel lets go of the filesystem, and the daemon
  // ends with nothing left to wait for.
  const int status = m.waitExit(10s);
  const auto exited = Clock::now();
  EXPECT_EQ(status, 0) << "the daemon " << (status < 0 ? "is still running" : "failed")
                       << "; log:\n"
                       << m.log();
  EXPECT_LT(msBetween(last, exited), 2000) << "from the last answer to the daemon's exit";
}

INSTANTIATE_TEST_SUITE_P(Recovery, LazyUnmount, ::testing::Values("fusermount3 -uz", "umount -l"),
                         [](const auto& info) {
                           return std::string(info.index == 0 ? "Fusermount" : "Umount");
                         });

TEST_F(Recovery, SigtermAnswersRequestsInFlightAndExitsSoonAfter) {
  addFault(emu::Fault::Kind::latency, "/metadata/v1/instance", 800ms);
  addFault(emu::Fault::Kind::hang, "/metadata/v1/keys");
  Readers readers;
  Mount m(emulator_, {"timeout=2"});
  ASSERT_TRUE(m.mounted());
  if (m.stopDoesNotWaitForCallsInProgress()) {
    GTEST_SKIP() << "this libfuse has no session I/O hooks (the daemon's log says so): a "
                    "stop cannot tell which calls are still unanswered";
  }
  startReadsInFlight(readers, m);
  waitForRequests({"/metadata/v1/instance", "/metadata/v1/keys"});

  const auto signalled = Clock::now();
  ASSERT_EQ(kill(m.pid(), SIGTERM), 0);
  const auto last = expectAnsweredInTime(readers, emulator_);
  const int status = m.waitExit(10s);
  const auto exited = Clock::now();
  EXPECT_EQ(status, 0) << "log:\n" << m.log();
  EXPECT_LT(msBetween(std::max(last, signalled), exited), 2000)
      << "from the last answer to the daemon's exit";
  EXPECT_FALSE(isMounted(m.path()));
}

// A background refresh that the service never answers is no reason to stay: the daemon
// is gone within 2 s of its last answer to the kernel, not when that fetch times out.
void refreshInFlight(emu::Emulator& emulator, const Mount& m) {
  int err = 0;
  readFile(m.at("keys.json"), &err);  // keys is read, so refreshed ahead of its expiry
  ASSERT_EQ(err, 0);
  emu::Fault hang;
  hang.kind = emu::Fault::Kind::hang;
  hang.method = "GET";
  hang.path = "/metadata/v1/keys";
  emulator.addFault(hang);
  // ttl=2: the refresh starts at 75 % of it.
  ASSERT_TRUE(waitFor([&] { return emulator.requests("GET", "/metadata/v1/keys") >= 2; }, 10s))
      << "no refresh of keys";
  std::this_thread::sleep_for(100ms);
}

TEST_F(Recovery, LazyUnmountDoesNotWaitForARefreshInFlight) {
  Mount m(emulator_, {"ttl=2", "timeout=15"});
  ASSERT_TRUE(m.mounted());
  refreshInFlight(emulator_, m);
  const auto unmounted = Clock::now();
  auto r = run("fusermount3 -uz " + quote(m.path()), 10s);
  EXPECT_EQ(r.status, 0) << r.err;
  const int status = m.waitExit(20s);
  const auto exited = Clock::now();
  EXPECT_EQ(status, 0) << m.log();
  EXPECT_LT(msBetween(unmounted, exited), 2000)
      << "the daemon waited for its background refresh (timeout=15) before exiting";
}

TEST_F(Recovery, SigtermDoesNotWaitForARefreshInFlight) {
  Mount m(emulator_, {"ttl=2", "timeout=15"});
  ASSERT_TRUE(m.mounted());
  refreshInFlight(emulator_, m);
  const auto signalled = Clock::now();
  ASSERT_EQ(kill(m.pid(), SIGTERM), 0);
  const int status = m.waitExit(20s);
  const auto exited = Clock::now();
  EXPECT_EQ(status, 0) << m.log();
  EXPECT_LT(msBetween(signalled, exited), 2000)
      << "the daemon waited for its background refresh (timeout=15) before exiting";
}

// Likewise the probe that asks a silent service whether it is back.
TEST_F(Recovery, SigtermDoesNotWaitForAProbeInFlight) {
  addFault(emu::Fault::Kind::hang, "*");
  Mount m(emulator_, {"timeout=4"});
  ASSERT_TRUE(m.mounted());
  int err = 0;
  readFile(m.at("instance/name"), &err);  // no answer in 4 s: the service is known down
  EXPECT_TRUE(err == EIO || err == ETIMEDOUT) << std::strerror(err);
  // The token request hung, so the first GET of the instance is the probe (sent without a
  // token 250 ms after the outage began), and it hangs too.
  ASSERT_TRUE(waitFor([&] { return emulator_.requests("GET", "/metadata/v1/instance") >= 1; }, 5s));
  std::this_thread::sleep_for(100ms);
  const auto signalled = Clock::now();
  ASSERT_EQ(kill(m.pid(), SIGTERM), 0);
  const int status = m.waitExit(20s);
  const auto exited = Clock::now();
  EXPECT_EQ(status, 0) << m.log();
  EXPECT_LT(msBetween(signalled, exited), 2000)
      << "the daemon waited for its probe of the service (timeout=4) before exiting";
}

TEST_F(Recovery, SigtermReleasesTheMountAtOnceWhateverTheDaemonStillWaitsFor) {
  Mount m(emulator_, {"ttl=2", "timeout=15"});
  ASSERT_TRUE(m.mounted());
  refreshInFlight(emulator_, m);
  const auto signalled = Clock::now();
  ASSERT_EQ(kill(m.pid(), SIGTERM), 0);
  // Once nothing reads requests, nothing may wait on the mount: it goes, and a call made
  // on the mountpoint returns at once.
  EXPECT_TRUE(waitFor([&] { return !isMounted(m.path()); }, 2s))
      << "still mounted " << msBetween(signalled, Clock::now()) << " ms after SIGTERM";
  struct stat st {};
  const auto start = Clock::now();
  (void)::stat(m.at("instance").c_str(), &st);
  EXPECT_LT(msBetween(start, Clock::now()), 1000);
  emulator_.clearFaults();
}

// ---------------------------------------------------------------- a busy mount

TEST_F(Recovery, PlainUnmountOfABusyMountIsEbusyAndTheDaemonKeepsServing) {
  Mount m(emulator_);
  ASSERT_TRUE(m.mounted());
  int err = 0;
  const std::string name = readFile(m.at("instance/name"), &err);
  ASSERT_EQ(err, 0);
  // A process working inside the mount, as a shell's cwd or an open file would.
  int fd = open(m.at("instance").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  for (const char* command : {"fusermount3 -u ", "umount "}) {
    auto r = run(command + quote(m.path()), 10s);
    EXPECT_NE(r.status, 0) << command << "of a busy mount succeeded";
    EXPECT_TRUE(r.err.find("busy") != std::string::npos) << command << ": " << r.err;
    EXPECT_TRUE(isMounted(m.path())) << "after " << command;
  }
  close(fd);
  EXPECT_GT(m.pid(), 0);
  EXPECT_EQ(readFile(m.at("instance/name"), &err), name);
  EXPECT_EQ(err, 0);
  EXPECT_EQ(readFile(m.at("keys.json"), &err).empty(), false);
  EXPECT_EQ(err, 0);
  EXPECT_EQ(m.stop(), 0) << m.log();
}

}  // namespace
}  // namespace mdfs::itest
