// Sends one request until its answer is worth returning: connection failures, timeouts,
// 429 and 5xx are retried with exponential backoff and full jitter, Retry-After is
// honoured, and nothing waits or sends past the caller's deadline.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>

#include "common/clock.h"
#include "common/log.h"
#include "service/api.h"
#include "service/http_transport.h"

namespace mdfs::service {

class Retrier {
 public:
  Retrier(const RetryPolicy& policy, HttpTransport& http, const Logger& log);

  // The last result: a response with any status (2xx, one not worth retrying, or the last
  // retryable one when the attempts or the time ran out), or the last transport failure.
  // Counts attempts and retries into `stats` when given.
  HttpResult send(const HttpRequest& request, Deadline deadline, FetchStats* stats);

 private:
  // The pause before retry number `retry` (1-based) after `last`.
  Millis delayAfter(int retry, const HttpResult& last);
  Millis jitter(Millis ceiling);
  void sleepFor(Millis pause);

  const RetryPolicy& policy_;
  HttpTransport& http_;
  const Logger& log_;
  std::mutex rng_mu_;
  std::minstd_rand rng_;
  std::mutex sleep_mu_;
  std::condition_variable sleep_cv_;  // never notified: only its timed wait is used
};

// True when another attempt may get a better answer than `result`.
bool worthRetrying(const HttpResult& result);

}  // namespace mdfs::service
