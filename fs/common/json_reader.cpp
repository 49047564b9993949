#include "common/json_reader.h"

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>
#include <rapidjson/stream.h>

namespace mdfs::json {

// RapidJSON works on a private copy of a stream that it writes back only when a token is
// done, so the position seen from an event would be stale. This type opts out of that.
struct InPlaceStream : rapidjson::InsituStringStream {
  using rapidjson::InsituStringStream::InsituStringStream;
};

}  // namespace mdfs::json

template <>
struct rapidjson::StreamTraits<mdfs::json::InPlaceStream> {
  enum { copyOptimization = 0 };
};

namespace mdfs::json {
namespace {

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

bool isNumberByte(char c) {
  return isDigit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Length of the run of bytes that may belong to a number, from `at`.
std::size_t numberRun(std::string_view text, std::size_t at) {
  std::size_t end = at;
  while (end < text.size() && isNumberByte(text[end]))
    ++end;
  return end - at;
}

std::size_t skipDigits(std::string_view s, std::size_t i) {
  while (i < s.size() && isDigit(s[i]))
    ++i;
  return i;
}

// RapidJSON checks the grammar of a number but also insists on converting it, and refuses
// 1e999 or a 400-digit integer. Every grammatical number in the working copy becomes "0"
// padded with spaces (same length, still grammatical), and the reader reports the
// original text instead. A number that breaks the grammar is left for RapidJSON to refuse.
void neutraliseNumbers(std::string& work) {
  bool in_string = false;
  for (std::size_t i = 0; i < work.size(); ++i) {
    char c = work[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '-' || isDigit(c)) {
      std::size_t n = numberRun(work, i);
      if (isJsonNumber(std::string_view(work).substr(i, n))) {
        work[i] = '0';
        for (std::size_t k = 1; k < n; ++k)
          work[i + k] = ' ';
      }
      i += n - 1;
    }
  }
}

}  // namespace

bool isJsonNumber(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size() || !isDigit(s[i])) return false;
  i = s[i] == '0' ? i + 1 : skipDigits(s, i);
  if (i < s.size() && s[i] == '.') {
    std::size_t after = skipDigits(s, i + 1);
    if (after == i + 1) return false;
    i = after;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    std::size_t after = skipDigits(s, i);
    if (after == i) return false;
    i = after;
  }
  return i == s.size();
}

// Turns RapidJSON's SAX events into Handler events with token spans and the depth rule.
class ReaderBridge : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, ReaderBridge> {
 public:
  ReaderBridge(JsonReader& reader, Handler& handler, InPlaceStream& stream)
      : reader_(reader), handler_(handler), stream_(stream) {}

  bool Null() { return scalar(Kind::null, {}); }
  bool Bool(bool b) { return scalar(Kind::boolean, b ? "true" : "false"); }
  bool RawNumber(const char* /*neutralised*/, rapidjson::SizeType /*n*/, bool /*copy*/) {
    std::size_t begin = stream_.Tell() - 1;  // the "0" standing in for the number
    std::size_t n = numberRun(reader_.text_, begin);
    setSpan(begin, begin + n);
    return handler_.scalar(Kind::number, reader_.text_.substr(begin, n));
  }
  bool String(const char* s, rapidjson::SizeType n, bool /*copy*/) {
    return scalar(Kind::string, std::string_view(s, n));
  }
  bool Key(const char* s, rapidjson::SizeType n, bool /*copy*/) {
    markToken();
    return handler_.key(std::string_view(s, n));
  }
  bool StartObject() { return open(Kind::object); }
  bool EndObject(rapidjson::SizeType /*count*/) { return close(Kind::object); }
  bool StartArray() { return open(Kind::array); }
  bool EndArray(rapidjson::SizeType /*count*/) { return close(Kind::array); }

  [[nodiscard]] bool tooDeep() const { return too_deep_; }

 private:
  bool scalar(Kind kind, std::string_view text) {
    markToken();
    return handler_.scalar(kind, text);
  }
  // RapidJSON reports a bracket before it consumes it.
  void markBracket() { setSpan(stream_.Tell(), stream_.Tell() + 1); }

  bool open(Kind kind) {
    markBracket();
    if (++depth_ > kMaxJsonDepth) {
      too_deep_ = true;
      return false;
    }
    return handler_.open(kind);
  }
  bool close(Kind kind) {
    markBracket();
    --depth_;
    return handler_.close(kind);
  }

  // The token just read ends where the stream stands; it begins after the separators.
  void markToken() {
    std::size_t begin = reader_.token_end_;
    std::string_view text = reader_.text_;
    while (begin < text.size() &&
           (isSpace(text[begin]) || text[begin] == ',' || text[begin] == ':'))
      ++begin;
    setSpan(begin, stream_.Tell());
  }
  void setSpan(std::size_t begin, std::size_t end) {
    reader_.token_begin_ = begin;
    reader_.token_end_ = end;
  }

  JsonReader& reader_;
  Handler& handler_;
  InPlaceStream& stream_;
  int depth_ = 0;
  bool too_deep_ = false;
};

JsonReader::JsonReader(std::string_view text) : text_(text), work_(text) {
  neutraliseNumbers(work_);
}

JsonReader::~JsonReader() = default;

Status JsonReader::read(Handler& handler) {
  // No encoding validation: string bytes are kept as sent (see the header).
  constexpr unsigned kFlags = rapidjson::kParseInsituFlag | rapidjson::kParseIterativeFlag |
                              rapidjson::kParseNumbersAsStringsFlag;
  token_begin_ = token_end_ = 0;
  InPlaceStream stream(work_.data());
  ReaderBridge bridge(*this, handler, stream);
  rapidjson::Reader reader;
  rapidjson::ParseResult ok = reader.Parse<kFlags>(stream, bridge);
  std::string why;
  std::size_t at = ok.Offset();
  if (!ok && ok.Code() == rapidjson::kParseErrorTermination) {
    why = bridge.tooDeep() ? "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels"
                           : handler.why();
    at = token_begin_;
  } else if (!ok) {
    why = rapidjson::GetParseError_En(ok.Code());
  } else if (stream.Tell() != text_.size()) {
    // RapidJSON stops at a NUL byte as if the text ended there.
    why = "unexpected byte after the document";
    at = stream.Tell();
  } else {
    return Ok{};
  }
  return makeError(ErrorKind::malformed,
                   "malformed JSON at offset " + std::to_string(at) + ": " + why);
}

}  // namespace mdfs::json
