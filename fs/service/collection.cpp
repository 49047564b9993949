#include "service/collection.h"

#include <cerrno>
#include <cstdlib>
#include <utility>
#include <vector>

#include "common/json_reader.h"
#include "service/errors.h"

namespace mdfs::service {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// '+' stays '+': start tokens are opaque, not form data.
std::string percentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = hexValue(text[i + 1]);
      const int low = hexValue(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out += static_cast<char>(high * 16 + low);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

bool isUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

Error malformed(std::string message) {
  return outcomeError(Outcome::malformed, std::move(message));
}

struct Span {
  std::size_t begin = 0;
  std::size_t end = 0;
};

// What one page holds, as byte spans of its text: values are copied, never re-rendered,
// so every number and string reaches the merged document exactly as sent.
struct Page {
  struct Member {
    Span key;    // with its quotes
    Span value;  // the whole value
    bool list = false;
  };
  bool object = false;
  std::vector<Member> members;  // top level, in order, `next` left out
  bool has_list = false;
  std::vector<Span> items;  // elements of the list array
  bool has_next = false;
  bool next_null = false;
  bool next_object = false;
  std::optional<std::string> next_start;
  std::optional<std::string> next_href;
  std::optional<std::string> total_count;  // number text
};

// Fills a Page from the reader's events; depth is the number of open containers.
class PageScanner final : public json::Handler {
 public:
  PageScanner(const json::JsonReader& reader, std::string_view list_key, Page& page)
      : reader_(reader), list_key_(list_key), page_(page) {}

  bool scalar(json::Kind kind, std::string_view text) override {
    begin();
    if (depth_ == 2 && in_next_ && kind == json::Kind::string) nextField(text);
    if (depth_ == 1 && key_ == "total_count" && kind == json::Kind::number && !page_.total_count) {
      page_.total_count = std::string(text);
    }
    if (depth_ == 1 && in_next_) page_.next_null = kind == json::Kind::null;
    end();
    return true;
  }
  bool key(std::string_view name) override {
    if (depth_ == 1) {
      key_ = name;
      key_span_ = {reader_.tokenBegin(), reader_.tokenEnd()};
      in_next_ = name == "next";
      in_list_ = !list_seen_ && name == list_key_;
      list_seen_ = list_seen_ || in_list_;  // the first member of that name is the list
    } else if (depth_ == 2 && in_next_) {
      next_key_ = name;
    }
    return true;
  }
  bool open(json::Kind kind) override {
    begin();
    if (depth_ == 0) page_.object = kind == json::Kind::object;
    if (depth_ == 1 && in_list_ && kind == json::Kind::array) page_.has_list = true;
    if (depth_ == 1 && in_next_) page_.next_object = kind == json::Kind::object;
    ++depth_;
    return true;
  }
  bool close(json::Kind /*kind*/) override {
    --depth_;
    end();
    return true;
  }

 private:
  // A value begins at depth 1 (a member) or at depth 2 inside the list (an item).
  void begin() {
    if (depth_ == 1 || (depth_ == 2 && listOpen())) value_begin_[depth_] = reader_.tokenBegin();
  }
  void end() {
    Span span{value_begin_[depth_ == 1 ? 1 : 2], reader_.tokenEnd()};
    if (depth_ == 2 && listOpen()) page_.items.push_back(span);
    if (depth_ != 1) return;
    if (in_next_) {
      page_.has_next = true;
    } else {
      page_.members.push_back({key_span_, span, in_list_ && page_.has_list});
    }
    if (in_list_) in_list_ = false;
  }
  [[nodiscard]] bool listOpen() const { return in_list_ && page_.has_list; }
  void nextField(std::string_view text) {
    if (next_key_ == "start" && !page_.next_start) page_.next_start = std::string(text);
    if (next_key_ == "href" && !page_.next_href) page_.next_href = std::string(text);
  }

  const json::JsonReader& reader_;
  std::string_view list_key_;
  Page& page_;
  int depth_ = 0;
  std::string_view key_;
  Span key_span_;
  std::string_view next_key_;
  bool in_next_ = false;
  bool in_list_ = false;
  bool list_seen_ = false;
  std::size_t value_begin_[3] = {0, 0, 0};
};

// The start token of a page's `next` member; nullopt when there is no next page.
Result<std::optional<std::string>> startOf(const Page& page) {
  if (!page.has_next || page.next_null) return std::optional<std::string>{};
  if (!page.next_object) return malformed("`next` is not an object");
  if (page.next_start && !page.next_start->empty()) return page.next_start;
  if (page.next_href) {
    std::optional<std::string> token = queryParameter(*page.next_href, "start");
    if (token && !token->empty()) return token;
  }
  return malformed("`next` link carries no start token");
}

std::optional<std::int64_t> integerOf(const std::string& text) {
  if (text.find_first_of(".eE") != std::string::npos) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end != text.c_str() + text.size()) return std::nullopt;
  return static_cast<std::int64_t>(v);
}

}  // namespace

std::optional<std::string> queryParameter(std::string_view href, std::string_view name) {
  const std::size_t question = href.find('?');
  if (question == std::string_view::npos) return std::nullopt;
  std::string_view query = href.substr(question + 1);
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    if (percentDecode(key) != name) continue;
    return eq == std::string_view::npos ? std::string{} : percentDecode(pair.substr(eq + 1));
  }
  return std::nullopt;
}

std::string percentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (isUnreserved(c)) {
      out += c;
      continue;
    }
    const auto byte = static_cast<unsigned char>(c);
    out += '%';
    out += kHex[byte >> 4];
    out += kHex[byte & 0x0f];
  }
  return out;
}

struct CollectionMerger::Impl {
  explicit Impl(std::string key) : list_key(std::move(key)) {}

  std::string list_key;
  std::string first;  // the first page's text
  Page head;          // its members, as spans of `first`
  std::string items;  // every page's items, comma-separated, as sent
  std::size_t item_count = 0;
  std::size_t pages = 0;
  std::optional<std::string> next_start;
};

CollectionMerger::CollectionMerger(std::string list_key)
    : impl_(std::make_unique<Impl>(std::move(list_key))) {}

CollectionMerger::~CollectionMerger() = default;

Status CollectionMerger::add(std::string_view body) {
  Impl& m = *impl_;
  Page page;
  json::JsonReader reader(body);
  PageScanner scanner(reader, m.list_key, page);
  if (!reader.read(scanner).ok()) return malformed("response is not valid JSON");
  if (!page.object || !page.has_list)
    return malformed("response has no `" + m.list_key + "` array");
  Result<std::optional<std::string>> start = startOf(page);
  if (!start) return start.error();
  m.next_start = std::move(start).value();
  for (const Span& item : page.items) {
    if (m.item_count++ > 0) m.items += ',';
    m.items.append(body.substr(item.begin, item.end - item.begin));
  }
  if (m.pages++ == 0) {
    m.first = std::string(body);
    m.head = std::move(page);
    m.head.items.clear();
  }
  return Ok{};
}

const std::optional<std::string>& CollectionMerger::nextStart() const {
  return impl_->next_start;
}

std::size_t CollectionMerger::itemCount() const {
  return impl_->item_count;
}

std::optional<std::int64_t> CollectionMerger::totalCount() const {
  if (impl_->pages == 0 || !impl_->head.total_count) return std::nullopt;
  return integerOf(*impl_->head.total_count);
}

std::string CollectionMerger::document() const {
  const Impl& m = *impl_;
  std::string_view text = m.first;
  auto slice = [&](Span s) { return text.substr(s.begin, s.end - s.begin); };
  std::string out = "{";
  for (std::size_t i = 0; i < m.head.members.size(); ++i) {
    const Page::Member& member = m.head.members[i];
    if (i > 0) out += ',';
    out.append(slice(member.key));
    out += ':';
    if (member.list) {
      out += '[';
      out += m.items;
      out += ']';
    } else {
      out.append(slice(member.value));
    }
  }
  out += '}';
  return out;
}

}  // namespace mdfs::service
