#include "mount/inode_table.h"

#include <mutex>

namespace mdfs::mount {

InodeTable::InodeTable() {
  idFor("");
}

std::uint64_t InodeTable::idFor(const std::string& path) {
  {
    std::shared_lock lock(mu_);
    auto it = ids_.find(path);
    if (it != ids_.end()) return it->second;
  }
  std::unique_lock lock(mu_);
  auto [it, inserted] = ids_.try_emplace(path, paths_.size() + 1);
  // Map nodes are stable, so the vector may point at their keys.
  if (inserted) paths_.push_back(&it->first);
  return it->second;
}

std::optional<std::uint64_t> InodeTable::find(const std::string& path) const {
  std::shared_lock lock(mu_);
  auto it = ids_.find(path);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> InodeTable::pathOf(std::uint64_t ino) const {
  std::shared_lock lock(mu_);
  if (ino == 0 || ino > paths_.size()) return std::nullopt;
  return *paths_[ino - 1];
}

std::size_t InodeTable::size() const {
  std::shared_lock lock(mu_);
  return paths_.size();
}

}  // namespace mdfs::mount
