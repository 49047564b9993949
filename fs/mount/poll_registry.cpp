#include "mount/poll_registry.h"

#include <algorithm>
#include <utility>

namespace mdfs::mount {

void PollRegistry::served(std::uint64_t ino, std::int64_t version) {
  MutexLock lock(mu_);
  served_[ino] = version;
}

PollRegistry::Answer PollRegistry::poll(std::uint64_t ino, std::optional<std::uint64_t> kh,
                                        std::optional<std::int64_t> current, PollHandle handle,
                                        std::vector<int> sources) {
  Answer answer;
  MutexLock lock(mu_);
  auto served = served_.find(ino);
  if (!kh) {
    answer.changed = current && served != served_.end() && served->second != *current;
    return answer;
  }
  auto it = pollers_.find(*kh);
  if (it == pollers_.end()) {
    if (pollers_.size() >= cap_) evictOne(answer.transitions);
    it = pollers_.emplace(*kh, Poller{}).first;
    it->second.ino = ino;
    by_ino_.emplace(ino, *kh);
    if (served != served_.end()) it->second.seen = served->second;
  }
  Poller& p = it->second;
  p.last_poll = ++sequence_;
  if (current) {
    answer.changed = p.seen && *p.seen != *current;
    p.seen = current;
  }
  if (handle) {
    if (!p.handle) {
      Waiting& w = waiting_[ino];
      if (w.pollers++ == 0) {
        w.sources = std::move(sources);
        answer.transitions.push_back({ino, true, w.sources});
      }
    }
    p.handle = std::move(handle);
    p.polled = true;
  }
  return answer;
}

void PollRegistry::stopWaiting(Poller& p, std::vector<Transition>& out) {
  if (!p.handle) return;
  p.handle.reset();
  auto w = waiting_.find(p.ino);
  if (w != waiting_.end() && --w->second.pollers == 0) {
    out.push_back({p.ino, false, std::move(w->second.sources)});
    waiting_.erase(w);
  }
}

void PollRegistry::evictOne(std::vector<Transition>& out) {
  auto oldest = pollers_.end();
  for (auto it = pollers_.begin(); it != pollers_.end(); ++it) {
    if (oldest == pollers_.end() || it->second.last_poll < oldest->second.last_poll) oldest = it;
  }
  if (oldest == pollers_.end()) return;
  stopWaiting(oldest->second, out);
  auto range = by_ino_.equal_range(oldest->second.ino);
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second == oldest->first) {
      by_ino_.erase(it);
      break;
    }
  }
  pollers_.erase(oldest);
}

PollRegistry::Wakeups PollRegistry::wake(int source) {
  Wakeups out;
  MutexLock lock(mu_);
  std::vector<std::uint64_t> inos;
  for (const auto& [ino, w] : waiting_) {
    if (std::find(w.sources.begin(), w.sources.end(), source) != w.sources.end()) {
      inos.push_back(ino);
    }
  }
  for (std::uint64_t ino : inos) {
    auto range = by_ino_.equal_range(ino);
    for (auto it = range.first; it != range.second; ++it) {
      Poller& p = pollers_.at(it->second);
      if (!p.handle) continue;
      if (!p.polled) {
        stopWaiting(p, out.transitions);
        continue;
      }
      p.polled = false;
      out.handles.push_back(p.handle);
    }
  }
  return out;
}

std::vector<PollHandle> PollRegistry::handlesOf(std::uint64_t ino) const {
  std::vector<PollHandle> out;
  MutexLock lock(mu_);
  auto range = by_ino_.equal_range(ino);
  for (auto it = range.first; it != range.second; ++it) {
    const Poller& p = pollers_.at(it->second);
    if (p.handle) out.push_back(p.handle);
  }
  return out;
}

std::vector<PollRegistry::Transition> PollRegistry::forget(std::uint64_t ino) {
  std::vector<Transition> out;
  MutexLock lock(mu_);
  served_.erase(ino);
  auto range = by_ino_.equal_range(ino);
  for (auto it = range.first; it != range.second; ++it) {
    auto p = pollers_.find(it->second);
    stopWaiting(p->second, out);
    pollers_.erase(p);
  }
  by_ino_.erase(range.first, range.second);
  return out;
}

std::vector<std::uint64_t> PollRegistry::waitingInodes() const {
  std::vector<std::uint64_t> out;
  MutexLock lock(mu_);
  for (const auto& [ino, w] : waiting_)
    out.push_back(ino);
  return out;
}

std::size_t PollRegistry::pollers() const {
  MutexLock lock(mu_);
  return pollers_.size();
}

}  // namespace mdfs::mount
