// HTTP over libcurl for the metadata service: a small pool of long-lived easy handles
// (connections are reused; a handle is never used by two threads at once), connect and
// per-attempt timeouts under the caller's deadline, a response size cap, no redirects,
// http/https only, proxy variables ignored, TLS always verified, and a pinned address
// for the endpoint host (CURLOPT_RESOLVE).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "common/fetch_stats.h"
#include "common/log.h"
#include "service/api.h"
#include "service/errors.h"

namespace mdfs::service {

struct TransportOptions {
  Millis connect_timeout{2000};
  Millis attempt_timeout{5000};  // one attempt; always also bounded by the deadline
  std::size_t max_response_bytes = std::size_t{4} << 20;
  std::string cacert;                // PEM bundle; empty = the system trust store
  std::string proxy;                 // explicit proxy; empty = none (environment ignored)
  std::vector<std::string> resolve;  // CURLOPT_RESOLVE entries "HOST:PORT:ADDR"
  std::size_t pool_size = 8;
  // libcurl's wire trace (headers, body sizes, never a credential) as debug lines.
  bool wire_trace = false;
};

// The CURLOPT_RESOLVE entry "HOST:PORT:ADDRESS" that pins the host of `endpoint`
// ("https://api.metadata.cloud.ibm.com") to `address` ("169.254.169.254"), with the
// scheme's default port when the endpoint names none. nullopt for an endpoint without a
// host.
std::optional<std::string> resolveEntry(std::string_view endpoint, std::string_view address);

// TransportOptions::resolve for `endpoint`: its host pinned to kMetadataAddress when it is
// IBM's or Google's metadata host name (so nothing waits for DNS at boot), else nothing.
std::vector<std::string> defaultResolve(std::string_view endpoint);

struct HttpRequest {
  std::string method = "GET";  // GET, PUT or POST
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  // The response body carries a secret (a token): never shown in debug output.
  bool secret_response = false;
  // Set by another thread, ends the transfer within about a second (a long poll nobody
  // waits for any more); the caller owns it and keeps it alive during perform().
  const std::atomic<bool>* cancel = nullptr;
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::string request_id;              // X-Request-Id
  std::optional<Seconds> retry_after;  // Retry-After in seconds, when present
  std::string etag;                    // ETag (GCE's change detection)
  std::string metadata_flavor;         // Metadata-Flavor (GCE's proof of origin)
  std::string location;                // Location, of a redirect (never followed)
};

// Why an attempt produced no HTTP response at all.
struct TransferError {
  Outcome outcome = Outcome::unreachable;  // timed_out, unreachable, oversized, tls_failure,
                                           // misconfigured
  Error error;  // errno and level from the table; the message names the URL, never a secret
  // The service gave no sign of life: the attempt timed out or the connection was refused
  // (not a request that never went out, nor a reset or a garbled answer).
  bool silent = false;

  // Timeouts and connection failures may pass; a bad certificate or a body too large won't.
  [[nodiscard]] bool retryable() const {
    return outcome == Outcome::timed_out || outcome == Outcome::unreachable;
  }
};

// One attempt: a response with any HTTP status, or why there was none.
using HttpResult = std::variant<HttpResponse, TransferError>;

class HttpTransport {
 public:
  HttpTransport(TransportOptions options, const Logger& log);
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // One attempt, bounded by the deadline (waiting for a free handle included).
  HttpResult perform(const HttpRequest& request, Deadline deadline);
  // Waits `pause` (a retry's backoff); false at once when the transport closes meanwhile.
  bool pause(Millis pause);
  // For shutdown: transfers under way end within about a second, later ones and pauses
  // at once, so no thread waits out a hung service's timeout before the daemon exits.
  void close();

  // TCP (or TLS) connections opened so far; reuse keeps this at one per pooled handle.
  [[nodiscard]] std::uint64_t connectionsOpened() const;
  [[nodiscard]] std::size_t maxResponseBytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mdfs::service
