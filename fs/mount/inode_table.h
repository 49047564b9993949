// Inode numbers are assigned once per path and never reused (DESIGN §5): the tree is
// small and bounded, so there is no lifetime bookkeeping to get wrong. The root is 1.
#pragma once

#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mdfs::mount {

class InodeTable {
 public:
  static constexpr std::uint64_t kRoot = 1;

  InodeTable();
  // The inode of `path` ("" is the root), assigning the next number on first use.
  std::uint64_t idFor(const std::string& path);
  // The inode of `path` if one was ever assigned.
  [[nodiscard]] std::optional<std::uint64_t> find(const std::string& path) const;
  // The path of inode `ino`, if assigned.
  [[nodiscard]] std::optional<std::string> pathOf(std::uint64_t ino) const;
  [[nodiscard]] std::size_t size() const;

 private:
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::uint64_t> ids_;
  std::vector<const std::string*> paths_;  // paths_[ino - 1] points at the map's key
};

}  // namespace mdfs::mount
