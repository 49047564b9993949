// Inode numbers for paths, counted the way the kernel counts them (DESIGN §5, issue 11).
// A number is handed out once and never reused; every lookup reply the kernel receives
// raises the path's count, every FORGET lowers it, and a path whose count reaches zero and
// that has no counted children is dropped. The table therefore holds what the kernel may
// hold, not every name the service ever sent (a service that renames its items on every
// fetch cannot grow it without bound). The root is 1 and never forgotten.
// Entries are keyed by (parent inode, name) rather than by full path, which keeps a table
// of 100,000+ paths small and its lookups cheap.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/mutex.h"

namespace mdfs::mount {

class InodeTable {
 public:
  static constexpr std::uint64_t kRoot = 1;

  InodeTable();
  // The inode of `path` ("" is the root; components separated by '/') for a reply that
  // hands it to the kernel: assigned on first use, and its lookup count raised by one.
  std::uint64_t acquire(std::string_view path);
  // The kernel dropped `count` lookups of `ino`.
  void forget(std::uint64_t ino, std::uint64_t count);
  // The inode of `path` while the kernel may hold it.
  [[nodiscard]] std::optional<std::uint64_t> find(std::string_view path) const;
  // The path of inode `ino`, while known.
  [[nodiscard]] std::optional<std::string> pathOf(std::uint64_t ino) const;
  // Inodes known now (the root included).
  [[nodiscard]] std::size_t size() const;
  // Every inode known now.
  [[nodiscard]] std::vector<std::uint64_t> all() const;

 private:
  struct Node {
    std::uint64_t parent = 0;
    std::string name;
    std::uint64_t lookups = 0;   // lookups the kernel has not forgotten
    std::uint64_t children = 0;  // nodes whose parent this is
  };
  struct Key {
    std::uint64_t parent;
    std::string_view name;  // points into the Node's name
    bool operator==(const Key& o) const { return parent == o.parent && name == o.name; }
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept {
      return std::hash<std::string_view>{}(k.name) ^ (k.parent * 0x9E3779B97F4A7C15ULL);
    }
  };

  // Follows `path` from the root as far as nodes exist: the last inode reached and what
  // remains of the path after it. The caller holds the lock.
  [[nodiscard]] std::pair<std::uint64_t, std::string_view> known(std::string_view path) const
      REQUIRES_SHARED(mu_);
  // Drops `ino` and then its ancestors while they are unused. The caller holds the lock.
  void prune(std::uint64_t ino) REQUIRES(mu_);

  mutable SharedMutex mu_;
  std::unordered_map<std::uint64_t, Node> nodes_ GUARDED_BY(mu_);  // node addresses are stable
  std::unordered_map<Key, std::uint64_t, KeyHash> ids_ GUARDED_BY(mu_);
  std::uint64_t next_ GUARDED_BY(mu_) = kRoot + 1;
};

}  // namespace mdfs::mount
