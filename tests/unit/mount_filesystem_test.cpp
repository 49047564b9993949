// The filesystem logic without a kernel: a scripted fetcher, a FakeClock, and the
// Filesystem answering lookups, listings and reads as the FUSE adapter would ask.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <future>
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
    answers_["instance/network_interfaces"] = R"({"network_interfaces":[{"id":"x"}]})";
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
    return [this](const tree::EndpointSpec& spec, Deadline, FetchStats&) {
      std::lock_guard lock(mu_);
      ++fetches_[spec.mount_path];
      if (broken_) return Result<std::string>(*broken_);
      auto it = answers_.find(spec.mount_path);
      if (it != answers_.end()) return Result<std::string>(it->second);
      Error e = makeError(ErrorKind::not_found, "404");
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

  // The names of a listing's later chunk: readdir from `offset`, as the kernel asks.
  std::vector<std::string> namesFrom(std::uint64_t ino, std::uint64_t offset) {
    std::vector<std::string> out;
    auto r = fs_->readdir(ino, offset, false, [&](const DirEntry& d, std::uint64_t) {
      out.push_back(d.name);
      return true;
    });
    EXPECT_TRUE(r.ok());
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
  std::optional<Error> broken_;  // every fetch fails with this (a broken token path)
  std::unique_ptr<cache::ResourceCache> cache_;
  InodeTable inodes_;
  std::unique_ptr<Filesystem> fs_;
};

// Issue 10: a listing shows only names that can be looked up and opened, so listing a
// directory learns which of its child endpoints exist (one fetch each, in parallel).
TEST_F(FilesystemTest, ListingTheRootShowsOnlyEndpointsThatExist) {
  auto root = names(InodeTable::kRoot);
  EXPECT_EQ(root, (std::vector<std::string>{"instance", "instance.json", "keys", "keys.json"}));
  for (const char* m : {"instance", "keys", "virtual_network_interfaces", "placement_groups"}) {
    EXPECT_EQ(fetches(m), 1) << m;
  }
  EXPECT_EQ(fetches("instance/initialization"), 0) << "only the listed directory's children";
  Entry inst = lookupPath("instance");
  EXPECT_TRUE(S_ISDIR(inst.attr.mode));
  EXPECT_EQ(inst.attr.mode & 07777, 0555U);
  auto absent = fs_->lookup(InodeTable::kRoot, "placement_groups.json");
  ASSERT_TRUE(absent.ok());
  EXPECT_TRUE(absent->negative);
  (void)names(InodeTable::kRoot);
  EXPECT_EQ(fetches("instance"), 1) << "known endpoints are not asked again within their TTL";
}

// Listings and reads that need nothing from the service are answered on the thread that
// received them (a hand-off each made a cold walk several times slower on a fast service);
// the others, which may wait, are handed over.
TEST_F(FilesystemTest, ListingsAndReadsAreAnsweredAtOnceOnlyFromFreshData) {
  EXPECT_FALSE(fs_->listsAtOnce(InodeTable::kRoot, 0)) << "the root's endpoints are not known";
  (void)names(InodeTable::kRoot);
  EXPECT_TRUE(fs_->listsAtOnce(InodeTable::kRoot, 0));
  const std::uint64_t inst = lookupPath("instance").attr.ino;
  EXPECT_FALSE(fs_->listsAtOnce(inst, 0)) << "instance's child endpoints are not known";
  (void)names(inst);
  EXPECT_TRUE(fs_->listsAtOnce(inst, 0));
  const std::uint64_t zone = lookupPath("instance/zone").attr.ino;
  EXPECT_TRUE(fs_->listsAtOnce(zone, 0)) << "a directory inside a fresh document";
  const std::uint64_t name = lookupPath("instance/name").attr.ino;
  EXPECT_TRUE(fs_->answersAtOnce(name));
  EXPECT_TRUE(fs_->listsAtOnce(name, 0)) << "not a directory: ENOTDIR at once";
  clock_.advance(11s);
  EXPECT_FALSE(fs_->listsAtOnce(InodeTable::kRoot, 0)) << "past the TTL";
  EXPECT_FALSE(fs_->listsAtOnce(zone, 0));
  EXPECT_FALSE(fs_->answersAtOnce(name));
  EXPECT_EQ(readAll(name), "web-01\n");
  EXPECT_TRUE(fs_->answersAtOnce(name));
  EXPECT_TRUE(fs_->listsAtOnce(zone, 0));
  EXPECT_FALSE(fs_->listsAtOnce(inst, 0)) << "its child endpoints are stale still";
}

// The second request of one system call gets at once what the first just met: a held
// failure, or the stale copy whose refetch failed (the soak's calls of two requests each
// waited on the service).
TEST_F(FilesystemTest, AFailureJustMetIsAnsweredAtOnce) {
  const std::uint64_t name = lookupPath("instance/name").attr.ino;
  const std::uint64_t inst = lookupPath("instance").attr.ino;
  (void)names(inst);
  broken_ = makeError(ErrorKind::unreachable, "down");
  clock_.advance(11s);
  EXPECT_FALSE(fs_->answersAtOnce(name)) << "stale: the service is asked first";
  EXPECT_EQ(readAll(name), "web-01\n") << "the stale copy, after the refetch failed";
  EXPECT_TRUE(fs_->answersAtOnce(name));
  EXPECT_TRUE(fs_->listsAtOnce(inst, 3)) << "a listing's later chunk fetches nothing more";
  EXPECT_FALSE(fs_->answersAtOnce(InodeTable::kRoot, "keys")) << "not asked yet";
  EXPECT_FALSE(fs_->lookup(InodeTable::kRoot, "keys").ok());
  EXPECT_TRUE(fs_->answersAtOnce(InodeTable::kRoot, "keys")) << "its failure is held";
  clock_.advance(1500ms);
  EXPECT_FALSE(fs_->answersAtOnce(InodeTable::kRoot, "keys")) << "past the hold";
}

// The 30-minute soak's last slow calls: after SIGHUP, a getdents whose first chunk waited for
// a refetch waited again in its last chunk.
TEST_F(FilesystemTest, ALaterChunkOfAListingTakesTheCopyHeldWithoutWaiting) {
  const std::uint64_t inst = lookupPath("instance").attr.ino;
  (void)names(inst);
  clock_.advance(11s);
  EXPECT_FALSE(fs_->listsAtOnce(inst, 0)) << "the first chunk asks the service";
  EXPECT_TRUE(fs_->listsAtOnce(inst, 3)) << "a later chunk takes the stale copy";
  const int before = fetches("instance");
  const std::vector<std::string> later = namesFrom(inst, 3);
  EXPECT_FALSE(later.empty());
  EXPECT_EQ(fetches("instance"), before) << "no refetch for a later chunk";
}

TEST_F(FilesystemTest, ListedAttributesAreTheLookupAttributes) {
  for (const std::string dir : {"", "instance", "keys", "keys/k1", "instance/initialization"}) {
    auto ino = dir.empty() ? InodeTable::kRoot : lookupPath(dir).attr.ino;
    auto listed = fs_->list(ino);
    ASSERT_TRUE(listed.ok()) << dir;
    for (const auto& d : listed.value()) {
      if (!d.entry.has_attributes) continue;
      Entry looked = lookupPath(dir.empty() ? d.name : dir + "/" + d.name);
      EXPECT_EQ(d.entry.attr.mode, looked.attr.mode) << dir << "/" << d.name;
      EXPECT_EQ(d.entry.attr.size, looked.attr.size) << dir << "/" << d.name;
      EXPECT_EQ(d.entry.attr.mtime_ns, looked.attr.mtime_ns) << dir << "/" << d.name;
    }
  }
}

// Issue 17: a token endpoint that fails (404 there included) is an error for every listing,
// never an empty tree.
TEST_F(FilesystemTest, ARootWhoseEndpointsAllFailIsThatFailure) {
  Error token = makeError(ErrorKind::bad_request, "identity token request: not found");
  token.http_status = 404;
  broken_ = token;
  auto r = fs_->list(InodeTable::kRoot);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().errnum, EIO);
  auto inst = fs_->lookup(InodeTable::kRoot, "instance");
  ASSERT_FALSE(inst.ok());
  EXPECT_EQ(inst.error().errnum, EIO);
}

TEST_F(FilesystemTest, OneFailingEndpointIsListedAndGivesItsError) {
  answers_["keys"] = "<html>";
  auto root = names(InodeTable::kRoot);
  EXPECT_NE(std::find(root.begin(), root.end(), "keys"), root.end());
  auto keys = fs_->lookup(InodeTable::kRoot, "keys");
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.error().errnum, EIO);
  EXPECT_TRUE(lookupPath("instance/name").attr.size > 0);
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
  ASSERT_TRUE(fs_->readdir(keys, 0, false, collect).ok());
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::uint64_t>>{{".", 1}, {"..", 2}}));
  seen.clear();
  ASSERT_TRUE(fs_->readdir(keys, 2, false, collect).ok());
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::uint64_t>>{{"by-name", 3}, {"k1", 4}}));
  seen.clear();
  ASSERT_TRUE(fs_->readdir(keys, 4, false, collect).ok());
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::uint64_t>>{{"k2", 5}}));
}

TEST_F(FilesystemTest, AbsentEndpointsAreNeitherListedNorFound) {
  auto instance = lookupPath("instance").attr.ino;
  auto listing = names(instance);
  for (const char* gone : {"cluster_network_attachments", "cluster_network_attachments.json",
                           "network_attachments", "volume_attachments.json"}) {
    EXPECT_EQ(std::find(listing.begin(), listing.end(), gone), listing.end()) << gone;
    auto r = fs_->lookup(instance, gone);
    ASSERT_TRUE(r.ok()) << gone;
    EXPECT_TRUE(r->negative) << gone;
  }
  EXPECT_NE(std::find(listing.begin(), listing.end(), "initialization"), listing.end());
}

TEST_F(FilesystemTest, AnEndpointThatAppearsIsListedAfterItsTtl) {
  auto instance = lookupPath("instance").attr.ino;
  auto before = names(instance);
  EXPECT_EQ(std::find(before.begin(), before.end(), "volume_attachments"), before.end());
  {
    std::lock_guard lock(mu_);
    answers_["instance/volume_attachments"] = R"({"volume_attachments":[]})";
  }
  clock_.advance(11s);
  auto after = names(instance);
  EXPECT_NE(std::find(after.begin(), after.end(), "volume_attachments"), after.end());
  EXPECT_NE(std::find(after.begin(), after.end(), "volume_attachments.json"), after.end());
}

// secrets_group= (issue 13): secrets become 0440 and the group's; nothing else changes.
TEST_F(FilesystemTest, ASecretsGroupMayReadSecrets) {
  FilesystemOptions o;
  o.uid = 1000;
  o.gid = 1000;
  o.secrets_gid = 4242;
  fs_ = std::make_unique<Filesystem>(catalog_, *cache_, inodes_, o, clock_);
  DynamicFile token;
  token.path = "identity/token";
  token.secret = true;
  token.produce = [](Deadline) -> Result<DynamicContent> { return DynamicContent{"t", 0, 1s}; };
  fs_->addDynamicFile(token);
  for (const char* path :
       {"instance/initialization.json", "instance/initialization/user_data", "identity/token"}) {
    Entry e = lookupPath(path);
    EXPECT_EQ(e.attr.mode & 07777, 0440U) << path;
    EXPECT_TRUE(e.attr.secret) << path;
    EXPECT_EQ(fs_->gidOf(e.attr), 4242U) << path;
  }
  for (const char* path : {"instance/name", "instance", "identity"}) {
    Entry e = lookupPath(path);
    EXPECT_FALSE(e.attr.secret) << path;
    EXPECT_EQ(fs_->gidOf(e.attr), 1000U) << path;
  }
  EXPECT_EQ(lookupPath("instance/name").attr.mode & 07777, 0444U);
  // Listed entries carry the same modes as looked-up ones.
  auto listed = fs_->list(lookupPath("instance/initialization").attr.ino);
  ASSERT_TRUE(listed.ok());
  for (const auto& d : listed.value()) {
    if (d.name == "user_data") {
      EXPECT_EQ(d.entry.attr.mode & 07777, 0440U);
    }
  }
}

TEST_F(FilesystemTest, WithoutASecretsGroupSecretsAreTheOwnersOnly) {
  Entry e = lookupPath("instance/initialization/user_data");
  EXPECT_EQ(e.attr.mode & 07777, 0400U);
  EXPECT_EQ(fs_->gidOf(e.attr), 1000U);
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
  auto items = fs_->invalidationsFor(catalog_.find("keys"), changes, cache::Presence::unchanged);
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
  for (auto presence : {cache::Presence::vanished, cache::Presence::appeared}) {
    auto both = fs_->invalidationsFor(catalog_.find("keys"), {}, presence);
    ASSERT_EQ(both.size(), 3U);
    EXPECT_EQ(both[0].name, "keys");
    EXPECT_EQ(both[1].name, "keys.json");
    EXPECT_EQ(both[2].kind, K::inode);
    EXPECT_EQ(both[2].ino, InodeTable::kRoot) << "the parent's cached listing goes too";
  }
  EXPECT_EQ(fs_->invalidateAll().size(), inodes_.size());
}

// Issue 10: a second reader of a dynamic file never waits on the first reader's request
// beyond its own deadline (the slot's lock was held across produce()).
TEST_F(FilesystemTest, ASecondReaderOfAHungDynamicFileKeepsItsOwnDeadline) {
  std::promise<void> release;
  auto gate = release.get_future().share();
  DynamicFile f;
  f.path = "identity/token";
  f.produce = [gate](Deadline d) -> Result<DynamicContent> {
    if (gate.wait_until(d) != std::future_status::ready) {
      return makeError(ErrorKind::timed_out, "no answer");
    }
    return DynamicContent{"tok", 0, 1s};
  };
  fs_->addDynamicFile(f);
  FilesystemOptions o;
  o.op_timeout = 3s;
  Filesystem slow(catalog_, *cache_, inodes_, o, clock_);
  slow.addDynamicFile(f);
  o.op_timeout = 300ms;
  Filesystem quick(catalog_, *cache_, inodes_, o, clock_);
  quick.addDynamicFile(f);
  auto first =
      std::async(std::launch::async, [&] { return slow.lookup(InodeTable::kRoot, "identity"); });
  (void)first.get();
  auto id = slow.lookup(InodeTable::kRoot, "identity")->attr.ino;
  auto hung = std::async(std::launch::async, [&] { return slow.lookup(id, "token"); });
  std::this_thread::sleep_for(100ms);
  const auto start = std::chrono::steady_clock::now();
  auto r = quick.lookup(id, "token");
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(r.ok());
  EXPECT_LT(took, 1s);
  release.set_value();
  EXPECT_TRUE(hung.get().ok());
}

TEST_F(FilesystemTest, ForgottenInodesAreReclaimed) {
  const auto base = inodes_.size();
  Entry a = lookupPath("keys/k1/name");
  Entry b = lookupPath("keys/k2");
  EXPECT_GT(inodes_.size(), base);
  // The kernel forgets every lookup it got: keys (twice), k1, k1/name, k2.
  fs_->forget(a.attr.ino, 1);
  fs_->forget(lookupPath("keys/k1").attr.ino, 2);
  fs_->forget(b.attr.ino, 1);
  fs_->forget(lookupPath("keys").attr.ino, 4);
  EXPECT_EQ(inodes_.size(), base);
  Entry again = lookupPath("keys/k1/name");
  EXPECT_NE(again.attr.ino, a.attr.ino) << "numbers are never reused";
}

// Issue 15: synthesized files derived from the tree read it by path, like a reader.
TEST_F(FilesystemTest, TheTreeReadsByPathForSynthesizedFiles) {
  EXPECT_EQ(fs_->readFile("instance/name", deadlineIn(1s)).value(), "web-01\n");
  EXPECT_EQ(fs_->readFile("instance/zone", deadlineIn(1s)).error().kind, ErrorKind::not_found);
  EXPECT_EQ(fs_->readFile("instance/nope", deadlineIn(1s)).error().kind, ErrorKind::not_found);
  EXPECT_EQ(fs_->readFile("nowhere/x", deadlineIn(1s)).error().kind, ErrorKind::not_found);
  auto keys = fs_->listDirectory("keys", deadlineIn(1s));
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys.value(), (std::vector<std::string>{"by-name", "k1", "k2"}));
  EXPECT_EQ(fs_->listDirectory("instance/name", deadlineIn(1s)).error().kind, ErrorKind::not_found);
  EXPECT_EQ(inodes_.size(), 1U) << "no inode handed out";
}

class DerivedFilesTest : public FilesystemTest {
 protected:
  DerivedFilesTest() {
    fs_->addDynamicFile(derived("view/zone", "instance/zone/name"));
    fs_->addDynamicFile(derived("view/missing", "instance/nothing"));
    DynamicFile broken = derived("view/broken", "keys");
    broken.produce = [](Deadline) -> Result<DynamicContent> {
      return makeError(ErrorKind::unreachable, "down");
    };
    fs_->addDynamicFile(broken);
    DynamicFile fixed;
    fixed.path = "view/fixed";
    fixed.produce = [](Deadline) -> Result<DynamicContent> { return DynamicContent{"x", 0, 1s}; };
    fs_->addDynamicFile(fixed);
  }

  // A file holding what `source` holds, absent when it is.
  DynamicFile derived(const std::string& path, const std::string& source) {
    DynamicFile f;
    f.path = path;
    f.sources = {source};
    f.optional = true;
    f.produce = [this, source](Deadline d) -> Result<DynamicContent> {
      ++produced_;
      auto bytes = fs_->readFile(source, d);
      if (!bytes) return bytes.error();
      DynamicContent c;
      c.bytes = bytes.value();
      c.valid_for = 3600s;
      return c;
    };
    return f;
  }
  int produced_ = 0;
};

TEST_F(DerivedFilesTest, AbsentFilesAreNeitherListedNorFound) {
  auto root = names(InodeTable::kRoot);
  EXPECT_NE(std::find(root.begin(), root.end(), "view"), root.end());
  auto view = lookupPath("view").attr.ino;
  EXPECT_EQ(names(view), (std::vector<std::string>{"zone", "broken", "fixed"}));
  EXPECT_EQ(fetches("instance"), 1);
  auto listed = fs_->list(view);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed.value()[0].entry.has_attributes) << "produced to know";
  EXPECT_EQ(listed.value()[0].entry.attr.size, 11U);  // "us-south-1\n"
  EXPECT_FALSE(listed.value()[1].entry.has_attributes) << "failing: using it gives the error";
  EXPECT_FALSE(listed.value()[2].entry.has_attributes) << "not optional: not produced";
  auto missing = fs_->lookup(view, "missing");
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->negative);
  EXPECT_LE(missing->timeout, 10.0) << "no longer than its source's TTL";
  auto broken = fs_->lookup(view, "broken");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().kind, ErrorKind::unreachable);
}

// A listing of synthesized files produces the optional ones; one whose production failed
// gives that failure to the next readers for a moment, as the cache holds its sources'
// failures, so the listing's second request (and other readers) need not produce it again.
TEST_F(DerivedFilesTest, AFailedProductionIsHeldBrieflyAndTheListingIsAnsweredAtOnce) {
  int tries = 0;
  DynamicFile flaky = derived("view/flaky", "keys");
  flaky.produce = [&](Deadline) -> Result<DynamicContent> {
    ++tries;
    return makeError(ErrorKind::unreachable, "down");
  };
  fs_->addDynamicFile(flaky);
  auto view = lookupPath("view").attr.ino;
  EXPECT_FALSE(fs_->listsAtOnce(view, 0)) << "nothing produced yet";
  (void)names(view);
  EXPECT_EQ(tries, 1);
  EXPECT_TRUE(fs_->listsAtOnce(view, 0)) << "every optional file produced, or its failure held";
  (void)names(view);
  EXPECT_EQ(tries, 1) << "the failure just met is repeated, not produced again";
  auto held = fs_->lookup(view, "flaky");
  ASSERT_FALSE(held.ok());
  EXPECT_EQ(held.error().kind, ErrorKind::unreachable);
  EXPECT_EQ(tries, 1);
  clock_.advance(1100ms);
  EXPECT_FALSE(fs_->listsAtOnce(view, 0)) << "past the hold";
  (void)names(view);
  EXPECT_EQ(tries, 2);
  clock_.advance(1100ms);
  EXPECT_TRUE(fs_->listsAtOnce(view, 3)) << "a later chunk of a listing produces nothing";
  const std::vector<std::string> later = namesFrom(view, 3);
  EXPECT_EQ(tries, 2) << "the first chunk's call produced it: a getdents waits once";
  EXPECT_NE(std::find(later.begin(), later.end(), "flaky"), later.end())
      << "listed without attributes, as a failed production is";
}

TEST_F(DerivedFilesTest, DatedByContentAndKeptNoLongerThanTheirSources) {
  Entry zone = lookupPath("view/zone");
  EXPECT_LE(zone.timeout, 10.0);
  EXPECT_GT(zone.timeout, 9.0);
  EXPECT_EQ(readAll(zone.attr.ino), "us-south-1\n");
  clock_.advance(11s);  // the source expired: fetched again, same bytes
  auto same = fs_->getattr(zone.attr.ino);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->attr.mtime_ns, zone.attr.mtime_ns);
  EXPECT_EQ(fetches("instance"), 2);
  {
    std::lock_guard lock(mu_);
    answers_["instance"] = R"({"name":"web-01","zone":{"name":"eu-de-2"}})";
  }
  clock_.advance(11s);
  auto moved = fs_->getattr(zone.attr.ino);
  ASSERT_TRUE(moved.ok());
  EXPECT_GT(moved->attr.mtime_ns, zone.attr.mtime_ns);
  EXPECT_EQ(readAll(zone.attr.ino), "eu-de-2\n");
}

TEST_F(DerivedFilesTest, AChangeOfASourceProducesThemAgainAndDropsWhatTheKernelHolds) {
  Entry zone = lookupPath("view/zone");
  auto view = lookupPath("view").attr.ino;
  const int before = produced_;
  (void)fs_->getattr(zone.attr.ino);
  EXPECT_EQ(produced_, before) << "reused while valid";
  tree::ChangeList changes;
  changes.changed = {"zone/name"};
  auto items = fs_->fetched(catalog_.find("instance"), changes, cache::Presence::unchanged);
  using K = Invalidation::Kind;
  auto has = [&](K kind, std::uint64_t ino, const std::string& name) {
    return std::any_of(items.begin(), items.end(), [&](const Invalidation& i) {
      return i.kind == kind && i.ino == ino && i.name == name;
    });
  };
  EXPECT_TRUE(has(K::inode, zone.attr.ino, ""));
  EXPECT_TRUE(has(K::entry, view, "zone"));
  EXPECT_TRUE(has(K::entry, view, "missing")) << "a cached absence goes too";
  EXPECT_TRUE(has(K::inode, view, "")) << "and the directory's listing";
  (void)fs_->getattr(zone.attr.ino);
  EXPECT_EQ(produced_, before + 1);
  auto other = fs_->fetched(catalog_.find("keys"), changes, cache::Presence::unchanged);
  EXPECT_FALSE(std::any_of(other.begin(), other.end(),
                           [&](const Invalidation& i) { return i.ino == zone.attr.ino; }));
}

TEST_F(FilesystemTest, PollAnswersPerOpenFileAndFetchesWakeTheWaiting) {
  Entry name = lookupPath("instance/name");
  EXPECT_EQ(readAll(name.attr.ino), "web-01\n");
  auto handle = std::make_shared<int>(1);
  EXPECT_FALSE(fs_->poll(name.attr.ino, 7, handle));
  const int instance = catalog_.find("instance");
  EXPECT_EQ(cache_->watchers(instance), 1) << "a waiting poller keeps its endpoint fresh";
  auto wakes = [&](const std::vector<Invalidation>& items) {
    return std::count_if(items.begin(), items.end(),
                         [](const Invalidation& i) { return i.kind == Invalidation::Kind::poll; });
  };
  EXPECT_EQ(wakes(fs_->fetched(instance, {}, cache::Presence::unchanged)), 1);
  EXPECT_EQ(wakes(fs_->fetched(catalog_.find("keys"), {}, cache::Presence::unchanged)), 0);
  {
    std::lock_guard lock(mu_);
    answers_["instance"] = R"({"name":"web-02"})";
  }
  clock_.advance(11s);
  EXPECT_TRUE(fs_->poll(name.attr.ino, 7, handle)) << "the content moved";
  EXPECT_FALSE(fs_->poll(name.attr.ino, 7, handle)) << "once";
  EXPECT_TRUE(fs_->poll(name.attr.ino, 8, handle)) << "another open file read the old one too";
  // A poller that does not answer its wake-up stopped waiting.
  EXPECT_EQ(wakes(fs_->fetched(instance, {}, cache::Presence::unchanged)), 2);
  EXPECT_EQ(wakes(fs_->fetched(instance, {}, cache::Presence::unchanged)), 0);
  EXPECT_EQ(cache_->watchers(instance), 0);
  fs_->forget(name.attr.ino, 1);
  EXPECT_EQ(fs_->pollers().pollers(), 0U);
}

TEST_F(FilesystemTest, PollersOfFilesThatMoveWithTimeAreWokenWhenTheirBytesExpire) {
  DynamicFile token;
  token.path = "identity/token";
  token.produce = [](Deadline) -> Result<DynamicContent> { return DynamicContent{"t", 5, 30s}; };
  fs_->addDynamicFile(token);
  std::vector<std::pair<std::uint64_t, SteadyTime>> scheduled;
  fs_->setScheduler([&](std::uint64_t key, Invalidation item, SteadyTime at) {
    EXPECT_EQ(item.kind, Invalidation::Kind::poll);
    scheduled.emplace_back(key, at);
  });
  Entry tok = lookupPath("identity/token");
  EXPECT_FALSE(fs_->poll(tok.attr.ino, 3, std::make_shared<int>(0)));
  ASSERT_EQ(scheduled.size(), 1U);
  EXPECT_EQ(scheduled[0].first, 3U);
  EXPECT_EQ(scheduled[0].second, clock_.steady() + 30s);
  EXPECT_FALSE(fs_->poll(tok.attr.ino, std::nullopt, nullptr));
  EXPECT_EQ(scheduled.size(), 1U) << "no wake-up asked for";
}

TEST(Invalidator, ScheduledItemsGoOutWhenDueOnePerKey) {
  std::mutex mu;
  std::vector<std::string> sent;
  Logger log(LogLevel::error, Logger::nullSink());
  Invalidator inv(
      [&](const Invalidation& i) {
        std::lock_guard lock(mu);
        sent.push_back(i.name);
        return 0;
      },
      log);
  inv.start();
  const auto now = std::chrono::steady_clock::now();
  inv.schedule(1, Invalidation::entry(1, "replaced"), now + 300ms);
  inv.schedule(1, Invalidation::entry(1, "first"), now + 100ms);
  inv.schedule(2, Invalidation::entry(1, "later"), now + 400ms);
  std::this_thread::sleep_for(50ms);
  {
    std::lock_guard lock(mu);
    EXPECT_TRUE(sent.empty());
  }
  std::this_thread::sleep_for(600ms);
  std::lock_guard lock(mu);
  EXPECT_EQ(sent, (std::vector<std::string>{"first", "later"}));
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
  inv.post({Invalidation::inode(7), Invalidation::entry(1, "missing")});
  inv.post({Invalidation::entry(1, "b")});
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
  EXPECT_EQ(t.pathOf(InodeTable::kRoot), "");
  auto name = t.acquire("instance/zone/name");
  EXPECT_EQ(t.size(), 4U);  // root, instance, instance/zone, instance/zone/name
  EXPECT_EQ(t.pathOf(name), "instance/zone/name");
  EXPECT_EQ(t.find("instance/zone"), t.acquire("instance/zone"));
  EXPECT_EQ(t.acquire("instance/zone/name"), name);
  EXPECT_FALSE(t.find("instance/zone/nope").has_value());
  EXPECT_EQ(t.size(), 4U) << "find never assigns";
  auto other = t.acquire("keys/by-name/a b");
  EXPECT_EQ(t.pathOf(other), "keys/by-name/a b");
  EXPECT_GT(other, name);
  EXPECT_FALSE(t.pathOf(0).has_value());
  EXPECT_FALSE(t.pathOf(999).has_value());
}

// Issue 11 (D3): names that vanished from the service must not stay in the table for good.
TEST(InodeTable, APathIsDroppedWhenTheKernelForgetsItAndItsChildren) {
  InodeTable t;
  auto dir = t.acquire("pg");
  for (int round = 0; round < 100; ++round) {
    // A service that renames every item on each fetch: the kernel looks each one up once
    // and forgets it when it is invalidated.
    std::vector<std::uint64_t> items;
    for (int k = 0; k < 20; ++k)
      items.push_back(t.acquire("pg/r" + std::to_string(round) + "-" + std::to_string(k)));
    for (auto ino : items)
      t.forget(ino, 1);
  }
  EXPECT_EQ(t.size(), 2U);  // the root and pg
  auto leaf = t.acquire("a/b/c");
  t.forget(t.acquire("a"), 1);  // a is still the parent of a/b/c
  EXPECT_EQ(t.pathOf(leaf), "a/b/c");
  t.forget(leaf, 1);
  EXPECT_EQ(t.size(), 2U) << "a, a/b and a/b/c are all gone";
  EXPECT_EQ(t.pathOf(dir), "pg");
  t.forget(InodeTable::kRoot, 100);
  EXPECT_EQ(t.pathOf(InodeTable::kRoot), "");
}

TEST(InodeTable, ConcurrentAssignmentGivesOneNumberPerPath) {
  InodeTable t;
  std::vector<std::thread> threads;
  std::vector<std::vector<std::uint64_t>> seen(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&t, &seen, i] {
      for (int k = 0; k < 200; ++k)
        seen[i].push_back(t.acquire("pg/" + std::to_string(k) + "/name"));
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

namespace mdfs::mount {
namespace {

// A text cloud (AWS): paths are walked through listings, each remote entry its own resource.
class TextCloudTest : public ::testing::Test {
 protected:
  TextCloudTest() {
    answers_["/latest/"] = "dynamic\nmeta-data\nuser-data";
    answers_["/latest/meta-data/"] = "ami-id\niam/\nplacement/\npublic-keys/\n";
    answers_["/latest/meta-data/ami-id"] = "ami-1";
    answers_["/latest/meta-data/placement/"] = "region";
    answers_["/latest/meta-data/placement/region"] = "eu-west-1";
    answers_["/latest/meta-data/public-keys/"] = "0=ops\n";
    answers_["/latest/meta-data/public-keys/0/"] = "openssh-key";
    answers_["/latest/meta-data/public-keys/0/openssh-key"] = "ssh-ed25519 AAAA ops";
    answers_["/latest/meta-data/iam/"] = "security-credentials/";
    answers_["/latest/meta-data/iam/security-credentials/"] = "role";
    answers_["/latest/meta-data/iam/security-credentials/role"] = R"({"Token":"t"})";
    answers_["/latest/user-data"] = "#!/bin/sh\n";
    cache::CachePolicy p;
    p.ttl = 10s;
    cache_ = std::make_unique<cache::ResourceCache>(catalog_, p, tree::RenderOptions{}, fetcher(),
                                                    clock_, log_);
    fs_ = std::make_unique<Filesystem>(catalog_, *cache_, inodes_, FilesystemOptions{}, clock_);
  }

  cache::Fetcher fetcher() {
    return [this](const tree::EndpointSpec& spec, Deadline, FetchStats&) {
      std::lock_guard lock(mu_);
      ++fetches_[spec.api_path];
      auto it = answers_.find(spec.api_path);
      if (it != answers_.end()) return Result<std::string>(it->second);
      return Result<std::string>(makeError(ErrorKind::not_found, "404"));
    };
  }
  int fetches(const std::string& api) {
    std::lock_guard lock(mu_);
    return fetches_[api];
  }
  Result<Entry> at(const std::string& path) {
    std::uint64_t ino = InodeTable::kRoot;
    Result<Entry> e = makeError(ErrorKind::not_found, "empty path");
    std::size_t start = 0;
    while (true) {
      auto slash = path.find('/', start);
      e = fs_->lookup(ino, path.substr(start, slash == std::string::npos ? slash : slash - start));
      if (!e.ok() || e->negative || slash == std::string::npos) return e;
      ino = e->attr.ino;
      start = slash + 1;
    }
  }
  std::string read(const std::string& path) {
    auto e = at(path);
    if (!e.ok() || e->negative) return "<none>";
    auto r = fs_->read(e->attr.ino, 0, 1 << 20);
    return r.ok() ? std::string(r->bytes) : "<error>";
  }

  tree::Catalog catalog_{"", Cloud::aws};
  FakeClock clock_;
  Logger log_{LogLevel::error, Logger::nullSink()};
  std::mutex mu_;
  std::map<std::string, std::string> answers_;
  std::map<std::string, int> fetches_;
  std::unique_ptr<cache::ResourceCache> cache_;
  InodeTable inodes_;
  std::unique_ptr<Filesystem> fs_;
};

TEST_F(TextCloudTest, PathsWalkListingsAndEachResourceIsFetchedOnce) {
  EXPECT_EQ(read("meta-data/placement/region"), "eu-west-1\n");
  EXPECT_EQ(read("meta-data/ami-id"), "ami-1\n");
  EXPECT_EQ(read("user-data"), "#!/bin/sh\n") << "byte for byte, no newline added";
  for (const char* api : {"/latest/", "/latest/meta-data/", "/latest/meta-data/placement/",
                          "/latest/meta-data/placement/region", "/latest/meta-data/ami-id"}) {
    EXPECT_EQ(fetches(api), 1) << api;
  }
  EXPECT_EQ(fetches("/latest/dynamic/"), 0) << "nothing is fetched before it is needed";
  // Within the TTL nothing is asked again; after it, the value is.
  EXPECT_EQ(read("meta-data/placement/region"), "eu-west-1\n");
  EXPECT_EQ(fetches("/latest/meta-data/placement/region"), 1);
  answers_["/latest/meta-data/placement/region"] = "eu-west-2";
  clock_.advance(11s);
  EXPECT_EQ(read("meta-data/placement/region"), "eu-west-2\n");
}

TEST_F(TextCloudTest, NamesNotListedAreAbsentAndDirectoriesAreDirectories) {
  auto missing = at("meta-data/nothing");
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->negative);
  EXPECT_EQ(fetches("/latest/meta-data/nothing"), 0) << "a name no listing has is never asked";
  auto dir = at("meta-data");
  ASSERT_TRUE(dir.ok());
  EXPECT_TRUE(S_ISDIR(dir->attr.mode)) << "listed bare at /latest/, a directory all the same";
  auto below_file = at("meta-data/ami-id/x");
  ASSERT_TRUE(below_file.ok());
  EXPECT_TRUE(below_file->negative);
}

TEST_F(TextCloudTest, ListingsCarryNoAttributesOfRemoteEntriesAndLinksResolve) {
  auto keys = at("meta-data/public-keys");
  ASSERT_TRUE(keys.ok());
  auto list = fs_->list(keys->attr.ino);
  ASSERT_TRUE(list.ok());
  std::vector<std::string> names;
  for (const auto& d : *list) {
    names.push_back(d.name);
    if (d.name == "0") {
      EXPECT_FALSE(d.entry.has_attributes) << "known only by its own fetch";
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{"0", "by-name"}));
  auto link = at("meta-data/public-keys/by-name/ops");
  ASSERT_TRUE(link.ok());
  EXPECT_TRUE(S_ISLNK(link->attr.mode));
  auto target = fs_->readlink(link->attr.ino);
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(*target, "../0");
  EXPECT_EQ(read("meta-data/public-keys/0/openssh-key"), "ssh-ed25519 AAAA ops\n");
}

TEST_F(TextCloudTest, SecretsByTheirTreePaths) {
  auto data = at("user-data");
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->attr.mode & 07777, 0400U);
  auto creds = at("meta-data/iam/security-credentials");
  ASSERT_TRUE(creds.ok());
  EXPECT_EQ(creds->attr.mode & 07777, 0500U);
  auto role = at("meta-data/iam/security-credentials/role");
  ASSERT_TRUE(role.ok());
  EXPECT_EQ(role->attr.mode & 07777, 0400U);
  auto ami = at("meta-data/ami-id");
  ASSERT_TRUE(ami.ok());
  EXPECT_EQ(ami->attr.mode & 07777, 0444U);
}

TEST_F(TextCloudTest, AFileDerivedFromAValueIsProducedAgainWhenTheValueChanges) {
  DynamicFile region;
  region.path = "well-known/region";
  region.sources = {"meta-data/placement/region"};
  region.produce = [this](Deadline d) -> Result<DynamicContent> {
    auto bytes = fs_->readFile("meta-data/placement/region", d);
    if (!bytes) return bytes.error();
    DynamicContent c;
    c.bytes = *bytes;
    c.valid_for = Millis(3600000);
    return c;
  };
  fs_->addDynamicFile(std::move(region));
  std::vector<Invalidation> sent;
  cache_->setChangeCallback(
      [&](int endpoint, const tree::ChangeList& changes, cache::Presence presence) {
        auto more = fs_->fetched(endpoint, changes, presence);
        sent.insert(sent.end(), more.begin(), more.end());
      });
  EXPECT_EQ(read("well-known/region"), "eu-west-1\n");
  const std::uint64_t ino = at("well-known/region")->attr.ino;
  answers_["/latest/meta-data/placement/region"] = "eu-west-2";
  clock_.advance(11s);
  EXPECT_EQ(read("meta-data/placement/region"), "eu-west-2\n");
  EXPECT_TRUE(std::any_of(sent.begin(), sent.end(), [&](const Invalidation& i) {
    return i.kind == Invalidation::Kind::inode && i.ino == ino;
  })) << "the kernel drops the derived file's pages";
  EXPECT_EQ(read("well-known/region"), "eu-west-2\n") << "produced again, not kept for an hour";
}

TEST_F(TextCloudTest, AnsweredAtOnceOnlyFromFreshListingsAnd404IsAbsence) {
  EXPECT_FALSE(fs_->answersAtOnce(InodeTable::kRoot, "meta-data")) << "nothing held yet";
  EXPECT_EQ(read("meta-data/ami-id"), "ami-1\n");
  EXPECT_TRUE(fs_->answersAtOnce(InodeTable::kRoot, "never-seen"))
      << "the root listing is fresh: its absence is known";
  EXPECT_TRUE(fs_->answersAtOnce(InodeTable::kRoot, "meta-data"));
  clock_.advance(11s);
  EXPECT_FALSE(fs_->answersAtOnce(InodeTable::kRoot, "meta-data")) << "past its TTL";
  {
    std::lock_guard lock(mu_);
    answers_.erase("/latest/meta-data/placement/");
  }
  auto gone = at("meta-data/placement/region");
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(gone->negative) << "a listing that answers 404 has no entries";
}

}  // namespace
}  // namespace mdfs::mount
