#include "mount/answerer.h"

#include <cerrno>
#include <utility>

namespace mdfs::mount {

Answerer::Answerer(unsigned workers, Millis budget)
    : budget_(budget), workers_(workers), reaper_([this] { reap(); }) {
  workers_.start();
}

Answerer::~Answerer() {
  stop();
}

void Answerer::submit(fuse_req_t req, Work work) {
  auto ticket = std::make_shared<Ticket>(req);
  bool first = false;
  {
    MutexLock lock(mu_);
    // Answered requests leave from the front here, not by waking the reaper for each one:
    // every request has the same budget, so the front is the oldest and usually answered.
    while (!due_.empty() && due_.top().ticket.use_count() == 1)
      due_.pop();
    first = due_.empty();
    due_.push({deadlineIn(budget_), ticket});
  }
  // A later deadline never comes before the one the reaper already waits for.
  if (first) wake_.notify_one();
  bool queued = workers_.post([ticket, work = std::move(work)] {
    try {
      work(*ticket);
    } catch (...) {
      if (ticket->claim()) fuse_reply_err(ticket->req(), EIO);
    }
  });
  if (!queued && ticket->claim()) fuse_reply_err(req, EIO);  // stopping
}

void Answerer::stop() {
  {
    MutexLock lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  workers_.stop();
  if (reaper_.joinable()) reaper_.join();
  MutexLock lock(mu_);
  for (; !due_.empty(); due_.pop()) {
    if (due_.top().ticket->claim()) fuse_reply_err(due_.top().ticket->req(), ETIMEDOUT);
  }
}

// Answers ETIMEDOUT for every request whose deadline passed unanswered.
void Answerer::reap() {
  UniqueLock lock(mu_);
  while (!stopping_) {
    const Deadline now = std::chrono::steady_clock::now();
    while (!due_.empty() && (due_.top().at <= now || due_.top().ticket.use_count() == 1)) {
      auto ticket = due_.top().ticket;
      const bool overdue = due_.top().at <= now;
      due_.pop();
      if (overdue && ticket->claim()) fuse_reply_err(ticket->req(), ETIMEDOUT);
    }
    if (due_.empty()) {
      wake_.wait(lock);
    } else {
      // A copy: wait_until reads its argument while the lock is released, when submit()
      // may move the queue's storage.
      const Deadline next = due_.top().at;
      wake_.wait_until(lock, next);
    }
  }
}

}  // namespace mdfs::mount
