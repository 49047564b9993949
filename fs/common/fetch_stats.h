// What one logical fetch (every page and retry of one endpoint, or one token request) cost.
// Filled by the service layer, read by the cache for .status, metrics and debug lines.
#pragma once

#include <cstddef>
#include <string>

namespace mdfs {

struct FetchStats {
  int attempts = 0;       // HTTP requests made (all pages, all retries)
  int retries = 0;        // attempts that were repeats of a failed one
  int pages = 0;          // pages of a paginated collection
  long status = 0;        // HTTP status of the last answer; 0 when none came
  std::size_t bytes = 0;  // body bytes received
  std::string etag;       // the last answer's ETag, when the service sends one (GCE)
};

}  // namespace mdfs
