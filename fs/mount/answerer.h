// Answers kernel requests that may wait on the metadata service away from libfuse's worker
// threads, each by its own deadline (issue 11: a FUSE request is always answered within
// timeout= and a second). A libfuse worker hands such a request over and is free again at
// once, so no request waits in the kernel's queue behind others blocked on the network;
// the request is answered by its work, or with ETIMEDOUT when its deadline comes first,
// whichever claims it first. The work then goes on to its own (equal) deadline unheard.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <queue>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/work_queue.h"
#include "mount/fuse_compat.h"

namespace mdfs::mount {

// One request's right to be answered: exactly one claim() succeeds.
class Ticket {
 public:
  explicit Ticket(fuse_req_t req) : req_(req) {}
  [[nodiscard]] bool claim() { return !answered_.exchange(true); }
  // Only after a successful claim(): the request is freed by its answer.
  [[nodiscard]] fuse_req_t req() const { return req_; }

 private:
  fuse_req_t req_;
  std::atomic<bool> answered_{false};
};

class Answerer {
 public:
  using Work = std::function<void(Ticket&)>;

  // `workers` threads, started now, run the work; a request unanswered `budget` after
  // submit() gets ETIMEDOUT.
  Answerer(unsigned workers, Millis budget);
  ~Answerer();
  Answerer(const Answerer&) = delete;
  Answerer& operator=(const Answerer&) = delete;

  void submit(fuse_req_t req, Work work);
  // Joins the threads (after the service's transport was closed, so work ends at once);
  // requests still unanswered get ETIMEDOUT.
  void stop();

 private:
  struct Due {
    Deadline at;
    std::shared_ptr<Ticket> ticket;
    bool operator>(const Due& other) const { return at > other.at; }
  };
  void reap();

  const Millis budget_;
  WorkQueue workers_;
  Mutex mu_;
  CondVar wake_;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread reaper_;
};

}  // namespace mdfs::mount
