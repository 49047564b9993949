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
#include "emulator/metadata_api.h"
#include "emulator/scenario.h"

#ifndef MDFS_EMULATOR_SCENARIO_DIR
#error "MDFS_EMULATOR_SCENARIO_DIR must name the directory of the shipped scenarios"
#endif

namespace mdfs::emu {
namespace {

// The identity routes and their version rule (ref §5.4).
struct IdentityRoute {
  std::string_view path;
  std::string_view method;
  bool legacy;  // /instance_identity/*: 404 from 2025-08-26 on
  bool token;   // the token PUT (else the IAM token POST)
};

constexpr std::array kIdentityRoutes = {
    IdentityRoute{"/instance_identity/v1/token", "PUT", true, true},
    IdentityRoute{"/instance_identity/v1/iam_token", "POST", true, false},
    IdentityRoute{"/identity/v1/token", "PUT", false, true},
    IdentityRoute{"/identity/v1/iam_tokens", "POST", false, false},
};

const IdentityRoute* findIdentityRoute(std::string_view path) {
  const auto* it = std::find_if(kIdentityRoutes.begin(), kIdentityRoutes.end(),
                                [&](const IdentityRoute& r) { return r.path == path; });
  return it == kIdentityRoutes.end() ? nullptr : it;
}

HttpResponse methodNotAllowed(const HttpRequest& request, std::string_view allowed) {
  ApiError e;
  e.status = 405;
  e.code = "method_not_allowed";
  e.message = "The method " + request.method + " is not supported on " + request.path + ".";
  e.headers.emplace_back("Allow", std::string(allowed));
  return errorResponse(e);
}

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
        identity(clock, store, tokens, token_settings),
        metadata(store),
        control(owner) {}

  Options options;
  SystemClock system_clock;
  const Clock& clock;
  ScenarioStore store;
  TokenTable tokens;
  TokenSettings token_settings;
  IdentityApi identity;
  MetadataApi metadata;
  RequestCounters counters;
  FaultSet faults;
  ControlApi control;
  std::atomic<bool> keys_paginated{false};
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
    counters.count(request.method, request.path);
    const FaultSet::Match match = faults.take(request.method, request.path);
    if (match.latency.count() > 0 && !faults.sleep(match.latency)) {
      HttpResponse closing;
      closing.delivery = HttpResponse::Delivery::close;
      return closing;
    }
    if (match.fault) {
      if (auto replaced = faultResponse(*match.fault, faults)) return *replaced;
    }
    HttpResponse response = serveApi(request);
    if (match.fault && match.fault->kind == Fault::Kind::truncate) {
      response.delivery = HttpResponse::Delivery::truncate;
    }
    return response;
  }

  HttpResponse handleControlPort(const HttpRequest& request) const {
    if (request.path == kControlPrefix || request.path.starts_with("/_emulator/")) {
      return control.handle(request);
    }
    return errorResponse(notFound("The control port serves only /_emulator/ routes."));
  }

  HttpResponse serveApi(const HttpRequest& request) const {
    const IdentityRoute* identity_route = findIdentityRoute(request.path);
    const auto metadata_route =
        identity_route == nullptr ? resolveMetadataPath(request.path) : std::nullopt;
    if (identity_route == nullptr && !metadata_route) {
      return errorResponse(notFound("The requested path was not found."));
    }
    const bool get = request.method == "GET" || request.method == "HEAD";
    if (identity_route != nullptr ? request.method != identity_route->method : !get) {
      return methodNotAllowed(request, identity_route != nullptr ? identity_route->method : "GET");
    }
    const auto version = requestVersion(request);
    if (const auto* error = std::get_if<ApiError>(&version)) return errorResponse(*error);
    const ApiDate date = std::get<ApiDate>(version);

    if (identity_route != nullptr) {
      if (identity_route->legacy && date >= kIdentityPathBreak) {
        return errorResponse(notFound("The requested path is not available with version " +
                                      *request.param("version") + "; use /identity/v1/."));
      }
      if (identity_route->token) return identity.createToken(request, identity_route->legacy);
    } else if (date < metadata_route->endpoint->since) {
      return errorResponse(notFound("The requested path is not available with version " +
                                    *request.param("version") + "."));
    }
    const auto token = bearerToken(request);
    if (!token || !tokens.valid(*token, TokenKind::identity)) {
      return errorResponse(unauthenticated());
    }
    if (identity_route != nullptr) return identity.createIamToken(request, identity_route->legacy);
    return metadata.get(*metadata_route, request, keys_paginated.load());
  }

  Status applyServiceEnabled(bool enabled) {
    if (!api_server) return makeError(EINVAL, "the emulator is not running");
    if (!enabled) faults.releaseWaiters();  // their connections are reset anyway
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
  if (auto s = d.store.load(d.options.scenario, scenarioDirectory()); !s) return s;
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
  d.faults.shutdown();  // no handler waits on a fault any more
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

void Emulator::setKeysPaginated(bool paginated) {
  impl_->keys_paginated.store(paginated);
}
bool Emulator::keysPaginated() const {
  return impl_->keys_paginated.load();
}
void Emulator::setLegacyTokenStatus(int status) {
  impl_->token_settings.legacy_token_status.store(status);
}

std::string scenarioDirectory() {
  return MDFS_EMULATOR_SCENARIO_DIR;
}

}  // namespace mdfs::emu
