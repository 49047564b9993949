// The filesystem logic without a kernel: a scripted fetcher, a FakeClock, and the
// Filesystem answering lookups, listings and reads as the FUSE adapter would ask.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>
#include <mutex>
#include <thread>

#include "mount/filesystem.h"
#include "mount/invalidator.h"

namespace mdfs::mount {
namespace {

using namespace std::chrono_literals;

class FilesystemTest : public ::testing::Test {
 protected:
  FilesystemTest() {
    answers_["instance"] = R"({"name":"web-01","memory":8,"network_interfaces":[{"id":"x"}],)"
                           R"("zone":{"name":"us-south-1"}})";
    answers_["keys"] = R"({"keys":[{"id":"k1","name":"ops"},{"id":"k2","name":"dev"}]})";
    answers_["instance/initialization"] = R"({"user_data":"#cloud-config","keys":[]})";
    cache_ = std::make_unique<cache::ResourceCache>(catalog_, policy(), tree::RenderOptions{},
                                                    fetcher(), clock_, log_);
    FilesystemOptions o;
    o.uid = 1000;
    o.gid = 1000;
    o.default_ttl = 60s;
    fs_ = std::make_unique<Filesystem>(catalog_, *cache_, inodes_, o, clock_);
  }

  static cache::CachePolicy policy() {
    cache::CachePolicy p;
    p.ttl = 10s;
    return p;
  }

  cache::Fetcher fetcher() {
    return [this](const tree::EndpointSpec& spec, Deadline, cache::FetchCounters&) {
      std::lock_guard lock(mu_);
      ++fetches_[spec.mount_path];
      auto it = answers_.find(spec.mount_path);
      if (it != answers_.end()) return Result<std::string>(it->second);
      Error e = makeError(ENOENT, "404");
      e.http_status = 404;
      return Result<std::string>(e);
    };
  }

  int fetches(const std::string& mount) {
    std::lock_guard lock(mu_);
    return fetches_[mount];
  }

  Entry lookupPath(const std::string& path) {
    std::uint64_t ino = InodeTable::kRoot;
    Entry e;
    std::size_t start = 0;
    while (start <= path.size()) {
      auto slash = path.find('/', start);
      auto name =
          path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
      auto r = fs_->lookup(ino, name);
      EXPECT_TRUE(r.ok()) << path << ": " << (r.ok() ? "" : r.error().message);
      if (!r.ok()) return {};
      e = r.value();
      ino = e.attr.ino;
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    return e;
  }

  std::vector<std::string> names(std::uint64_t ino) {
    std::vector<std::string> out;
    auto r = fs_->list(ino);
    EXPECT_TRUE(r.ok());
    if (r.ok()) {
      for (const auto& d : r.value())
        out.push_back(d.name);
    }
    return out;
  }

  std::string readAll(std::uint64_t ino) {
    auto r = fs_->read(ino, 0, 1 << 20);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::string(r->bytes) : std::string();
  }

  tree::Catalog catalog_{"2025-08-26"};
  FakeClock clock_;
  Logger log_{LogLevel::error, Logger::nullSink()};
  std::mutex mu_;
  std::map<std::string, std::string> answers_;
  std::map<std::string, int> fetches_;
  std::unique_ptr<cache::ResourceCache> cache_;
  InodeTable inodes_;
  std::unique_ptr<Filesystem> fs_;
};

TEST_F(FilesystemTest, RootAndEndpointDirectoriesCostNoFetch) {
  auto root = names(InodeTable::kRoot);
  EXPECT_EQ(root,
            (std::vector<std::string>{"instance", "instance.json", "virtual_network_interfaces",
                                      "virtual_network_interfaces.json", "keys", "keys.json",
                                      "placement_groups", "placement_groups.json"}));
  Entry inst = lookupPath("instance");
  EXPECT_TRUE(S_ISDIR(inst.attr.mode));
  EXPECT_EQ(inst.attr.mode & 07777, 0555U);
  lookupPath("instance/initialization");
  EXPECT_TRUE(fetches_.empty());
}

TEST_F(FilesystemTest, DataEntriesFetchTheirEndpointOnce) {
  Entry name = lookupPath("instance/name");
  EXPECT_TRUE(S_ISREG(name.attr.mode));
  EXPECT_EQ(name.attr.mode & 07777, 0444U);
  EXPECT_EQ(name.attr.size, 7U);
  EXPECT_EQ(readAll(name.attr.ino), "web-01\n");
  auto part = fs_->read(name.attr.ino, 4, 2);
  EXPECT_EQ(part->bytes, "01");
  EXPECT_EQ(fs_->read(name.attr.ino, 100, 10)->bytes, "");
  lookupPath("instance/zone/name");
  EXPECT_EQ(fetches("instance"), 1);
  EXPECT_EQ(fetches("keys"), 0);
  // The sub-resource endpoint replaces the embedded array.
  auto listing = names(lookupPath("instance").attr.ino);
  EXPECT_EQ(std::count(listing.begin(), listing.end(), "network_interfaces"), 1);
  EXPECT_NE(std::find(listing.begin(), listing.end(), "initialization.json"), listing.end());
}

TEST_F(FilesystemTest, TimeoutsFollowTheRemainingTtl) {
  Entry name = lookupPath("instance/name");
  EXPECT_NEAR(name.timeout, 10.0, 0.01);
  clock_.advance(4s);
  auto again = fs_->getattr(name.attr.ino);
  ASSERT_TRUE(again.ok());
  EXPECT_NEAR(again->timeout, 6.0, 0.01);
  EXPECT_GT(again->timeout, 0.0);
}

TEST_F(FilesystemTest, MissingNamesAreCacheableNegativeEntries) {
  lookupPath("instance");
  auto r = fs_->lookup(lookupPath("instance").attr.ino, "nope");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->negative);
  EXPECT_GT(r->timeout, 0.0);
  auto top = fs_->lookup(InodeTable::kRoot, "nope");
  ASSERT_TRUE(top.ok());
  EXPECT_TRUE(top->negative);
}

TEST_F(FilesystemTest, ByNameLinksAndRawDocuments) {
  Entry link = lookupPath("keys/by-name/ops");
  EXPECT_TRUE(S_ISLNK(link.attr.mode));
  EXPECT_EQ(*fs_->readlink(link.attr.ino), "../k1");
  Entry raw = lookupPath("keys.json");
  EXPECT_EQ(readAll(raw.attr.ino), answers_["keys"]);
  Entry init = lookupPath("instance/initialization.json");
  EXPECT_EQ(init.attr.mode & 07777, 0400U);
  Entry user_data = lookupPath("instance/initialization/user_data");
  EXPECT_EQ(user_data.attr.mode & 07777, 0400U);
  EXPECT_EQ(readAll(user_data.attr.ino), "#cloud-config");
}

TEST_F(FilesystemTest, ReaddirVisitsOnlyTheRequestedSlice) {
  auto keys = lookupPath("keys").attr.ino;
  std::vector<std::pair<std::string, std::uint64_t>> seen;
  auto collect = [&](const DirEntry& d, std::uint64_t next) {
    seen.emplace_back(d.name, next);
    return seen.size() < 2;
  };
  ASSERT_TRUE(fs_->readdir(keys, 0, collect).ok());
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::uint64_t>>{{".", 1}, {"..", 2}}));
  seen.clear();
  ASSERT_TRUE(fs_->readdir(keys, 2, collect).ok());
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::uint64_t>>{{"by-name", 3}, {"k1", 4}}));
  seen.clear();
  ASSERT_TRUE(fs_->readdir(keys, 4, collect).ok());
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::uint64_t>>{{"k2", 5}}));
}

TEST_F(FilesystemTest, AbsentEndpointsDisappearFromListings) {
  auto cna = lookupPath("instance/cluster_network_attachments").attr.ino;
  auto r = fs_->list(cna);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().errnum, ENOENT);
  auto listing = names(lookupPath("instance").attr.ino);
  EXPECT_EQ(std::find(listing.begin(), listing.end(), "cluster_network_attachments"),
            listing.end());
  auto again = fs_->lookup(lookupPath("instance").attr.ino, "cluster_network_attachments");
  EXPECT_TRUE(again->negative);
}

TEST_F(FilesystemTest, DynamicFilesAreProducedOnDemandAndReused) {
  int produced = 0;
  DynamicFile f;
  f.path = "identity/token";
  f.perm = 0400;
  f.produce = [&](Deadline) -> Result<DynamicContent> {
    DynamicContent c;
    c.bytes = "tok-" + std::to_string(++produced);
    c.valid_for = 5s;
    return c;
  };
  fs_->addDynamicFile(f);
  DynamicFile status;
  status.path = ".status";
  status.hidden = true;
  status.produce = [](Deadline) -> Result<DynamicContent> { return DynamicContent{"{}\n", 0, 1s}; };
  fs_->addDynamicFile(status);

  auto root = names(InodeTable::kRoot);
  EXPECT_NE(std::find(root.begin(), root.end(), "identity"), root.end());
  EXPECT_EQ(std::find(root.begin(), root.end(), ".status"), root.end());
  EXPECT_EQ(names(lookupPath("identity").attr.ino), std::vector<std::string>{"token"});
  EXPECT_EQ(produced, 0) << "listing never produces a token";
  Entry tok = lookupPath("identity/token");
  EXPECT_EQ(tok.attr.mode & 07777, 0400U);
  EXPECT_EQ(readAll(tok.attr.ino), "tok-1");
  EXPECT_NEAR(tok.timeout, 5.0, 0.01);
  clock_.advance(6s);
  EXPECT_EQ(fs_->getattr(tok.attr.ino)->attr.size, 5U);
  EXPECT_EQ(readAll(tok.attr.ino), "tok-2");
  EXPECT_EQ(readAll(lookupPath(".status").attr.ino), "{}\n");
}

TEST_F(FilesystemTest, ChangesBecomeInvalidationsOfKnownInodesOnly) {
  auto keys = lookupPath("keys").attr.ino;
  auto k1 = lookupPath("keys/k1").attr.ino;
  auto k1_name = lookupPath("keys/k1/name").attr.ino;
  auto raw = lookupPath("keys.json").attr.ino;
  tree::ChangeList changes;
  changes.changed = {"k1/name", "k2/name", ""};
  changes.removed = {"k2"};
  changes.added = {"k3"};
  changes.raw_changed = true;
  auto items = fs_->invalidationsFor(catalog_.find("keys"), changes, false);
  using K = Invalidation::Kind;
  std::vector<std::tuple<K, std::uint64_t, std::string>> got;
  for (const auto& i : items)
    got.emplace_back(i.kind, i.ino, i.name);
  EXPECT_EQ(got, (std::vector<std::tuple<K, std::uint64_t, std::string>>{
                     {K::inode, k1_name, ""},  // k2/name was never looked up
                     {K::inode, keys, ""},
                     {K::entry, keys, "k2"},
                     {K::entry, keys, "k3"},
                     {K::inode, raw, ""}}));
  (void)k1;
  auto gone = fs_->invalidationsFor(catalog_.find("keys"), {}, true);
  ASSERT_EQ(gone.size(), 3U);
  EXPECT_EQ(gone[0].name, "keys");
  EXPECT_EQ(gone[1].name, "keys.json");
  EXPECT_EQ(fs_->invalidateAll().size(), inodes_.size());
}

TEST(Invalidator, SendsInOrderOffTheCallersThread) {
  std::mutex mu;
  std::vector<std::string> sent;
  std::thread::id sender;
  Logger log(LogLevel::error, Logger::nullSink());
  Invalidator inv(
      [&](const Invalidation& i) {
        std::lock_guard lock(mu);
        sender = std::this_thread::get_id();
        sent.push_back(i.kind == Invalidation::Kind::inode ? std::to_string(i.ino) : i.name);
        return i.name == "missing" ? -ENOENT : 0;
      },
      log);
  inv.start();
  inv.post({{Invalidation::Kind::inode, 7, {}}, {Invalidation::Kind::entry, 1, "missing"}});
  inv.post({{Invalidation::Kind::entry, 1, "b"}});
  inv.drain();
  std::lock_guard lock(mu);
  EXPECT_EQ(sent, (std::vector<std::string>{"7", "missing", "b"}));
  EXPECT_NE(sender, std::this_thread::get_id());
  EXPECT_EQ(inv.sent(), 3U);
}

}  // namespace
}  // namespace mdfs::mount

namespace mdfs::mount {
namespace {

TEST(InodeTable, NumbersArePerPathAndNeverReused) {
  InodeTable t;
  EXPECT_EQ(t.idFor(""), InodeTable::kRoot);
  EXPECT_EQ(t.pathOf(InodeTable::kRoot), "");
  auto name = t.idFor("instance/zone/name");
  EXPECT_EQ(t.size(), 4U);  // root, instance, instance/zone, instance/zone/name
  EXPECT_EQ(t.pathOf(name), "instance/zone/name");
  EXPECT_EQ(t.find("instance/zone"), t.idFor("instance/zone"));
  EXPECT_EQ(t.idFor("instance/zone/name"), name);
  EXPECT_FALSE(t.find("instance/zone/nope").has_value());
  EXPECT_EQ(t.size(), 4U) << "find never assigns";
  auto other = t.idFor("keys/by-name/a b");
  EXPECT_EQ(t.pathOf(other), "keys/by-name/a b");
  EXPECT_GT(other, name);
  EXPECT_FALSE(t.pathOf(0).has_value());
  EXPECT_FALSE(t.pathOf(999).has_value());
}

TEST(InodeTable, ConcurrentAssignmentGivesOneNumberPerPath) {
  InodeTable t;
  std::vector<std::thread> threads;
  std::vector<std::vector<std::uint64_t>> seen(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&t, &seen, i] {
      for (int k = 0; k < 200; ++k)
        seen[i].push_back(t.idFor("pg/" + std::to_string(k) + "/name"));
    });
  }
  for (auto& th : threads)
    th.join();
  for (int i = 1; i < 8; ++i)
    EXPECT_EQ(seen[i], seen[0]);
  EXPECT_EQ(t.size(), 1U + 1U + 200U + 200U);
}

}  // namespace
}  // namespace mdfs::mount
