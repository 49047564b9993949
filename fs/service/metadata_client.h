// GET /metadata/v1/<path>?version=... with the identity token, retries inside the caller's
// deadline, one 401 re-acquire, IBM error bodies parsed into the Error, and paginated
// collections merged into one document.
#pragma once

#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "service/api.h"
#include "service/http_transport.h"
#include "service/token_source.h"

namespace mdfs::service {

struct FetchStats {
  int attempts = 0;  // HTTP requests made for this fetch (all pages, all retries)
  int retries = 0;   // attempts that were repeats of a failed one
  int pages = 0;
};

class MetadataClient {
 public:
  MetadataClient(const ApiConfig& api, HttpTransport& http, TokenSource& tokens,
                 const Logger& log);

  // The body of GET <path> ("/metadata/v1/keys"). With a non-empty `list_key` the answer
  // is a collection: every page reachable through `next` is fetched and the items of
  // `list_key` merged into one document (without `next`). Any error is final: retries
  // have already happened.
  Result<std::string> get(std::string_view path, std::string_view list_key, Deadline deadline,
                          FetchStats* stats = nullptr);

 private:
  const ApiConfig& api_;
  HttpTransport& http_;
  TokenSource& tokens_;
  const Logger& log_;
};

}  // namespace mdfs::service
