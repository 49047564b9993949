// Google Compute Engine's metadata server (docs/clouds/gcp.md): no token, but
// `Metadata-Flavor: Google` on every request and on every answer (an answer without it is
// not from the metadata server and is refused); a directory is asked with its slash.
#pragma once

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

class GcpClient final : public CloudClient {
 public:
  GcpClient(const GcpConfig& gcp, HttpTransport& http, const Logger& log,
            ServiceHealth* health = nullptr);

  Result<std::string> get(std::string_view path, std::string_view list_key, Deadline deadline,
                          FetchStats* stats) override;

 private:
  Result<HttpResponse> send(const std::string& url, Deadline deadline, FetchStats& stats);

  const GcpConfig& gcp_;
  Retrier retrier_;
};

}  // namespace mdfs::service
