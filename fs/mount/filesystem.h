// The filesystem's logic, free of libfuse types so it can be tested without a mount:
// paths are resolved against the catalog (where endpoints sit), the cache (their data)
// and a few dynamic files (identity tokens, .status). The FUSE adapter only translates.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cache/resource_cache.h"
#include "common/clock.h"
#include "common/error.h"
#include "mount/inode_table.h"
#include "mount/poll_registry.h"
#include "mount/tree_reader.h"
#include "tree/catalog.h"

namespace mdfs::mount {

struct Attributes {
  std::uint64_t ino = 0;
  std::uint32_t mode = 0;  // file type and permission bits
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool secret = false;  // owned by the secrets group when there is one
};

// A lookup or getattr answer. `has_attributes` is false for directory entries whose
// attributes are not known without a fetch that failed or was not needed; the kernel then
// looks them up when it wants them.
struct Entry {
  Attributes attr;
  double timeout = 0;  // seconds the kernel may keep the entry and attributes
  bool has_attributes = true;
  bool negative = false;  // the name does not exist (cacheable for `timeout`)
};

struct DirEntry {
  std::string name;
  Entry entry;
};

// Bytes to return from a read, kept alive by `owner` (a snapshot or a produced string).
struct Content {
  std::shared_ptr<const void> owner;
  std::string_view bytes;
};

struct DynamicContent {
  std::string bytes;
  std::int64_t mtime_ns = 0;  // files with sources are dated by their content instead
  Millis valid_for{1000};     // how long the bytes may be reused and cached by the kernel
  bool absent = false;        // no such file, for `valid_for` (files that are `optional`)
};

// A file whose bytes are produced on demand rather than fetched into a snapshot.
struct DynamicFile {
  std::string path;  // "identity/token", ".status", "well-known/zone"
  std::uint32_t perm = 0444;
  bool secret = false;  // 0400, or 0440 and the secrets group (perm is then ignored)
  bool hidden = false;  // left out of directory listings, still found by name
  // Paths of the tree the bytes derive from ("instance/zone/name", "keys"). Such a file is
  // kept no longer than their data (the kernel's timeouts follow their TTLs), is produced
  // again when one of their endpoints changes, and is dated by its content: its mtime moves
  // only when its bytes do.
  std::vector<std::string> sources;
  // The file may be absent (produce() says so with DynamicContent::absent or a not_found
  // error): listing its directory produces it to know, so that every listed name exists.
  bool optional = false;
  std::function<Result<DynamicContent>(Deadline)> produce;
};

// What the kernel must be told: drop an inode's attributes and pages, or a name in a
// directory; or wake the open file that polled (poll_registry.h).
struct Invalidation {
  enum class Kind { inode, entry, poll } kind = Kind::inode;
  std::uint64_t ino = 0;  // the inode, or the directory holding `name`
  std::string name;
  PollHandle poll;  // Kind::poll

  static Invalidation inode(std::uint64_t ino) { return {Kind::inode, ino, {}, {}}; }
  static Invalidation entry(std::uint64_t dir, std::string name) {
    return {Kind::entry, dir, std::move(name), {}};
  }
  static Invalidation wake(PollHandle handle) { return {Kind::poll, 0, {}, std::move(handle)}; }
};

struct FilesystemOptions {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  // secrets_group=: secrets become 0440 (directories 0550) and this group's; unset: 0400.
  std::optional<std::uint32_t> secrets_gid;
  Millis op_timeout{10000};  // the deadline of one filesystem operation
  Seconds default_ttl{60};   // kernel timeout of entries that carry no fetched data
};

class Filesystem final : public TreeReader {
 public:
  Filesystem(const tree::Catalog& catalog, cache::ResourceCache& cache, InodeTable& inodes,
             FilesystemOptions options, const Clock& clock);
  ~Filesystem() override;
  Filesystem(const Filesystem&) = delete;
  Filesystem& operator=(const Filesystem&) = delete;

  // Call before serving; dynamic files never change after that.
  void addDynamicFile(DynamicFile file);
  // Sends `item` to the kernel at `at`, replacing what is scheduled under `key` (the
  // wake-ups of pollers of files whose content moves with time: .status, tokens). Call
  // before serving.
  using Scheduler = std::function<void(std::uint64_t key, Invalidation item, SteadyTime at)>;
  void setScheduler(Scheduler scheduler);

  // A name in a directory. The inode of a found entry counts as one lookup by the kernel
  // (see forget).
  Result<Entry> lookup(std::uint64_t parent, std::string_view name);
  Result<Entry> getattr(std::uint64_t ino);
  // Whether lookup / getattr / readlink / read would answer from memory, without waiting
  // on the service (fresh data, or a failure just met: ResourceCache::answersWithoutFetching):
  // such a request is answered on the thread that received it, never queued behind
  // requests that wait. A second request of one system call (a listing's last chunk, the
  // GETATTR after a LOOKUP) thus gets at once what the first one just learned.
  [[nodiscard]] bool answersAtOnce(std::uint64_t ino) const;
  [[nodiscard]] bool answersAtOnce(std::uint64_t parent, std::string_view name) const;
  // Whether readdir of `ino` from `offset` would list from memory, as above: its data and,
  // for the first chunk of an endpoint's directory or of the root, every child endpoint (a
  // later chunk takes the data held, stale or not).
  [[nodiscard]] bool listsAtOnce(std::uint64_t ino, std::uint64_t offset) const;
  // The kernel forgot `count` lookups of `ino`.
  void forget(std::uint64_t ino, std::uint64_t count);
  // Visits a directory's entries from position `offset` ("." is 0, ".." is 1) until
  // `emit` returns false; `next` is the position after the entry. Only visited entries
  // are built. Listing a directory first learns, in one parallel round of fetches, which of
  // its child endpoints exist, so every name listed can be looked up. With `plus`, entries
  // with attributes carry an inode that counts as a lookup (READDIRPLUS).
  using EntrySink = std::function<bool(const DirEntry& entry, std::uint64_t next)>;
  Status readdir(std::uint64_t ino, std::uint64_t offset, bool plus, const EntrySink& emit);
  // Every entry but "." and "..".
  Result<std::vector<DirEntry>> list(std::uint64_t ino);
  Result<Content> read(std::uint64_t ino, std::uint64_t offset, std::size_t size);
  Result<std::string> readlink(std::uint64_t ino);
  [[nodiscard]] std::uint64_t parentOf(std::uint64_t ino) const;
  [[nodiscard]] std::size_t inodeCount() const { return inodes_.size(); }
  [[nodiscard]] std::uint32_t uid() const { return options_.uid; }
  [[nodiscard]] std::uint32_t gid() const { return options_.gid; }
  // The group of an entry with these attributes.
  [[nodiscard]] std::uint32_t gidOf(const Attributes& a) const {
    return a.secret ? options_.secrets_gid.value_or(options_.gid) : options_.gid;
  }
  [[nodiscard]] Millis opTimeout() const { return options_.op_timeout; }

  // poll(2) on the regular file `ino`, from the kernel's open file `kh` when known, with
  // `handle` to wake it later (null when no notification was asked for). True when the
  // content changed since that open file last saw it (poll_registry.h): POLLPRI | POLLERR.
  bool poll(std::uint64_t ino, std::optional<std::uint64_t> kh, PollHandle handle);

  // What the kernel must forget after the cache published a change to `endpoint`.
  [[nodiscard]] std::vector<Invalidation> invalidationsFor(int endpoint,
                                                           const tree::ChangeList& changes,
                                                           cache::Presence presence) const;
  // After the cache published a fetch of `endpoint` (the change callback): the
  // invalidations above, those of synthesized files derived from it (produced again on
  // their next use), then the wake-ups of its pollers, in the order they must be sent.
  [[nodiscard]] std::vector<Invalidation> fetched(int endpoint, const tree::ChangeList& changes,
                                                  cache::Presence presence);
  [[nodiscard]] const PollRegistry& pollers() const { return pollers_; }

  // TreeReader: the tree as synthesized files read it.
  Result<std::string> readFile(std::string_view path, Deadline deadline) override;
  Result<std::vector<std::string>> listDirectory(std::string_view path, Deadline deadline) override;
  // Every inode the kernel may hold (after SIGHUP).
  [[nodiscard]] std::vector<Invalidation> invalidateAll() const;

 private:
  struct Place;
  struct DynamicSlot;
  struct Listing;
  struct FileBytes;
  Result<FileBytes> fileAt(const std::string& path, Deadline deadline);
  // Where `path` is. A text cloud's path is followed through its listings, fetching those
  // not held (within `deadline`) unless `fetch` is false: then a Place needing a fetch says
  // so (Place::pending).
  [[nodiscard]] Place classify(std::string_view path, Deadline deadline, bool fetch = true) const;
  [[nodiscard]] Place classify(std::string_view path) const;
  [[nodiscard]] Place walk(std::string_view path, Deadline deadline, bool fetch) const;
  [[nodiscard]] std::optional<cache::View> viewAt(Place& place, Deadline deadline,
                                                  bool fetch) const;
  [[nodiscard]] const std::string& mountPathOf(int endpoint) const;
  // Attributes of `path`; the inode is left for the caller to fill in.
  Result<Entry> entryAt(const std::string& path, Deadline deadline);
  [[nodiscard]] bool answersAtOnce(const std::string& path) const;
  // What the synthesized file `index` holds now without producing it: its valid content,
  // or its last production's failure while held; nullopt when it must be produced.
  [[nodiscard]] std::optional<Result<DynamicContent>> heldDynamic(std::size_t index) const;
  [[nodiscard]] bool dynamicDirHeld(std::string_view dir) const;
  Result<Entry> endpointEntry(int endpoint, bool raw, Deadline deadline);
  Result<Entry> dataEntry(const Place& place, Deadline deadline);
  Result<Entry> dynamicEntry(std::size_t index, Deadline deadline);
  [[nodiscard]] Result<Entry> dynamicEntryOf(std::size_t index,
                                             const Result<DynamicContent>& content) const;
  [[nodiscard]] Entry endpointDirOf(int endpoint, const cache::View& view) const;
  [[nodiscard]] Entry withChildren(std::string_view dir, Entry own) const;
  [[nodiscard]] Entry rawOf(const cache::View& view) const;
  [[nodiscard]] Entry nodeEntry(const tree::Node* node, const cache::View& view) const;
  [[nodiscard]] Entry negativeFor(const cache::View& view) const;
  [[nodiscard]] Entry dynamicDirEntry(std::string_view dir) const;
  Result<DynamicContent> dynamicContent(std::size_t index, Deadline deadline);
  Result<DynamicContent> produceDynamic(std::size_t index, Deadline deadline);
  [[nodiscard]] Millis sourceValidity(const DynamicSlot& slot) const;
  [[nodiscard]] std::vector<Invalidation> derivedInvalidations(int endpoint);
  [[nodiscard]] std::vector<int> endpointsOf(const std::string& path) const;
  [[nodiscard]] std::optional<std::int64_t> versionOf(const std::string& path);
  void applyWatching(const std::vector<PollRegistry::Transition>& transitions);
  void scheduleWake(std::size_t index, std::uint64_t kh, PollHandle handle);
  Status listRoot(Listing& listing, Deadline deadline);
  Status listDynamicDir(const std::string& dir, Listing& listing, Deadline deadline);
  Result<cache::View> listedView(int endpoint, bool resumed, Deadline deadline);
  Result<Entry> listedDynamic(std::size_t index, bool resumed, Deadline deadline);
  Status listData(const Place& place, const std::string& path, Listing& listing, Deadline deadline);
  Status listChildEndpoints(const std::string& dir, Listing& listing, bool need_one) const;
  [[nodiscard]] bool reservedName(const std::string& dir, std::string_view name) const;
  [[nodiscard]] std::uint64_t inodeFor(const std::string& path, bool counted);
  [[nodiscard]] Entry dirEntry(std::int64_t mtime_ns, double timeout) const;
  [[nodiscard]] double timeoutOf(const cache::View& view) const;
  // S_IFREG or S_IFDIR with the permission bits of a plain or a secret entry.
  void setMode(Attributes& a, std::uint32_t type, bool secret) const;
  void setMode(Attributes& a, const DynamicFile& d) const;
  [[nodiscard]] Deadline deadline() const { return deadlineIn(options_.op_timeout); }

  const tree::Catalog& catalog_;
  cache::ResourceCache& cache_;
  InodeTable& inodes_;
  FilesystemOptions options_;
  const Clock& clock_;
  std::int64_t mount_time_ns_;
  int root_endpoint_ = -1;  // a text cloud's root listing (AWS, GCE); -1 otherwise
  std::vector<DynamicFile> dynamic_;
  std::vector<std::unique_ptr<DynamicSlot>> slots_;
  PollRegistry pollers_;
  Scheduler scheduler_;
};

}  // namespace mdfs::mount
