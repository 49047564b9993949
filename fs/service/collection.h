// Paginated collections (ref §4.12): the start token of a `next` link, and the merge of
// every page into one document.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace mdfs::service {

// The percent-decoded value of query parameter `name` in `href`, which is taken as opaque:
// absolute or relative, with or without the /metadata segment. nullopt when absent.
std::optional<std::string> queryParameter(std::string_view href, std::string_view name);

// `text` with everything but RFC 3986 unreserved characters percent-encoded.
std::string percentEncode(std::string_view text);

// The pages of one collection, merged into the first page's document: the array under
// `list_key` holds every item in page order, and `next` is gone.
class CollectionMerger {
 public:
  explicit CollectionMerger(std::string list_key);
  ~CollectionMerger();
  CollectionMerger(const CollectionMerger&) = delete;
  CollectionMerger& operator=(const CollectionMerger&) = delete;

  // Adds the next page. Fails (malformed, message without context) when the page is not a
  // JSON object with an array under `list_key`, or its `next` link carries no start token.
  Status add(std::string_view body);
  // The start token of the last page's `next` link; nullopt on the last page.
  [[nodiscard]] const std::optional<std::string>& nextStart() const;
  [[nodiscard]] std::size_t itemCount() const;
  // The first page's `total_count`, when it has one.
  [[nodiscard]] std::optional<std::int64_t> totalCount() const;
  // The merged document as compact JSON.
  [[nodiscard]] std::string document() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mdfs::service
