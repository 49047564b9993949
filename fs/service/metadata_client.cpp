#include "service/metadata_client.h"

#include <cerrno>
#include <utility>
#include <variant>

#include "common/mutex.h"
#include "service/collection.h"
#include "service/errors.h"

namespace mdfs::service {
namespace {

Error withContext(Error error, const std::string& context) {
  error.message = context + ": " + error.message;
  return error;
}

}  // namespace

MetadataClient::MetadataClient(const ApiConfig& api, HttpTransport& http, SessionTokens& tokens,
                               const Logger& log, ServiceHealth* health)
    : api_(api), http_(http), tokens_(tokens), log_(log), retrier_(api.retry, http, log, health) {}

Result<std::string> MetadataClient::get(std::string_view path, std::string_view list_key,
                                        Deadline deadline, FetchStats* stats) {
  FetchStats local;
  FetchStats& counts = stats != nullptr ? *stats : local;
  if (list_key.empty()) return fetch(api_.url(path), deadline, counts);
  return collect(path, list_key, deadline, counts);
}

Result<std::string> MetadataClient::fetch(const std::string& url, Deadline deadline,
                                          FetchStats& stats) {
  ++stats.pages;
  auto request = [&url](const IssuedToken& token) {
    HttpRequest r;
    r.url = url;
    r.headers = {"Accept: application/json", "Authorization: Bearer " + token.access_token};
    return r;
  };
  Result<HttpResponse> response = sendWithToken(tokens_, retrier_, deadline, request, stats, log_);
  if (!response) return response.error();
  if (isSuccessStatus(response->status)) return std::move(response->body);
  return responseError(outcomeForStatus(response->status), "GET " + url, response->status,
                       response->body, response->request_id);
}

std::string MetadataClient::pageQuery(bool with_limit, std::string_view start) const {
  std::string query;
  if (!start.empty()) query = "start=" + percentEncode(start);
  if (with_limit) {
    if (!query.empty()) query += '&';
    query += "limit=" + std::to_string(api_.page_limit);
  }
  return query;
}

Result<std::string> MetadataClient::firstPage(std::string_view path, Deadline deadline,
                                              FetchStats& stats, bool& with_limit) {
  {
    MutexLock lock(mu_);
    with_limit = !limit_refused_.contains(path);
  }
  Result<std::string> page = fetch(api_.url(path, pageQuery(with_limit, {})), deadline, stats);
  // `limit` is a VPC collection convention; a service that rejects it for this collection
  // is asked again without it, and not asked with it again.
  if (with_limit && !page && page.error().http_status == 400 &&
      page.error().code == "unknown_field") {
    log_.info("GET " + std::string(path) + ": the service refuses `limit`; asking without it");
    {
      MutexLock lock(mu_);
      limit_refused_.emplace(path);
    }
    with_limit = false;
    page = fetch(api_.url(path), deadline, stats);
  }
  return page;
}

Result<std::string> MetadataClient::collect(std::string_view path, std::string_view list_key,
                                            Deadline deadline, FetchStats& stats) {
  bool with_limit = true;
  Result<std::string> first = firstPage(path, deadline, stats, with_limit);
  if (!first) return first;
  CollectionMerger merger{std::string(list_key)};
  if (Status added = merger.add(first.value()); !added) {
    return withContext(added.error(), "GET " + api_.url(path));
  }
  // Unpaginated, or everything on one page: the service's own bytes.
  if (!merger.nextStart()) return first;
  if (Status rest = followPages(path, with_limit, first->size(), merger, deadline, stats); !rest) {
    return rest.error();
  }
  if (auto total = merger.totalCount();
      total && *total != static_cast<std::int64_t>(merger.itemCount())) {
    log_.warning("GET " + api_.url(path) + ": total_count is " + std::to_string(*total) +
                 " but the pages held " + std::to_string(merger.itemCount()) +
                 " items (the collection changed meanwhile?)");
  }
  return merger.document();
}

Status MetadataClient::followPages(std::string_view path, bool with_limit, std::size_t bytes,
                                   CollectionMerger& merger, Deadline deadline, FetchStats& stats) {
  const std::string context = "GET " + api_.url(path);
  std::set<std::string, std::less<>> seen;
  for (int pages = 1; merger.nextStart(); ++pages) {
    const std::string start = *merger.nextStart();
    if (!seen.insert(start).second) {
      return outcomeError(Outcome::malformed, context + ": pagination loop (start token " +
                                                  "repeated after " + std::to_string(pages) +
                                                  " pages)");
    }
    if (pages >= api_.max_pages) {
      return outcomeError(Outcome::oversized,
                          context + ": more than " + std::to_string(api_.max_pages) + " pages");
    }
    const std::string url = api_.url(path, pageQuery(with_limit, start));
    Result<std::string> page = fetch(url, deadline, stats);
    // A 404 here means the page vanished, not the collection: the endpoint still exists.
    if (!page && page.error().errnum == ENOENT) {
      return reclassified(page.error(), Outcome::malformed);
    }
    if (!page) return page.error();
    bytes += page->size();
    if (bytes > http_.maxResponseBytes()) {
      return outcomeError(Outcome::oversized, context + ": collection larger than " +
                                                  std::to_string(http_.maxResponseBytes()) +
                                                  " bytes");
    }
    if (Status added = merger.add(page.value()); !added) {
      return withContext(added.error(), "GET " + url);
    }
  }
  return Ok{};
}

}  // namespace mdfs::service
