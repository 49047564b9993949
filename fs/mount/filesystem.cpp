#include "mount/filesystem.h"

#include <sys/stat.h>

#include <algorithm>

namespace mdfs::mount {
namespace {

constexpr std::uint32_t kDirPerm = 0555;
constexpr std::uint32_t kSecretDirPerm = 0500;
constexpr std::uint32_t kFilePerm = 0444;
constexpr std::uint32_t kSecretFilePerm = 0400;
constexpr double kStaleTimeout = 1.0;  // stale data is rechecked often
constexpr double kMinTimeout = 0.001;  // never exactly zero (DESIGN §2)
constexpr std::string_view kRawSuffix = ".json";

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

std::int64_t nanosOf(WallTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

Content slice(std::shared_ptr<const void> owner, std::string_view bytes, std::uint64_t offset,
              std::size_t size) {
  if (offset >= bytes.size()) return {std::move(owner), {}};
  return {std::move(owner), bytes.substr(offset, size)};
}

}  // namespace

struct Filesystem::Place {
  enum class Kind { root, endpoint_dir, raw_json, data, dynamic_dir, dynamic_file, none };
  Kind kind = Kind::none;
  int endpoint = -1;
  std::string rel;   // data: the path inside the endpoint's directory
  int dynamic = -1;  // dynamic_file: index into dynamic_
};

// The last bytes produced for a dynamic file, reused while valid so that the size the
// kernel saw in getattr matches what read returns.
struct Filesystem::DynamicSlot {
  std::mutex mu;
  std::shared_ptr<const DynamicContent> content;
  SteadyTime valid_until{};
};

Filesystem::Filesystem(const tree::Catalog& catalog, cache::ResourceCache& cache,
                       InodeTable& inodes, FilesystemOptions options, const Clock& clock)
    : catalog_(catalog),
      cache_(cache),
      inodes_(inodes),
      options_(options),
      clock_(clock),
      mount_time_ns_(nanosOf(clock.wall())) {}

Filesystem::~Filesystem() = default;

void Filesystem::addDynamicFile(DynamicFile file) {
  dynamic_.push_back(std::move(file));
  slots_.push_back(std::make_unique<DynamicSlot>());
}

Filesystem::Place Filesystem::classify(std::string_view path) const {
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

double Filesystem::timeoutOf(const cache::View& view) const {
  if (view.stale) return kStaleTimeout;
  std::chrono::duration<double> left = view.expires - clock_.steady();
  return std::max(left.count(), kMinTimeout);
}

Entry Filesystem::dirEntryFor(const std::string& path, std::uint32_t perm, std::int64_t mtime_ns,
                              double timeout) const {
  Entry e;
  e.attr.ino = inodes_.idFor(path);
  e.attr.mode = S_IFDIR | perm;
  e.attr.mtime_ns = mtime_ns;
  e.timeout = timeout;
  return e;
}

Result<Entry> Filesystem::lookup(std::uint64_t parent, std::string_view name) {
  auto dir = inodes_.pathOf(parent);
  if (!dir) return makeError(ENOENT, "unknown directory inode", LogLevel::debug);
  return entryAt(join(*dir, name), deadline());
}

Result<Entry> Filesystem::getattr(std::uint64_t ino) {
  auto path = inodes_.pathOf(ino);
  if (!path) return makeError(ENOENT, "unknown inode", LogLevel::debug);
  auto entry = entryAt(*path, deadline());
  if (entry.ok() && entry->negative) {
    return makeError(ENOENT, "no longer present: " + *path, LogLevel::debug);
  }
  return entry;
}

Result<Entry> Filesystem::entryAt(const std::string& path, Deadline deadline) {
  Place place = classify(path);
  auto ttl = static_cast<double>(options_.default_ttl.count());
  switch (place.kind) {
    case Place::Kind::root:
    case Place::Kind::dynamic_dir:
      return dirEntryFor(path, kDirPerm, mount_time_ns_, ttl);
    case Place::Kind::endpoint_dir:
      return endpointDirEntry(path, place.endpoint);
    case Place::Kind::raw_json:
    case Place::Kind::data:
      return dataEntry(path, place, deadline);
    case Place::Kind::dynamic_file: {
      auto content = dynamicContent(static_cast<std::size_t>(place.dynamic), deadline);
      if (!content) return content.error();
      Entry e;
      e.attr.ino = inodes_.idFor(path);
      e.attr.mode = S_IFREG | dynamic_[static_cast<std::size_t>(place.dynamic)].perm;
      e.attr.size = content->bytes.size();
      e.attr.mtime_ns = content->mtime_ns;
      e.timeout = std::max(std::chrono::duration<double>(content->valid_for).count(), kMinTimeout);
      return e;
    }
    case Place::Kind::none:
      break;
  }
  Entry missing;
  missing.negative = true;
  missing.timeout = ttl;
  return missing;
}

// An endpoint's directory exists without fetching it: listing a parent costs nothing.
Result<Entry> Filesystem::endpointDirEntry(const std::string& path, int endpoint) const {
  if (cache_.knownAbsent(endpoint)) {
    Entry missing;
    missing.negative = true;
    missing.timeout = static_cast<double>(cache_.ttlOf(endpoint).count());
    return missing;
  }
  auto view = cache_.peek(endpoint);
  std::int64_t mtime = view ? view->snapshot->root().mtime_ns : mount_time_ns_;
  double timeout = view ? timeoutOf(*view) : static_cast<double>(options_.default_ttl.count());
  return dirEntryFor(path, kDirPerm, mtime, timeout);
}

Result<Entry> Filesystem::dataEntry(const std::string& path, const Place& place,
                                    Deadline deadline) {
  auto view = cache_.get(place.endpoint, deadline);
  if (!view) return view.error();
  const tree::Snapshot& snap = *view->snapshot;
  if (place.kind != Place::Kind::raw_json) return nodeEntry(path, snap.find(place.rel), *view);
  Entry e;
  e.timeout = timeoutOf(*view);
  e.attr.ino = inodes_.idFor(path);
  e.attr.mode = S_IFREG | (snap.rawSecret() ? kSecretFilePerm : kFilePerm);
  e.attr.size = snap.raw().size();
  e.attr.mtime_ns = snap.rawMtime();
  return e;
}

Entry Filesystem::nodeEntry(const std::string& path, const tree::Node* node,
                            const cache::View& view) const {
  const tree::Snapshot& snap = *view.snapshot;
  Entry e;
  e.timeout = timeoutOf(view);
  if (node == nullptr) {
    e.negative = true;
    return e;
  }
  e.attr.ino = inodes_.idFor(path);
  e.attr.mtime_ns = node->mtime_ns;
  switch (node->kind) {
    case tree::Node::Kind::directory:
      e.attr.mode = S_IFDIR | (node->secret ? kSecretDirPerm : kDirPerm);
      break;
    case tree::Node::Kind::file:
      e.attr.mode = S_IFREG | (node->secret ? kSecretFilePerm : kFilePerm);
      e.attr.size = snap.data(*node).size();
      break;
    case tree::Node::Kind::symlink:
      e.attr.mode = S_IFLNK | 0777;
      e.attr.size = snap.data(*node).size();
      break;
  }
  return e;
}

Result<DynamicContent> Filesystem::dynamicContent(std::size_t index, Deadline deadline) {
  DynamicSlot& slot = *slots_[index];
  std::lock_guard lock(slot.mu);
  SteadyTime now = clock_.steady();
  if (!slot.content || now >= slot.valid_until) {
    auto produced = dynamic_[index].produce(deadline);
    if (!produced) return produced.error();
    slot.valid_until = now + produced->valid_for;
    slot.content = std::make_shared<const DynamicContent>(std::move(produced).value());
  }
  return *slot.content;
}

Status Filesystem::readdir(std::uint64_t ino, std::uint64_t offset, const EntrySink& emit) {
  auto path = inodes_.pathOf(ino);
  if (!path) return makeError(ENOENT, "unknown inode", LogLevel::debug);
  Place place = classify(*path);
  // Positions: "." and "..", then a snapshot's children (built only when visited, so a
  // directory of 10,000 entries costs O(n) over all readdir calls), then the rest.
  std::vector<DirEntry> head;
  head.push_back({".", dirEntryFor(*path, kDirPerm, 0, 0)});
  head.push_back({"..", {}});
  head.back().entry.attr.ino = parentOf(ino);
  head.back().entry.attr.mode = S_IFDIR;
  std::vector<DirEntry> tail;
  std::span<const tree::Node> kids;
  std::optional<cache::View> view;
  switch (place.kind) {
    case Place::Kind::root:
      listRoot(tail);
      break;
    case Place::Kind::dynamic_dir:
      for (const auto& d : dynamic_) {
        if (d.hidden || dirname(d.path) != *path) continue;
        Entry e;
        e.known = false;  // producing a token just to list it would cost a request
        e.attr.ino = inodes_.idFor(d.path);
        e.attr.mode = S_IFREG | d.perm;
        tail.push_back({std::string(basename(d.path)), e});
      }
      break;
    case Place::Kind::endpoint_dir:
    case Place::Kind::data: {
      auto got = cache_.get(place.endpoint, deadline());
      if (!got) return got.error();
      view = std::move(got).value();
      const tree::Node* node = view->snapshot->find(place.rel);
      if (node == nullptr) return makeError(ENOENT, "no longer present: " + *path, LogLevel::debug);
      if (node->kind != tree::Node::Kind::directory) {
        return makeError(ENOTDIR, "not a directory: " + *path, LogLevel::debug);
      }
      kids = view->snapshot->children(*node);
      if (place.kind == Place::Kind::endpoint_dir) listEndpointChildren(*path, tail);
      break;
    }
    default:
      return makeError(ENOTDIR, "not a directory: " + *path, LogLevel::debug);
  }
  const std::size_t total = head.size() + kids.size() + tail.size();
  for (auto i = static_cast<std::size_t>(offset); i < total; ++i) {
    bool more = true;
    if (i < head.size()) {
      more = emit(head[i], i + 1);
    } else if (i < head.size() + kids.size()) {
      const tree::Node& child = kids[i - head.size()];
      std::string name(view->snapshot->name(child));
      std::string child_path = join(*path, name);
      more = emit({std::move(name), nodeEntry(child_path, &child, *view)}, i + 1);
    } else {
      more = emit(tail[i - head.size() - kids.size()], i + 1);
    }
    if (!more) break;
  }
  return Ok{};
}

Result<std::vector<DirEntry>> Filesystem::list(std::uint64_t ino) {
  std::vector<DirEntry> out;
  auto s = readdir(ino, 2, [&](const DirEntry& d, std::uint64_t) {
    out.push_back(d);
    return true;
  });
  if (!s) return s.error();
  return out;
}

void Filesystem::listRoot(std::vector<DirEntry>& out) {
  listEndpointChildren("", out);
  for (const auto& d : dynamic_) {
    auto top = d.path.substr(0, d.path.find('/'));
    if (d.hidden || top == d.path) continue;  // top-level dynamic files are hidden ones
    if (std::any_of(out.begin(), out.end(), [&](const DirEntry& e) { return e.name == top; })) {
      continue;
    }
    out.push_back({top, dirEntryFor(top, kDirPerm, mount_time_ns_,
                                    static_cast<double>(options_.default_ttl.count()))});
  }
}

// Child endpoints of `dir`: their directories and <name>.json, known without fetching.
void Filesystem::listEndpointChildren(const std::string& dir, std::vector<DirEntry>& out) {
  for (int child : catalog_.childrenOf(dir)) {
    if (cache_.knownAbsent(child)) continue;
    const auto& spec = catalog_.endpoints()[static_cast<std::size_t>(child)];
    auto dir_entry = endpointDirEntry(spec.mount_path, child);
    if (dir_entry) out.push_back({std::string(spec.name()), dir_entry.value()});
    std::string raw = spec.mount_path + std::string(kRawSuffix);
    Entry e;
    e.attr.ino = inodes_.idFor(raw);
    e.attr.mode = S_IFREG | (spec.rawIsSecret() ? kSecretFilePerm : kFilePerm);
    if (auto view = cache_.peek(child)) {
      e.attr.size = view->snapshot->raw().size();
      e.attr.mtime_ns = view->snapshot->rawMtime();
      e.timeout = timeoutOf(*view);
    } else {
      e.known = false;
    }
    out.push_back({std::string(spec.name()) + std::string(kRawSuffix), e});
  }
}

Result<Content> Filesystem::read(std::uint64_t ino, std::uint64_t offset, std::size_t size) {
  auto path = inodes_.pathOf(ino);
  if (!path) return makeError(ENOENT, "unknown inode", LogLevel::debug);
  Place place = classify(*path);
  if (place.kind == Place::Kind::dynamic_file) {
    auto content = dynamicContent(static_cast<std::size_t>(place.dynamic), deadline());
    if (!content) return content.error();
    auto owner = std::make_shared<const std::string>(std::move(content->bytes));
    return slice(owner, *owner, offset, size);
  }
  if (place.kind != Place::Kind::data && place.kind != Place::Kind::raw_json) {
    return makeError(EISDIR, "not a file: " + *path, LogLevel::debug);
  }
  auto view = cache_.get(place.endpoint, deadline());
  if (!view) return view.error();
  auto snap = view->snapshot;
  if (place.kind == Place::Kind::raw_json) return slice(snap, snap->raw(), offset, size);
  const tree::Node* node = snap->find(place.rel);
  if (node == nullptr) return makeError(ENOENT, "no longer present: " + *path, LogLevel::debug);
  if (node->kind != tree::Node::Kind::file) {
    return makeError(EISDIR, "not a file: " + *path, LogLevel::debug);
  }
  return slice(snap, snap->data(*node), offset, size);
}

Result<std::string> Filesystem::readlink(std::uint64_t ino) {
  auto path = inodes_.pathOf(ino);
  if (!path) return makeError(ENOENT, "unknown inode", LogLevel::debug);
  Place place = classify(*path);
  if (place.kind != Place::Kind::data) return makeError(EINVAL, "not a link", LogLevel::debug);
  auto view = cache_.get(place.endpoint, deadline());
  if (!view) return view.error();
  const tree::Node* node = view->snapshot->find(place.rel);
  if (node == nullptr) return makeError(ENOENT, "no longer present: " + *path, LogLevel::debug);
  if (node->kind != tree::Node::Kind::symlink)
    return makeError(EINVAL, "not a link", LogLevel::debug);
  return std::string(view->snapshot->data(*node));
}

std::uint64_t Filesystem::parentOf(std::uint64_t ino) const {
  auto path = inodes_.pathOf(ino);
  if (!path || path->empty()) return InodeTable::kRoot;
  return inodes_.find(dirname(*path)).value_or(InodeTable::kRoot);
}

std::vector<Invalidation> Filesystem::invalidationsFor(int endpoint,
                                                       const tree::ChangeList& changes,
                                                       bool vanished) const {
  const std::string& mount = catalog_.endpoints()[static_cast<std::size_t>(endpoint)].mount_path;
  std::vector<Invalidation> out;
  auto inode = [&](const std::string& path) {
    if (auto ino = inodes_.find(path)) out.push_back({Invalidation::Kind::inode, *ino, {}});
  };
  auto entry = [&](const std::string& path) {
    if (auto dir = inodes_.find(dirname(path))) {
      out.push_back({Invalidation::Kind::entry, *dir, std::string(basename(path))});
    }
  };
  for (const auto& rel : changes.changed)
    inode(join(mount, rel));
  for (const auto& rel : changes.removed)
    entry(join(mount, rel));
  for (const auto& rel : changes.added)
    entry(join(mount, rel));
  if (changes.raw_changed) inode(mount + std::string(kRawSuffix));
  if (vanished) {
    entry(mount);
    entry(mount + std::string(kRawSuffix));
    inode(std::string(dirname(mount)));
  }
  return out;
}

std::vector<Invalidation> Filesystem::invalidateAll() const {
  std::vector<Invalidation> out;
  for (std::uint64_t ino = 1; ino <= inodes_.size(); ++ino) {
    out.push_back({Invalidation::Kind::inode, ino, {}});
  }
  return out;
}

}  // namespace mdfs::mount
