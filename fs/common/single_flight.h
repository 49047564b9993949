// "One caller fetches, the others wait until their own deadline." Concurrent callers that
// need the same value share one run of the work: the first caller runs it with no lock
// held, the others wait for its result, each no longer than its own deadline. Used by the
// endpoint cache, the token caches and the synthesized files, so that no lock is ever held
// across a network request and no waiter is held past its deadline by someone else's fetch.
#pragma once

#include <memory>
#include <optional>
#include <utility>

#include "common/clock.h"
#include "common/mutex.h"

namespace mdfs {

template <class T>
class SingleFlight {
 public:
  // Runs `work` when no run is under way and returns its result. Otherwise waits for the run
  // under way and returns its result, or nullopt when `deadline` passes first (or that run
  // ended by an exception). `led`, when given, tells whether this caller ran the work.
  template <class Work>
  std::optional<T> run(Deadline deadline, Work&& work, bool* led = nullptr) {
    std::shared_ptr<Flight> flight;
    bool leader = false;
    {
      MutexLock lock(mu_);
      if (!current_) {
        current_ = std::make_shared<Flight>();
        leader = true;
      }
      flight = current_;
    }
    if (led != nullptr) *led = leader;
    if (!leader) return flight->await(deadline);
    Landing landing(*this, *flight);
    landing.result = std::forward<Work>(work)();
    return landing.result;
  }

  // True while a run is under way.
  [[nodiscard]] bool busy() const {
    MutexLock lock(mu_);
    return current_ != nullptr;
  }

 private:
  struct Flight {
    Mutex mu;
    CondVar cv;
    bool done GUARDED_BY(mu) = false;
    std::optional<T> result GUARDED_BY(mu);

    std::optional<T> await(Deadline deadline) {
      UniqueLock lock(mu);
      if (!cv.wait_until(lock, deadline, [this]() REQUIRES(mu) { return done; })) {
        return std::nullopt;
      }
      return result;
    }
  };

  // Ends the leader's flight on every path, an exception included, so waiters are never
  // stranded: they get the result, or nullopt when there is none.
  struct Landing {
    Landing(SingleFlight& owner, Flight& flight) : owner_(owner), flight_(flight) {}
    // The run stops being current before its waiters wake: a waiter that calls run()
    // again at once (to try with more time of its own) starts a new run instead of
    // joining the finished one.
    ~Landing() {
      {
        MutexLock lock(owner_.mu_);
        owner_.current_.reset();
      }
      {
        MutexLock lock(flight_.mu);
        flight_.result = std::move(result);
        flight_.done = true;
      }
      flight_.cv.notify_all();
    }
    Landing(const Landing&) = delete;
    Landing& operator=(const Landing&) = delete;
    std::optional<T> result;

   private:
    SingleFlight& owner_;
    Flight& flight_;
  };

  mutable Mutex mu_;
  std::shared_ptr<Flight> current_ GUARDED_BY(mu_);  // the run under way, if any
};

}  // namespace mdfs
