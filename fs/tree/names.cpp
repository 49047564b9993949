#include "tree/names.h"

#include <cstdint>

namespace mdfs::tree {
namespace {

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string hex16(std::uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4)
    out[static_cast<std::size_t>(i)] = kDigits[v & 0xF];
  return out;
}

std::string percentEncode(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    switch (c) {
      case '/':
        out += "%2F";
        break;
      case '\0':
        out += "%00";
        break;
      case '%':
        out += "%25";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

bool isValidName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.size() <= kMaxNameBytes &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

std::string escapeName(std::string_view raw) {
  if (isValidName(raw)) return std::string(raw);
  if (raw.empty()) return "%";
  if (raw == ".") return "%2E";
  if (raw == "..") return "%2E%2E";
  std::string out = percentEncode(raw);
  if (out.size() > kMaxNameBytes) {
    constexpr std::size_t kKeep = kMaxNameBytes - 17;  // room for "~" + 16 hex digits
    out = out.substr(0, kKeep) + "~" + hex16(fnv1a(raw));
  }
  return out;
}

std::string NameAllocator::allocate(std::string_view raw) {
  std::string name = escapeName(raw);
  if (used_.insert(name).second) return name;
  for (int n = 2;; ++n) {
    std::string suffix = "~" + std::to_string(n);
    std::string candidate = name.size() + suffix.size() > kMaxNameBytes
                                ? name.substr(0, kMaxNameBytes - suffix.size()) + suffix
                                : name + suffix;
    if (used_.insert(candidate).second) return candidate;
  }
}

}  // namespace mdfs::tree
