// Whether the metadata service answers at all (issue 17). Once a request got no answer
// (every attempt timed out, or the connection was refused) the service is known to be
// down: further requests fail at once with that error instead of each waiting out its own
// timeout, and a background probe asks the service again with growing pauses. The first
// answer of any kind (even an error status) ends the outage, and the recovery callbacks
// bring everything back.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/mutex.h"
#include "service/api.h"
#include "service/http_transport.h"

namespace mdfs::service {

struct HealthPolicy {
  Millis first_probe{250};  // pause before the first probe after an outage begins
  Millis max_pause{4000};   // pauses double up to this
  Millis probe_timeout{2000};
};

// A request any metadata service answers quickly, with any status, without a token (a GET
// of the instance without its token answers 401).
HttpRequest serviceProbe(const ApiConfig& api);

class ServiceHealth {
 public:
  // `probe` is sent through `http` (never held back by the outage itself).
  ServiceHealth(HttpTransport& http, HttpRequest probe, HealthPolicy policy, const Clock& clock,
                const Logger& log);
  ~ServiceHealth();
  ServiceHealth(const ServiceHealth&) = delete;
  ServiceHealth& operator=(const ServiceHealth&) = delete;

  // Runs the background prober; without it, probeNow() is the only way back up.
  void start();
  void stop();
  // Called (on the prober's thread) when the service answers again.
  void onRecovery(std::function<void()> callback);

  // The error a request fails with at once while the service is known down.
  [[nodiscard]] std::optional<Error> gate() const;
  // A request got no answer at all (see TransferError::silent).
  void noAnswer(const Error& error);
  // A request got an HTTP answer.
  void answered();
  // Sends the probe now; true when the service answered.
  bool probeNow();

  [[nodiscard]] bool down() const;
  // When the current outage began, if there is one.
  [[nodiscard]] std::optional<WallTime> downSince() const;
  [[nodiscard]] std::uint64_t outages() const;

 private:
  void proberLoop();
  void recovered();

  HttpTransport& http_;
  HttpRequest probe_;
  HealthPolicy policy_;
  const Clock& clock_;
  const Logger& log_;

  mutable Mutex mu_;
  CondVar cv_;
  std::optional<Error> outage_ GUARDED_BY(mu_);  // the failure that began the outage
  WallTime since_ GUARDED_BY(mu_){};
  SteadyTime since_steady_ GUARDED_BY(mu_){};
  std::uint64_t outages_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::function<void()>> on_recovery_;  // set before start()
  std::thread prober_;
};

}  // namespace mdfs::service
