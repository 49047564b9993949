// The one rule that turns a JSON key, id or name into a file name (DESIGN §1, rule 2).
//
// A name is used as it is when it is a valid file name: not empty, not "." or "..", at
// most 255 bytes, and free of "/", NUL and control characters (bytes 0x01-0x1F and 0x7F:
// a newline in a file name breaks `ls`, `find` and most shell scripts). Other bytes,
// invalid UTF-8 included, are kept: Linux file names are bytes. Otherwise it is escaped:
//   - "/", "%", NUL and control characters become %XX (upper-case hex: %2F, %25, %00, %0A);
//   - "." becomes %2E, ".." becomes %2E%2E, and the empty name becomes %;
//   - a name still longer than 255 bytes keeps its first 238 bytes, then "~" and the
//     16 hex digits of the FNV-1a hash of the original.
// Names of one directory are then made unique. A synthesized name (by-name, a sub-resource
// directory <x> and its <x>.json) always wins. Otherwise the first entry in document
// order with a name keeps it, and each later entry with that name gets the first free
// "~N" (N = 2, 3, ...) appended, the name cut short to leave room when needed. A name that
// some entry holds as it is never goes to a suffixed duplicate. Nothing is ever dropped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mdfs::tree {

inline constexpr std::size_t kMaxNameBytes = 255;

// Standard base64 (RFC 4648, padding optional, whitespace ignored); nullopt when `text`
// is not base64.
std::optional<std::string> decodeBase64(std::string_view text);

bool isValidName(std::string_view name);
std::string escapeName(std::string_view raw);

// Names the entries of one directory: reserve() the synthesized names, add() every entry
// in document order, then assign() once and read name(i). Work is O(n log n) in the
// number of entries whatever the names are (no hashing an attacker could aim at).
class NameAllocator {
 public:
  void reserve(std::string_view name);
  // Returns the entry's index for name().
  std::size_t add(std::string_view raw);
  void assign();
  [[nodiscard]] std::string_view name(std::size_t entry) const;
  [[nodiscard]] std::size_t size() const { return entries_.size(); }
  // Candidate "~N" names tried so far: at most entries + reserved names, ever.
  [[nodiscard]] std::uint64_t probes() const { return probes_; }

 private:
  struct Slot {
    std::uint32_t offset = 0;  // in arena_ (or generated_ when `generated`)
    std::uint32_t size = 0;
    bool generated = false;
  };
  [[nodiscard]] std::string_view text(const Slot& s) const;
  [[nodiscard]] bool taken(std::string_view name) const;

  std::string arena_;      // escaped names, back to back
  std::string generated_;  // names with a ~N suffix
  std::vector<Slot> entries_;
  std::vector<Slot> reserved_;
  std::vector<std::string_view> sorted_;  // every name held as it is, sorted, for taken()
  std::uint64_t probes_ = 0;
};

}  // namespace mdfs::tree
