// What every snapshot must satisfy whatever the service sent (issue 11 §1): shared by the
// fuzz harness and the unit tests.
#pragma once

#include <string>
#include <string_view>

#include "tree/names.h"
#include "tree/snapshot.h"

namespace mdfs::tree {

// Every name valid and unique (strictly sorted) in its directory, found by lookup, and
// every symlink "../<name>" naming an entry of the directory above it. Returns the first
// violation, or "" when there is none.
inline std::string snapshotViolation(const Snapshot& snap, const Node& dir, const Node* above,
                                     const std::string& path) {
  std::string_view previous;
  bool first = true;
  for (const Node& n : snap.children(dir)) {
    std::string_view name = snap.name(n);
    std::string where = path + "/" + std::string(name);
    if (!isValidName(name)) return "invalid name at " + where;
    if (!first && !(previous < name)) return "unsorted or duplicate name at " + where;
    if (snap.child(dir, name) != &n) return "lookup misses " + where;
    first = false;
    previous = name;
    if (n.kind == Node::Kind::symlink) {
      std::string_view target = snap.data(n);
      if (target.substr(0, 3) != "../" || !isValidName(target.substr(3)) || above == nullptr ||
          snap.child(*above, target.substr(3)) == nullptr) {
        return "symlink " + where + " points to " + std::string(target);
      }
    }
    if (n.kind == Node::Kind::directory) {
      std::string bad = snapshotViolation(snap, n, &dir, where);
      if (!bad.empty()) return bad;
    }
  }
  return {};
}

inline std::string snapshotViolation(const Snapshot& snap) {
  return snapshotViolation(snap, snap.root(), nullptr, "");
}

}  // namespace mdfs::tree
