#include "mount/inode_table.h"

#include <mutex>
#include <vector>

namespace mdfs::mount {

InodeTable::InodeTable() {
  entries_.push_back({0, {}});
}

namespace {

// Splits the first component off `path`.
std::string_view nextName(std::string_view& path) {
  auto slash = path.find('/');
  std::string_view name = path.substr(0, slash);
  path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
  return name;
}

}  // namespace

std::pair<std::uint64_t, std::string_view> InodeTable::known(std::string_view path) const {
  std::uint64_t ino = kRoot;
  while (!path.empty()) {
    std::string_view rest = path;
    auto it = ids_.find(Key{ino, nextName(rest)});
    if (it == ids_.end()) break;
    ino = it->second;
    path = rest;
  }
  return {ino, path};
}

std::uint64_t InodeTable::idFor(std::string_view path) {
  {
    std::shared_lock lock(mu_);
    auto [ino, rest] = known(path);
    if (rest.empty()) return ino;
  }
  std::unique_lock lock(mu_);
  auto [ino, rest] = known(path);
  while (!rest.empty()) {
    entries_.push_back({ino, std::string(nextName(rest))});
    std::uint64_t id = entries_.size();
    ids_.emplace(Key{ino, entries_.back().name}, id);
    ino = id;
  }
  return ino;
}

std::optional<std::uint64_t> InodeTable::find(std::string_view path) const {
  std::shared_lock lock(mu_);
  auto [ino, rest] = known(path);
  if (!rest.empty()) return std::nullopt;
  return ino;
}

std::optional<std::string> InodeTable::pathOf(std::uint64_t ino) const {
  std::shared_lock lock(mu_);
  if (ino == 0 || ino > entries_.size()) return std::nullopt;
  std::vector<const std::string*> names;
  for (std::uint64_t at = ino; at != kRoot; at = entries_[at - 1].parent) {
    names.push_back(&entries_[at - 1].name);
  }
  std::string path;
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    if (!path.empty()) path += '/';
    path += **it;
  }
  return path;
}

std::size_t InodeTable::size() const {
  std::shared_lock lock(mu_);
  return entries_.size();
}

}  // namespace mdfs::mount
