// Google Compute Engine's metadata server (docs/clouds/gcp.md): no token, but
// `Metadata-Flavor: Google` on every request and on every answer (an answer without it is
// not from the metadata server and is refused); a directory is asked with its slash.
#pragma once

#include <atomic>
#include <string>

#include "common/log.h"
#include "service/api.h"
#include "service/cloud.h"
#include "service/http_transport.h"
#include "service/retry.h"

namespace mdfs::service {

struct GcpConfig {
  std::string endpoint{"http://" + std::string(kGoogleMetadataHost)};
  RetryPolicy retry;  // 503 during maintenance is retried like any 5xx
};

// The longest wait_for_change the daemon asks for (timeout_sec): a hanging GET is never
// open longer than this and a little network time.
inline constexpr Seconds kGcpMaxChangeWait{60};

class GcpClient final : public CloudClient {
 public:
  // `long_polls`: the transport of waitForChange(), whose attempts may last a long poll
  // (the shared one cuts every attempt at a few seconds, and its few connections serve
  // readers).
  GcpClient(const GcpConfig& gcp, HttpTransport& http, const Logger& log,
            ServiceHealth* health = nullptr, HttpTransport* long_polls = nullptr);

  // Fills stats->etag from the answer.
  Result<std::string> get(std::string_view path, std::string_view list_key, Deadline deadline,
                          FetchStats* stats) override;
  // GET <path>?wait_for_change=true&last_etag=<etag>&timeout_sec=<wait>: the body once it
  // differs from the one tagged `etag`, or the same body when `wait` passes. One attempt
  // (the caller retries on its own schedule), ended early by `cancel` or close().
  Result<std::string> waitForChange(std::string_view path, const std::string& etag, Seconds wait,
                                    Deadline deadline, FetchStats& stats,
                                    const std::atomic<bool>* cancel);

 private:
  Result<HttpResponse> send(const std::string& url, Deadline deadline, FetchStats& stats);
  Result<HttpResponse> checked(HttpResponse response, const std::string& url) const;

  const GcpConfig& gcp_;
  Retrier retrier_;
  HttpTransport* long_polls_;
};

}  // namespace mdfs::service
