#include "cache/resource_cache.h"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <utility>

namespace mdfs::cache {
namespace {

constexpr std::size_t kTrimAfterBytes = std::size_t{256} << 10;

std::int64_t toNanos(WallTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::string secondsAgo(SteadyTime then, SteadyTime now) {
  return std::to_string(std::chrono::duration_cast<Seconds>(now - then).count()) + " s ago";
}

}  // namespace

struct ResourceCache::Entry {
  const tree::EndpointSpec* spec = nullptr;
  std::vector<std::string> hidden;  // members that child endpoints replace
  Seconds ttl{60};

  std::shared_ptr<const tree::Snapshot> snapshot;
  bool absent = false;  // the service answered 404
  SteadyTime fetched{};
  SteadyTime expires{};
  WallTime fetched_wall{};
  WallTime expires_wall{};

  std::optional<Error> error;  // the last fetch failed with this
  WallTime error_wall{};
  SteadyTime retry_at{};  // no new attempt before this after a failure

  bool in_flight = false;
  bool accessed = false;  // read since the last successful fetch

  std::uint64_t fetches = 0;
  std::uint64_t retries = 0;
  std::uint64_t stale_serves = 0;
  std::uint64_t failures = 0;

  [[nodiscard]] bool hasData() const { return snapshot != nullptr || absent; }
  [[nodiscard]] bool fresh(SteadyTime now) const { return hasData() && now < expires; }
};

ResourceCache::ResourceCache(const tree::Catalog& catalog, CachePolicy policy,
                             tree::RenderOptions render, Fetcher fetcher, const Clock& clock,
                             const Logger& log)
    : catalog_(catalog),
      policy_(std::move(policy)),
      render_(render),
      fetcher_(std::move(fetcher)),
      clock_(clock),
      log_(log) {
  const auto& all = catalog_.endpoints();
  for (std::size_t i = 0; i < all.size(); ++i) {
    auto e = std::make_unique<Entry>();
    e->spec = &all[i];
    for (int child : catalog_.childrenOf(all[i].mount_path)) {
      e->hidden.emplace_back(all[static_cast<std::size_t>(child)].name());
    }
    entries_.push_back(std::move(e));
    entries_.back()->ttl = ttlOf(static_cast<int>(i));
  }
}

ResourceCache::~ResourceCache() {
  stop();
}

void ResourceCache::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (refresher_.joinable()) refresher_.join();
  std::lock_guard lock(mu_);
  on_change_ = nullptr;
}

void ResourceCache::setChangeCallback(ChangeCallback callback) {
  std::lock_guard lock(mu_);
  on_change_ = std::move(callback);
}

Seconds ResourceCache::ttlOf(int endpoint) const {
  const auto& spec = catalog_.endpoints().at(static_cast<std::size_t>(endpoint));
  auto it = policy_.overrides.find(spec.mount_path);
  if (it != policy_.overrides.end()) return it->second;
  return spec.ttl_class == tree::TtlClass::stable ? policy_.ttl * 10 : policy_.ttl;
}

Result<View> ResourceCache::get(int endpoint, Deadline deadline) {
  std::unique_lock lock(mu_);
  entries_.at(static_cast<std::size_t>(endpoint))->accessed = true;
  return waitOrFetch(lock, endpoint, deadline);
}

std::optional<View> ResourceCache::peek(int endpoint) const {
  std::lock_guard lock(mu_);
  const Entry& e = *entries_.at(static_cast<std::size_t>(endpoint));
  if (e.absent) return std::nullopt;
  return servable(e, clock_.steady());
}

bool ResourceCache::knownAbsent(int endpoint) const {
  std::lock_guard lock(mu_);
  const Entry& e = *entries_.at(static_cast<std::size_t>(endpoint));
  return e.absent && e.fresh(clock_.steady());
}

// Fresh data, or data past expiry still within max_stale (marked stale).
std::optional<View> ResourceCache::servable(const Entry& e, SteadyTime now) const {
  if (!e.hasData()) return std::nullopt;
  if (now < e.expires) return View{e.snapshot, e.expires, false};
  if (policy_.max_stale.count() > 0 && now < e.expires + policy_.max_stale) {
    return View{e.snapshot, e.expires, true};
  }
  return std::nullopt;
}

Result<View> ResourceCache::answer(Entry& e, const View& view) {
  if (view.stale) ++e.stale_serves;
  if (e.absent) return makeError(ENOENT, "not found: " + e.spec->api_path, LogLevel::debug);
  return view;
}

Result<View> ResourceCache::waitOrFetch(std::unique_lock<std::mutex>& lock, int endpoint,
                                        Deadline deadline) {
  Entry& e = *entries_.at(static_cast<std::size_t>(endpoint));
  for (;;) {
    auto view = servable(e, clock_.steady());
    if (view && !view->stale) return answer(e, *view);
    if (view && e.error) {
      // The last refetch failed: keep serving the old copy; the refresher retries.
      kicked_ = true;
      wake_.notify_one();
      return answer(e, *view);
    }
    if (!e.in_flight) break;
    if (fetched_.wait_until(lock, deadline) == std::cv_status::timeout && e.in_flight) {
      if (view) return answer(e, *view);
      return makeError(ETIMEDOUT, "timed out waiting for " + e.spec->api_path, LogLevel::warning);
    }
  }
  if (e.error && clock_.steady() < e.retry_at) return *e.error;  // failed just now: no stampede
  e.in_flight = true;
  return fetchAndPublish(lock, endpoint, deadline);
}

Result<View> ResourceCache::fetchAndPublish(std::unique_lock<std::mutex>& lock, int endpoint,
                                            Deadline deadline) {
  Entry& e = *entries_.at(static_cast<std::size_t>(endpoint));
  auto previous = e.snapshot;
  const tree::EndpointSpec& spec = *e.spec;
  lock.unlock();

  // Fetch and build outside the lock: readers of other endpoints never wait on us.
  FetchCounters counters;
  auto body = fetcher_(spec, deadline, counters);
  SteadyTime now = clock_.steady();
  WallTime wall = clock_.wall();
  std::shared_ptr<const tree::Snapshot> fresh;
  std::optional<Error> failure;
  tree::ChangeList changes;
  bool absent = false;
  if (!body.ok()) {
    absent = body.error().http_status == 404;
    if (!absent) failure = body.error();
  } else if (previous && previous->raw() == body.value()) {
    fresh = previous;  // equal bytes: nothing the user can see changes
  } else {
    auto built = tree::Snapshot::build(spec, std::move(body).value(), render_, e.hidden,
                                       toNanos(wall), deadline);
    if (built.ok()) {
      if (previous) built.value()->inheritTimes(*previous, &changes);
      fresh = std::move(built).value();
    } else {
      failure = built.error();
      failure->message = "unexpected answer from " + spec.api_path + ": " + failure->message;
    }
  }

  lock.lock();
  if (fresh && fresh != previous && fresh->raw().size() >= kTrimAfterBytes) {
    // Parsing a big answer leaves megabytes of freed parse tree in malloc's arenas; the
    // background thread hands them back, off the reader's path.
    trim_due_ = kicked_ = true;
    wake_.notify_one();
  }
  e.in_flight = false;
  ++e.fetches;
  e.retries += static_cast<std::uint64_t>(counters.retries);
  bool vanished = false;
  if (failure) {
    ++e.failures;
    e.error = failure;
    e.error_wall = wall;
    bool fallback = servable(e, now).has_value();
    e.retry_at = now + (fallback ? policy_.stale_retry : policy_.error_hold);
    if (fallback) {
      log_.warning("serving the copy of " + spec.mount_path + " fetched " +
                   secondsAgo(e.fetched, now) + ": " + failure->describe());
    } else {
      log_.report(*failure, "fetching " + spec.mount_path);
    }
  } else {
    vanished = absent && !e.absent;
    e.snapshot = absent ? nullptr : fresh;
    e.absent = absent;
    e.fetched = now;
    e.fetched_wall = wall;
    e.expires = now + e.ttl;
    e.expires_wall = wall + e.ttl;
    e.error.reset();
    e.accessed = false;
    if (absent) log_.debug(spec.api_path + " answered 404: " + spec.mount_path + " is absent");
  }
  fetched_.notify_all();

  auto view = servable(e, now);
  if (!view && !failure) view = View{e.snapshot, e.expires, false};  // a zero TTL: use it once
  Result<View> result = view ? answer(e, *view) : Result<View>(*failure);
  if ((vanished || !changes.empty()) && on_change_) {
    auto notify = on_change_;
    lock.unlock();
    notify(endpoint, changes, vanished);
    lock.lock();
  }
  return result;
}

void ResourceCache::expireAll() {
  std::lock_guard lock(mu_);
  SteadyTime now = clock_.steady();
  for (auto& e : entries_) {
    if (!e->hasData()) continue;
    e->expires = std::min(e->expires, now);
    e->expires_wall = std::min(e->expires_wall, clock_.wall());
    e->error.reset();
    e->retry_at = {};
  }
}

// When an entry's background refresh is due: ahead of expiry for data being read, or
// the next retry while a failed refetch leaves the old copy in service.
std::optional<SteadyTime> ResourceCache::refreshDue(const Entry& e) const {
  if (e.snapshot == nullptr || !e.accessed || e.in_flight) return std::nullopt;
  if (e.error) return e.retry_at;
  return e.fetched +
         std::chrono::duration_cast<SteadyTime::duration>(e.ttl * policy_.refresh_ahead);
}

std::vector<int> ResourceCache::claimDueRefreshes() {
  std::lock_guard lock(mu_);
  SteadyTime now = clock_.steady();
  std::vector<int> due;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    Entry& e = *entries_[i];
    auto at = refreshDue(e);
    if (!at || now < *at) continue;
    e.in_flight = true;
    e.accessed = false;  // a failed refresh is retried only while someone keeps reading
    due.push_back(static_cast<int>(i));
  }
  return due;
}

void ResourceCache::refresh(int endpoint) {
  std::unique_lock lock(mu_);
  (void)fetchAndPublish(lock, endpoint, deadlineIn(policy_.fetch_timeout));
}

void ResourceCache::startRefresher() {
  refresher_ = std::thread([this] { refresherLoop(); });
}

void ResourceCache::refresherLoop() {
  struct Job {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Job> jobs;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    bool trim = std::exchange(trim_due_, false);
    lock.unlock();
    if (trim) malloc_trim(0);
    for (int endpoint : claimDueRefreshes()) {
      auto done = std::make_shared<std::atomic<bool>>(false);
      // One thread per refresh, so a hanging endpoint never delays the others.
      jobs.push_back({std::thread([this, endpoint, done] {
                        refresh(endpoint);
                        *done = true;
                      }),
                      done});
    }
    std::erase_if(jobs, [](Job& j) {
      if (!*j.done) return false;
      j.thread.join();
      return true;
    });
    lock.lock();
    // Sleep until the next entry is due; bounded, so late accesses are noticed too.
    Millis wait{1000};
    SteadyTime now = clock_.steady();
    for (const auto& e : entries_) {
      if (auto at = refreshDue(*e)) {
        wait = std::min(wait, std::chrono::duration_cast<Millis>(*at - now));
      }
    }
    wake_.wait_for(lock, std::max(wait, Millis(10)), [this] { return stopping_ || kicked_; });
    kicked_ = false;
  }
  lock.unlock();
  for (auto& j : jobs)
    j.thread.join();
}

std::vector<EndpointStatus> ResourceCache::status() const {
  std::lock_guard lock(mu_);
  SteadyTime now = clock_.steady();
  std::vector<EndpointStatus> out;
  for (const auto& e : entries_) {
    EndpointStatus s;
    s.mount_path = e->spec->mount_path;
    if (!e->hasData()) {
      s.state = e->error ? "error" : "never fetched";
    } else if (e->absent) {
      s.state = "absent";
    } else if (now < e->expires) {
      s.state = "fresh";
    } else if (e->error) {
      // Past max_stale the old copy is no longer served: the error is what readers get.
      s.state = servable(*e, now) ? "stale" : "error";
    } else {
      s.state = "expired";
    }
    if (e->hasData()) {
      s.last_fetch = e->fetched_wall;
      s.expires = e->expires_wall;
    }
    if (e->error) {
      s.last_error = e->error;
      s.last_error_time = e->error_wall;
    }
    s.fetches = e->fetches;
    s.retries = e->retries;
    s.stale_serves = e->stale_serves;
    s.failures = e->failures;
    s.bytes = e->snapshot ? e->snapshot->memoryBytes() : 0;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace mdfs::cache
