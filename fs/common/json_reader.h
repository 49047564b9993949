// The one place that owns how service JSON is read (depth limit, numbers, encoding), used
// by the tree (every endpoint body) and the service (tokens, error bodies, pages):
//   - Nesting deeper than kMaxJsonDepth fails the document ("nested deeper than 64
//     levels"): metadata is a few levels deep, and the limit keeps a hostile "[[[[…" cheap.
//   - Numbers are reported as the text that was sent, never converted: "1e999", "-0",
//     "0.50" and 30-digit integers all survive byte for byte. The grammar is still checked.
//   - Strings are reported as decoded bytes; invalid UTF-8 is kept as it is, not refused
//     (file names and contents are bytes). A \u escape naming a lone surrogate cannot be
//     turned into bytes and fails the document.
//   - Anything but exactly one JSON value (surrounded by whitespace) fails the document.
// Events are plain SAX; string views stay valid until the JsonReader is destroyed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"

namespace mdfs::json {

inline constexpr int kMaxJsonDepth = 64;

enum class Kind : std::uint8_t { null, boolean, number, string, object, array };

class Handler {
 public:
  Handler() = default;
  Handler(const Handler&) = delete;
  Handler& operator=(const Handler&) = delete;
  virtual ~Handler() = default;
  // null (""), boolean ("true"/"false"), number (text as sent) or string (decoded bytes).
  virtual bool scalar(Kind kind, std::string_view text) = 0;
  virtual bool key(std::string_view name) = 0;
  virtual bool open(Kind kind) = 0;   // object or array
  virtual bool close(Kind kind) = 0;  // object or array
  // Returning false from any event stops reading; read() then fails with why().
  [[nodiscard]] virtual std::string why() const { return "refused by the reader"; }
};

class JsonReader {
 public:
  explicit JsonReader(std::string_view text);
  JsonReader(const JsonReader&) = delete;
  JsonReader& operator=(const JsonReader&) = delete;
  ~JsonReader();

  // Reads the whole document once. Fails with EIO and "malformed JSON at offset N: why".
  Status read(Handler& handler);

  // During an event: the byte span [tokenBegin, tokenEnd) in the text of the token just
  // reported (for open/close, the bracket; for a key or string, with its quotes).
  [[nodiscard]] std::size_t tokenBegin() const { return token_begin_; }
  [[nodiscard]] std::size_t tokenEnd() const { return token_end_; }
  // The working copy, for handlers that store offsets rather than views: a string or
  // key whose token begins at offset b has its decoded bytes at decoded()[b + 1 ...].
  [[nodiscard]] std::string_view decoded() const { return work_; }

 private:
  friend class ReaderBridge;
  std::string_view text_;
  std::string work_;  // the copy parsed in place: strings are decoded into it
  std::size_t token_begin_ = 0;
  std::size_t token_end_ = 0;
};

// True when `text` is one JSON number by the RFC 8259 grammar.
bool isJsonNumber(std::string_view s);

}  // namespace mdfs::json
