// Per-endpoint cache of snapshots (DESIGN §2): lazy, one fetch per endpoint per TTL
// (single-flight), refresh-ahead for data being read, stale-if-error up to max_stale,
// 404 cached as absent, change detection by content. A new snapshot is published before
// the change callback runs, so invalidations are only queued once readers can see it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
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
};

struct FetchCounters {
  int retries = 0;
};

// Fetches one endpoint's body. Errors are final (the fetcher retried already); a 404 must
// come back as an Error with http_status 404.
using Fetcher =
    std::function<Result<std::string>(const tree::EndpointSpec&, Deadline, FetchCounters&)>;
// Told, after publication, what a refetch changed, or `vanished` when the endpoint
// answers 404 (so the kernel forgets any entry it holds for it).
using ChangeCallback = std::function<void(int endpoint, const tree::ChangeList&, bool vanished)>;

// What a reader gets for one endpoint.
struct View {
  std::shared_ptr<const tree::Snapshot> snapshot;
  SteadyTime expires;  // end of freshness; kernel cache timeouts follow it
  bool stale = false;  // served past expiry because the refetch failed
};

struct EndpointStatus {
  std::string mount_path;
  std::string state;  // "never fetched", "fresh", "expired", "stale", "absent", "error"
  std::optional<WallTime> last_fetch;
  std::optional<WallTime> expires;
  std::optional<Error> last_error;
  std::optional<WallTime> last_error_time;
  std::uint64_t fetches = 0;
  std::uint64_t retries = 0;
  std::uint64_t stale_serves = 0;
  std::uint64_t failures = 0;
  std::size_t bytes = 0;
};

class ResourceCache {
 public:
  ResourceCache(const tree::Catalog& catalog, CachePolicy policy, tree::RenderOptions render,
                Fetcher fetcher, const Clock& clock, const Logger& log);
  ~ResourceCache();
  ResourceCache(const ResourceCache&) = delete;
  ResourceCache& operator=(const ResourceCache&) = delete;

  void setChangeCallback(ChangeCallback callback);

  // The endpoint's data, fetching it first when it is missing or expired. ENOENT when the
  // service answers 404 for it.
  Result<View> get(int endpoint, Deadline deadline);
  // What is cached now, fresh or stale, without fetching or counting as a read.
  [[nodiscard]] std::optional<View> peek(int endpoint) const;
  // True once the service answered 404 and that answer is still fresh. Never fetches.
  [[nodiscard]] bool knownAbsent(int endpoint) const;
  // Expires everything: the next access refetches (SIGHUP). Mtimes survive unchanged
  // values, and the old data remains the stale-if-error fallback.
  void expireAll();

  // Starts the background thread that refreshes data ahead of expiry.
  void startRefresher();
  // Stops it, waits for refreshes in flight, and drops the change callback.
  void stop();
  // Endpoints due for a refresh-ahead now; they are marked in flight. Exposed so unit
  // tests drive refresh with a FakeClock; the refresher thread calls it too.
  std::vector<int> claimDueRefreshes();
  // Fetches an endpoint claimed by claimDueRefreshes().
  void refresh(int endpoint);

  [[nodiscard]] Seconds ttlOf(int endpoint) const;
  [[nodiscard]] std::vector<EndpointStatus> status() const;

 private:
  struct Entry;
  Result<View> waitOrFetch(std::unique_lock<std::mutex>& lock, int endpoint, Deadline deadline);
  Result<View> fetchAndPublish(std::unique_lock<std::mutex>& lock, int endpoint, Deadline deadline);
  std::optional<View> servable(const Entry& e, SteadyTime now) const;
  static Result<View> answer(Entry& e, const View& view);
  std::optional<SteadyTime> refreshDue(const Entry& e) const;
  void refresherLoop();

  const tree::Catalog& catalog_;
  CachePolicy policy_;
  tree::RenderOptions render_;
  Fetcher fetcher_;
  const Clock& clock_;
  const Logger& log_;
  ChangeCallback on_change_;

  mutable std::mutex mu_;
  std::condition_variable fetched_;
  std::vector<std::unique_ptr<Entry>> entries_;

  std::condition_variable wake_;
  bool stopping_ = false;
  bool kicked_ = false;
  bool trim_due_ = false;  // a big snapshot was built: return freed memory to the system
  std::thread refresher_;
};

}  // namespace mdfs::cache
