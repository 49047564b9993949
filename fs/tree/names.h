// The one rule that turns a JSON key, id or name into a file name (DESIGN §1, rule 2).
//
// A name is used as it is when it is a valid file name: not empty, not "." or "..", no
// "/" or NUL byte, at most 255 bytes. Otherwise it is escaped:
//   - "/", NUL and "%" become %2F, %00 and %25;
//   - "." becomes %2E, ".." becomes %2E%2E, and the empty name becomes %;
//   - a name still longer than 255 bytes keeps its first 238 bytes, then "~" and the
//     16 hex digits of its FNV-1a hash.
// Should two entries of one directory still end up with the same name, the later one in
// document order gets "~2", "~3", ... appended. Nothing is ever dropped.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>

namespace mdfs::tree {

inline constexpr std::size_t kMaxNameBytes = 255;

bool isValidName(std::string_view name);
std::string escapeName(std::string_view raw);

// Hands out unique names within one directory, applying escapeName and the ~N rule.
class NameAllocator {
 public:
  std::string allocate(std::string_view raw);
  // Takes `name` as it is if free (for fixed names such as "by-name").
  bool reserve(const std::string& name) { return used_.insert(name).second; }

 private:
  std::unordered_set<std::string> used_;
};

}  // namespace mdfs::tree
