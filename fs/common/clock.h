// Time is injected wherever expiry or TTL must be tested: SystemClock in the daemon,
// FakeClock in unit tests. steady() drives TTLs and token renewal; wall() gives the
// calendar time shown to users (mtimes, expires_at).
#pragma once

#include <chrono>
#include <cstdint>

#include "common/mutex.h"

namespace mdfs {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using Millis = std::chrono::milliseconds;
using Seconds = std::chrono::seconds;

class Clock {
 public:
  Clock() = default;
  Clock(const Clock&) = delete;
  Clock& operator=(const Clock&) = delete;
  virtual ~Clock() = default;
  [[nodiscard]] virtual SteadyTime steady() const = 0;
  [[nodiscard]] virtual WallTime wall() const = 0;
};

class SystemClock final : public Clock {
 public:
  [[nodiscard]] SteadyTime steady() const override { return std::chrono::steady_clock::now(); }
  [[nodiscard]] WallTime wall() const override { return std::chrono::system_clock::now(); }
};

// Starts at the real current time and moves only when told to.
class FakeClock final : public Clock {
 public:
  FakeClock()
      : steady_(std::chrono::steady_clock::now()), wall_(std::chrono::system_clock::now()) {}

  [[nodiscard]] SteadyTime steady() const override {
    MutexLock lock(mu_);
    return steady_;
  }
  [[nodiscard]] WallTime wall() const override {
    MutexLock lock(mu_);
    return wall_;
  }
  template <class Rep, class Period>
  void advance(std::chrono::duration<Rep, Period> d) {
    MutexLock lock(mu_);
    steady_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(d);
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
  }

 private:
  mutable Mutex mu_;
  SteadyTime steady_ GUARDED_BY(mu_);
  WallTime wall_ GUARDED_BY(mu_);
};

// A calendar time as nanoseconds since the Unix epoch (file mtimes).
inline std::int64_t nanosSinceEpoch(WallTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// An absolute point in real (steady) time by which an operation must be answered.
// Deadlines bound network waits, so they always use the real clock.
using Deadline = std::chrono::steady_clock::time_point;

inline Deadline deadlineIn(Millis budget) {
  return std::chrono::steady_clock::now() + budget;
}

inline Millis remaining(Deadline d) {
  auto left = std::chrono::duration_cast<Millis>(d - std::chrono::steady_clock::now());
  return left.count() > 0 ? left : Millis(0);
}

}  // namespace mdfs
