// AWS EC2's instance metadata service, IMDSv2 (docs/clouds/aws.md): a session token from
// PUT /latest/api/token, sent with every GET; one re-acquire on 401; a 403 on the PUT means
// the service is turned off. IMDSv1 (no token) only when asked for.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "common/clock.h"
#include "common/log.h"
#include "service/api.h"
#include "service/cloud.h"
#include "service/http_transport.h"
#include "service/retry.h"
#include "service/token_cache.h"

namespace mdfs::service {

inline constexpr int kAwsMaxTokenTtl = 21600;  // X-aws-ec2-metadata-token-ttl-seconds, 1..

struct AwsConfig {
  std::string endpoint = "http://169.254.169.254";
  int token_ttl_s = kAwsMaxTokenTtl;
  bool imdsv1 = false;  // GET without a token when none can be had
  RetryPolicy retry;
};

class AwsTokenSource final : public SessionTokens {
 public:
  AwsTokenSource(const AwsConfig& aws, HttpTransport& http, const Clock& clock, const Logger& log,
                 ServiceHealth* health = nullptr);

  Result<IssuedToken> token(Deadline deadline) override;
  void invalidate(std::string_view access_token) override { cache_.invalidate(access_token); }
  [[nodiscard]] TokenHealth health() const override { return cache_.health(); }
  [[nodiscard]] std::uint64_t requestCount() const override { return requests_; }

 private:
  Result<IssuedToken> request(Deadline deadline);

  const AwsConfig& aws_;
  const Clock& clock_;
  const Logger& log_;
  Retrier retrier_;
  TokenCache cache_;
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<bool> failing_{false};
};

class AwsClient final : public CloudClient {
 public:
  AwsClient(const AwsConfig& aws, HttpTransport& http, AwsTokenSource& tokens, const Logger& log,
            ServiceHealth* health = nullptr);

  Result<std::string> get(std::string_view path, std::string_view list_key, Deadline deadline,
                          FetchStats* stats) override;

 private:
  const AwsConfig& aws_;
  AwsTokenSource& tokens_;
  const Logger& log_;
  Retrier retrier_;
};

}  // namespace mdfs::service
