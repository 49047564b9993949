#include "mount/inode_table.h"

#include <algorithm>

namespace mdfs::mount {
namespace {

// Splits the first component off `path`.
std::string_view nextName(std::string_view& path) {
  auto slash = path.find('/');
  std::string_view name = path.substr(0, slash);
  path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
  return name;
}

}  // namespace

InodeTable::InodeTable() {
  nodes_[kRoot] = Node{0, {}, 1, 0};
}

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

std::uint64_t InodeTable::acquire(std::string_view path) {
  WriterLock lock(mu_);
  auto [ino, rest] = known(path);
  while (!rest.empty()) {
    std::uint64_t id = next_++;
    Node& node = nodes_[id];
    node.parent = ino;
    node.name = std::string(nextName(rest));
    ids_.emplace(Key{ino, node.name}, id);
    ++nodes_[ino].children;
    ino = id;
  }
  ++nodes_[ino].lookups;
  return ino;
}

void InodeTable::forget(std::uint64_t ino, std::uint64_t count) {
  WriterLock lock(mu_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end() || ino == kRoot) return;
  it->second.lookups -= std::min(count, it->second.lookups);
  prune(ino);
}

void InodeTable::prune(std::uint64_t ino) {
  while (ino != kRoot) {
    auto it = nodes_.find(ino);
    if (it == nodes_.end() || it->second.lookups > 0 || it->second.children > 0) return;
    std::uint64_t parent = it->second.parent;
    ids_.erase(Key{parent, it->second.name});
    nodes_.erase(it);
    --nodes_[parent].children;
    ino = parent;
  }
}

std::optional<std::uint64_t> InodeTable::find(std::string_view path) const {
  ReaderLock lock(mu_);
  auto [ino, rest] = known(path);
  if (!rest.empty()) return std::nullopt;
  return ino;
}

std::optional<std::string> InodeTable::pathOf(std::uint64_t ino) const {
  ReaderLock lock(mu_);
  std::vector<const std::string*> names;
  for (std::uint64_t at = ino; at != kRoot;) {
    auto it = nodes_.find(at);
    if (it == nodes_.end()) return std::nullopt;
    names.push_back(&it->second.name);
    at = it->second.parent;
  }
  std::string path;
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    if (!path.empty()) path += '/';
    path += **it;
  }
  return path;
}

std::size_t InodeTable::size() const {
  ReaderLock lock(mu_);
  return nodes_.size();
}

std::vector<std::uint64_t> InodeTable::all() const {
  ReaderLock lock(mu_);
  std::vector<std::uint64_t> out;
  out.reserve(nodes_.size());
  for (const auto& [ino, node] : nodes_)
    out.push_back(ino);
  return out;
}

}  // namespace mdfs::mount
