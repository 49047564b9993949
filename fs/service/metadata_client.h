// GET /metadata/v1/<path>?version=... with the identity token, retries inside the caller's
// deadline, one 401 re-acquire, IBM error bodies parsed into the Error, and paginated
// collections merged into one document.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/mutex.h"
#include "service/api.h"
#include "service/cloud.h"
#include "service/collection.h"
#include "service/http_transport.h"
#include "service/retry.h"
#include "service/token_source.h"

namespace mdfs::service {

class MetadataClient final : public CloudClient {
 public:
  MetadataClient(const ApiConfig& api, HttpTransport& http, SessionTokens& tokens,
                 const Logger& log, ServiceHealth* health = nullptr);

  // The body of GET <path> ("/metadata/v1/keys"). With an empty `list_key` the body comes
  // back byte for byte (any 2xx). With a `list_key` the answer is a collection: when it
  // has a `next` link, every page is fetched and the items of `list_key` merged, in order,
  // into the first page's document (without `next`); without one, the body comes back
  // byte for byte. A start token seen twice (a pagination loop) and more than max_pages
  // pages are errors (EIO), as is a collection body that is not JSON. Any error is final:
  // retries have already happened. Errors are not logged here; the caller knows whether a
  // cached copy makes them harmless.
  Result<std::string> get(std::string_view path, std::string_view list_key, Deadline deadline,
                          FetchStats* stats = nullptr) override;

 private:
  // One page: GET `url` with the identity token, re-acquired once on 401.
  Result<std::string> fetch(const std::string& url, Deadline deadline, FetchStats& stats);
  Result<std::string> collect(std::string_view path, std::string_view list_key, Deadline deadline,
                              FetchStats& stats);
  // The first page of a collection, with `limit` unless the service refused it before.
  Result<std::string> firstPage(std::string_view path, Deadline deadline, FetchStats& stats,
                                bool& with_limit);
  // Fetches and merges the pages after the first, while `next` links lead on; `bytes` is
  // the size of what was received so far.
  Status followPages(std::string_view path, bool with_limit, std::size_t bytes,
                     CollectionMerger& merger, Deadline deadline, FetchStats& stats);
  [[nodiscard]] std::string pageQuery(bool with_limit, std::string_view start) const;

  const ApiConfig& api_;
  HttpTransport& http_;
  SessionTokens& tokens_;
  const Logger& log_;
  Retrier retrier_;
  // Collections whose service refused `limit` (400 unknown_field): asked without it.
  Mutex mu_;
  std::set<std::string, std::less<>> limit_refused_ GUARDED_BY(mu_);
};

}  // namespace mdfs::service
