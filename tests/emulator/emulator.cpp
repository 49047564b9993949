#include "emulator/emulator.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "emulator/api.h"
#include "emulator/control.h"
#include "emulator/crypto.h"
#include "emulator/http_server.h"
#include "emulator/identity_api.h"
#include "emulator/personality.h"
#include "emulator/scenario.h"

#ifndef MDFS_EMULATOR_SCENARIO_DIR
#error "MDFS_EMULATOR_SCENARIO_DIR must name the directory of the shipped scenarios"
#endif

namespace mdfs::emu {
namespace {

// Runs a callback once after a delay unless cancelled first.
class DelayedAction {
 public:
  DelayedAction() = default;
  DelayedAction(const DelayedAction&) = delete;
  DelayedAction& operator=(const DelayedAction&) = delete;
  ~DelayedAction() { cancel(); }

  void schedule(Millis delay, std::function<void()> action) {
    cancel();
    std::lock_guard lock(mu_);
    cancelled_ = false;
    thread_ = std::thread([this, delay, action = std::move(action)] {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, delay, [&] { return cancelled_; })) return;
      lock.unlock();
      action();
    });
  }

  void cancel() {
    std::thread thread;
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
      thread.swap(thread_);
    }
    cv_.notify_all();
    if (thread.joinable()) thread.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
  std::thread thread_;
};

std::string urlHost(const std::string& bind_address) {
  if (bind_address.empty() || bind_address == "0.0.0.0") return "127.0.0.1";
  if (bind_address == "::") return "[::1]";
  if (bind_address.find(':') != std::string::npos) return "[" + bind_address + "]";
  return bind_address;
}

}  // namespace

struct Emulator::Impl {
  Impl(Emulator& owner, Options opts)
      : options(std::move(opts)),
        clock(options.clock != nullptr ? *options.clock : system_clock),
        tokens(clock),
        personality(makePersonality(
            options.cloud, PersonalityContext{clock, store, tokens, token_settings, switches})),
        control(owner) {}

  Options options;
  SystemClock system_clock;
  const Clock& clock;
  ScenarioStore store;
  TokenTable tokens;
  TokenSettings token_settings;
  CloudSwitches switches;
  std::unique_ptr<Personality> personality;
  RequestCounters counters;
  FaultSet faults;
  ControlApi control;
  std::optional<TlsFiles> tls_files;
  SslCtxPtr ssl_ctx;
  std::unique_ptr<HttpServer> api_server;
  std::unique_ptr<HttpServer> control_server;
  DelayedAction reenable;
  std::mutex lifecycle_mu;
  bool stopped = false;

  HttpResponse handleApiPort(const HttpRequest& request) {
    if (request.path == kControlPrefix || request.path.starts_with("/_emulator/")) {
      return control.handle(request);
    }
    const std::string* wait = request.param("wait_for_change");
    counters.count(request.method,
                   wait != nullptr ? request.path + "?wait_for_change" : request.path);
    const FaultSet::Match match = faults.take(request.method, request.path);
    if (match.latency.count() > 0 && !faults.sleep(match.latency)) {
      HttpResponse closing;
      closing.delivery = HttpResponse::Delivery::close;
      return closing;
    }
    const auto kind = match.fault ? std::optional(match.fault->kind) : std::nullopt;
    std::optional<HttpResponse> replaced;
    if (match.fault) replaced = faultResponse(*match.fault, faults, *personality);
    HttpResponse response = replaced ? std::move(*replaced) : personality->serve(request);
    if (kind == Fault::Kind::truncate) response.delivery = HttpResponse::Delivery::truncate;
    if (match.fault) pace(*match.fault, response);
    if (kind != Fault::Kind::impostor) personality->decorate(response);
    return response;
  }

  // The slow kinds keep their connection busy until the fault is cleared or stop().
  void pace(const Fault& fault, HttpResponse& response) {
    using Delivery = HttpResponse::Delivery;
    switch (fault.kind) {
      case Fault::Kind::overlong:
        response.delivery = Delivery::overlong;
        break;
      case Fault::Kind::endless:
        response.delivery = Delivery::endless;
        response.pace = fault.latency.count() > 0 ? fault.latency : Millis(200);
        break;
      case Fault::Kind::trickle:
        response.delivery = Delivery::trickle;
        response.pace = fault.latency.count() > 0 ? fault.latency : Millis(1000);
        break;
      default:
        return;
    }
    response.pause = [this, generation = faults.generation()](Millis d) {
      return faults.sleepUnlessCleared(d, generation);
    };
  }

  HttpResponse handleControlPort(const HttpRequest& request) const {
    if (request.path == kControlPrefix || request.path.starts_with("/_emulator/")) {
      return control.handle(request);
    }
    return errorResponse(notFound("The control port serves only /_emulator/ routes."));
  }

  // The scenario of the emulator's cloud: "default" is the cloud's own, and a scenario
  // written for another cloud ("cloud" member; none means IBM) is refused.
  Status loadScenario() {
    const Cloud cloud = options.cloud;
    const bool own_default = options.scenario == "default" && cloud != Cloud::ibm;
    const std::string name = own_default ? std::string(cloudName(cloud)) : options.scenario;
    if (auto s = store.load(name, scenarioDirectory()); !s) return s;
    const std::string declared = store.read([](const rapidjson::Value& doc) {
      const rapidjson::Value* v = member(doc, "cloud");
      return v != nullptr && v->IsString() ? std::string(v->GetString()) : std::string("ibm");
    });
    if (declared != cloudName(cloud)) {
      return makeError(EINVAL, "scenario '" + name + "' is for cloud '" + declared + "', not '" +
                                   std::string(cloudName(cloud)) + "'");
    }
    return Ok{};
  }

  Status applyServiceEnabled(bool enabled) {
    if (!api_server) return makeError(EINVAL, "the emulator is not running");
    if (!enabled) {  // their connections are reset anyway
      faults.releaseWaiters();
      store.releaseWaiters();
    }
    return api_server->setAccepting(enabled);
  }
};

Emulator::Emulator(Options options) : impl_(std::make_unique<Impl>(*this, std::move(options))) {}

Emulator::~Emulator() {
  stop();
}

Status Emulator::start() {
  std::lock_guard lock(impl_->lifecycle_mu);
  Impl& d = *impl_;
  if (d.stopped || d.api_server) {
    return makeError(EINVAL, "start() can be called once per emulator");
  }
  if (auto s = d.loadScenario(); !s) return s;
  if (d.options.https) {
    auto files = prepareTlsFiles(d.options.tls_dir);
    if (!files) return files.error();
    d.tls_files = *files;
    auto ctx = makeServerContext(*files);
    if (!ctx) return ctx.error();
    d.ssl_ctx = std::move(*ctx);
  }
  const Seconds keep_alive(std::max(1, d.options.keep_alive_timeout_s));
  HttpServerConfig api;
  api.bind_address = d.options.bind_address;
  api.port = d.options.port;
  api.tls = d.ssl_ctx.get();
  api.keep_alive_timeout = keep_alive;
  api.handler = [&d](const HttpRequest& r) { return d.handleApiPort(r); };
  // Both servers exist before either accepts: handlers read these pointers unlocked.
  d.api_server = std::make_unique<HttpServer>(std::move(api));
  if (d.options.control_port >= 0) {
    HttpServerConfig control;
    control.bind_address = d.options.bind_address;
    control.port = d.options.control_port;
    control.keep_alive_timeout = keep_alive;
    control.handler = [&d](const HttpRequest& r) { return d.handleControlPort(r); };
    d.control_server = std::make_unique<HttpServer>(std::move(control));
  }
  if (auto s = d.api_server->start(); !s) return s;
  if (d.control_server) {
    if (auto s = d.control_server->start(); !s) {
      d.api_server->stop();
      return s;
    }
  }
  return Ok{};
}

void Emulator::stop() {
  std::lock_guard lock(impl_->lifecycle_mu);
  Impl& d = *impl_;
  if (d.stopped) return;
  d.stopped = true;
  d.reenable.cancel();
  d.faults.shutdown();  // no handler waits on a fault or a long poll any more
  d.store.shutdown();
  if (d.api_server) d.api_server->stop();
  if (d.control_server) d.control_server->stop();
  if (d.tls_files) removeTlsFiles(*d.tls_files);
}

std::string Emulator::url() const {
  return std::string(impl_->options.https ? "https://" : "http://") +
         urlHost(impl_->options.bind_address) + ":" + std::to_string(port());
}

int Emulator::port() const {
  return impl_->api_server ? impl_->api_server->port() : 0;
}

std::string Emulator::caCertPath() const {
  return impl_->tls_files ? impl_->tls_files->ca_cert : std::string();
}

std::string Emulator::controlUrl() const {
  if (!impl_->control_server) return {};
  return "http://" + urlHost(impl_->options.bind_address) + ":" +
         std::to_string(impl_->control_server->port());
}

std::uint64_t Emulator::requests(std::string_view method, std::string_view path) const {
  return impl_->counters.get(method, path);
}
std::uint64_t Emulator::totalRequests() const {
  return impl_->counters.total();
}
std::map<std::string, std::uint64_t> Emulator::requestCounts() const {
  return impl_->counters.snapshot();
}
std::uint64_t Emulator::connectionsAccepted() const {
  return impl_->api_server ? impl_->api_server->connectionsAccepted() : 0;
}
void Emulator::resetCounters() {
  impl_->counters.reset();
  if (impl_->api_server) impl_->api_server->resetConnectionCount();
}

void Emulator::expireAllTokens() {
  impl_->tokens.expireAll();
}
void Emulator::setTokenLifetimes(Seconds identity_cap, Seconds iam_lifetime) {
  impl_->token_settings.identity_cap_s.store(identity_cap.count());
  impl_->token_settings.iam_lifetime_s.store(iam_lifetime.count());
}
bool Emulator::iamTokenValid(std::string_view token) const {
  return impl_->tokens.valid(token, TokenKind::iam);
}

Status Emulator::setData(std::string_view pointer, std::string_view json_value) {
  return impl_->store.set(pointer, json_value);
}
Status Emulator::addData(std::string_view pointer, std::string_view json_value) {
  return impl_->store.add(pointer, json_value);
}
Status Emulator::deleteData(std::string_view pointer) {
  return impl_->store.remove(pointer);
}
std::string Emulator::scenarioJson() const {
  return impl_->store.serialize();
}
Result<std::string> Emulator::data(std::string_view pointer) const {
  return impl_->store.get(pointer);
}

void Emulator::addFault(const Fault& fault) {
  impl_->faults.add(fault);
}
void Emulator::clearFaults() {
  impl_->faults.clear();
}
std::vector<Fault> Emulator::faults() const {
  return impl_->faults.list();
}

void Emulator::setServiceEnabled(bool enabled) {
  impl_->reenable.cancel();
  (void)impl_->applyServiceEnabled(enabled);
}

void Emulator::disableServiceFor(Millis duration) {
  impl_->reenable.cancel();
  (void)impl_->applyServiceEnabled(false);
  impl_->reenable.schedule(duration, [d = impl_.get()] { (void)d->applyServiceEnabled(true); });
}

bool Emulator::serviceEnabled() const {
  return impl_->api_server && impl_->api_server->accepting();
}

Cloud Emulator::cloud() const {
  return impl_->options.cloud;
}
void Emulator::setAwsImdsV1Allowed(bool allowed) {
  impl_->switches.aws_imdsv1.store(allowed);
}
bool Emulator::awsImdsV1Allowed() const {
  return impl_->switches.aws_imdsv1.load();
}
Status Emulator::setNewestVersion(std::string_view date) {
  if (date.empty()) {
    impl_->switches.ibm_newest_version.store(0);
    return Ok{};
  }
  auto parsed = parseDate(date);
  if (!parsed) return makeError(EINVAL, "not a YYYY-MM-DD date: " + std::string(date));
  impl_->switches.ibm_newest_version.store(*parsed);
  return Ok{};
}

void Emulator::setKeysPaginated(bool paginated) {
  impl_->switches.keys_paginated.store(paginated);
}
bool Emulator::keysPaginated() const {
  return impl_->switches.keys_paginated.load();
}
void Emulator::setReportedTokenExpiresIn(std::string json_number) {
  impl_->token_settings.setReportedExpiresIn(std::move(json_number));
}
void Emulator::setLegacyTokenStatus(int status) {
  impl_->token_settings.legacy_token_status.store(status);
}

std::string scenarioDirectory() {
  return MDFS_EMULATOR_SCENARIO_DIR;
}

}  // namespace mdfs::emu
