#include "service/health.h"

#include <algorithm>
#include <utility>
#include <variant>

namespace mdfs::service {

HttpRequest serviceProbe(const ApiConfig& api) {
  HttpRequest probe;
  probe.url = api.url("/metadata/v1/instance");
  probe.headers = {"Accept: application/json"};
  return probe;
}

ServiceHealth::ServiceHealth(HttpTransport& http, HttpRequest probe, HealthPolicy policy,
                             const Clock& clock, const Logger& log)
    : http_(http), probe_(std::move(probe)), policy_(policy), clock_(clock), log_(log) {}

ServiceHealth::~ServiceHealth() {
  stop();
}

void ServiceHealth::start() {
  prober_ = std::thread([this] { proberLoop(); });
}

void ServiceHealth::stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (prober_.joinable()) prober_.join();
}

void ServiceHealth::onRecovery(std::function<void()> callback) {
  on_recovery_.push_back(std::move(callback));
}

std::optional<Error> ServiceHealth::gate() const {
  MutexLock lock(mu_);
  if (!outage_) return std::nullopt;
  Error e = *outage_;
  e.message =
      "the metadata service is not answering (since " +
      std::to_string(std::chrono::duration_cast<Seconds>(clock_.steady() - since_steady_).count()) +
      " s; retrying in the background): " + outage_->message;
  e.level = LogLevel::debug;  // the outage itself was logged when it began
  return e;
}

void ServiceHealth::noAnswer(const Error& error) {
  {
    MutexLock lock(mu_);
    if (outage_) return;
    outage_ = error;
    since_ = clock_.wall();
    since_steady_ = clock_.steady();
    ++outages_;
  }
  log_.warning("the metadata service is not answering: " + error.describe() +
               "; requests fail at once until it answers again");
  cv_.notify_all();
}

void ServiceHealth::answered() {
  bool was_down = false;
  {
    MutexLock lock(mu_);
    was_down = outage_.has_value();
  }
  if (was_down) recovered();
}

void ServiceHealth::recovered() {
  Seconds lasted{};
  {
    MutexLock lock(mu_);
    if (!outage_) return;
    outage_.reset();
    lasted = std::chrono::duration_cast<Seconds>(clock_.steady() - since_steady_);
  }
  log_.info("the metadata service answers again after " + std::to_string(lasted.count()) + " s");
  for (const auto& callback : on_recovery_)
    callback();
}

bool ServiceHealth::probeNow() {
  HttpResult result = http_.perform(probe_, deadlineIn(policy_.probe_timeout));
  if (std::holds_alternative<HttpResponse>(result)) {
    recovered();
    return true;
  }
  log_.debug("probe " + probe_.url + ": " + std::get<TransferError>(result).error.message);
  return false;
}

void ServiceHealth::proberLoop() {
  UniqueLock lock(mu_);
  Millis pause = policy_.first_probe;
  while (!stopping_) {
    if (!outage_) {
      pause = policy_.first_probe;
      cv_.wait(lock, [this]() REQUIRES(mu_) { return stopping_ || outage_.has_value(); });
      continue;
    }
    if (cv_.wait_for(lock, pause, [this]() REQUIRES(mu_) { return stopping_ || !outage_; }))
      continue;
    lock.unlock();
    (void)probeNow();
    lock.lock();
    pause = std::min(pause * 2, policy_.max_pause);
  }
}

bool ServiceHealth::down() const {
  MutexLock lock(mu_);
  return outage_.has_value();
}

std::optional<WallTime> ServiceHealth::downSince() const {
  MutexLock lock(mu_);
  if (!outage_) return std::nullopt;
  return since_;
}

std::uint64_t ServiceHealth::outages() const {
  MutexLock lock(mu_);
  return outages_;
}

}  // namespace mdfs::service
