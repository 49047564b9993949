// Sends one request until its answer is worth returning: connection failures, timeouts,
// 429 and 5xx are retried with exponential backoff and full jitter, Retry-After is
// honoured, and nothing waits or sends past the caller's deadline.
#pragma once

#include <optional>
#include <random>

#include "common/clock.h"
#include "common/log.h"
#include "common/mutex.h"
#include "service/api.h"
#include "service/http_transport.h"

namespace mdfs::service {

class ServiceHealth;

class Retrier {
 public:
  // With `health`, a service known to be down fails requests at once, and every request
  // tells it whether the service answered.
  Retrier(const RetryPolicy& policy, HttpTransport& http, const Logger& log,
          ServiceHealth* health = nullptr);

  // The last result: a response with any status (2xx, one not worth retrying, or the last
  // retryable one when the attempts or the time ran out), or the last transport failure.
  // Counts attempts, retries, the last status and body bytes into `stats` when given.
  HttpResult send(const HttpRequest& request, Deadline deadline, FetchStats* stats);

 private:
  // The pause before retry number `retry` (1-based) after `last`.
  Millis delayAfter(int retry, const HttpResult& last);
  Millis jitter(Millis ceiling);
  // The gate's error while the service is known down.
  [[nodiscard]] std::optional<HttpResult> heldBack() const;
  void report(const HttpResult& result);

  const RetryPolicy& policy_;
  HttpTransport& http_;
  const Logger& log_;
  ServiceHealth* health_;
  Mutex rng_mu_;
  std::minstd_rand rng_ GUARDED_BY(rng_mu_);
};

// True when another attempt may get a better answer than `result`.
bool worthRetrying(const HttpResult& result, const RetryPolicy& policy = {});

}  // namespace mdfs::service
