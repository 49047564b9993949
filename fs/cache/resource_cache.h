// Per-endpoint cache of snapshots (DESIGN §2): lazy, one fetch per endpoint per TTL
// (single-flight, each waiter bounded by its own deadline), refresh-ahead for data being
// read, stale-if-error up to max_stale, 404 cached as absent, change detection by content,
// and parallel fetches of independent endpoints (a listing learns which of its child
// endpoints exist in one round trip). A new snapshot is published before the change
// callback runs, so invalidations are only queued once readers can see it.
//
// Locking: mu_ guards every Entry's state; it is never held across a fetch, a snapshot
// build, a log line or a callback. Each Entry's SingleFlight has its own lock.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "common/fetch_stats.h"
#include "common/log.h"
#include "common/mutex.h"
#include "common/work_queue.h"
#include "tree/catalog.h"
#include "tree/snapshot.h"

namespace mdfs::cache {

struct CachePolicy {
  Seconds ttl{60};                           // the global default
  std::map<std::string, Seconds> overrides;  // by mount path ("instance/network_interfaces")
  Seconds max_stale{3600};                   // 0 disables stale-if-error
  // Data read since its last fetch is refetched in the background once this fraction of
  // its TTL has passed, so steady readers never wait on the network.
  double refresh_ahead = 0.75;
  Millis error_hold{1000};      // a failure with nothing to serve is repeated this long
  Millis stale_retry{2000};     // while serving stale data, refetch at most this often
  Millis fetch_timeout{10000};  // deadline of a background refresh
  // Deadline of a background refetch of data whose last fetch failed (readers meanwhile
  // get the stale copy at once): longer where the service is known to come back slowly
  // (Azure's 410 "IMDS is updating", up to 70 s), its retries backing off within it.
  // Zero: fetch_timeout.
  Millis failing_refresh_timeout{0};
  unsigned workers = 8;  // fetches of independent endpoints running at once
  // Resources found by path (the text clouds' listings and values, resource()): at most this
  // many are held, and their snapshots at most this many bytes; the least recently used of
  // those nobody holds a Lease on are dropped to make room.
  std::size_t max_resources = 4096;
  std::size_t max_resource_bytes = std::size_t{64} << 20;
};

// A resource found by path, held for use: while the Lease lives its id names it and nothing
// evicts it. Leases of catalog endpoints pin nothing (those are never evicted).
struct Lease {
  int id = -1;
  std::shared_ptr<void> pin;
};

// Fetches one endpoint's body. Errors are final (the fetcher retried already); an endpoint
// that does not exist comes back as an Error of kind not_found.
using Fetcher =
    std::function<Result<std::string>(const tree::EndpointSpec&, Deadline, FetchStats&)>;

// Waits on the service for an endpoint's body to change from the one tagged `etag` (GCE's
// wait_for_change): the new body, or the same one when `wait` passes. One attempt, ended
// early by `cancel`; fills stats.etag like a Fetcher.
using ChangeWaiter = std::function<Result<std::string>(
    const tree::EndpointSpec&, const std::string& etag, Seconds wait, Deadline, FetchStats&,
    const std::atomic<bool>& cancel)>;

// Whether an endpoint's existence changed with a fetch.
enum class Presence { unchanged, appeared, vanished };
// Told, after publication, what a refetch changed, or that the endpoint started or stopped
// answering 404 (so the kernel forgets the entries and listings it holds). A watched
// endpoint's every fetch is told too, with an empty ChangeList when nothing changed, so that
// its watchers learn that it was checked.
using ChangeCallback =
    std::function<void(int endpoint, const tree::ChangeList&, Presence presence)>;

// What a reader gets for one endpoint: its data, or the fact that it does not exist.
struct View {
  std::shared_ptr<const tree::Snapshot> snapshot;  // null when absent
  SteadyTime expires;  // end of freshness; kernel cache timeouts follow it
  bool stale = false;  // served past expiry because the refetch failed
  // When the endpoint last began or stopped to exist, as far as the cache knows: the
  // listings that show it change then.
  std::int64_t presence_ns = 0;
  [[nodiscard]] bool absent() const { return snapshot == nullptr; }
};

// What is known about an endpoint without asking the service.
enum class Known { unknown, present, absent, failed };

// How long fetches took, for .metrics (a Prometheus histogram: a count per upper bound).
struct LatencyHistogram {
  static constexpr std::array<double, 12> kBounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                  0.5,   1,    2.5,   5,    10,  30};
  std::array<std::uint64_t, kBounds.size()> within{};  // fetches that took <= kBounds[i]
  std::uint64_t count = 0;
  double sum_seconds = 0;
  void add(double seconds);
};

struct EndpointStatus {
  std::string mount_path;
  std::string state;  // "never fetched", "fresh", "expired", "stale", "absent", "error"
  std::optional<WallTime> last_fetch;
  std::optional<WallTime> expires;
  std::optional<Error> last_error;  // the most recent failure, kept after a recovery
  std::optional<WallTime> last_error_time;
  bool failing = false;  // the most recent fetch failed
  std::uint64_t fetches = 0;
  std::uint64_t retries = 0;
  std::uint64_t stale_serves = 0;
  std::uint64_t failures = 0;
  std::uint64_t http_requests = 0;  // every attempt of every fetch (pages and retries)
  std::vector<std::pair<ErrorKind, std::uint64_t>> failures_by_kind;
  std::size_t raw_bytes = 0;     // size of <name>.json
  std::size_t memory_bytes = 0;  // what the snapshot holds in memory
  Seconds ttl{0};
};

class ResourceCache {
 public:
  ResourceCache(const tree::Catalog& catalog, CachePolicy policy, tree::RenderOptions render,
                Fetcher fetcher, const Clock& clock, const Logger& log);
  ~ResourceCache();
  ResourceCache(const ResourceCache&) = delete;
  ResourceCache& operator=(const ResourceCache&) = delete;

  // The resource `spec` describes (a text cloud's listing or value, found by walking the
  // listings above it), known by its api_path: created on first use when `create`, else
  // nullopt when not held. Creating one past max_resources evicts the least recently used
  // resource without a Lease; when every one is leased, it fails (out of room).
  Result<std::optional<Lease>> resource(const tree::EndpointSpec& spec, bool create) EXCLUDES(mu_);
  // The spec of a catalog endpoint or of a leased resource.
  [[nodiscard]] const tree::EndpointSpec& specOf(int endpoint) const;
  // Resources found by path held now, and their snapshots' bytes.
  [[nodiscard]] std::size_t resourceCount() const EXCLUDES(mu_);
  [[nodiscard]] std::size_t resourceBytes() const EXCLUDES(mu_);

  // Call before the first fetch.
  void setChangeCallback(ChangeCallback callback) EXCLUDES(mu_);
  // With a waiter (before the first watch()), a watched endpoint whose answers carry an
  // ETag is kept by a long poll instead of refetches on its TTL: one background thread per
  // such endpoint (at most `max_waits` at once; beyond them, the TTL) holds one bounded
  // wait for a change, publishes what it brings and waits again, until nobody watches.
  // `max_wait` bounds each wait; its HTTP deadline is that and fetch_timeout.
  void setChangeWaiter(ChangeWaiter waiter, std::size_t max_waits, Seconds max_wait) EXCLUDES(mu_);

  // The endpoint's data for a reader: fresh from the cache, fetched now (or joined to the
  // fetch under way) within `deadline`, or the last good copy while the service fails.
  // An absent endpoint is a View without snapshot.
  Result<View> get(int endpoint, Deadline deadline) EXCLUDES(mu_);
  // Fetches those of `endpoints` whose data is missing or expired, all at once, and returns
  // when every fetch ended or `deadline` passed. A probe is not a read: it does not keep the
  // data refreshed ahead of time.
  void prefetch(const std::vector<int>& endpoints, Deadline deadline) EXCLUDES(mu_);
  // Starts the same fetches without waiting for them: a change they find reaches the
  // kernel through the change callback.
  void refreshInBackground(const std::vector<int>& endpoints) EXCLUDES(mu_);
  // The data held now, fresh or stale, without fetching; nullopt when none is servable.
  [[nodiscard]] std::optional<View> peek(int endpoint) const EXCLUDES(mu_);
  // Whether get() would answer now without asking the service: fresh data, a stale copy
  // whose refetch failed, or a failure still held back.
  [[nodiscard]] bool answersWithoutFetching(int endpoint) const EXCLUDES(mu_);
  // Whether prefetch() of `endpoints` would fetch none of them now.
  [[nodiscard]] bool noneWorthFetching(const std::vector<int>& endpoints) const EXCLUDES(mu_);
  [[nodiscard]] Known known(int endpoint) const EXCLUDES(mu_);
  // Those of `endpoints` whose existence is known but past its TTL.
  [[nodiscard]] std::vector<int> expired(const std::vector<int>& endpoints) const EXCLUDES(mu_);
  // The last failure of an endpoint that has nothing to serve.
  [[nodiscard]] std::optional<Error> failure(int endpoint) const EXCLUDES(mu_);

  // Every entry counts as expired (SIGHUP): the next access refetches.
  void expireAll() EXCLUDES(mu_);
  // The service answers again: failures stop holding back new attempts, and stale copies
  // are refreshed now.
  void retryFailedNow() EXCLUDES(mu_);

  // Something waits for the endpoint's data to change (a poll(2) on one of its files): while
  // it is watched, the refresher fetches it again when its TTL ends, read or not, so a change
  // is seen within one TTL and a round trip (or a long poll waits for it: setChangeWaiter).
  // Counted: every watch() is undone by one unwatch(), in either order (racing callers may unwatch
  // first; watched while positive).
  void watch(int endpoint) EXCLUDES(mu_);
  void unwatch(int endpoint) EXCLUDES(mu_);
  [[nodiscard]] int watchers(int endpoint) const EXCLUDES(mu_);
  // Whether a long poll keeps the endpoint now.
  [[nodiscard]] bool longPolled(int endpoint) const EXCLUDES(mu_);

  void startRefresher();
  void stop() EXCLUDES(mu_);
  // Endpoints due for a refresh-ahead now. Exposed so unit tests drive refresh with a
  // FakeClock; the refresher thread calls it too.
  std::vector<int> claimDueRefreshes() EXCLUDES(mu_);
  // Fetches an endpoint claimed by claimDueRefreshes().
  void refresh(int endpoint) EXCLUDES(mu_);

  [[nodiscard]] Seconds ttlOf(int endpoint) const;
  [[nodiscard]] std::vector<EndpointStatus> status() const EXCLUDES(mu_);
  [[nodiscard]] LatencyHistogram latency() const EXCLUDES(mu_);

 private:
  struct Entry;
  struct Fetched;
  struct LongPoll;
  // Starts (or keeps) the long poll of a newly watched endpoint when one may run.
  void startLongPoll(int endpoint) REQUIRES(mu_);
  void longPollLoop(int endpoint, LongPoll& poll) EXCLUDES(mu_);
  // One wait for a change, published; false when it failed (the caller backs off).
  bool waitOnce(int endpoint, LongPoll& poll, const std::string& etag) EXCLUDES(mu_);
  // Sleeps `pause` unless the cache stops or nobody watches `endpoint` any more.
  void pauseLongPoll(int endpoint, Millis pause) EXCLUDES(mu_);
  // The long polls' threads, once none can start any more.
  void joinLongPolls() EXCLUDES(mu_);
  // What a reader gets from an entry now, and whether it costs a fetch.
  enum class Held { fresh, stale_after_failure, failure, nothing };
  [[nodiscard]] Held held(const Entry& e, const std::optional<View>& view, SteadyTime now) const
      REQUIRES(mu_);
  // What a reader should get without fetching: a view, an error, or nothing (fetch).
  std::optional<Result<View>> fromCache(Entry& e, bool reader) REQUIRES(mu_);
  [[nodiscard]] std::vector<int> worthFetching(const std::vector<int>& endpoints) const
      EXCLUDES(mu_);
  // One fetch for everyone who needs it now.
  Result<View> load(int endpoint, Deadline deadline) EXCLUDES(mu_);
  Result<View> fetchAndPublish(int endpoint, Deadline deadline) EXCLUDES(mu_);
  // Pure: the answer turned into a snapshot, an absence or a failure.
  [[nodiscard]] Fetched build(const Entry& e, Result<std::string> body,
                              std::shared_ptr<const tree::Snapshot> previous,
                              Deadline deadline) const;
  Result<View> publish(int endpoint, Fetched fetched) EXCLUDES(mu_);
  // An answer obtained without the fetcher (a long poll), built and published.
  Result<View> publishAnswer(int endpoint, Result<std::string> body, FetchStats stats, Millis took)
      EXCLUDES(mu_);
  using LogLines = std::vector<std::pair<LogLevel, std::string>>;  // emitted after unlocking
  void recordFailure(Entry& e, const Error& failure, LogLines& lines) REQUIRES(mu_);
  void recordSuccess(Entry& e, const Fetched& fetched, LogLines& lines) REQUIRES(mu_);
  std::optional<View> servable(const Entry& e, SteadyTime now) const REQUIRES(mu_);
  std::optional<SteadyTime> refreshDue(const Entry& e) const REQUIRES(mu_);
  void refresherLoop() EXCLUDES(mu_);
  // The deadline of a background fetch of `e` (failing_refresh_timeout while it fails).
  [[nodiscard]] Millis backgroundTimeout(const Entry& e) const REQUIRES(mu_);
  [[nodiscard]] Entry& entry(int endpoint) const;
  [[nodiscard]] Seconds ttlFor(const tree::EndpointSpec& spec) const;
  [[nodiscard]] Lease leaseOf(int id) REQUIRES(mu_);
  void unpin(int id) EXCLUDES(mu_);
  // A slot for a new resource: a free one, or the least recently used unleased one emptied.
  [[nodiscard]] int freeSlot() REQUIRES(mu_);
  void evict(int id) REQUIRES(mu_);
  // Drops unleased resources, least recently used first, until their bytes fit again.
  void fitBytes(int keep) REQUIRES(mu_);
  [[nodiscard]] bool evictable(const Entry& e) const REQUIRES(mu_);

  const tree::Catalog& catalog_;
  CachePolicy policy_;
  tree::RenderOptions render_;
  Fetcher fetcher_;
  const Clock& clock_;
  const Logger& log_;

  mutable Mutex mu_;
  ChangeCallback on_change_ GUARDED_BY(mu_);
  LatencyHistogram latency_ GUARDED_BY(mu_);
  // The vector's size is fixed: the catalog's endpoints, then max_resources slots for
  // resources found by path (null until used; replaced under mu_ only while unleased, so a
  // leaseholder reads its slot without the lock). Entry state: mu_.
  std::vector<std::unique_ptr<Entry>> entries_;
  std::size_t fixed_ = 0;                              // catalog endpoints: ids below this
  std::map<std::string, int> by_api_ GUARDED_BY(mu_);  // resources found by path
  std::uint64_t use_clock_ GUARDED_BY(mu_) = 0;        // orders uses for eviction
  std::size_t resource_bytes_ GUARDED_BY(mu_) = 0;

  ChangeWaiter waiter_;  // set before any watch(), read-only after
  std::size_t max_waits_ = 0;
  Seconds max_wait_{60};
  std::map<int, std::unique_ptr<LongPoll>> long_polls_ GUARDED_BY(mu_);  // by endpoint
  CondVar long_poll_wake_;  // pauses between failed long polls

  CondVar wake_;
  bool stopping_ GUARDED_BY(mu_) = false;
  bool kicked_ GUARDED_BY(mu_) = false;
  bool trim_due_ GUARDED_BY(mu_) = false;  // a big snapshot was built: return freed memory
  std::thread refresher_;
  WorkQueue workers_;  // last: stopped first, before anything its jobs use
};

}  // namespace mdfs::cache
