#include "tree/names.h"

#include <algorithm>
#include <numeric>

namespace mdfs::tree {
namespace {

// Room for "~" and the decimal digits of any 32-bit entry count.
constexpr std::size_t kMaxSuffixBytes = 11;
constexpr std::size_t kStemBytes = kMaxNameBytes - kMaxSuffixBytes;

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

bool needsPercent(unsigned char c) {
  return c == '/' || c == '%' || c < 0x20 || c == 0x7F;
}

std::string percentEncode(std::string_view raw) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(raw.size());
  for (char ch : raw) {
    auto c = static_cast<unsigned char>(ch);
    if (!needsPercent(c)) {
      out += ch;
      continue;
    }
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  }
  return out;
}

// The name with "~n" appended, cut short so that it stays within kMaxNameBytes.
std::string withSuffix(std::string_view name, std::uint32_t n) {
  std::string suffix = "~" + std::to_string(n);
  std::string out(name.substr(0, std::min(name.size(), kMaxNameBytes - suffix.size())));
  return out + suffix;
}

// Names sharing a stem share one ~N counter. Two different stems can never produce the
// same candidate (the digits after the last "~" fix N, and then the first kStemBytes
// bytes fix the stem), so a counter only ever steps over names held as they are.
std::string_view stemOf(std::string_view name) {
  return name.substr(0, std::min(name.size(), kStemBytes));
}

}  // namespace

bool isValidName(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.size() > kMaxNameBytes) return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u == '/' || u < 0x20 || u == 0x7F;
  });
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

void NameAllocator::reserve(std::string_view name) {
  reserved_.push_back(
      {static_cast<std::uint32_t>(arena_.size()), static_cast<std::uint32_t>(name.size()), false});
  arena_ += name;
}

std::size_t NameAllocator::add(std::string_view raw) {
  std::string name = escapeName(raw);
  entries_.push_back(
      {static_cast<std::uint32_t>(arena_.size()), static_cast<std::uint32_t>(name.size()), false});
  arena_ += name;
  return entries_.size() - 1;
}

std::string_view NameAllocator::text(const Slot& s) const {
  const std::string& from = s.generated ? generated_ : arena_;
  return std::string_view(from).substr(s.offset, s.size);
}

std::string_view NameAllocator::name(std::size_t entry) const {
  return text(entries_.at(entry));
}

bool NameAllocator::taken(std::string_view name) const {
  return std::binary_search(sorted_.begin(), sorted_.end(), name);
}

void NameAllocator::assign() {
  for (const Slot& s : reserved_)
    sorted_.push_back(text(s));
  std::vector<std::uint32_t> order(entries_.size());
  std::iota(order.begin(), order.end(), 0U);
  auto by_name = [this](std::uint32_t a, std::uint32_t b) {
    std::string_view x = text(entries_[a]);
    std::string_view y = text(entries_[b]);
    return x != y ? x < y : a < b;
  };
  std::sort(order.begin(), order.end(), by_name);
  std::sort(sorted_.begin(), sorted_.end());
  // The first entry of each run of equal names keeps it unless a reserved name has it.
  std::vector<std::uint32_t> renamed;
  for (std::size_t i = 0; i < order.size(); ++i) {
    std::string_view name = text(entries_[order[i]]);
    bool first = i == 0 || text(entries_[order[i - 1]]) != name;
    if (first && !taken(name)) continue;
    renamed.push_back(order[i]);
  }
  for (std::uint32_t e : order)
    sorted_.push_back(text(entries_[e]));
  std::inplace_merge(sorted_.begin(), sorted_.end() - static_cast<std::ptrdiff_t>(order.size()),
                     sorted_.end());
  // Each stem's entries in document order take the next free ~N of that stem.
  std::sort(renamed.begin(), renamed.end(), [this](std::uint32_t a, std::uint32_t b) {
    std::string_view x = stemOf(text(entries_[a]));
    std::string_view y = stemOf(text(entries_[b]));
    return x != y ? x < y : a < b;
  });
  std::string_view stem;
  std::uint32_t next = 2;
  std::vector<std::pair<std::uint32_t, std::string>> names;
  for (std::uint32_t e : renamed) {
    std::string_view own = text(entries_[e]);
    if (stemOf(own) != stem) next = 2;
    stem = stemOf(own);
    std::string candidate;
    do {
      ++probes_;
      candidate = withSuffix(own, next++);
    } while (taken(candidate));
    names.emplace_back(e, std::move(candidate));
  }
  // generated_ only grows after every view into it is done with.
  for (auto& [e, name] : names) {
    entries_[e] = {static_cast<std::uint32_t>(generated_.size()),
                   static_cast<std::uint32_t>(name.size()), true};
    generated_ += name;
  }
}

std::optional<std::string> decodeBase64(std::string_view text) {
  std::string out;
  std::uint32_t bits = 0;
  int have = 0;
  bool padding = false;
  for (char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    if (c >= '0' && c <= '9') v = c - '0' + 52;
    if (c == '+') v = 62;
    if (c == '/') v = 63;
    if (c == '=') {
      padding = true;
      continue;
    }
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (v < 0 || padding) return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    have += 6;
    if (have >= 8) {
      have -= 8;
      out += static_cast<char>((bits >> have) & 0xFF);
    }
  }
  if (have >= 6) return std::nullopt;  // a lone sixth of a byte
  return out;
}

}  // namespace mdfs::tree
