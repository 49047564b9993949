#include "mount/filesystem.h"

#include <sys/stat.h>

#include <algorithm>
#include <span>
#include <tuple>
#include <utility>

#include "common/mutex.h"
#include "common/single_flight.h"
#include "tree/listing.h"

namespace mdfs::mount {
namespace {

constexpr std::uint32_t kDirPerm = 0555;
constexpr std::uint32_t kSecretDirPerm = 0500;
constexpr std::uint32_t kFilePerm = 0444;
constexpr std::uint32_t kSecretFilePerm = 0400;
// With secrets_group=: the group may read too.
constexpr std::uint32_t kGroupSecretDirPerm = 0550;
constexpr std::uint32_t kGroupSecretFilePerm = 0440;
constexpr double kStaleTimeout = 1.0;  // stale data is rechecked often
constexpr double kMinTimeout = 0.001;  // never exactly zero (DESIGN §2)
constexpr std::string_view kRawSuffix = ".json";
// A failed production is repeated to other readers this long (the cache's error hold).
constexpr Millis kFailureHold{1000};

std::string join(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  if (name.empty()) return std::string(dir);
  std::string out(dir);
  out += '/';
  out += name;
  return out;
}

std::string_view dirname(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view{} : path.substr(0, slash);
}

std::string_view basename(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

Content slice(std::shared_ptr<const void> owner, std::string_view bytes, std::uint64_t offset,
              std::size_t size) {
  if (offset >= bytes.size()) return {std::move(owner), {}};
  return {std::move(owner), bytes.substr(offset, size)};
}

Error noLonger(const std::string& path) {
  return makeError(ErrorKind::not_found, "no longer present: " + path, LogLevel::debug);
}

Error unknownInode() {
  return makeError(ErrorKind::not_found, "unknown inode", LogLevel::debug);
}

// The d_ino of a plain (not "plus") directory entry the kernel holds no inode for.
constexpr std::uint64_t kUnknownIno = 0xffffffff;

}  // namespace

struct Filesystem::Place {
  enum class Kind { root, endpoint_dir, raw_json, data, dynamic_dir, dynamic_file, none };
  Kind kind = Kind::none;
  int endpoint = -1;
  std::string rel;             // data: the path inside the endpoint's directory
  int dynamic = -1;            // dynamic_file: index into dynamic_
  std::shared_ptr<void> pin;   // holds a resource found by path (cache::Lease)
  std::optional<Error> error;  // a text cloud's listing above it failed
  bool pending = false;        // knowing needs a fetch (classify without fetching)
};

// The last bytes produced for a dynamic file, reused while valid so that the size the
// kernel saw in getattr matches what read returns. Producing runs through `flight`, so no
// lock is held while a token is requested and each waiter keeps its own deadline.
struct Filesystem::DynamicSlot {
  SingleFlight<Result<DynamicContent>> flight;
  std::vector<int> endpoints;  // those of the file's sources (fixed once added)
  Mutex mu;
  std::shared_ptr<const DynamicContent> content GUARDED_BY(mu);
  // The last production failed: the others get that failure until valid_until, as the
  // cache holds its sources' failures, instead of each producing (and waiting) again.
  std::optional<Error> failure GUARDED_BY(mu);
  SteadyTime valid_until GUARDED_BY(mu){};      // of the content, or of the failure
  std::uint64_t generation GUARDED_BY(mu) = 0;  // moves when a source changes
  std::int64_t presence_ns GUARDED_BY(mu) = 0;  // when the file last appeared or vanished
};

// A directory's entries in listing order: "." and "..", a snapshot's children (built only
// when visited, so a directory of 10,000 entries costs O(n) over all readdir calls), then
// the rest, each with the path that names its inode.
struct Filesystem::Listing {
  std::optional<cache::View> view;
  std::span<const tree::Node> kids;
  std::string dir;
  std::vector<std::pair<std::string, DirEntry>> tail;
  // A later chunk of a listing the kernel is reading: the first chunk's call already asked
  // the service, and asking again would make one getdents wait twice.
  bool resumed = false;
};

Filesystem::Filesystem(const tree::Catalog& catalog, cache::ResourceCache& cache,
                       InodeTable& inodes, FilesystemOptions options, const Clock& clock)
    : catalog_(catalog),
      cache_(cache),
      inodes_(inodes),
      options_(options),
      clock_(clock),
      mount_time_ns_(nanosSinceEpoch(clock.wall())),
      root_endpoint_(catalog.find("")) {}

Filesystem::~Filesystem() = default;

void Filesystem::addDynamicFile(DynamicFile file) {
  auto slot = std::make_unique<DynamicSlot>();
  for (const auto& source : file.sources) {
    int endpoint = catalog_.owner(source);
    if (endpoint < 0) endpoint = catalog_.find(source);
    if (endpoint >= 0 && std::find(slot->endpoints.begin(), slot->endpoints.end(), endpoint) ==
                             slot->endpoints.end()) {
      slot->endpoints.push_back(endpoint);
    }
  }
  dynamic_.push_back(std::move(file));
  slots_.push_back(std::move(slot));
}

void Filesystem::setScheduler(Scheduler scheduler) {
  scheduler_ = std::move(scheduler);
}

Filesystem::Place Filesystem::classify(std::string_view path) const {
  return classify(path, deadline());
}

Filesystem::Place Filesystem::classify(std::string_view path, Deadline deadline, bool fetch) const {
  Place p;
  if (path.empty()) {
    p.kind = Place::Kind::root;
    return p;
  }
  for (std::size_t i = 0; i < dynamic_.size(); ++i) {
    std::string_view d = dynamic_[i].path;
    if (d == path) {
      p.kind = Place::Kind::dynamic_file;
      p.dynamic = static_cast<int>(i);
      return p;
    }
    if (d.size() > path.size() && d.substr(0, path.size()) == path && d[path.size()] == '/') {
      p.kind = Place::Kind::dynamic_dir;
      return p;
    }
  }
  if (root_endpoint_ >= 0) return walk(path, deadline, fetch);
  if (path.size() > kRawSuffix.size() &&
      path.substr(path.size() - kRawSuffix.size()) == kRawSuffix) {
    int e = catalog_.find(path.substr(0, path.size() - kRawSuffix.size()));
    if (e >= 0) {
      p.kind = Place::Kind::raw_json;
      p.endpoint = e;
      return p;
    }
  }
  p.endpoint = catalog_.owner(path);
  if (p.endpoint < 0) return p;
  const auto& mount = catalog_.endpoints()[static_cast<std::size_t>(p.endpoint)].mount_path;
  if (path.size() == mount.size()) {
    p.kind = Place::Kind::endpoint_dir;
  } else {
    p.kind = Place::Kind::data;
    p.rel = std::string(path.substr(mount.size() + 1));
  }
  return p;
}

void Filesystem::setMode(Attributes& a, std::uint32_t type, bool secret) const {
  a.secret = secret;
  const bool dir = type == S_IFDIR;
  const bool group = options_.secrets_gid.has_value();
  if (!secret) {
    a.mode = type | (dir ? kDirPerm : kFilePerm);
  } else if (group) {
    a.mode = type | (dir ? kGroupSecretDirPerm : kGroupSecretFilePerm);
  } else {
    a.mode = type | (dir ? kSecretDirPerm : kSecretFilePerm);
  }
}

void Filesystem::setMode(Attributes& a, const DynamicFile& d) const {
  if (d.secret) return setMode(a, S_IFREG, true);
  a.mode = S_IFREG | d.perm;
}

// Text clouds (AWS, GCE): from the root listing, each remote entry on the way is a resource
// of its own (a listing or a value), found in the cache by its URL; local entries (AWS's
// public-keys/by-name/) are nodes of the listing that holds them. A name not listed ends the
// walk in the listing that lacks it, so the answer is negative for as long as it is fresh.
Filesystem::Place Filesystem::walk(std::string_view path, Deadline deadline, bool fetch) const {
  Place p;
  p.kind = Place::Kind::data;
  p.endpoint = root_endpoint_;
  const tree::EndpointSpec& root = catalog_.endpoints()[static_cast<std::size_t>(root_endpoint_)];
  std::string done;  // the tree path walked so far
  while (!path.empty()) {
    const auto slash = path.find('/');
    const std::string_view name = path.substr(0, slash);
    const std::string_view rest =
        slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
    auto view = viewAt(p, deadline, fetch);
    if (!view) return p;
    const tree::Node* dir = view->absent() ? nullptr : view->snapshot->find(p.rel);
    const tree::Node* child = dir != nullptr && dir->kind == tree::Node::Kind::directory
                                  ? view->snapshot->child(*dir, name)
                                  : nullptr;
    done = join(done, name);
    if (child == nullptr || !child->remote) {
      p.rel = join(p.rel, child == nullptr ? path : name);
      if (child == nullptr) return p;
      path = rest;
      continue;
    }
    auto spec =
        tree::childSpec(root, cache_.specOf(p.endpoint), done, view->snapshot->remoteName(*child),
                        child->kind == tree::Node::Kind::directory);
    auto lease = cache_.resource(spec, fetch);
    if (!lease) {
      p.error = lease.error();
      return p;
    }
    if (!*lease) {
      p.pending = true;
      return p;
    }
    p.endpoint = (*lease)->id;
    p.pin = std::move((*lease)->pin);
    p.rel.clear();
    path = rest;
  }
  return p;
}

std::optional<cache::View> Filesystem::viewAt(Place& place, Deadline deadline, bool fetch) const {
  if (!fetch) {
    auto view = cache_.peek(place.endpoint);
    if (!view || view->stale) place.pending = true;
    return view;
  }
  auto view = cache_.get(place.endpoint, deadline);
  if (!view) {
    place.error = view.error();
    return std::nullopt;
  }
  return std::move(view).value();
}

const std::string& Filesystem::mountPathOf(int endpoint) const {
  return cache_.specOf(endpoint).mount_path;
}

double Filesystem::timeoutOf(const cache::View& view) const {
  if (view.stale) return kStaleTimeout;
  std::chrono::duration<double> left = view.expires - clock_.steady();
  return std::max(left.count(), kMinTimeout);
}

Entry Filesystem::dirEntry(std::int64_t mtime_ns, double timeout) const {
  Entry e;
  e.attr.mode = S_IFDIR | kDirPerm;
  e.attr.mtime_ns = mtime_ns;
  e.timeout = timeout;
  return e;
}

std::uint64_t Filesystem::inodeFor(const std::string& path, bool counted) {
  if (counted) return inodes_.acquire(path);
  return inodes_.find(path).value_or(kUnknownIno);
}

Result<Entry> Filesystem::lookup(std::uint64_t parent, std::string_view name) {
  auto dir = inodes_.pathOf(parent);
  if (!dir) return makeError(ErrorKind::not_found, "unknown directory inode", LogLevel::debug);
  std::string path = join(*dir, name);
  auto entry = entryAt(path, deadline());
  if (entry.ok() && !entry->negative) entry->attr.ino = inodes_.acquire(path);
  return entry;
}

Result<Entry> Filesystem::getattr(std::uint64_t ino) {
  auto path = inodes_.pathOf(ino);
  if (!path) return unknownInode();
  auto entry = entryAt(*path, deadline());
  if (entry.ok() && entry->negative) return noLonger(*path);
  if (entry.ok()) entry->attr.ino = ino;
  return entry;
}

bool Filesystem::answersAtOnce(std::uint64_t ino) const {
  auto path = inodes_.pathOf(ino);
  return !path || answersAtOnce(*path);
}

bool Filesystem::answersAtOnce(std::uint64_t parent, std::string_view name) const {
  auto dir = inodes_.pathOf(parent);
  return !dir || answersAtOnce(join(*dir, name));
}

// A stale copy is enough only when its refetch just failed: otherwise reading it first
// tries the service.
bool Filesystem::answersAtOnce(const std::string& path) const {
  Place place = classify(path, Deadline::max(), false);
  if (place.pending) return false;
  switch (place.kind) {
    case Place::Kind::root:
    case Place::Kind::dynamic_dir:
    case Place::Kind::none:
      return true;
    case Place::Kind::endpoint_dir:
    case Place::Kind::raw_json:
    case Place::Kind::data:
      return cache_.answersWithoutFetching(place.endpoint);
    case Place::Kind::dynamic_file:
      return heldDynamic(static_cast<std::size_t>(place.dynamic)).has_value();
  }
  return false;
}

// Mirrors readdir(): a later chunk (past "." and "..") asks the service for nothing, and
// takes the directory's data as held, stale or not (listedView).
bool Filesystem::listsAtOnce(std::uint64_t ino, std::uint64_t offset) const {
  auto path = inodes_.pathOf(ino);
  if (!path) return true;
  Place place = classify(*path, Deadline::max(), false);
  if (place.pending) return false;
  const bool first = offset <= 2;
  // What listedView() gives without a fetch.
  auto held = [&](int endpoint) {
    return (!first && cache_.peek(endpoint)) || cache_.answersWithoutFetching(endpoint);
  };
  switch (place.kind) {
    case Place::Kind::root:
      return (root_endpoint_ < 0 || held(root_endpoint_)) &&
             (!first || cache_.noneWorthFetching(catalog_.childrenOf("")));
    case Place::Kind::endpoint_dir:
      return held(place.endpoint) &&
             (!first || cache_.noneWorthFetching(catalog_.childrenOf(*path)));
    case Place::Kind::data:
      return held(place.endpoint);
    case Place::Kind::dynamic_dir:
      return !first || dynamicDirHeld(*path);
    case Place::Kind::raw_json:
    case Place::Kind::dynamic_file:
    case Place::Kind::none:
      return true;  // not a directory: answered at once
  }
  return false;
}

// listDynamicDir() fetches the optional files' sources and produces those files.
bool Filesystem::dynamicDirHeld(std::string_view dir) const {
  for (std::size_t i = 0; i < dynamic_.size(); ++i) {
    const DynamicFile& d = dynamic_[i];
    if (d.hidden || !d.optional || dirname(d.path) != dir) continue;
    if (!cache_.noneWorthFetching(slots_[i]->endpoints) || !heldDynamic(i)) return false;
  }
  return true;
}

void Filesystem::forget(std::uint64_t ino, std::uint64_t count) {
  inodes_.forget(ino, count);
  // No open file of a forgotten inode remains: its pollers are gone.
  if (!inodes_.pathOf(ino)) applyWatching(pollers_.forget(ino));
}

Result<Entry> Filesystem::entryAt(const std::string& path, Deadline deadline) {
  Place place = classify(path, deadline);
  if (place.error) return *place.error;
  switch (place.kind) {
    case Place::Kind::root: {
      // Children known but past their TTL are asked again, so the root's listing changes
      // within their TTL; unknown ones wait for the first listing (mounting sends nothing).
      // Every path walk passes here: it must not wait on the service (a change reaches the
      // kernel as an invalidation when the fetch ends).
      std::vector<int> children = catalog_.childrenOf("");
      if (root_endpoint_ >= 0) children.push_back(root_endpoint_);
      cache_.refreshInBackground(cache_.expired(children));
      return withChildren(
          "", dirEntry(mount_time_ns_, static_cast<double>(options_.default_ttl.count())));
    }
    case Place::Kind::dynamic_dir:
      return dynamicDirEntry(path);
    case Place::Kind::endpoint_dir:
      return endpointEntry(place.endpoint, false, deadline);
    case Place::Kind::raw_json:
      return endpointEntry(place.endpoint, true, deadline);
    case Place::Kind::data:
      return dataEntry(place, deadline);
    case Place::Kind::dynamic_file:
      return dynamicEntry(static_cast<std::size_t>(place.dynamic), deadline);
    case Place::Kind::none:
      break;
  }
  Entry missing;
  missing.negative = true;
  missing.timeout = static_cast<double>(options_.default_ttl.count());
  return missing;
}

// An endpoint's directory or <name>.json exists when the service has its data: finding out
// costs one fetch, which any read below it needs anyway.
Result<Entry> Filesystem::endpointEntry(int endpoint, bool raw, Deadline deadline) {
  if (!raw) {
    const auto& mount = catalog_.endpoints()[static_cast<std::size_t>(endpoint)].mount_path;
    cache_.refreshInBackground(cache_.expired(catalog_.childrenOf(mount)));
  }
  auto view = cache_.get(endpoint, deadline);
  if (!view) return view.error();
  if (view->absent()) return negativeFor(*view);
  return raw ? rawOf(*view) : endpointDirOf(endpoint, *view);
}

Result<Entry> Filesystem::dataEntry(const Place& place, Deadline deadline) {
  auto view = cache_.get(place.endpoint, deadline);
  if (!view) return view.error();
  if (view->absent()) return negativeFor(*view);
  return nodeEntry(view->snapshot->find(place.rel), *view);
}

Result<Entry> Filesystem::dynamicEntry(std::size_t index, Deadline deadline) {
  return dynamicEntryOf(index, dynamicContent(index, deadline));
}

Result<Entry> Filesystem::dynamicEntryOf(std::size_t index,
                                         const Result<DynamicContent>& content) const {
  if (!content) return content.error();
  Entry e;
  e.timeout = std::max(std::chrono::duration<double>(content->valid_for).count(), kMinTimeout);
  if (content->absent) {
    e.negative = true;
    return e;
  }
  setMode(e.attr, dynamic_[index]);
  e.attr.size = content->bytes.size();
  e.attr.mtime_ns = content->mtime_ns;
  return e;
}

// A directory of synthesized files changes when one of them appears or vanishes, and the
// kernel may keep its listing no longer than the data of their sources.
Entry Filesystem::dynamicDirEntry(std::string_view dir) const {
  Entry e = dirEntry(mount_time_ns_, static_cast<double>(options_.default_ttl.count()));
  for (std::size_t i = 0; i < dynamic_.size(); ++i) {
    if (!dynamic_[i].optional || dirname(dynamic_[i].path) != dir) continue;
    DynamicSlot& slot = *slots_[i];
    {
      MutexLock lock(slot.mu);
      e.attr.mtime_ns = std::max(e.attr.mtime_ns, slot.presence_ns);
    }
    for (int endpoint : slot.endpoints) {
      auto view = cache_.peek(endpoint);
      double left = view ? timeoutOf(*view) : static_cast<double>(cache_.ttlOf(endpoint).count());
      e.timeout = std::min(e.timeout, left);
    }
  }
  return e;
}

Entry Filesystem::endpointDirOf(int endpoint, const cache::View& view) const {
  const auto& mount = catalog_.endpoints()[static_cast<std::size_t>(endpoint)].mount_path;
  return withChildren(mount, dirEntry(view.snapshot->root().mtime_ns, timeoutOf(view)));
}

// A directory that lists child endpoints changes when one of them starts or stops to exist,
// and the kernel may keep its attributes (and with them its cached listing) no longer than
// the children's TTLs.
Entry Filesystem::withChildren(std::string_view dir, Entry own) const {
  for (int child : catalog_.childrenOf(dir)) {
    auto view = cache_.peek(child);
    if (!view) continue;
    own.attr.mtime_ns = std::max(own.attr.mtime_ns, view->presence_ns);
    own.timeout = std::min(own.timeout, timeoutOf(*view));
  }
  return own;
}

Entry Filesystem::rawOf(const cache::View& view) const {
  const tree::Snapshot& snap = *view.snapshot;
  Entry e;
  e.timeout = timeoutOf(view);
  setMode(e.attr, S_IFREG, snap.rawSecret());
  e.attr.size = snap.raw().size();
  e.attr.mtime_ns = snap.rawMtime();
  return e;
}

Entry Filesystem::negativeFor(const cache::View& view) const {
  Entry e;
  e.negative = true;
  e.timeout = timeoutOf(view);
  return e;
}

Entry Filesystem::nodeEntry(const tree::Node* node, const cache::View& view) const {
  if (node == nullptr) return negativeFor(view);
  const tree::Snapshot& snap = *view.snapshot;
  Entry e;
  e.timeout = timeoutOf(view);
  e.attr.mtime_ns = node->mtime_ns;
  // A text cloud's listed entry: what it is comes with its own resource, fetched on lookup.
  e.has_attributes = !node->remote;
  switch (node->kind) {
    case tree::Node::Kind::directory:
      setMode(e.attr, S_IFDIR, node->secret);
      break;
    case tree::Node::Kind::file:
      setMode(e.attr, S_IFREG, node->secret);
      e.attr.size = snap.data(*node).size();
      break;
    case tree::Node::Kind::symlink:
      e.attr.mode = S_IFLNK | 0777;
      e.attr.size = snap.data(*node).size();
      break;
  }
  return e;
}

std::optional<Result<DynamicContent>> Filesystem::heldDynamic(std::size_t index) const {
  DynamicSlot& slot = *slots_[index];
  MutexLock lock(slot.mu);
  if (clock_.steady() >= slot.valid_until) return std::nullopt;
  if (slot.failure) return Result<DynamicContent>(*slot.failure);
  if (slot.content) return Result<DynamicContent>(*slot.content);
  return std::nullopt;
}

Result<DynamicContent> Filesystem::dynamicContent(std::size_t index, Deadline deadline) {
  if (auto held = heldDynamic(index)) return std::move(*held);
  DynamicSlot& slot = *slots_[index];
  auto produced = slot.flight.run(deadline, [&] { return produceDynamic(index, deadline); });
  if (!produced) {
    return makeError(ErrorKind::timed_out, "timed out waiting for " + dynamic_[index].path);
  }
  return std::move(*produced);
}

// One production, kept in the slot. A file derived from the tree is dated by its content
// and lives no longer than its sources' data; one whose source changed while it was being
// produced is kept for this reader only.
Result<DynamicContent> Filesystem::produceDynamic(std::size_t index, Deadline deadline) {
  DynamicSlot& slot = *slots_[index];
  std::uint64_t generation = 0;
  {
    MutexLock lock(slot.mu);
    generation = slot.generation;
  }
  auto fresh = dynamic_[index].produce(deadline);
  if (!fresh && fresh.error().kind == ErrorKind::not_found && dynamic_[index].optional) {
    DynamicContent none;
    none.absent = true;
    fresh = none;
  }
  if (!fresh) {
    MutexLock lock(slot.mu);
    if (slot.generation == generation) {
      slot.failure = fresh.error();
      slot.valid_until = clock_.steady() + kFailureHold;
    }
    return fresh;
  }
  const bool derived = !dynamic_[index].sources.empty();
  if (derived) fresh->valid_for = std::min(fresh->valid_for, sourceValidity(slot));
  MutexLock lock(slot.mu);
  const std::int64_t now_ns = nanosSinceEpoch(clock_.wall());
  if (derived) {
    const std::shared_ptr<const DynamicContent> old = slot.content;
    const bool same = old && old->absent == fresh->absent && old->bytes == fresh->bytes;
    fresh->mtime_ns = same ? old->mtime_ns : now_ns;
  } else if (fresh->mtime_ns == 0) {
    fresh->mtime_ns = mount_time_ns_;  // content that never changes
  }
  if (slot.content && slot.content->absent != fresh->absent) slot.presence_ns = now_ns;
  slot.content = std::make_shared<const DynamicContent>(fresh.value());
  slot.failure.reset();
  slot.valid_until =
      slot.generation == generation ? clock_.steady() + fresh->valid_for : clock_.steady();
  return fresh;
}

// How long the sources' data stays fresh: stale or missing data is checked again soon.
Millis Filesystem::sourceValidity(const DynamicSlot& slot) const {
  constexpr Millis kRecheck{1000};
  Millis left = Millis::max();
  for (int endpoint : slot.endpoints) {
    auto view = cache_.peek(endpoint);
    if (!view || view->stale) {
      left = std::min(left, kRecheck);
      continue;
    }
    left = std::min(left, std::chrono::duration_cast<Millis>(view->expires - clock_.steady()));
  }
  return std::max(left, Millis(1));
}

Status Filesystem::readdir(std::uint64_t ino, std::uint64_t offset, bool plus,
                           const EntrySink& emit) {
  auto path = inodes_.pathOf(ino);
  if (!path) return unknownInode();
  Place place = classify(*path);
  if (place.error) return *place.error;
  Listing listing;
  listing.dir = *path;
  listing.resumed = offset > 2;  // past "." and ".."
  Status filled = Ok{};
  switch (place.kind) {
    case Place::Kind::root:
      filled = listRoot(listing, deadline());
      break;
    case Place::Kind::dynamic_dir:
      filled = listDynamicDir(*path, listing, deadline());
      break;
    case Place::Kind::endpoint_dir:
    case Place::Kind::data:
      filled = listData(place, *path, listing, deadline());
      break;
    default:
      return makeError(ErrorKind::not_directory, "not a directory: " + *path, LogLevel::debug);
  }
  if (!filled) return filled.error();
  const std::size_t total = 2 + listing.kids.size() + listing.tail.size();
  for (auto i = static_cast<std::size_t>(offset); i < total; ++i) {
    DirEntry entry;
    std::string child;
    if (i < 2) {
      entry.name = i == 0 ? "." : "..";
      entry.entry = dirEntry(0, 0);
      entry.entry.attr.ino = i == 0 ? ino : parentOf(ino);
    } else if (i < 2 + listing.kids.size()) {
      const tree::Node& node = listing.kids[i - 2];
      entry.name = std::string(listing.view->snapshot->name(node));
      if (place.kind == Place::Kind::endpoint_dir && reservedName(*path, entry.name)) continue;
      child = join(*path, entry.name);
      entry.entry = nodeEntry(&node, *listing.view);
    } else {
      std::tie(child, entry) = listing.tail[i - 2 - listing.kids.size()];
    }
    const bool counted = plus && i >= 2 && entry.entry.has_attributes;
    if (i >= 2) entry.entry.attr.ino = inodeFor(child, counted);
    if (!emit(entry, i + 1)) {
      if (counted) inodes_.forget(entry.entry.attr.ino, 1);  // not delivered after all
      break;
    }
  }
  return Ok{};
}

Result<std::vector<DirEntry>> Filesystem::list(std::uint64_t ino) {
  std::vector<DirEntry> out;
  auto s = readdir(ino, 2, false, [&](const DirEntry& d, std::uint64_t) {
    out.push_back(d);
    return true;
  });
  if (!s) return s.error();
  return out;
}

Status Filesystem::listRoot(Listing& listing, Deadline deadline) {
  // Every child not known fresh, in one parallel round: the listing tells the truth.
  if (!listing.resumed) cache_.prefetch(catalog_.childrenOf(""), deadline);
  if (root_endpoint_ >= 0) {
    // A text cloud's root is its root listing, with the synthesized files beside it.
    auto got = listedView(root_endpoint_, listing.resumed, deadline);
    if (!got) return got.error();
    if (got->absent()) return noLonger("/");
    listing.view = std::move(got).value();
    listing.kids = listing.view->snapshot->children(listing.view->snapshot->root());
  }
  if (auto s = listChildEndpoints("", listing, true); !s) return s;
  for (const auto& d : dynamic_) {
    std::string top = d.path.substr(0, d.path.find('/'));
    if (d.hidden) continue;
    bool listed = std::any_of(listing.tail.begin(), listing.tail.end(),
                              [&](const auto& t) { return t.first == top; }) ||
                  std::any_of(listing.kids.begin(), listing.kids.end(), [&](const auto& k) {
                    return listing.view->snapshot->name(k) == top;
                  });
    if (listed) continue;
    if (top == d.path) {
      Entry file;
      file.has_attributes = false;  // the root's listing produces nothing
      setMode(file.attr, d);
      listing.tail.push_back({top, {top, file}});
      continue;
    }
    listing.tail.push_back({top, {top, dynamicDirEntry(top)}});
  }
  return Ok{};
}

// Files that may be absent are produced to know (their sources fetched in one parallel
// round first); the others are listed without producing them (a token would cost a
// request). One whose production fails is listed without attributes: using it gives the
// error.
Status Filesystem::listDynamicDir(const std::string& dir, Listing& listing, Deadline deadline) {
  std::vector<int> sources;
  for (std::size_t i = 0; i < dynamic_.size(); ++i) {
    if (dynamic_[i].hidden || !dynamic_[i].optional || dirname(dynamic_[i].path) != dir) continue;
    for (int endpoint : slots_[i]->endpoints) {
      if (std::find(sources.begin(), sources.end(), endpoint) == sources.end()) {
        sources.push_back(endpoint);
      }
    }
  }
  if (!listing.resumed) cache_.prefetch(sources, deadline);
  for (std::size_t i = 0; i < dynamic_.size(); ++i) {
    const DynamicFile& d = dynamic_[i];
    if (d.hidden || dirname(d.path) != dir) continue;
    Entry e;
    e.has_attributes = false;  // producing a token just to list it would cost a request
    setMode(e.attr, d);
    if (d.optional) {
      auto produced = listedDynamic(i, listing.resumed, deadline);
      if (produced.ok() && produced->negative) continue;
      if (produced.ok()) e = produced.value();
    }
    listing.tail.push_back({d.path, {std::string(basename(d.path)), e}});
  }
  return Ok{};
}

// A later chunk of a listing shows the copy the first chunk's call got, fresh or stale:
// waiting for a refetch (after SIGHUP, or the TTL's end) would make one getdents wait twice.
Result<cache::View> Filesystem::listedView(int endpoint, bool resumed, Deadline deadline) {
  if (resumed) {
    if (auto held = cache_.peek(endpoint)) return *held;
  }
  return cache_.get(endpoint, deadline);
}

// Likewise for synthesized files: a later chunk shows what the first chunk's call produced,
// as held in the slot.
Result<Entry> Filesystem::listedDynamic(std::size_t index, bool resumed, Deadline deadline) {
  if (!resumed) return dynamicEntry(index, deadline);
  auto held = heldDynamic(index);
  if (!held) {
    return makeError(ErrorKind::timed_out, "not produced: " + dynamic_[index].path,
                     LogLevel::debug);
  }
  return dynamicEntryOf(index, *held);
}

Status Filesystem::listData(const Place& place, const std::string& path, Listing& listing,
                            Deadline deadline) {
  const bool top = place.kind == Place::Kind::endpoint_dir;
  if (top && !listing.resumed) {
    // The endpoint and its child endpoints in one round: the listing shows which exist.
    std::vector<int> wanted = catalog_.childrenOf(path);
    wanted.insert(wanted.begin(), place.endpoint);
    cache_.prefetch(wanted, deadline);
  }
  auto got = listedView(place.endpoint, listing.resumed, deadline);
  if (!got) return got.error();
  if (got->absent()) return noLonger(path);
  listing.view = std::move(got).value();
  const tree::Node* node = listing.view->snapshot->find(place.rel);
  if (node == nullptr) return noLonger(path);
  if (node->kind != tree::Node::Kind::directory) {
    return makeError(ErrorKind::not_directory, "not a directory: " + path, LogLevel::debug);
  }
  listing.kids = listing.view->snapshot->children(*node);
  if (top) return listChildEndpoints(path, listing, false);
  return Ok{};
}

// Child endpoints of `dir` with their <name>.json, as far as the service answered: absent
// ones are left out; ones whose fetch failed are listed without attributes (using them
// gives the error). With `need_one`, a listing where every child failed is that failure.
Status Filesystem::listChildEndpoints(const std::string& dir, Listing& listing,
                                      bool need_one) const {
  std::optional<Error> first_failure;
  bool any = false;
  for (int child : catalog_.childrenOf(dir)) {
    const auto& spec = catalog_.endpoints()[static_cast<std::size_t>(child)];
    std::string name(spec.name());
    std::string raw_path = spec.mount_path + std::string(kRawSuffix);
    std::string raw_name = name + std::string(kRawSuffix);
    if (auto view = cache_.peek(child)) {
      if (view->absent()) continue;
      any = true;
      listing.tail.push_back({spec.mount_path, {name, endpointDirOf(child, *view)}});
      listing.tail.push_back({raw_path, {raw_name, rawOf(*view)}});
      continue;
    }
    if (!first_failure) {
      first_failure = cache_.failure(child).value_or(makeError(
          ErrorKind::timed_out, "no answer in time for " + spec.api_path, LogLevel::warning));
    }
    Entry unknown;
    unknown.has_attributes = false;
    unknown.attr.mode = S_IFDIR | kDirPerm;
    listing.tail.push_back({spec.mount_path, {name, unknown}});
    setMode(unknown.attr, S_IFREG, spec.rawIsSecret());
    listing.tail.push_back({raw_path, {raw_name, unknown}});
  }
  if (need_one && !any && first_failure) return *first_failure;
  return Ok{};
}

// Names that belong to a child endpoint (its directory and <name>.json) win over members
// of the parent's document: lookup answers them from the child endpoint.
bool Filesystem::reservedName(const std::string& dir, std::string_view name) const {
  for (int child : catalog_.childrenOf(dir)) {
    std::string_view own = catalog_.endpoints()[static_cast<std::size_t>(child)].name();
    if (name == own) return true;
    if (name.size() == own.size() + kRawSuffix.size() && name.substr(0, own.size()) == own &&
        name.substr(own.size()) == kRawSuffix) {
      return true;
    }
  }
  return false;
}

// The bytes of a regular file and the version (mtime) they are at.
struct Filesystem::FileBytes {
  Content content;
  std::int64_t version = 0;
};

Result<Filesystem::FileBytes> Filesystem::fileAt(const std::string& path, Deadline deadline) {
  Place place = classify(path, deadline);
  if (place.error) return *place.error;
  if (place.kind == Place::Kind::dynamic_file) {
    auto content = dynamicContent(static_cast<std::size_t>(place.dynamic), deadline);
    if (!content) return content.error();
    if (content->absent) return noLonger(path);
    auto owner = std::make_shared<const std::string>(std::move(content->bytes));
    return FileBytes{{owner, *owner}, content->mtime_ns};
  }
  if (place.kind != Place::Kind::data && place.kind != Place::Kind::raw_json) {
    return makeError(ErrorKind::is_directory, "not a file: " + path, LogLevel::debug);
  }
  auto view = cache_.get(place.endpoint, deadline);
  if (!view) return view.error();
  if (view->absent()) return noLonger(path);
  auto snap = view->snapshot;
  if (place.kind == Place::Kind::raw_json) return FileBytes{{snap, snap->raw()}, snap->rawMtime()};
  const tree::Node* node = snap->find(place.rel);
  if (node == nullptr) return noLonger(path);
  if (node->kind != tree::Node::Kind::file) {
    return makeError(ErrorKind::is_directory, "not a file: " + path, LogLevel::debug);
  }
  return FileBytes{{snap, snap->data(*node)}, node->mtime_ns};
}

Result<Content> Filesystem::read(std::uint64_t ino, std::uint64_t offset, std::size_t size) {
  auto path = inodes_.pathOf(ino);
  if (!path) return unknownInode();
  auto file = fileAt(*path, deadline());
  if (!file) return file.error();
  // What the kernel's page cache now holds, for the first poll of an open file.
  pollers_.served(ino, file->version);
  return slice(std::move(file->content.owner), file->content.bytes, offset, size);
}

Result<std::string> Filesystem::readFile(std::string_view path, Deadline deadline) {
  auto file = fileAt(std::string(path), deadline);
  if (!file) {
    if (file.error().kind != ErrorKind::is_directory) return file.error();
    return makeError(ErrorKind::not_found, "not a file: " + std::string(path), LogLevel::debug);
  }
  return std::string(file->content.bytes);
}

Result<std::vector<std::string>> Filesystem::listDirectory(std::string_view path,
                                                           Deadline deadline) {
  Place place = classify(path, deadline);
  if (place.error) return *place.error;
  if (place.kind != Place::Kind::endpoint_dir && place.kind != Place::Kind::data) {
    return makeError(ErrorKind::not_found, "not a directory: " + std::string(path),
                     LogLevel::debug);
  }
  auto view = cache_.get(place.endpoint, deadline);
  if (!view) return view.error();
  const tree::Node* node = view->absent() ? nullptr : view->snapshot->find(place.rel);
  if (node == nullptr || node->kind != tree::Node::Kind::directory) {
    return makeError(ErrorKind::not_found, "not a directory: " + std::string(path),
                     LogLevel::debug);
  }
  std::vector<std::string> names;
  for (const tree::Node& child : view->snapshot->children(*node)) {
    names.emplace_back(view->snapshot->name(child));
  }
  return names;
}

Result<std::string> Filesystem::readlink(std::uint64_t ino) {
  auto path = inodes_.pathOf(ino);
  if (!path) return unknownInode();
  Place place = classify(*path);
  if (place.error) return *place.error;
  if (place.kind != Place::Kind::data) {
    return makeError(ErrorKind::invalid, "not a link", LogLevel::debug);
  }
  auto view = cache_.get(place.endpoint, deadline());
  if (!view) return view.error();
  if (view->absent()) return noLonger(*path);
  const tree::Node* node = view->snapshot->find(place.rel);
  if (node == nullptr) return noLonger(*path);
  if (node->kind != tree::Node::Kind::symlink) {
    return makeError(ErrorKind::invalid, "not a link", LogLevel::debug);
  }
  return std::string(view->snapshot->data(*node));
}

std::uint64_t Filesystem::parentOf(std::uint64_t ino) const {
  auto path = inodes_.pathOf(ino);
  if (!path || path->empty()) return InodeTable::kRoot;
  return inodes_.find(dirname(*path)).value_or(InodeTable::kRoot);
}

std::vector<Invalidation> Filesystem::invalidationsFor(int endpoint,
                                                       const tree::ChangeList& changes,
                                                       cache::Presence presence) const {
  const std::string& mount = mountPathOf(endpoint);
  std::vector<Invalidation> out;
  auto inode = [&](const std::string& path) {
    if (auto ino = inodes_.find(path)) out.push_back(Invalidation::inode(*ino));
  };
  auto entry = [&](const std::string& path) {
    if (auto dir = inodes_.find(dirname(path))) {
      out.push_back(Invalidation::entry(*dir, std::string(basename(path))));
    }
  };
  for (const auto& rel : changes.changed)
    inode(join(mount, rel));
  for (const auto& rel : changes.removed)
    entry(join(mount, rel));
  for (const auto& rel : changes.added)
    entry(join(mount, rel));
  if (changes.raw_changed) inode(mount + std::string(kRawSuffix));
  if (presence != cache::Presence::unchanged && !mount.empty()) {
    // The name (or a cached "no such name") and the parent's cached listing both go.
    entry(mount);
    entry(mount + std::string(kRawSuffix));
    inode(std::string(dirname(mount)));
  }
  return out;
}

std::vector<Invalidation> Filesystem::invalidateAll() const {
  std::vector<Invalidation> out;
  for (std::uint64_t ino : inodes_.all()) {
    out.push_back(Invalidation::inode(ino));
  }
  return out;
}

// Pollers (issue 15). The answer compares the content's version now with what the open
// file last saw; a waiting poller keeps its sources' endpoints fresh on their TTL.
bool Filesystem::poll(std::uint64_t ino, std::optional<std::uint64_t> kh, PollHandle handle) {
  auto path = inodes_.pathOf(ino);
  if (!path) return false;
  const bool wants_wake = handle != nullptr;
  auto answer = pollers_.poll(ino, kh, versionOf(*path), wants_wake && kh ? handle : nullptr,
                              endpointsOf(*path));
  applyWatching(answer.transitions);
  Place place = classify(*path);
  if (wants_wake && kh && place.kind == Place::Kind::dynamic_file) {
    scheduleWake(static_cast<std::size_t>(place.dynamic), *kh, std::move(handle));
  }
  return answer.changed;
}

std::optional<std::int64_t> Filesystem::versionOf(const std::string& path) {
  auto entry = entryAt(path, deadline());
  if (!entry) return std::nullopt;  // not known now: no change to report
  if (entry->negative) return PollRegistry::kGone;
  return entry->attr.mtime_ns;
}

std::vector<int> Filesystem::endpointsOf(const std::string& path) const {
  Place place = classify(path);
  if (place.kind == Place::Kind::dynamic_file) {
    return slots_[static_cast<std::size_t>(place.dynamic)]->endpoints;
  }
  if (place.endpoint >= 0) return {place.endpoint};
  return {};
}

void Filesystem::applyWatching(const std::vector<PollRegistry::Transition>& transitions) {
  for (const auto& t : transitions) {
    for (int endpoint : t.sources) {
      t.waiting ? cache_.watch(endpoint) : cache_.unwatch(endpoint);
    }
  }
}

// A file whose content moves with time rather than with a source (.status, a token) wakes
// its poller when the bytes the kernel holds expire; the poll that follows compares.
void Filesystem::scheduleWake(std::size_t index, std::uint64_t kh, PollHandle handle) {
  if (!scheduler_ || !slots_[index]->endpoints.empty()) return;
  SteadyTime at;
  {
    MutexLock lock(slots_[index]->mu);
    at = slots_[index]->valid_until;
  }
  scheduler_(kh, Invalidation::wake(std::move(handle)), std::max(at, clock_.steady() + Millis(10)));
}

std::vector<Invalidation> Filesystem::fetched(int endpoint, const tree::ChangeList& changes,
                                              cache::Presence presence) {
  std::vector<Invalidation> out = invalidationsFor(endpoint, changes, presence);
  if (!changes.empty() || presence != cache::Presence::unchanged) {
    auto derived = derivedInvalidations(endpoint);
    out.insert(out.end(), derived.begin(), derived.end());
  }
  auto wakeups = pollers_.wake(endpoint);
  applyWatching(wakeups.transitions);
  for (auto& handle : wakeups.handles)
    out.push_back(Invalidation::wake(std::move(handle)));
  return out;
}

// Synthesized files derived from `endpoint` are produced again on their next use; the
// kernel drops their attributes, pages and names (one may have appeared or vanished), and
// the listing of their directory.
std::vector<Invalidation> Filesystem::derivedInvalidations(int endpoint) {
  std::vector<Invalidation> out;
  std::vector<std::string> dirs;
  // A text cloud's resource found by path is none of the catalog's: a file derives from it
  // when one of its sources lies in it (well-known/zone and the value
  // meta-data/placement/availability-zone).
  const std::string& mount = mountPathOf(endpoint);
  const bool found = root_endpoint_ >= 0 && endpoint != root_endpoint_;
  auto within = [&](const std::string& source) {
    return source == mount || (source.size() > mount.size() && source.rfind(mount, 0) == 0 &&
                               source[mount.size()] == '/');
  };
  for (std::size_t i = 0; i < dynamic_.size(); ++i) {
    DynamicSlot& slot = *slots_[i];
    const auto& sources = dynamic_[i].sources;
    const bool derives =
        std::find(slot.endpoints.begin(), slot.endpoints.end(), endpoint) != slot.endpoints.end() ||
        (found && std::any_of(sources.begin(), sources.end(), within));
    if (!derives) continue;
    {
      MutexLock lock(slot.mu);
      ++slot.generation;
      slot.valid_until = {};
    }
    const std::string& path = dynamic_[i].path;
    if (auto ino = inodes_.find(path)) out.push_back(Invalidation::inode(*ino));
    if (!dynamic_[i].optional) continue;
    std::string dir(dirname(path));
    if (auto parent = inodes_.find(dir)) {
      out.push_back(Invalidation::entry(*parent, std::string(basename(path))));
      if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) {
        dirs.push_back(dir);
        out.push_back(Invalidation::inode(*parent));
      }
    }
  }
  return out;
}

}  // namespace mdfs::mount
