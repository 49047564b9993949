#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "cache/resource_cache.h"

namespace mdfs::cache {
namespace {

using namespace std::chrono_literals;

std::string dataAt(const tree::Snapshot& s, std::string_view path) {
  const tree::Node* n = s.find(path);
  return n != nullptr ? std::string(s.data(*n)) : "<missing>";
}

// A scripted service: per mount path, the next answer, with a call counter and an
// optional delay so concurrent callers overlap.
class FakeService {
 public:
  void answer(const std::string& mount, Result<std::string> r) {
    std::lock_guard lock(mu_);
    answers_.insert_or_assign(mount, std::move(r));
  }
  void fail(const std::string& mount, int status, ErrorKind kind = ErrorKind::server_error) {
    Error e = makeError(kind, "GET " + mount + " failed");
    e.http_status = status;
    answer(mount, e);
  }
  int calls(const std::string& mount) {
    std::lock_guard lock(mu_);
    return calls_[mount];
  }
  Millis delay{0};

  Fetcher fetcher() {
    return [this](const tree::EndpointSpec& spec, Deadline, FetchStats& stats) {
      if (delay.count() > 0) std::this_thread::sleep_for(delay);
      std::lock_guard lock(mu_);
      ++calls_[spec.mount_path];
      stats.retries = 1;
      auto it = answers_.find(spec.mount_path);
      if (it == answers_.end()) {
        return Result<std::string>(makeError(ErrorKind::unreachable, "no answer"));
      }
      return it->second;
    };
  }

 private:
  std::mutex mu_;
  std::map<std::string, Result<std::string>> answers_;
  std::map<std::string, int> calls_;
};

class CacheTest : public ::testing::Test {
 protected:
  CacheTest()
      : log_(LogLevel::debug, [this](LogLevel, std::string_view m) {
          std::lock_guard lock(log_mu_);
          lines_.emplace_back(m);
        }) {
    service_.answer("instance", std::string(R"({"name":"web-01","memory":8})"));
    service_.answer("keys", std::string(R"({"keys":[{"id":"k1","name":"a"}]})"));
  }

  std::unique_ptr<ResourceCache> make(CachePolicy policy = {}) {
    policy.ttl = 10s;
    return std::make_unique<ResourceCache>(catalog_, policy, tree::RenderOptions{},
                                           service_.fetcher(), clock_, log_);
  }
  int ep(const char* mount) const { return catalog_.find(mount); }
  static Deadline soon() { return deadlineIn(2000ms); }

  tree::Catalog catalog_{"2025-08-26"};
  FakeClock clock_;
  FakeService service_;
  std::mutex log_mu_;
  std::vector<std::string> lines_;
  Logger log_;
};

TEST_F(CacheTest, FetchesLazilyAndOncePerTtl) {
  auto cache = make();
  EXPECT_EQ(service_.calls("instance"), 0);
  auto v = cache->get(ep("instance"), soon());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(dataAt(*v->snapshot, "name"), "web-01\n");
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(cache->get(ep("instance"), soon()).ok());
  EXPECT_EQ(service_.calls("instance"), 1);
  EXPECT_EQ(service_.calls("keys"), 0);
  clock_.advance(9s);
  ASSERT_TRUE(cache->get(ep("instance"), soon()).ok());
  EXPECT_EQ(service_.calls("instance"), 1);
  clock_.advance(2s);
  ASSERT_TRUE(cache->get(ep("instance"), soon()).ok());
  EXPECT_EQ(service_.calls("instance"), 2);
}

TEST_F(CacheTest, TtlOverridesAndStableClass) {
  CachePolicy policy;
  policy.overrides["keys"] = 2s;
  auto cache = make(policy);
  EXPECT_EQ(cache->ttlOf(ep("keys")), 2s);
  EXPECT_EQ(cache->ttlOf(ep("instance")), 10s);
  EXPECT_EQ(cache->ttlOf(ep("instance/initialization")), 100s);
}

TEST_F(CacheTest, ConcurrentMissesShareOneFetch) {
  service_.delay = 200ms;
  auto cache = make();
  std::vector<std::thread> readers;
  std::atomic<int> ok{0};
  for (int i = 0; i < 32; ++i) {
    readers.emplace_back([&] {
      if (cache->get(ep("keys"), soon()).ok()) ++ok;
    });
  }
  for (auto& t : readers)
    t.join();
  EXPECT_EQ(ok, 32);
  EXPECT_EQ(service_.calls("keys"), 1);
}

TEST_F(CacheTest, WaiterGivesUpAtItsDeadline) {
  service_.delay = 500ms;
  auto cache = make();
  std::thread first([&] { (void)cache->get(ep("keys"), soon()); });
  std::this_thread::sleep_for(50ms);
  auto start = std::chrono::steady_clock::now();
  auto v = cache->get(ep("keys"), deadlineIn(100ms));
  auto waited = std::chrono::steady_clock::now() - start;
  first.join();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().errnum, ETIMEDOUT);
  EXPECT_LT(waited, 400ms);
}

TEST_F(CacheTest, ServesStaleCopyWhileRefetchFailsThenGivesUp) {
  CachePolicy policy;
  policy.max_stale = 30s;
  auto cache = make(policy);
  ASSERT_TRUE(cache->get(ep("instance"), soon()).ok());
  service_.fail("instance", 503);
  clock_.advance(11s);
  auto v = cache->get(ep("instance"), soon());
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->stale);
  EXPECT_EQ(dataAt(*v->snapshot, "name"), "web-01\n");
  EXPECT_EQ(service_.calls("instance"), 2);
  // Later readers get the copy at once; retries run in the background.
  ASSERT_TRUE(cache->get(ep("instance"), soon()).ok());
  EXPECT_EQ(service_.calls("instance"), 2);
  clock_.advance(3s);
  auto due = cache->claimDueRefreshes();
  ASSERT_EQ(due, std::vector<int>{ep("instance")});
  cache->refresh(due[0]);
  EXPECT_EQ(service_.calls("instance"), 3);
  clock_.advance(30s);
  auto gone = cache->get(ep("instance"), soon());
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().errnum, EIO);
  auto st = cache->status()[static_cast<std::size_t>(ep("instance"))];
  EXPECT_EQ(st.state, "error") << "past max_stale the copy is no longer served";
  EXPECT_GE(st.stale_serves, 2U);
  EXPECT_EQ(st.failures, 3U);
}

TEST_F(CacheTest, MaxStaleZeroDisablesStaleServing) {
  CachePolicy policy;
  policy.max_stale = 0s;
  auto cache = make(policy);
  ASSERT_TRUE(cache->get(ep("instance"), soon()).ok());
  service_.fail("instance", 0, ErrorKind::timed_out);
  clock_.advance(11s);
  auto v = cache->get(ep("instance"), soon());
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().errnum, ETIMEDOUT);
}

TEST_F(CacheTest, FailureWithoutDataIsHeldBriefly) {
  service_.fail("keys", 500);
  auto cache = make();
  EXPECT_FALSE(cache->get(ep("keys"), soon()).ok());
  EXPECT_FALSE(cache->get(ep("keys"), soon()).ok());
  EXPECT_EQ(service_.calls("keys"), 1);
  clock_.advance(1500ms);
  service_.answer("keys", std::string(R"({"keys":[]})"));
  EXPECT_TRUE(cache->get(ep("keys"), soon()).ok());
  EXPECT_EQ(service_.calls("keys"), 2);
}

// What the FUSE adapter asks before answering on its own thread: get() then returns
// without a fetch. In the soak, the second request of one system call (a listing's last
// chunk, a GETATTR after a LOOKUP) was queued behind requests waiting on the service,
// although the first request had just met the failure it would get.
TEST_F(CacheTest, AnswersWithoutFetchingExactlyWhenGetWouldNotFetch) {
  CachePolicy policy;
  policy.max_stale = 30s;
  auto cache = make(policy);
  const int inst = ep("instance");
  const int keys = ep("keys");
  EXPECT_FALSE(cache->answersWithoutFetching(inst)) << "nothing held";
  ASSERT_TRUE(cache->get(inst, soon()).ok());
  EXPECT_TRUE(cache->answersWithoutFetching(inst)) << "fresh";
  clock_.advance(11s);
  EXPECT_FALSE(cache->answersWithoutFetching(inst)) << "stale: a reader tries the service first";
  service_.fail("instance", 503);
  ASSERT_TRUE(cache->get(inst, soon()).ok());
  EXPECT_TRUE(cache->answersWithoutFetching(inst)) << "stale, and its refetch just failed";
  ASSERT_TRUE(cache->get(inst, soon()).ok());
  EXPECT_EQ(service_.calls("instance"), 2);

  service_.fail("keys", 500);
  EXPECT_FALSE(cache->get(keys, soon()).ok());
  EXPECT_TRUE(cache->answersWithoutFetching(keys)) << "a failure held back";
  EXPECT_TRUE(cache->noneWorthFetching({inst, keys}));
  clock_.advance(1500ms);
  EXPECT_FALSE(cache->answersWithoutFetching(keys)) << "past the hold";
  EXPECT_FALSE(cache->noneWorthFetching({inst, keys}));
  EXPECT_FALSE(cache->get(keys, soon()).ok());
  EXPECT_EQ(service_.calls("keys"), 2);
}

TEST_F(CacheTest, NotFoundIsCachedAsAbsent) {
  service_.fail("instance/cluster_network_attachments", 404, ErrorKind::not_found);
  auto cache = make();
  int cna = ep("instance/cluster_network_attachments");
  EXPECT_EQ(cache->known(cna), Known::unknown);
  auto v = cache->get(cna, soon());
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->absent());
  EXPECT_EQ(cache->known(cna), Known::absent);
  EXPECT_TRUE(cache->get(cna, soon())->absent());
  EXPECT_EQ(service_.calls("instance/cluster_network_attachments"), 1);
  EXPECT_EQ(cache->status()[static_cast<std::size_t>(cna)].state, "absent");
}

// Issue 17: a token endpoint answering 404 made the whole tree vanish, because the cache
// read any HTTP 404 as "absent". Only an error of kind not_found is.
TEST_F(CacheTest, AFailingTokenRequestIsAnErrorNeverAnAbsence) {
  Error token = makeError(ErrorKind::bad_request, "identity token request PUT ...: not found");
  token.http_status = 404;
  service_.answer("instance", token);
  auto cache = make();
  auto v = cache->get(ep("instance"), soon());
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().errnum, EIO);
  EXPECT_EQ(cache->known(ep("instance")), Known::failed);
  auto st = cache->status()[static_cast<std::size_t>(ep("instance"))];
  EXPECT_EQ(st.state, "error");
  ASSERT_TRUE(st.last_error.has_value());
  EXPECT_EQ(st.last_error->http_status, 404);
}

TEST_F(CacheTest, PrefetchFetchesIndependentEndpointsAtOnce) {
  service_.delay = 300ms;
  service_.answer("placement_groups", std::string(R"({"placement_groups":[]})"));
  service_.fail("virtual_network_interfaces", 404, ErrorKind::not_found);
  auto cache = make();
  const auto start = std::chrono::steady_clock::now();
  cache->prefetch(catalog_.childrenOf(""), deadlineIn(5s));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, 900ms) << "four 300 ms fetches ran one after another";
  for (const char* m : {"instance", "keys", "placement_groups", "virtual_network_interfaces"}) {
    EXPECT_EQ(service_.calls(m), 1) << m;
  }
  EXPECT_EQ(cache->known(ep("virtual_network_interfaces")), Known::absent);
  EXPECT_EQ(cache->known(ep("keys")), Known::present);
  // Known endpoints are not fetched again.
  cache->prefetch(catalog_.childrenOf(""), deadlineIn(5s));
  EXPECT_EQ(service_.calls("keys"), 1);
}

TEST_F(CacheTest, PrefetchReturnsAtItsDeadline) {
  service_.delay = 800ms;
  auto cache = make();
  const auto start = std::chrono::steady_clock::now();
  cache->prefetch({ep("instance"), ep("keys")}, deadlineIn(200ms));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 700ms);
}

TEST_F(CacheTest, MalformedAnswerIsAnErrorAndOthersStillServe) {
  service_.answer("keys", std::string("<html>oops"));
  auto cache = make();
  auto v = cache->get(ep("keys"), soon());
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().errnum, EIO);
  EXPECT_NE(v.error().message.find("/metadata/v1/keys"), std::string::npos);
  EXPECT_TRUE(cache->get(ep("instance"), soon()).ok());
}

TEST_F(CacheTest, ChangesArePublishedBeforeTheCallbackAndEqualBytesChangeNothing) {
  auto cache = make();
  std::vector<tree::ChangeList> seen;
  cache->setChangeCallback([&](int endpoint, const tree::ChangeList& c, Presence) {
    // The new snapshot is already what readers get.
    auto v = cache->get(endpoint, soon());
    EXPECT_TRUE(v.ok() && dataAt(*v->snapshot, "name") == "web-02\n");
    seen.push_back(c);
  });
  auto first = cache->get(ep("instance"), soon());
  ASSERT_TRUE(first.ok());
  auto memory_mtime = first->snapshot->find("memory")->mtime_ns;
  clock_.advance(11s);
  auto same = cache->get(ep("instance"), soon());
  EXPECT_EQ(same->snapshot, first->snapshot);
  EXPECT_TRUE(seen.empty());

  service_.answer("instance", std::string(R"({"name":"web-02","memory":8})"));
  clock_.advance(11s);
  auto changed = cache->get(ep("instance"), soon());
  ASSERT_TRUE(changed.ok());
  ASSERT_EQ(seen.size(), 1U);
  EXPECT_EQ(seen[0].changed, std::vector<std::string>{"name"});
  EXPECT_EQ(changed->snapshot->find("memory")->mtime_ns, memory_mtime);
  EXPECT_GT(changed->snapshot->find("name")->mtime_ns, memory_mtime);
}

TEST_F(CacheTest, VanishedAndAppearedEndpointsAreReported) {
  auto cache = make();
  std::vector<Presence> seen;
  cache->setChangeCallback([&](int, const tree::ChangeList&, Presence p) { seen.push_back(p); });
  ASSERT_TRUE(cache->get(ep("keys"), soon()).ok());
  service_.fail("keys", 404, ErrorKind::not_found);
  clock_.advance(11s);
  EXPECT_TRUE(cache->get(ep("keys"), soon())->absent());
  ASSERT_EQ(seen, std::vector<Presence>{Presence::vanished});
  service_.answer("keys", std::string(R"({"keys":[]})"));
  clock_.advance(11s);
  EXPECT_FALSE(cache->get(ep("keys"), soon())->absent());
  EXPECT_EQ(seen, (std::vector<Presence>{Presence::vanished, Presence::appeared}));
}

TEST_F(CacheTest, RecoveryIsLoggedAndTheLastFailureStaysInTheStatus) {
  service_.fail("keys", 500);
  auto cache = make();
  EXPECT_FALSE(cache->get(ep("keys"), soon()).ok());
  clock_.advance(2s);
  EXPECT_FALSE(cache->get(ep("keys"), soon()).ok());
  clock_.advance(2s);
  service_.answer("keys", std::string(R"({"keys":[]})"));
  ASSERT_TRUE(cache->get(ep("keys"), soon()).ok());
  {
    std::lock_guard lock(log_mu_);
    bool said = std::any_of(lines_.begin(), lines_.end(), [](const std::string& l) {
      return l.find("keys fetched again after 2 failures over 4 s") != std::string::npos;
    });
    EXPECT_TRUE(said);
  }
  auto st = cache->status()[static_cast<std::size_t>(ep("keys"))];
  EXPECT_EQ(st.state, "fresh");
  EXPECT_FALSE(st.failing);
  ASSERT_TRUE(st.last_error.has_value());
  EXPECT_EQ(st.last_error->http_status, 500);
  EXPECT_TRUE(st.last_error_time.has_value());
}

TEST_F(CacheTest, RetryFailedNowEndsTheHold) {
  service_.fail("keys", 500);
  auto cache = make();
  EXPECT_FALSE(cache->get(ep("keys"), soon()).ok());
  service_.answer("keys", std::string(R"({"keys":[]})"));
  EXPECT_FALSE(cache->get(ep("keys"), soon()).ok()) << "held: no new attempt yet";
  cache->retryFailedNow();
  EXPECT_TRUE(cache->get(ep("keys"), soon()).ok());
  EXPECT_EQ(service_.calls("keys"), 2);
}

TEST_F(CacheTest, RefreshesAheadOnlyWhatIsBeingRead) {
  auto cache = make();
  ASSERT_TRUE(cache->get(ep("instance"), soon()).ok());
  clock_.advance(5s);
  EXPECT_TRUE(cache->claimDueRefreshes().empty());  // not yet due (75% of 10 s)
  clock_.advance(3s);
  auto due = cache->claimDueRefreshes();
  // Read after its fetch? No: the only read was the fetch itself.
  EXPECT_TRUE(due.empty());
  ASSERT_TRUE(cache->get(ep("instance"), soon()).ok());
  due = cache->claimDueRefreshes();
  ASSERT_EQ(due, std::vector<int>{ep("instance")});
  cache->refresh(due[0]);
  EXPECT_EQ(service_.calls("instance"), 2);
  clock_.advance(8s);  // 16 s after the first fetch: the refreshed copy is still fresh
  ASSERT_TRUE(cache->get(ep("instance"), soon()).ok());
  EXPECT_EQ(service_.calls("instance"), 2);
}

TEST_F(CacheTest, ExpireAllRefetchesAndKeepsUnchangedMtimes) {
  auto cache = make();
  auto first = cache->get(ep("instance"), soon());
  ASSERT_TRUE(first.ok());
  auto mtime = first->snapshot->find("name")->mtime_ns;
  clock_.advance(1s);
  cache->expireAll();
  auto again = cache->get(ep("instance"), soon());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(service_.calls("instance"), 2);
  EXPECT_EQ(again->snapshot->find("name")->mtime_ns, mtime);
}

TEST_F(CacheTest, StatusReportsCountersAndErrors) {
  auto cache = make();
  ASSERT_TRUE(cache->get(ep("instance"), soon()).ok());
  service_.fail("keys", 500);
  (void)cache->get(ep("keys"), soon());
  auto st = cache->status();
  const auto& inst = st[static_cast<std::size_t>(ep("instance"))];
  EXPECT_EQ(inst.state, "fresh");
  EXPECT_EQ(inst.fetches, 1U);
  EXPECT_EQ(inst.retries, 1U);
  EXPECT_TRUE(inst.last_fetch.has_value());
  const auto& keys = st[static_cast<std::size_t>(ep("keys"))];
  EXPECT_EQ(keys.state, "error");
  ASSERT_TRUE(keys.last_error.has_value());
  EXPECT_EQ(keys.last_error->http_status, 500);
  EXPECT_EQ(st[static_cast<std::size_t>(ep("placement_groups"))].state, "never fetched");
}

TEST_F(CacheTest, BackgroundRefresherKeepsHotDataFresh) {
  SystemClock real;
  CachePolicy policy;
  policy.ttl = 1s;
  ResourceCache cache(catalog_, policy, {}, service_.fetcher(), real, log_);
  cache.startRefresher();
  ASSERT_TRUE(cache.get(ep("instance"), soon()).ok());
  for (int i = 0; i < 25; ++i) {
    std::this_thread::sleep_for(100ms);
    auto v = cache.get(ep("instance"), soon());
    ASSERT_TRUE(v.ok());
    EXPECT_FALSE(v->stale);
  }
  EXPECT_GE(service_.calls("instance"), 3);
}

// Issue 15: while something waits for a change, the endpoint is fetched again when its TTL
// ends, read or not; every fetch of it is told (an unchanged one with an empty change list),
// and unwatching stops both.
TEST_F(CacheTest, AWatchedEndpointIsRefreshedOnItsTtlUnreadAndEveryFetchIsTold) {
  auto cache = make();
  std::vector<std::pair<int, bool>> told;  // endpoint, whether anything changed
  cache->setChangeCallback([&](int endpoint, const tree::ChangeList& c, Presence p) {
    told.emplace_back(endpoint, !c.empty() || p != Presence::unchanged);
  });
  ASSERT_TRUE(cache->get(ep("instance"), soon()).ok());
  ASSERT_TRUE(cache->get(ep("keys"), soon()).ok());
  cache->watch(ep("instance"));
  cache->watch(ep("instance"));
  EXPECT_EQ(cache->watchers(ep("instance")), 2);
  (void)cache->claimDueRefreshes();  // the first read's refresh-ahead claim, not yet due
  clock_.advance(9s);
  EXPECT_TRUE(cache->claimDueRefreshes().empty()) << "not before the TTL ends";
  clock_.advance(1s);
  auto due = cache->claimDueRefreshes();
  ASSERT_EQ(due, std::vector<int>{ep("instance")}) << "the unwatched, unread keys are not";
  cache->refresh(due[0]);
  EXPECT_EQ(service_.calls("instance"), 2);
  EXPECT_EQ(told, (std::vector<std::pair<int, bool>>{{ep("instance"), false}}));
  service_.answer("instance", std::string(R"({"name":"web-02","memory":8})"));
  clock_.advance(10s);
  due = cache->claimDueRefreshes();
  ASSERT_EQ(due.size(), 1U);
  cache->refresh(due[0]);
  ASSERT_EQ(told.size(), 2U);
  EXPECT_TRUE(told[1].second);
  cache->unwatch(ep("instance"));
  cache->unwatch(ep("instance"));
  clock_.advance(10s);
  EXPECT_TRUE(cache->claimDueRefreshes().empty()) << "no longer watched";
  EXPECT_EQ(service_.calls("keys"), 1);
}

// Racing pollers may stop before they start: the count comes out right in either order.
TEST_F(CacheTest, WatchCountsCommute) {
  auto cache = make();
  ASSERT_TRUE(cache->get(ep("instance"), soon()).ok());
  (void)cache->claimDueRefreshes();
  cache->unwatch(ep("instance"));
  cache->watch(ep("instance"));
  clock_.advance(10s);
  EXPECT_TRUE(cache->claimDueRefreshes().empty());
  cache->watch(ep("instance"));
  EXPECT_EQ(cache->claimDueRefreshes(), std::vector<int>{ep("instance")});
}

}  // namespace
}  // namespace mdfs::cache

namespace mdfs::cache {
namespace {

// Resources found by path: a text cloud's listings and values (issue 16).
class FoundTest : public CacheTest {
 protected:
  static tree::EndpointSpec valueAt(const std::string& mount) {
    tree::EndpointSpec s;
    s.mount_path = mount;
    s.api_path = "/latest/" + mount;
    s.format = tree::Format::value;
    return s;
  }
  static tree::EndpointSpec listingAt(const std::string& mount) {
    tree::EndpointSpec s = valueAt(mount);
    s.api_path += "/";
    s.format = tree::Format::listing;
    return s;
  }
  Lease found(ResourceCache& cache, const tree::EndpointSpec& spec) {
    auto lease = cache.resource(spec, true);
    EXPECT_TRUE(lease.ok() && lease->has_value());
    return lease.ok() && lease->has_value() ? **lease : Lease{};
  }
  tree::Catalog aws_{"", Cloud::aws};
  std::unique_ptr<ResourceCache> makeAws(CachePolicy policy) {
    policy.ttl = 10s;
    return std::make_unique<ResourceCache>(aws_, policy, tree::RenderOptions{}, service_.fetcher(),
                                           clock_, log_);
  }
};

TEST_F(FoundTest, BuiltByFormatFetchedOncePerTtlAndKnownByUrl) {
  auto cache = makeAws({});
  service_.answer("meta-data", std::string("ami-id\nplacement/\n"));
  service_.answer("meta-data/ami-id", std::string("ami-1"));
  Lease dir = found(*cache, listingAt("meta-data"));
  Lease value = found(*cache, valueAt("meta-data/ami-id"));
  auto listing = cache->get(dir.id, soon());
  ASSERT_TRUE(listing.ok());
  EXPECT_TRUE(listing->snapshot->find("placement")->remote);
  EXPECT_EQ(listing->snapshot->find("placement")->kind, tree::Node::Kind::directory);
  auto v = cache->get(value.id, soon());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->snapshot->data(v->snapshot->root()), "ami-1\n");
  ASSERT_TRUE(cache->get(value.id, soon()).ok());
  EXPECT_EQ(service_.calls("meta-data/ami-id"), 1);
  // The same URL is the same resource; without create, an unknown one is not made.
  EXPECT_EQ(found(*cache, valueAt("meta-data/ami-id")).id, value.id);
  auto unknown = cache->resource(valueAt("meta-data/hostname"), false);
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->has_value());
  clock_.advance(11s);
  ASSERT_TRUE(cache->get(value.id, soon()).ok());
  EXPECT_EQ(service_.calls("meta-data/ami-id"), 2);
  EXPECT_EQ(cache->resourceCount(), 2U);
}

TEST_F(FoundTest, TheLeastRecentlyUsedUnleasedResourceMakesRoom) {
  CachePolicy policy;
  policy.max_resources = 2;
  auto cache = makeAws(policy);
  for (const char* m : {"a", "b", "c"})
    service_.answer(m, std::string(m));
  Lease a = found(*cache, valueAt("a"));
  ASSERT_TRUE(cache->get(a.id, soon()).ok());
  {
    Lease b = found(*cache, valueAt("b"));
    ASSERT_TRUE(cache->get(b.id, soon()).ok());
  }
  // a is leased, b is not: c takes b's place.
  Lease c = found(*cache, valueAt("c"));
  ASSERT_TRUE(cache->get(c.id, soon()).ok());
  EXPECT_EQ(cache->resourceCount(), 2U);
  EXPECT_EQ(cache->specOf(a.id).mount_path, "a");
  EXPECT_EQ(cache->specOf(c.id).mount_path, "c");
  auto b_again = cache->resource(valueAt("b"), false);
  ASSERT_TRUE(b_again.ok());
  EXPECT_FALSE(b_again->has_value()) << "b was dropped";
  // Every slot leased: no room, an error rather than a dropped resource in use.
  auto d = cache->resource(valueAt("d"), true);
  EXPECT_FALSE(d.ok());
  // b comes back with one fetch more.
  c = Lease{};
  Lease b = found(*cache, valueAt("b"));
  ASSERT_TRUE(cache->get(b.id, soon()).ok());
  EXPECT_EQ(service_.calls("b"), 2);
  EXPECT_EQ(service_.calls("a"), 1);
}

TEST_F(FoundTest, BytesAreBoundedByDroppingUnusedResources) {
  CachePolicy policy;
  policy.max_resource_bytes = 5000;  // two of these values (about 2.2 kB each), not three
  auto cache = makeAws(policy);
  const std::string big(1000, 'x');
  for (int i = 0; i < 5; ++i) {
    const std::string m = "v" + std::to_string(i);
    service_.answer(m, big);
    Lease l = found(*cache, valueAt(m));
    ASSERT_TRUE(cache->get(l.id, soon()).ok());
  }
  EXPECT_LE(cache->resourceBytes(), 5000U);
  EXPECT_EQ(cache->resourceCount(), 2U);
  auto last = cache->resource(valueAt("v4"), false);
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(last->has_value()) << "the newest stays";
}

TEST_F(FoundTest, TokensAreNeverServedStale) {
  auto cache = makeAws({});
  tree::EndpointSpec token = valueAt("instance/service-accounts/default/token");
  token.no_stale = true;
  service_.answer(token.mount_path, std::string(R"({"access_token":"t","expires_in":3599})"));
  Lease l = found(*cache, token);
  EXPECT_LE(cache->ttlOf(l.id), 60s);
  ASSERT_TRUE(cache->get(l.id, soon()).ok());
  service_.fail(token.mount_path, 500);
  clock_.advance(61s);
  auto v = cache->get(l.id, soon());
  EXPECT_FALSE(v.ok()) << "a token past its TTL is not served when the refetch fails";
  // An ordinary value is served stale.
  service_.answer("meta-data/ami-id", std::string("ami-1"));
  Lease ami = found(*cache, valueAt("meta-data/ami-id"));
  ASSERT_TRUE(cache->get(ami.id, soon()).ok());
  service_.fail("meta-data/ami-id", 500);
  clock_.advance(11s);
  auto stale = cache->get(ami.id, soon());
  ASSERT_TRUE(stale.ok());
  EXPECT_TRUE(stale->stale);
}

}  // namespace
}  // namespace mdfs::cache
