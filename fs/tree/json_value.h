// A parsed JSON document that keeps each number's original text ("1.50" stays "1.50"), so
// files show exactly what the service sent. Parsed with RapidJSON's SAX reader.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace mdfs::tree {

struct JsonValue {
  enum class Type : std::uint8_t { null, boolean, number, string, object, array };
  Type type = Type::null;
  std::string text;               // string contents, number text, or "true"/"false"
  std::vector<std::string> keys;  // objects: member names, in document order
  std::vector<JsonValue> items;   // array elements, or object member values (keys[i])

  [[nodiscard]] const JsonValue* member(std::string_view name) const;
};

// Nesting deeper than this is refused as malformed (it never occurs in metadata and would
// otherwise let a hostile answer exhaust the stack).
inline constexpr int kMaxJsonDepth = 64;

// Fails with EIO on invalid JSON or UTF-8, or nesting beyond kMaxJsonDepth.
Result<JsonValue> parseJson(std::string_view text);

}  // namespace mdfs::tree
