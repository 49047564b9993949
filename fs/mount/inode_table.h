// Inode numbers are assigned once per path and never reused (DESIGN §5): the tree is
// small and bounded, so there is no lifetime bookkeeping to get wrong. The root is 1.
// Entries are keyed by (parent inode, name) rather than by full path, which keeps a table
// of 100,000+ paths small and its lookups cheap.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace mdfs::mount {

class InodeTable {
 public:
  static constexpr std::uint64_t kRoot = 1;

  InodeTable();
  // The inode of `path` ("" is the root; components separated by '/'), assigning the
  // next numbers on first use.
  std::uint64_t idFor(std::string_view path);
  // The inode of `path` if one was ever assigned.
  [[nodiscard]] std::optional<std::uint64_t> find(std::string_view path) const;
  // The path of inode `ino`, if assigned.
  [[nodiscard]] std::optional<std::string> pathOf(std::uint64_t ino) const;
  [[nodiscard]] std::size_t size() const;

 private:
  struct Entry {
    std::uint64_t parent;
    std::string name;
  };
  struct Key {
    std::uint64_t parent;
    std::string_view name;  // points into the Entry's name
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept {
      return std::hash<std::string_view>{}(k.name) ^ (k.parent * 0x9E3779B97F4A7C15ULL);
    }
  };

  // Follows `path` from the root as far as entries exist: the last inode reached and
  // what remains of the path after it. The caller holds the lock.
  [[nodiscard]] std::pair<std::uint64_t, std::string_view> known(std::string_view path) const;

  mutable std::shared_mutex mu_;
  std::deque<Entry> entries_;  // entries_[ino - 1]; a deque never moves its elements
  std::unordered_map<Key, std::uint64_t, KeyHash> ids_;
};

}  // namespace mdfs::mount
