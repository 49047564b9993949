#include "cache/resource_cache.h"

#include <malloc.h>

#include <algorithm>
#include <map>
#include <utility>

#include "common/mutex.h"
#include "common/single_flight.h"
#include "tree/listing.h"

namespace mdfs::cache {
namespace {

constexpr std::size_t kTrimAfterBytes = std::size_t{256} << 10;
// malloc_trim(0) of a daemon this size takes well under a millisecond.
constexpr Seconds kTrimEvery{10};
// A token's TTL at most: GCE hands out an access token until it has five minutes left
// (docs/clouds/gcp.md), so one kept this long is still valid when read.
constexpr Seconds kTokenTtl{60};

std::string secondsText(std::chrono::nanoseconds d) {
  return std::to_string(std::chrono::duration_cast<Seconds>(d).count()) + " s";
}

}  // namespace

struct ResourceCache::Entry {
  const tree::EndpointSpec* spec = nullptr;
  std::vector<std::string> hidden;  // members that child endpoints replace
  Seconds ttl{60};
  SingleFlight<Result<View>> flight;  // has its own lock

  // Everything below is guarded by ResourceCache::mu_.
  std::shared_ptr<const tree::Snapshot> snapshot;
  bool absent = false;           // the service answered 404
  std::int64_t presence_ns = 0;  // when `absent` last changed (or was first known)
  SteadyTime fetched{};
  SteadyTime expires{};
  WallTime fetched_wall{};
  WallTime expires_wall{};

  std::optional<Error> error;         // the last fetch failed with this
  SteadyTime retry_at{};              // no new attempt before this after a failure
  std::optional<Error> last_failure;  // kept after a recovery, for .status
  WallTime last_failure_wall{};
  int failures_in_row = 0;
  WallTime failing_since{};

  bool accessed = false;     // read since the last successful fetch
  bool refreshing = false;   // claimed by the refresher
  bool long_polled = false;  // a long poll keeps it (instead of the refresher)
  std::string etag;          // the last successful answer's ETag, when the service sends one
  int watchers = 0;          // watch() minus unwatch() calls: watched while positive

  // Resources found by path (ResourceCache::resource) only.
  std::unique_ptr<tree::EndpointSpec> own_spec;
  int pins = 0;                // Leases alive
  std::uint64_t last_use = 0;  // ResourceCache::use_clock_ at the last use
  std::size_t bytes = 0;       // the snapshot's memory, counted in resource_bytes_
  [[nodiscard]] bool found() const { return own_spec != nullptr; }

  std::uint64_t fetches = 0;
  std::uint64_t retries = 0;
  std::uint64_t stale_serves = 0;
  std::uint64_t failures = 0;
  std::uint64_t http_requests = 0;
  std::map<ErrorKind, std::uint64_t> failures_by_kind;

  [[nodiscard]] bool hasData() const { return snapshot != nullptr || absent; }
  [[nodiscard]] bool fresh(SteadyTime now) const { return hasData() && now < expires; }
};

// One fetch's outcome, built without the lock.
struct ResourceCache::Fetched {
  std::shared_ptr<const tree::Snapshot> snapshot;  // new, or the previous one when equal
  bool rebuilt = false;                            // `snapshot` is new
  bool absent = false;
  std::optional<Error> failure;
  tree::ChangeList changes;
  FetchStats stats;
  Millis took{0};
  bool waited = false;  // a long poll's answer: its time is no fetch latency
  SteadyTime at{};
  WallTime at_wall{};
};

// A long poll's thread and what stops it; kept (by endpoint) until the cache stops.
struct ResourceCache::LongPoll {
  std::thread thread;
  std::atomic<bool> cancel{false};  // nobody watches any more: end the wait under way
  bool running = false;             // ResourceCache::mu_
};

ResourceCache::ResourceCache(const tree::Catalog& catalog, CachePolicy policy,
                             tree::RenderOptions render, Fetcher fetcher, const Clock& clock,
                             const Logger& log)
    : catalog_(catalog),
      policy_(std::move(policy)),
      render_(render),
      fetcher_(std::move(fetcher)),
      clock_(clock),
      log_(log),
      workers_(std::max(policy_.workers, 1U)) {
  const auto& all = catalog_.endpoints();
  for (std::size_t i = 0; i < all.size(); ++i) {
    auto e = std::make_unique<Entry>();
    e->spec = &all[i];
    for (int child : catalog_.childrenOf(all[i].mount_path)) {
      e->hidden.emplace_back(all[static_cast<std::size_t>(child)].name());
    }
    e->ttl = ttlFor(all[i]);
    entries_.push_back(std::move(e));
  }
  fixed_ = entries_.size();
  entries_.resize(fixed_ + policy_.max_resources);
}

ResourceCache::~ResourceCache() {
  stop();
}

void ResourceCache::stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
    for (auto& [endpoint, poll] : long_polls_) {
      if (poll) poll->cancel = true;
    }
  }
  wake_.notify_all();
  long_poll_wake_.notify_all();
  if (refresher_.joinable()) refresher_.join();
  joinLongPolls();
  workers_.stop();
  MutexLock lock(mu_);
  on_change_ = nullptr;
}

void ResourceCache::setChangeCallback(ChangeCallback callback) {
  MutexLock lock(mu_);
  on_change_ = std::move(callback);
}

void ResourceCache::setChangeWaiter(ChangeWaiter waiter, std::size_t max_waits, Seconds max_wait) {
  MutexLock lock(mu_);
  waiter_ = std::move(waiter);
  max_waits_ = max_waits;
  max_wait_ = std::max(max_wait, Seconds(1));
}

ResourceCache::Entry& ResourceCache::entry(int endpoint) const {
  return *entries_.at(static_cast<std::size_t>(endpoint));
}

const tree::EndpointSpec& ResourceCache::specOf(int endpoint) const {
  return *entry(endpoint).spec;
}

Seconds ResourceCache::ttlOf(int endpoint) const {
  return entry(endpoint).ttl;
}

Seconds ResourceCache::ttlFor(const tree::EndpointSpec& spec) const {
  auto it = policy_.overrides.find(spec.mount_path);
  if (spec.no_stale) {
    return std::min(it != policy_.overrides.end() ? it->second : policy_.ttl, kTokenTtl);
  }
  if (it != policy_.overrides.end()) return it->second;
  return spec.ttl_class == tree::TtlClass::stable ? policy_.ttl * 10 : policy_.ttl;
}

// Fresh data, or data past expiry still within max_stale (marked stale).
std::optional<View> ResourceCache::servable(const Entry& e, SteadyTime now) const {
  if (!e.hasData()) return std::nullopt;
  if (now < e.expires) return View{e.snapshot, e.expires, false, e.presence_ns};
  if (policy_.max_stale.count() > 0 && !e.spec->no_stale && now < e.expires + policy_.max_stale) {
    return View{e.snapshot, e.expires, true, e.presence_ns};
  }
  return std::nullopt;
}

// A member, though it reads no other: REQUIRES(mu_) is what makes callers hold the lock.
// NOLINTNEXTLINE(readability-convert-member-functions-to-static)
ResourceCache::Held ResourceCache::held(const Entry& e, const std::optional<View>& view,
                                        SteadyTime now) const {
  if (view && !view->stale) return Held::fresh;
  // The refetch failed: the old copy is served without waiting; the refresher keeps trying.
  if (view && e.error) return Held::stale_after_failure;
  if (!view && e.error && now < e.retry_at) return Held::failure;  // no stampede
  return Held::nothing;
}

std::optional<Result<View>> ResourceCache::fromCache(Entry& e, bool reader) {
  SteadyTime now = clock_.steady();
  if (reader) e.accessed = true;
  auto view = servable(e, now);
  switch (held(e, view, now)) {
    case Held::fresh:
      return Result<View>(*view);
    case Held::stale_after_failure:
      ++e.stale_serves;
      kicked_ = true;
      return Result<View>(*view);
    case Held::failure:
      return Result<View>(*e.error);
    case Held::nothing:
      break;
  }
  return std::nullopt;
}

bool ResourceCache::answersWithoutFetching(int endpoint) const {
  MutexLock lock(mu_);
  const Entry& e = entry(endpoint);
  const SteadyTime now = clock_.steady();
  return held(e, servable(e, now), now) != Held::nothing;
}

bool ResourceCache::noneWorthFetching(const std::vector<int>& endpoints) const {
  return worthFetching(endpoints).empty();
}

Result<View> ResourceCache::get(int endpoint, Deadline deadline) {
  Entry& e = entry(endpoint);
  {
    MutexLock lock(mu_);
    e.last_use = ++use_clock_;
    if (auto cached = fromCache(e, true)) {
      if (kicked_) wake_.notify_one();
      return std::move(*cached);
    }
  }
  return load(endpoint, deadline);
}

Result<View> ResourceCache::load(int endpoint, Deadline deadline) {
  Entry& e = entry(endpoint);
  auto shared = e.flight.run(deadline, [&] { return fetchAndPublish(endpoint, deadline); });
  if (shared) return std::move(*shared);
  // Someone else's fetch outlived this reader's deadline.
  MutexLock lock(mu_);
  if (auto view = servable(e, clock_.steady())) {
    if (view->stale) ++e.stale_serves;
    return *view;
  }
  return makeError(ErrorKind::timed_out, "timed out waiting for " + e.spec->api_path);
}

// Endpoints neither fresh nor held back after a failure: the ones worth a fetch now.
std::vector<int> ResourceCache::worthFetching(const std::vector<int>& endpoints) const {
  std::vector<int> wanted;
  MutexLock lock(mu_);
  SteadyTime now = clock_.steady();
  for (int endpoint : endpoints) {
    const Entry& e = entry(endpoint);
    if (e.fresh(now) || (e.error && now < e.retry_at)) continue;
    wanted.push_back(endpoint);
  }
  return wanted;
}

void ResourceCache::prefetch(const std::vector<int>& endpoints, Deadline deadline) {
  std::vector<int> wanted = worthFetching(endpoints);
  if (wanted.empty()) return;
  // On the workers, so that the caller waits for its own deadline and nothing longer.
  auto latch = std::make_shared<Latch>(wanted.size());
  for (int endpoint : wanted) {
    Lease lease;
    {
      MutexLock lock(mu_);
      lease = leaseOf(endpoint);  // the job may outlive the caller's own lease
    }
    bool queued = workers_.post([this, lease, deadline, latch] {
      (void)load(lease.id, deadline);
      latch->countDown();
    });
    if (!queued) latch->countDown();
  }
  (void)latch->waitUntil(deadline);
}

void ResourceCache::refreshInBackground(const std::vector<int>& endpoints) {
  for (int endpoint : worthFetching(endpoints)) {
    Lease lease;
    Millis timeout{0};
    {
      MutexLock lock(mu_);
      lease = leaseOf(endpoint);  // the job may outlive the caller's own lease
      timeout = backgroundTimeout(entry(endpoint));
    }
    (void)workers_.post([this, lease, timeout] { (void)load(lease.id, deadlineIn(timeout)); });
  }
}

std::optional<View> ResourceCache::peek(int endpoint) const {
  MutexLock lock(mu_);
  return servable(*entries_.at(static_cast<std::size_t>(endpoint)), clock_.steady());
}

Known ResourceCache::known(int endpoint) const {
  MutexLock lock(mu_);
  const Entry& e = entry(endpoint);
  if (auto view = servable(e, clock_.steady()))
    return view->absent() ? Known::absent : Known::present;
  return e.error ? Known::failed : Known::unknown;
}

std::vector<int> ResourceCache::expired(const std::vector<int>& endpoints) const {
  MutexLock lock(mu_);
  SteadyTime now = clock_.steady();
  std::vector<int> out;
  for (int endpoint : endpoints) {
    const Entry& e = entry(endpoint);
    if (e.hasData() && !e.fresh(now)) out.push_back(endpoint);
  }
  return out;
}

std::optional<Error> ResourceCache::failure(int endpoint) const {
  MutexLock lock(mu_);
  const Entry& e = entry(endpoint);
  if (servable(e, clock_.steady())) return std::nullopt;
  return e.error;
}

Result<View> ResourceCache::fetchAndPublish(int endpoint, Deadline deadline) {
  Entry& e = entry(endpoint);
  std::shared_ptr<const tree::Snapshot> previous;
  {
    MutexLock lock(mu_);
    previous = e.snapshot;
  }
  // Fetch and build outside the lock: readers of other endpoints never wait on us.
  FetchStats stats;
  const auto start = std::chrono::steady_clock::now();
  auto body = fetcher_(*e.spec, deadline, stats);
  Fetched fetched = build(e, std::move(body), std::move(previous), deadline);
  fetched.stats = std::move(stats);
  fetched.took = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start);
  return publish(endpoint, std::move(fetched));
}

Result<View> ResourceCache::publishAnswer(int endpoint, Result<std::string> body, FetchStats stats,
                                          Millis took) {
  Entry& e = entry(endpoint);
  std::shared_ptr<const tree::Snapshot> previous;
  {
    MutexLock lock(mu_);
    previous = e.snapshot;
  }
  Fetched fetched =
      build(e, std::move(body), std::move(previous), deadlineIn(policy_.fetch_timeout));
  fetched.stats = std::move(stats);
  fetched.took = took;
  fetched.waited = true;
  return publish(endpoint, std::move(fetched));
}

ResourceCache::Fetched ResourceCache::build(const Entry& e, Result<std::string> body,
                                            std::shared_ptr<const tree::Snapshot> previous,
                                            Deadline deadline) const {
  Fetched f;
  f.at = clock_.steady();
  f.at_wall = clock_.wall();
  if (!body.ok()) {
    // Only a data endpoint's own 404 means "absent"; a failing token request is an error.
    f.absent = body.error().kind == ErrorKind::not_found;
    if (!f.absent) f.failure = body.error();
    return f;
  }
  if (previous && previous->raw() == body.value()) {
    f.snapshot = std::move(previous);  // equal bytes: nothing the user can see changes
    return f;
  }
  // Bounded by the reader's deadline: a hostile answer never holds it longer.
  const std::int64_t now_ns = nanosSinceEpoch(f.at_wall);
  Result<std::shared_ptr<tree::Snapshot>> built = makeError(ErrorKind::internal, "no format");
  switch (e.spec->format) {
    case tree::Format::json:
      built = tree::Snapshot::build(*e.spec, std::move(body).value(), render_, e.hidden, now_ns,
                                    deadline);
      break;
    case tree::Format::listing:
      built = tree::buildListing(
          *e.spec, std::move(body).value(),
          e.spec->aws_listing ? tree::ListingStyle::aws : tree::ListingStyle::plain, now_ns);
      break;
    case tree::Format::value:
      built = tree::buildValue(*e.spec, std::move(body).value(), render_, now_ns);
      break;
  }
  if (!built.ok()) {
    f.failure = built.error();
    f.failure->message = "unexpected answer from " + e.spec->api_path + ": " + f.failure->message;
    return f;
  }
  if (previous) built.value()->inheritTimes(*previous, &f.changes);
  f.snapshot = std::move(built).value();
  f.rebuilt = true;
  return f;
}

void ResourceCache::recordFailure(Entry& e, const Error& failure, LogLines& lines) {
  const WallTime wall = clock_.wall();
  const SteadyTime now = clock_.steady();
  ++e.failures;
  ++e.failures_by_kind[failure.kind];
  if (e.failures_in_row++ == 0) e.failing_since = wall;
  e.error = failure;
  e.last_failure = failure;
  e.last_failure_wall = wall;
  const bool fallback = servable(e, now).has_value();
  e.retry_at = now + (fallback ? policy_.stale_retry : policy_.error_hold);
  // One line per incident at the failure's level; repeats only in the debug log.
  const LogLevel level = e.failures_in_row == 1 ? failure.level : LogLevel::debug;
  const std::string& path = e.spec->mount_path.empty() ? e.spec->api_path : e.spec->mount_path;
  if (fallback && e.snapshot) {
    lines.emplace_back(level, "serving the copy of " + path + " fetched " +
                                  secondsText(now - e.fetched) + " ago: " + failure.describe());
  } else {
    lines.emplace_back(level, "fetching " + path + ": " + failure.describe());
  }
}

void ResourceCache::recordSuccess(Entry& e, const Fetched& f, LogLines& lines) {
  const std::string& path = e.spec->mount_path.empty() ? e.spec->api_path : e.spec->mount_path;
  if (e.failures_in_row > 0) {
    lines.emplace_back(LogLevel::info, path + " fetched again after " +
                                           std::to_string(e.failures_in_row) + " failure" +
                                           (e.failures_in_row == 1 ? "" : "s") + " over " +
                                           secondsText(f.at_wall - e.failing_since));
  }
  e.failures_in_row = 0;
  e.error.reset();
  if (!e.hasData() || e.absent != f.absent) e.presence_ns = nanosSinceEpoch(f.at_wall);
  e.snapshot = f.absent ? nullptr : f.snapshot;
  e.absent = f.absent;
  e.fetched = f.at;
  e.fetched_wall = f.at_wall;
  e.expires = f.at + e.ttl;
  e.expires_wall = f.at_wall + e.ttl;
  e.accessed = false;
  e.etag = f.absent ? std::string() : f.stats.etag;
}

Result<View> ResourceCache::publish(int endpoint, Fetched f) {
  Entry& e = entry(endpoint);
  LogLines lines;
  lines.emplace_back(LogLevel::debug,
                     "fetched " + e.spec->mount_path + ": " +
                         (f.stats.status != 0 ? "HTTP " + std::to_string(f.stats.status)
                                              : std::string("no answer")) +
                         ", " + std::to_string(f.took.count()) + " ms, " +
                         std::to_string(f.stats.bytes) + " bytes, " +
                         std::to_string(f.stats.retries) + " retries" +
                         (f.absent ? " (absent)" : ""));
  Presence presence = Presence::unchanged;
  ChangeCallback notify;
  std::optional<Result<View>> result;
  bool trim = false;
  {
    MutexLock lock(mu_);
    ++e.fetches;
    e.retries += static_cast<std::uint64_t>(f.stats.retries);
    e.http_requests += static_cast<std::uint64_t>(f.stats.attempts);
    if (!f.waited) latency_.add(std::chrono::duration<double>(f.took).count());
    if (f.failure) {
      recordFailure(e, *f.failure, lines);
    } else {
      if (f.absent && e.snapshot) presence = Presence::vanished;
      if (!f.absent && e.absent) presence = Presence::appeared;
      recordSuccess(e, f, lines);
      if (e.found()) {
        resource_bytes_ -= e.bytes;
        e.bytes = e.snapshot ? e.snapshot->memoryBytes() : 0;
        resource_bytes_ += e.bytes;
        fitBytes(endpoint);
      }
    }
    auto view = servable(e, f.at);
    if (!view && !f.failure) view = View{e.snapshot, e.expires, false, e.presence_ns};  // TTL 0
    if (view && view->stale) ++e.stale_serves;
    result = view ? Result<View>(*view) : Result<View>(*f.failure);
    // Parsing a big answer leaves megabytes of freed parse tree in malloc's arenas; the
    // background thread hands them back, off the reader's path.
    trim = f.rebuilt && f.snapshot->raw().size() >= kTrimAfterBytes;
    if (trim) trim_due_ = kicked_ = true;
    if (presence != Presence::unchanged || !f.changes.empty() || e.watchers > 0) {
      notify = on_change_;
    }
  }
  if (trim) wake_.notify_one();
  for (const auto& [level, line] : lines)
    log_.log(level, line);
  if (notify) notify(endpoint, f.changes, presence);
  return std::move(*result);
}

Result<std::optional<Lease>> ResourceCache::resource(const tree::EndpointSpec& spec, bool create) {
  MutexLock lock(mu_);
  if (auto it = by_api_.find(spec.api_path); it != by_api_.end()) {
    Entry& e = entry(it->second);
    if (e.spec->format == spec.format && e.spec->mount_path == spec.mount_path) {
      e.last_use = ++use_clock_;
      return std::optional<Lease>(leaseOf(it->second));
    }
    // The same URL now means another kind of thing (a value became a listing).
    if (!evictable(e))
      return makeError(ErrorKind::not_found, "in use as another kind: " + spec.api_path,
                       LogLevel::debug);
    evict(it->second);
  }
  if (!create) return std::optional<Lease>();
  const int id = freeSlot();
  if (id < 0) {
    return makeError(ErrorKind::oversized, "more than " + std::to_string(policy_.max_resources) +
                                               " resources in use at once");
  }
  auto e = std::make_unique<Entry>();
  e->own_spec = std::make_unique<tree::EndpointSpec>(spec);
  e->spec = e->own_spec.get();
  e->ttl = ttlFor(spec);
  e->last_use = ++use_clock_;
  entries_[static_cast<std::size_t>(id)] = std::move(e);
  by_api_[spec.api_path] = id;
  return std::optional<Lease>(leaseOf(id));
}

Lease ResourceCache::leaseOf(int id) {
  Entry& e = entry(id);
  if (!e.found()) return Lease{id, nullptr};
  ++e.pins;
  return Lease{id, std::shared_ptr<void>(this, [id](ResourceCache* cache) { cache->unpin(id); })};
}

void ResourceCache::unpin(int id) {
  MutexLock lock(mu_);
  --entry(id).pins;
}

bool ResourceCache::evictable(const Entry& e) const {
  return e.found() && e.pins <= 0 && e.watchers <= 0 && !e.refreshing && !e.long_polled;
}

int ResourceCache::freeSlot() {
  int oldest = -1;
  for (std::size_t i = fixed_; i < entries_.size(); ++i) {
    const auto& e = entries_[i];
    if (!e) return static_cast<int>(i);
    if (evictable(*e) && (oldest < 0 || e->last_use < entry(oldest).last_use)) {
      oldest = static_cast<int>(i);
    }
  }
  if (oldest >= 0) evict(oldest);
  return oldest;
}

// Nobody holds the entry (no Lease, no watcher, no refresh under way), so nothing refers to
// it outside this lock.
void ResourceCache::evict(int id) {
  auto& slot = entries_[static_cast<std::size_t>(id)];
  by_api_.erase(slot->spec->api_path);
  resource_bytes_ -= slot->bytes;
  slot.reset();
}

void ResourceCache::fitBytes(int keep) {
  while (resource_bytes_ > policy_.max_resource_bytes) {
    int oldest = -1;
    for (std::size_t i = fixed_; i < entries_.size(); ++i) {
      const auto& e = entries_[i];
      if (!e || static_cast<int>(i) == keep || !evictable(*e)) continue;
      if (oldest < 0 || e->last_use < entry(oldest).last_use) oldest = static_cast<int>(i);
    }
    if (oldest < 0) return;
    evict(oldest);
  }
}

std::size_t ResourceCache::resourceCount() const {
  MutexLock lock(mu_);
  return by_api_.size();
}

std::size_t ResourceCache::resourceBytes() const {
  MutexLock lock(mu_);
  return resource_bytes_;
}

void ResourceCache::expireAll() {
  MutexLock lock(mu_);
  SteadyTime now = clock_.steady();
  for (auto& e : entries_) {
    if (!e || !e->hasData()) continue;
    // A failure's hold stays: SIGHUP during an outage must not make every reader wait
    // out the service again.
    e->expires = std::min(e->expires, now);
    e->expires_wall = std::min(e->expires_wall, clock_.wall());
  }
}

void ResourceCache::retryFailedNow() {
  {
    MutexLock lock(mu_);
    for (auto& e : entries_) {
      if (e && e->error) e->retry_at = {};
    }
    kicked_ = true;
  }
  wake_.notify_one();
}

void ResourceCache::watch(int endpoint) {
  {
    MutexLock lock(mu_);
    auto& e = entries_.at(static_cast<std::size_t>(endpoint));
    if (!e || ++e->watchers != 1) return;
    startLongPoll(endpoint);
    kicked_ = true;  // the refresher's sleep was computed without this endpoint
  }
  wake_.notify_one();
}

void ResourceCache::unwatch(int endpoint) {
  {
    MutexLock lock(mu_);
    auto& e = entries_.at(static_cast<std::size_t>(endpoint));
    if (!e || --e->watchers != 0) return;
    if (auto it = long_polls_.find(endpoint); it != long_polls_.end() && it->second) {
      it->second->cancel = true;
    }
  }
  long_poll_wake_.notify_all();
}

bool ResourceCache::longPolled(int endpoint) const {
  MutexLock lock(mu_);
  const auto& e = entries_.at(static_cast<std::size_t>(endpoint));
  return e && e->long_polled;
}

int ResourceCache::watchers(int endpoint) const {
  MutexLock lock(mu_);
  const auto& e = entries_.at(static_cast<std::size_t>(endpoint));
  return e ? e->watchers : 0;
}

// A long poll (setChangeWaiter) replaces the refresher for a watched endpoint: tokens are
// made on request and never waited on, and a full pool leaves the rest to the TTL.
void ResourceCache::startLongPoll(int endpoint) {
  if (!waiter_ || stopping_) return;
  Entry& e = entry(endpoint);
  if (e.spec->no_stale) return;
  auto& slot = long_polls_[endpoint];
  if (slot && slot->running) {
    slot->cancel = false;  // watched again before its loop noticed: it goes on
    return;
  }
  std::size_t running = 0;
  for (const auto& [id, poll] : long_polls_)
    running += poll && poll->running ? 1 : 0;
  if (running >= max_waits_) return;
  // A loop that ended gave up the lock for good: joining it here is immediate.
  if (slot && slot->thread.joinable()) slot->thread.join();
  if (!slot) slot = std::make_unique<LongPoll>();
  slot->cancel = false;
  slot->running = true;
  e.long_polled = true;
  LongPoll& poll = *slot;
  poll.thread = std::thread([this, endpoint, &poll] { longPollLoop(endpoint, poll); });
}

void ResourceCache::longPollLoop(int endpoint, LongPoll& poll) {
  Millis backoff{0};
  for (;;) {
    std::string etag;
    {
      MutexLock lock(mu_);
      Entry& e = entry(endpoint);
      // Whether to go on and whether the loop runs are decided together: a watch() that
      // finds it running relies on it going on.
      // Answers without an ETag, or a 404, have nothing to wait from: the TTL keeps those.
      const bool unwaitable = e.hasData() && !e.error && e.etag.empty();
      if (stopping_ || e.watchers <= 0 || unwaitable) {
        e.long_polled = false;
        poll.running = false;
        kicked_ = true;  // still watched: the refresher takes over
        wake_.notify_one();
        return;
      }
      etag = e.etag;
    }
    bool ok = true;
    if (etag.empty()) {
      // Nothing to wait from yet (never fetched, or failing): a plain fetch.
      ok = load(endpoint, deadlineIn(policy_.fetch_timeout)).ok();
      MutexLock lock(mu_);
      ok = ok && !entry(endpoint).error;
    } else {
      ok = waitOnce(endpoint, poll, etag);
    }
    backoff = ok ? Millis(0)
                 : std::min<Millis>(std::max<Millis>(backoff * 2, Millis(1000)), Millis(30000));
    if (!ok) pauseLongPoll(endpoint, backoff);
  }
}

bool ResourceCache::waitOnce(int endpoint, LongPoll& poll, const std::string& etag) {
  const Entry& e = entry(endpoint);
  const Seconds wait = std::clamp(e.ttl, Seconds(1), max_wait_);
  FetchStats stats;
  const auto start = std::chrono::steady_clock::now();
  Result<std::string> body =
      waiter_(*e.spec, etag, wait, deadlineIn(wait + policy_.fetch_timeout), stats, poll.cancel);
  const auto took = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start);
  if (poll.cancel) return true;  // nobody watches (or the cache stops): the loop ends
  if (!body.ok() && body.error().kind != ErrorKind::not_found) {
    log_.debug("waiting for a change of " + e.spec->api_path + ": " + body.error().describe());
    // What readers get now (the old copy, or the error) comes from a plain fetch, retried
    // as any other; the wait starts again after a pause.
    (void)load(endpoint, deadlineIn(policy_.fetch_timeout));
    return false;
  }
  (void)publishAnswer(endpoint, std::move(body), std::move(stats), took);
  return true;
}

void ResourceCache::pauseLongPoll(int endpoint, Millis pause) {
  UniqueLock lock(mu_);
  (void)long_poll_wake_.wait_for(lock, pause, [this, endpoint]() REQUIRES(mu_) {
    return stopping_ || entry(endpoint).watchers <= 0;
  });
}

void ResourceCache::joinLongPolls() {
  std::vector<std::thread*> threads;
  {
    MutexLock lock(mu_);
    for (auto& [endpoint, poll] : long_polls_) {
      if (poll && poll->thread.joinable()) threads.push_back(&poll->thread);
    }
  }
  // stopping_ is set: no loop starts any more, so the map holds still.
  for (std::thread* t : threads)
    t->join();
}

// When an entry's background refresh is due: ahead of expiry for data being read, when its
// TTL ends for data being watched (absent data included: it may appear), or the next retry
// while a failed refetch leaves the old copy in service.
std::optional<SteadyTime> ResourceCache::refreshDue(const Entry& e) const {
  if (e.refreshing || e.long_polled) return std::nullopt;
  const bool watched = e.watchers > 0 && e.hasData();
  if (!watched && (e.snapshot == nullptr || !e.accessed)) return std::nullopt;
  if (e.error) return e.retry_at;
  std::optional<SteadyTime> due;
  if (watched) due = e.expires;
  if (e.snapshot != nullptr && e.accessed) {
    SteadyTime ahead =
        e.fetched + std::chrono::duration_cast<SteadyTime::duration>(e.ttl * policy_.refresh_ahead);
    due = due ? std::min(*due, ahead) : ahead;
  }
  return due;
}

std::vector<int> ResourceCache::claimDueRefreshes() {
  MutexLock lock(mu_);
  SteadyTime now = clock_.steady();
  std::vector<int> due;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (!entries_[i]) continue;
    Entry& e = *entries_[i];
    auto at = refreshDue(e);
    if (!at || now < *at) continue;
    e.refreshing = true;
    e.accessed = false;  // a failed refresh is retried only while someone keeps reading
    due.push_back(static_cast<int>(i));
  }
  return due;
}

Millis ResourceCache::backgroundTimeout(const Entry& e) const {
  if (!e.error) return policy_.fetch_timeout;
  return std::max(policy_.fetch_timeout, policy_.failing_refresh_timeout);
}

void ResourceCache::refresh(int endpoint) {
  Millis timeout{0};
  {
    MutexLock lock(mu_);
    timeout = backgroundTimeout(entry(endpoint));
  }
  (void)load(endpoint, deadlineIn(timeout));
  MutexLock lock(mu_);
  entries_.at(static_cast<std::size_t>(endpoint))->refreshing = false;
}

void ResourceCache::startRefresher() {
  workers_.start();
  refresher_ = std::thread([this] { refresherLoop(); });
}

void ResourceCache::refresherLoop() {
  SteadyTime next_trim = std::chrono::steady_clock::now() + kTrimEvery;
  UniqueLock lock(mu_);
  while (!stopping_) {
    // Freed memory also piles up in malloc's arenas between large snapshots (the soak's RSS
    // moved by megabytes with the heap in use flat): it goes back every few seconds too.
    const SteadyTime now_real = std::chrono::steady_clock::now();
    if (now_real >= next_trim) {
      trim_due_ = true;
      next_trim = now_real + kTrimEvery;
    }
    bool trim = std::exchange(trim_due_, false);
    lock.unlock();
    if (trim) malloc_trim(0);
    for (int endpoint : claimDueRefreshes()) {
      // On the workers, so a hanging endpoint never delays the others.
      if (!workers_.post([this, endpoint] { refresh(endpoint); })) {
        MutexLock unclaim(mu_);
        entries_[static_cast<std::size_t>(endpoint)]->refreshing = false;
      }
    }
    lock.lock();
    // Sleep until the next entry is due; bounded, so late accesses are noticed too.
    Millis wait{1000};
    SteadyTime now = clock_.steady();
    for (const auto& e : entries_) {
      if (!e) continue;
      if (auto at = refreshDue(*e)) {
        wait = std::min(wait, std::chrono::duration_cast<Millis>(*at - now));
      }
    }
    wake_.wait_for(lock, std::max(wait, Millis(10)),
                   [this]() REQUIRES(mu_) { return stopping_ || kicked_; });
    kicked_ = false;
  }
}

namespace {

std::string stateOf(bool has_data, bool absent, bool fresh, bool failed, bool servable) {
  if (!has_data) return failed ? "error" : "never fetched";
  if (absent) return "absent";
  if (fresh) return "fresh";
  // Past max_stale the old copy is no longer served: the error is what readers get.
  if (failed) return servable ? "stale" : "error";
  return "expired";
}

}  // namespace

std::vector<EndpointStatus> ResourceCache::status() const {
  MutexLock lock(mu_);
  SteadyTime now = clock_.steady();
  std::vector<EndpointStatus> out;
  for (const auto& e : entries_) {
    if (!e) continue;
    EndpointStatus s;
    s.ttl = e->ttl;
    s.mount_path = e->spec->mount_path;
    s.state = stateOf(e->hasData(), e->absent, now < e->expires, e->error.has_value(),
                      servable(*e, now).has_value());
    if (e->hasData()) {
      s.last_fetch = e->fetched_wall;
      s.expires = e->expires_wall;
    }
    if (e->last_failure) {
      s.last_error = e->last_failure;
      s.last_error_time = e->last_failure_wall;
    }
    s.failing = e->error.has_value();
    s.fetches = e->fetches;
    s.retries = e->retries;
    s.stale_serves = e->stale_serves;
    s.failures = e->failures;
    s.http_requests = e->http_requests;
    s.failures_by_kind.assign(e->failures_by_kind.begin(), e->failures_by_kind.end());
    s.raw_bytes = e->snapshot ? e->snapshot->raw().size() : 0;
    s.memory_bytes = e->snapshot ? e->snapshot->memoryBytes() : 0;
    out.push_back(std::move(s));
  }
  return out;
}

LatencyHistogram ResourceCache::latency() const {
  MutexLock lock(mu_);
  return latency_;
}

void LatencyHistogram::add(double seconds) {
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) ++within[i];
  }
  ++count;
  sum_seconds += seconds;
}

}  // namespace mdfs::cache
