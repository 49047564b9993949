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
#include "tree/catalog.h"

namespace mdfs::mount {

struct Attributes {
  std::uint64_t ino = 0;
  std::uint32_t mode = 0;  // file type and permission bits
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
};

// A lookup or getattr answer. `known` is false for directory entries whose attributes
// would cost a fetch to learn; the kernel then looks them up when needed.
struct Entry {
  Attributes attr;
  double timeout = 0;  // seconds the kernel may keep the entry and attributes
  bool known = true;
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
  std::int64_t mtime_ns = 0;
  Millis valid_for{1000};  // how long the bytes may be reused and cached by the kernel
};

// A file whose bytes are produced on demand rather than fetched into a snapshot.
struct DynamicFile {
  std::string path;  // "identity/token", ".status"
  std::uint32_t perm = 0444;
  bool hidden = false;  // left out of directory listings, still found by name
  std::function<Result<DynamicContent>(Deadline)> produce;
};

// A cache the kernel must drop: an inode's attributes and pages, or a name in a directory.
struct Invalidation {
  enum class Kind { inode, entry } kind = Kind::inode;
  std::uint64_t ino = 0;  // the inode, or the directory holding `name`
  std::string name;
};

struct FilesystemOptions {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  Millis op_timeout{10000};  // the deadline of one filesystem operation
  Seconds default_ttl{60};   // kernel timeout of entries that carry no fetched data
};

class Filesystem {
 public:
  Filesystem(const tree::Catalog& catalog, cache::ResourceCache& cache, InodeTable& inodes,
             FilesystemOptions options, const Clock& clock);
  ~Filesystem();
  Filesystem(const Filesystem&) = delete;
  Filesystem& operator=(const Filesystem&) = delete;

  // Call before serving; dynamic files never change after that.
  void addDynamicFile(DynamicFile file);

  Result<Entry> lookup(std::uint64_t parent, std::string_view name);
  Result<Entry> getattr(std::uint64_t ino);
  // Visits a directory's entries from position `offset` ("." is 0, ".." is 1) until
  // `emit` returns false; `next` is the position after the entry. Only visited entries
  // are built.
  using EntrySink = std::function<bool(const DirEntry& entry, std::uint64_t next)>;
  Status readdir(std::uint64_t ino, std::uint64_t offset, const EntrySink& emit);
  // Every entry but "." and "..".
  Result<std::vector<DirEntry>> list(std::uint64_t ino);
  Result<Content> read(std::uint64_t ino, std::uint64_t offset, std::size_t size);
  Result<std::string> readlink(std::uint64_t ino);
  [[nodiscard]] std::uint64_t parentOf(std::uint64_t ino) const;
  [[nodiscard]] std::size_t inodeCount() const { return inodes_.size(); }
  [[nodiscard]] std::uint32_t uid() const { return options_.uid; }
  [[nodiscard]] std::uint32_t gid() const { return options_.gid; }

  // What the kernel must forget after the cache published a change to `endpoint`.
  [[nodiscard]] std::vector<Invalidation> invalidationsFor(int endpoint,
                                                           const tree::ChangeList& changes,
                                                           bool vanished) const;
  // Every inode the kernel may hold (after SIGHUP).
  [[nodiscard]] std::vector<Invalidation> invalidateAll() const;

 private:
  struct Place;
  struct DynamicSlot;
  [[nodiscard]] Place classify(std::string_view path) const;
  Result<Entry> entryAt(const std::string& path, Deadline deadline);
  [[nodiscard]] Result<Entry> endpointDirEntry(const std::string& path, int endpoint) const;
  Result<Entry> dataEntry(const std::string& path, const Place& place, Deadline deadline);
  [[nodiscard]] Entry nodeEntry(const std::string& path, const tree::Node* node,
                                const cache::View& view) const;
  Result<DynamicContent> dynamicContent(std::size_t index, Deadline deadline);
  void listRoot(std::vector<DirEntry>& out);
  void listEndpointChildren(const std::string& dir, std::vector<DirEntry>& out);
  [[nodiscard]] Entry dirEntryFor(const std::string& path, std::uint32_t perm,
                                  std::int64_t mtime_ns, double timeout) const;
  [[nodiscard]] double timeoutOf(const cache::View& view) const;
  [[nodiscard]] Deadline deadline() const { return deadlineIn(options_.op_timeout); }

  const tree::Catalog& catalog_;
  cache::ResourceCache& cache_;
  InodeTable& inodes_;
  FilesystemOptions options_;
  const Clock& clock_;
  std::int64_t mount_time_ns_;
  std::vector<DynamicFile> dynamic_;
  std::vector<std::unique_ptr<DynamicSlot>> slots_;
};

}  // namespace mdfs::mount
