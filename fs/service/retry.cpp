#include "service/retry.h"

#include <algorithm>
#include <optional>
#include <string>
#include <variant>

namespace mdfs::service {
namespace {

// A retry needs at least this much time left to be worth sending.
constexpr Millis kMinRetryBudget{20};

std::string describeResult(const HttpResult& result) {
  if (const auto* failure = std::get_if<TransferError>(&result)) return failure->error.message;
  return "HTTP " + std::to_string(std::get<HttpResponse>(result).status);
}

void count(FetchStats* stats, bool retry) {
  if (stats == nullptr) return;
  ++stats->attempts;
  if (retry) ++stats->retries;
}

}  // namespace

bool worthRetrying(const HttpResult& result) {
  if (const auto* failure = std::get_if<TransferError>(&result)) return failure->retryable();
  return isRetryableStatus(std::get<HttpResponse>(result).status);
}

Retrier::Retrier(const RetryPolicy& policy, HttpTransport& http, const Logger& log)
    : policy_(policy), http_(http), log_(log), rng_(std::random_device{}()) {}

HttpResult Retrier::send(const HttpRequest& request, Deadline deadline, FetchStats* stats) {
  HttpResult last = http_.perform(request, deadline);
  count(stats, false);
  // The service's last answer: a retry that the deadline cuts short must not hide it
  // behind our own timeout (a slow machine may need more than kMinRetryBudget).
  std::optional<HttpResult> answered;
  for (int retry = 1; retry < policy_.max_attempts && worthRetrying(last); ++retry) {
    if (std::holds_alternative<HttpResponse>(last)) answered = last;
    const Millis pause = delayAfter(retry, last);
    if (pause + kMinRetryBudget > remaining(deadline)) {
      log_.debug(request.method + " " + request.url + ": " + describeResult(last) +
                 "; no time left for a retry");
      break;
    }
    log_.debug(request.method + " " + request.url + ": " + describeResult(last) + "; retry " +
               std::to_string(retry) + " in " + std::to_string(pause.count()) + " ms");
    sleepFor(pause);
    last = http_.perform(request, deadline);
    count(stats, true);
  }
  const auto* failure = std::get_if<TransferError>(&last);
  if (answered && failure != nullptr && failure->outcome == Outcome::timed_out &&
      remaining(deadline) <= Millis(0)) {
    return *answered;
  }
  return last;
}

Millis Retrier::delayAfter(int retry, const HttpResult& last) {
  if (const auto* response = std::get_if<HttpResponse>(&last); response && response->retry_after) {
    return std::min<Millis>(*response->retry_after, policy_.max_retry_after);
  }
  Millis ceiling = policy_.initial_backoff;
  for (int i = 1; i < retry && ceiling < policy_.max_backoff; ++i)
    ceiling *= 2;
  return jitter(std::min(ceiling, policy_.max_backoff));
}

Millis Retrier::jitter(Millis ceiling) {
  if (ceiling.count() <= 0) return Millis(0);
  std::lock_guard lock(rng_mu_);
  std::uniform_int_distribution<Millis::rep> pick(0, ceiling.count());
  return Millis(pick(rng_));
}

void Retrier::sleepFor(Millis pause) {
  const auto until = std::chrono::steady_clock::now() + pause;
  std::unique_lock lock(sleep_mu_);
  while (sleep_cv_.wait_until(lock, until) != std::cv_status::timeout) {
  }
}

}  // namespace mdfs::service
