// HTTP over libcurl for the metadata service: a small pool of long-lived easy handles
// (connections are reused; a handle is never used by two threads at once), connect and
// per-attempt timeouts under the caller's deadline, a response size cap, no redirects,
// http/https only, proxy variables ignored, TLS always verified, and a pinned address
// for the endpoint host (CURLOPT_RESOLVE).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"

namespace mdfs::service {

struct TransportOptions {
  Millis connect_timeout{2000};
  Millis attempt_timeout{5000};  // one attempt; always also bounded by the deadline
  std::size_t max_response_bytes = std::size_t{4} << 20;
  std::string cacert;                // PEM bundle; empty = the system trust store
  std::string proxy;                 // explicit proxy; empty = none (environment ignored)
  std::vector<std::string> resolve;  // CURLOPT_RESOLVE entries "HOST:PORT:ADDR"
  std::size_t pool_size = 8;
};

struct HttpRequest {
  std::string method = "GET";  // GET, PUT or POST
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  // The response body carries a secret (a token): never shown in debug output.
  bool secret_response = false;
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::string request_id;             // X-Request-Id
  std::optional<Seconds> retry_after;  // Retry-After in seconds, when present
};

class HttpTransport {
 public:
  HttpTransport(TransportOptions options, const Logger& log);
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // One attempt. Transport failures come back as an Error (errnum ETIMEDOUT for timeouts,
  // EIO otherwise, http_status 0); any HTTP status is a successful Result.
  Result<HttpResponse> perform(const HttpRequest& request, Deadline deadline);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mdfs::service
