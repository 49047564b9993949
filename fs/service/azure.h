// Azure's Instance Metadata Service (docs/clouds/azure.md): `Metadata: true` on every
// request, an `api-version` on every endpoint (each family has versions of its own), no
// token; 410 ("IMDS is updating") is retried like 429 and 5xx.
#pragma once

#include <string>

#include "common/log.h"
#include "service/cloud.h"
#include "service/http_transport.h"
#include "service/retry.h"

namespace mdfs::service {

inline constexpr std::string_view kAzureDefaultApiVersion = "2025-04-07";

struct AzureConfig {
  std::string endpoint = "http://169.254.169.254";
  std::string api_version{kAzureDefaultApiVersion};  // of /metadata/instance
  RetryPolicy retry;
};

class AzureClient final : public CloudClient {
 public:
  AzureClient(const AzureConfig& azure, HttpTransport& http, const Logger& log,
              ServiceHealth* health = nullptr);

  // `path` may carry a query of its own ("/metadata/identity/oauth2/token?resource=…");
  // the api-version of its family is added.
  Result<std::string> get(std::string_view path, std::string_view list_key, Deadline deadline,
                          FetchStats* stats) override;
  [[nodiscard]] std::string url(std::string_view path) const;

 private:
  const AzureConfig& azure_;
  Retrier retrier_;
};

}  // namespace mdfs::service
