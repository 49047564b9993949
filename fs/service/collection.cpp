#include "service/collection.h"

#include <rapidjson/document.h>

#include <utility>

#include "service/errors.h"
#include "service/json.h"

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

// The start token of a page's `next` member; nullopt when there is no next page.
Result<std::optional<std::string>> startOf(const rapidjson::Value& page) {
  auto next = page.FindMember("next");
  if (next == page.MemberEnd() || next->value.IsNull()) return std::optional<std::string>{};
  if (!next->value.IsObject()) return malformed("`next` is not an object");
  auto start = next->value.FindMember("start");
  if (start != next->value.MemberEnd() && start->value.IsString() &&
      start->value.GetStringLength() > 0) {
    return std::optional<std::string>{
        std::string(start->value.GetString(), start->value.GetStringLength())};
  }
  auto href = next->value.FindMember("href");
  if (href != next->value.MemberEnd() && href->value.IsString()) {
    std::optional<std::string> token =
        queryParameter({href->value.GetString(), href->value.GetStringLength()}, "start");
    if (token && !token->empty()) return token;
  }
  return malformed("`next` link carries no start token");
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

  // The page's list array, or nullptr when it has none.
  rapidjson::Value* listOf(rapidjson::Value& page) const {
    if (!page.IsObject()) return nullptr;
    auto it = page.FindMember(rapidjson::StringRef(list_key.data(), list_key.size()));
    if (it == page.MemberEnd() || !it->value.IsArray()) return nullptr;
    return &it->value;
  }

  std::string list_key;
  rapidjson::Document merged;  // the first page, growing
  rapidjson::Value* items = nullptr;
  std::size_t pages = 0;
  std::optional<std::string> next_start;
};

CollectionMerger::CollectionMerger(std::string list_key)
    : impl_(std::make_unique<Impl>(std::move(list_key))) {}

CollectionMerger::~CollectionMerger() = default;

Status CollectionMerger::add(std::string_view body) {
  Impl& m = *impl_;
  // Later pages share the merged document's allocator, so their items move over uncopied.
  rapidjson::Document page(&m.merged.GetAllocator());
  rapidjson::Document& target = m.pages == 0 ? m.merged : page;
  if (!parseJson(body, target)) return malformed("response is not valid JSON");
  if (m.listOf(target) == nullptr) return malformed("response has no `" + m.list_key + "` array");
  Result<std::optional<std::string>> start = startOf(target);
  if (!start) return start.error();
  m.next_start = std::move(start).value();
  if (m.pages++ == 0) {
    m.merged.EraseMember("next");  // erasing shifts members: find the list afterwards
    m.items = m.listOf(m.merged);
    return Ok{};
  }
  for (rapidjson::Value& item : m.listOf(page)->GetArray()) {
    m.items->PushBack(item.Move(), m.merged.GetAllocator());
  }
  return Ok{};
}

const std::optional<std::string>& CollectionMerger::nextStart() const {
  return impl_->next_start;
}

std::size_t CollectionMerger::itemCount() const {
  return impl_->items == nullptr ? 0 : impl_->items->Size();
}

std::optional<std::int64_t> CollectionMerger::totalCount() const {
  const rapidjson::Document& doc = impl_->merged;
  if (impl_->pages == 0 || !doc.IsObject()) return std::nullopt;
  auto it = doc.FindMember("total_count");
  if (it == doc.MemberEnd() || !it->value.IsInt64()) return std::nullopt;
  return it->value.GetInt64();
}

std::string CollectionMerger::document() const {
  return writeJson(impl_->merged);
}

}  // namespace mdfs::service
