#include "service/retry.h"

#include <algorithm>
#include <optional>
#include <string>
#include <thread>
#include <variant>

#include "common/mutex.h"
#include "service/health.h"

namespace mdfs::service {
namespace {

// A retry needs at least this much time left to be worth sending.
constexpr Millis kMinRetryBudget{20};

std::string describeResult(const HttpResult& result) {
  if (const auto* failure = std::get_if<TransferError>(&result)) return failure->error.message;
  return "HTTP " + std::to_string(std::get<HttpResponse>(result).status);
}

void count(FetchStats* stats, bool retry, const HttpResult& result) {
  if (stats == nullptr) return;
  ++stats->attempts;
  if (retry) ++stats->retries;
  if (const auto* response = std::get_if<HttpResponse>(&result)) {
    stats->status = response->status;
    stats->bytes += response->body.size();
  } else {
    stats->status = 0;
  }
}

}  // namespace

bool worthRetrying(const HttpResult& result, const RetryPolicy& policy) {
  if (const auto* failure = std::get_if<TransferError>(&result)) return failure->retryable();
  const long status = std::get<HttpResponse>(result).status;
  return isRetryableStatus(status) || (policy.retry_gone && status == 410);
}

Retrier::Retrier(const RetryPolicy& policy, HttpTransport& http, const Logger& log,
                 ServiceHealth* health)
    : policy_(policy), http_(http), log_(log), health_(health), rng_(std::random_device{}()) {}

std::optional<HttpResult> Retrier::heldBack() const {
  if (health_ == nullptr) return std::nullopt;
  std::optional<Error> down = health_->gate();
  if (!down) return std::nullopt;
  return HttpResult(TransferError{down->kind, *down, false});
}

void Retrier::report(const HttpResult& result) {
  if (health_ == nullptr) return;
  if (std::holds_alternative<HttpResponse>(result)) {
    health_->answered();
  } else if (const auto& failure = std::get<TransferError>(result); failure.silent) {
    health_->noAnswer(failure.error);
  }
}

HttpResult Retrier::send(const HttpRequest& request, Deadline deadline, FetchStats* stats) {
  if (auto held = heldBack()) return std::move(*held);
  HttpResult last = http_.perform(request, deadline);
  count(stats, false, last);
  // The service's last answer: a retry that the deadline cuts short must not hide it
  // behind our own timeout (a slow machine may need more than kMinRetryBudget).
  std::optional<HttpResult> answered;
  for (int retry = 1; retry < policy_.max_attempts && worthRetrying(last, policy_); ++retry) {
    if (std::holds_alternative<HttpResponse>(last)) answered = last;
    const Millis pause = delayAfter(retry, last);
    if (pause + kMinRetryBudget > remaining(deadline)) {
      log_.debug(request.method + " " + request.url + ": " + describeResult(last) +
                 "; no time left for a retry");
      break;
    }
    log_.debug(request.method + " " + request.url + ": " + describeResult(last) + "; retry " +
               std::to_string(retry) + " in " + std::to_string(pause.count()) + " ms");
    if (!http_.pause(pause)) break;                       // stopping
    if (auto held = heldBack()) return std::move(*held);  // another request found it down
    last = http_.perform(request, deadline);
    count(stats, true, last);
  }
  const auto* failure = std::get_if<TransferError>(&last);
  if (answered && failure != nullptr && failure->outcome == Outcome::timed_out &&
      remaining(deadline) <= Millis(0)) {
    last = *answered;
  }
  report(last);
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
  MutexLock lock(rng_mu_);
  std::uniform_int_distribution<Millis::rep> pick(0, ceiling.count());
  return Millis(pick(rng_));
}

}  // namespace mdfs::service
