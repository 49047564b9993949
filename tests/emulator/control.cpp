#include "emulator/control.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <functional>

#include "emulator/api.h"
#include "emulator/identity_api.h"
#include "emulator/scenario.h"

namespace mdfs::emu {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
using Kind = Fault::Kind;

constexpr std::array<std::pair<Kind, std::string_view>, 13> kKindNames = {{
    {Kind::latency, "latency"},
    {Kind::status, "status"},
    {Kind::reset, "reset"},
    {Kind::hang, "hang"},
    {Kind::truncate, "truncate"},
    {Kind::malformed, "malformed"},
    {Kind::oversized, "oversized"},
    {Kind::impostor, "impostor"},
    {Kind::overlong, "overlong"},
    {Kind::endless, "endless"},
    {Kind::trickle, "trickle"},
    {Kind::redirect, "redirect"},
    {Kind::body, "body"},
}};

bool matches(const Fault& f, std::string_view method, std::string_view path) {
  if (!f.method.empty() && f.method != method) return false;
  if (f.path == "*") return true;
  if (!f.path.empty() && f.path.back() == '*') {
    return path.starts_with(std::string_view(f.path).substr(0, f.path.size() - 1));
  }
  return f.path == path;
}

// Exactly `size` bytes of valid JSON (at least the 14 of the empty form).
std::string oversizedBody(std::size_t size) {
  const std::string head = R"({"padding":")";
  const std::string tail = R"("})";
  std::string body = head;
  if (size > head.size() + tail.size()) body.append(size - head.size() - tail.size(), 'x');
  body += tail;
  return body;
}

std::string json(const std::function<void(Writer&)>& fill) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  fill(w);
  return {buf.GetString(), buf.GetSize()};
}

HttpResponse badRequest(std::string message) {
  ApiError e;
  e.code = "invalid_request";
  e.message = std::move(message);
  return errorResponse(e);
}

HttpResponse fromStatus(const Status& status, const std::function<HttpResponse()>& on_ok) {
  if (!status) {
    ApiError e;
    e.status = status.error().errnum == ENOENT ? 404 : 400;
    e.code = e.status == 404 ? "not_found" : "invalid_request";
    e.message = status.error().message;
    return errorResponse(e);
  }
  return on_ok();
}

std::optional<HttpResponse> parseObject(const std::string& body, rapidjson::Document& doc) {
  if (auto error = parseJsonBody(body, doc)) return errorResponse(*error);
  return std::nullopt;
}

HttpResponse okResponse() {
  return jsonResponse(200, R"({"ok":true})");
}

}  // namespace

void FaultSet::add(const Fault& fault) {
  std::lock_guard lock(mu_);
  faults_.push_back(fault);
}

void FaultSet::clear() {
  {
    std::lock_guard lock(mu_);
    faults_.clear();
    ++generation_;
  }
  cv_.notify_all();
}

std::vector<Fault> FaultSet::list() const {
  std::lock_guard lock(mu_);
  return faults_;
}

FaultSet::Match FaultSet::take(std::string_view method, std::string_view path) {
  Match match;
  std::lock_guard lock(mu_);
  for (auto& f : faults_) {
    if (f.count == 0 || !matches(f, method, path)) continue;
    if (f.kind == Kind::latency) {
      match.latency += f.latency;
    } else if (!match.fault) {
      match.fault = f;
    } else {
      continue;  // not applied, so not used up
    }
    if (f.count > 0) --f.count;
  }
  std::erase_if(faults_, [](const Fault& f) { return f.count == 0; });
  return match;
}

bool FaultSet::sleep(Millis duration) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, duration, [&] { return shutdown_; });
}

void FaultSet::hang() {
  std::unique_lock lock(mu_);
  const std::uint64_t generation = generation_;
  cv_.wait(lock, [&] { return shutdown_ || generation_ != generation; });
}

bool FaultSet::sleepUnlessCleared(Millis duration, std::uint64_t generation) {
  std::unique_lock lock(mu_);
  const auto over = [&] { return shutdown_ || generation_ != generation; };
  cv_.wait_for(lock, duration, over);
  return !over();
}

std::uint64_t FaultSet::generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

void FaultSet::releaseWaiters() {
  {
    std::lock_guard lock(mu_);
    ++generation_;
  }
  cv_.notify_all();
}

void FaultSet::shutdown() {
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
}

void RequestCounters::count(std::string_view method, std::string_view path) {
  std::string key;
  key.reserve(method.size() + 1 + path.size());
  key.append(method).append(" ").append(path);
  std::lock_guard lock(mu_);
  ++counts_[key];
  ++total_;
}

std::uint64_t RequestCounters::get(std::string_view method, std::string_view path) const {
  const std::string key = std::string(method) + " " + std::string(path);
  std::lock_guard lock(mu_);
  const auto it = counts_.find(key);
  return it == counts_.end() ? 0 : it->second;
}

std::uint64_t RequestCounters::total() const {
  std::lock_guard lock(mu_);
  return total_;
}

std::map<std::string, std::uint64_t> RequestCounters::snapshot() const {
  std::lock_guard lock(mu_);
  return {counts_.begin(), counts_.end()};
}

void RequestCounters::reset() {
  std::lock_guard lock(mu_);
  counts_.clear();
  total_ = 0;
}

std::optional<HttpResponse> faultResponse(const Fault& fault, FaultSet& faults,
                                          const Personality& personality) {
  HttpResponse r;
  switch (fault.kind) {
    case Kind::latency:
    case Kind::truncate:
    case Kind::impostor:
    case Kind::overlong:
    case Kind::endless:
    case Kind::trickle:
      return std::nullopt;  // the normal answer, delivered badly by the caller
    case Kind::redirect:
      r = jsonResponse(fault.status >= 300 && fault.status <= 399 ? fault.status : 302,
                       R"({"moved":true})");
      r.headers.emplace_back("Location", fault.location);
      return r;
    case Kind::body:
      return jsonResponse(200, fault.body);
    case Kind::status: {
      r = personality.error(fault.status, "Injected failure (emulator fault).");
      if (fault.retry_after_s >= 0) {
        r.headers.emplace_back("Retry-After", std::to_string(fault.retry_after_s));
      }
      return r;
    }
    case Kind::reset:
      r.delivery = HttpResponse::Delivery::reset;
      return r;
    case Kind::hang:
      faults.hang();
      r.delivery = HttpResponse::Delivery::close;
      return r;
    case Kind::malformed:
      return jsonResponse(200, R"({"malformed": tru, "id": )");
    case Kind::oversized:
      return jsonResponse(200, oversizedBody(fault.oversized_bytes));
  }
  return std::nullopt;
}

Result<Fault> faultFromJson(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) return makeError(EINVAL, "a fault is a JSON object");
  Fault f;
  const rapidjson::Value* kind = member(doc, "kind");
  if (kind == nullptr || !kind->IsString()) return makeError(EINVAL, "a fault needs a \"kind\"");
  const auto* named = std::find_if(kKindNames.begin(), kKindNames.end(),
                                   [&](const auto& k) { return k.second == kind->GetString(); });
  if (named == kKindNames.end()) {
    return makeError(EINVAL,
                     std::string("unknown fault kind \"") + kind->GetString() +
                         "\" (latency, status, reset, hang, truncate, malformed, oversized, "
                         "impostor, overlong, endless, trickle, redirect, body)");
  }
  f.kind = named->first;
  for (const auto& m : doc.GetObject()) {
    const std::string name = m.name.GetString();
    const auto& v = m.value;
    const auto bad = [&] {
      return makeError(EINVAL, "fault field \"" + name + "\" has a bad value");
    };
    if (name == "kind") continue;
    if (name == "method" || name == "path" || name == "location" || name == "body") {
      if (!v.IsString()) return bad();
      (name == "method" ? f.method
       : name == "path" ? f.path
       : name == "body" ? f.body
                        : f.location) = std::string(v.GetString(), v.GetStringLength());
    } else if (name == "latency_ms") {
      if (!v.IsInt64() || v.GetInt64() < 0) return bad();
      f.latency = Millis(v.GetInt64());
    } else if (name == "status") {
      if (!v.IsInt() || v.GetInt() < 100 || v.GetInt() > 599) return bad();
      f.status = v.GetInt();
    } else if (name == "retry_after_s") {
      if (!v.IsInt()) return bad();
      f.retry_after_s = v.GetInt();
    } else if (name == "oversized_bytes") {
      if (!v.IsUint64()) return bad();
      f.oversized_bytes = v.GetUint64();
    } else if (name == "count") {
      if (!v.IsInt() || v.GetInt() == 0 || v.GetInt() < -1) return bad();
      f.count = v.GetInt();
    } else {
      return makeError(EINVAL, "unknown fault field \"" + name + "\"");
    }
  }
  return f;
}

std::string faultToJson(const Fault& f) {
  return json([&](Writer& w) {
    w.StartObject();
    w.Key("kind");
    for (const auto& [kind, name] : kKindNames) {
      if (kind == f.kind) w.String(name.data(), static_cast<rapidjson::SizeType>(name.size()));
    }
    w.Key("method");
    w.String(f.method);
    w.Key("path");
    w.String(f.path);
    w.Key("latency_ms");
    w.Int64(f.latency.count());
    w.Key("status");
    w.Int(f.status);
    w.Key("retry_after_s");
    w.Int(f.retry_after_s);
    w.Key("oversized_bytes");
    w.Uint64(f.oversized_bytes);
    w.Key("count");
    w.Int(f.count);
    w.Key("location");
    w.String(f.location);
    w.Key("body");
    w.String(f.body);
    w.EndObject();
  });
}

HttpResponse ControlApi::handle(const HttpRequest& request) const {
  const std::string_view path = request.path;
  const std::string& method = request.method;
  const bool get = method == "GET";
  const bool set = method == "PUT" || method == "POST";
  rapidjson::Document body;

  if ((path == "/_emulator" || path == "/_emulator/") && get) {
    return jsonResponse(200,
                        R"({"routes":["GET /_emulator/counters","POST /_emulator/counters/reset",)"
                        R"("GET /_emulator/connections","POST /_emulator/tokens/expire",)"
                        R"("PUT /_emulator/tokens/lifetimes","GET /_emulator/iam/check",)"
                        R"("GET /_emulator/scenario","GET|PUT|POST|DELETE /_emulator/data",)"
                        R"("GET|POST|DELETE /_emulator/faults","GET|PUT /_emulator/service",)"
                        R"("GET|PUT /_emulator/keys_pagination",)"
                        R"("PUT /_emulator/legacy_token_status","PUT /_emulator/token_expires_in",)"
                        R"("GET /_emulator/cloud",)"
                        R"("GET|PUT /_emulator/aws/imdsv1"]})");
  }
  if (path == "/_emulator/counters" && get) {
    return jsonResponse(200, json([&](Writer& w) {
                          w.StartObject();
                          w.Key("total");
                          w.Uint64(emu_.totalRequests());
                          w.Key("connections");
                          w.Uint64(emu_.connectionsAccepted());
                          w.Key("requests");
                          w.StartObject();
                          for (const auto& [key, n] : emu_.requestCounts()) {
                            w.Key(key.c_str(), static_cast<rapidjson::SizeType>(key.size()));
                            w.Uint64(n);
                          }
                          w.EndObject();
                          w.EndObject();
                        }));
  }
  if (path == "/_emulator/counters/reset" && set) {
    emu_.resetCounters();
    return okResponse();
  }
  if (path == "/_emulator/connections" && get) {
    return jsonResponse(200, R"({"accepted":)" + std::to_string(emu_.connectionsAccepted()) + "}");
  }
  if (path == "/_emulator/tokens/expire" && set) {
    emu_.expireAllTokens();
    return okResponse();
  }
  if (path == "/_emulator/tokens/lifetimes" && set) {
    if (auto error = parseObject(request.body, body)) return *error;
    const auto* cap = member(body, "identity_cap_s");
    const auto* iam = member(body, "iam_lifetime_s");
    if ((cap != nullptr && (!cap->IsInt64() || cap->GetInt64() < 0)) ||
        (iam != nullptr && (!iam->IsInt64() || iam->GetInt64() < 1))) {
      return badRequest("identity_cap_s must be >= 0 and iam_lifetime_s >= 1 (seconds)");
    }
    emu_.setTokenLifetimes(Seconds(cap != nullptr ? cap->GetInt64() : 0),
                           Seconds(iam != nullptr ? iam->GetInt64() : 3600));
    return okResponse();
  }
  if (path == "/_emulator/iam/check" && get) {
    const auto token = bearerToken(request);
    if (!token || !emu_.iamTokenValid(*token)) return errorResponse(unauthenticated());
    return jsonResponse(200, R"({"valid":true})");
  }
  if (path == "/_emulator/scenario" && get) return jsonResponse(200, emu_.scenarioJson());
  if (path == "/_emulator/data") {
    const std::string* query_pointer = request.param("pointer");
    std::string pointer = query_pointer != nullptr ? *query_pointer : std::string();
    std::string value = request.body;
    if (query_pointer == nullptr && method != "GET") {
      if (auto error = parseObject(request.body, body)) return *error;
      const auto* p = member(body, "pointer");
      if (p == nullptr || !p->IsString())
        return badRequest("give the JSON pointer as ?pointer= or in {\"pointer\": …}");
      pointer = p->GetString();
      const auto* v = member(body, "value");
      value = v != nullptr ? toJson(*v) : std::string();
    }
    if (get) {
      auto data = emu_.data(pointer);
      return fromStatus(data ? Status(Ok{}) : Status(data.error()),
                        [&] { return jsonResponse(200, *data); });
    }
    if (method == "PUT") return fromStatus(emu_.setData(pointer, value), okResponse);
    if (method == "POST") return fromStatus(emu_.addData(pointer, value), okResponse);
    if (method == "DELETE") return fromStatus(emu_.deleteData(pointer), okResponse);
  }
  if (path == "/_emulator/faults") {
    if (get) {
      std::string out = R"({"faults":[)";
      const auto faults = emu_.faults();
      for (std::size_t i = 0; i < faults.size(); ++i)
        out += (i ? "," : "") + faultToJson(faults[i]);
      return jsonResponse(200, out + "]}");
    }
    if (method == "POST") {
      auto fault = faultFromJson(request.body);
      if (!fault) return badRequest(fault.error().message);
      emu_.addFault(*fault);
      return jsonResponse(200, faultToJson(*fault));
    }
    if (method == "DELETE") {
      emu_.clearFaults();
      return okResponse();
    }
  }
  if (path == "/_emulator/service" && (get || set)) {
    if (set) {
      if (auto error = parseObject(request.body, body)) return *error;
      const auto* enabled = member(body, "enabled");
      const auto* duration = member(body, "duration_ms");
      if (enabled == nullptr || !enabled->IsBool() ||
          (duration != nullptr && (!duration->IsInt64() || duration->GetInt64() <= 0))) {
        return badRequest(R"(expected {"enabled": true|false, "duration_ms"?: N})");
      }
      if (!enabled->GetBool() && duration != nullptr) {
        emu_.disableServiceFor(Millis(duration->GetInt64()));
      } else {
        emu_.setServiceEnabled(enabled->GetBool());
      }
    }
    return jsonResponse(
        200, std::string(R"({"enabled":)") + (emu_.serviceEnabled() ? "true" : "false") + "}");
  }
  if (path == "/_emulator/keys_pagination" && (get || set)) {
    if (set) {
      if (auto error = parseObject(request.body, body)) return *error;
      const auto* paginated = member(body, "paginated");
      if (paginated == nullptr || !paginated->IsBool())
        return badRequest(R"(expected {"paginated": true|false})");
      emu_.setKeysPaginated(paginated->GetBool());
    }
    return jsonResponse(
        200, std::string(R"({"paginated":)") + (emu_.keysPaginated() ? "true" : "false") + "}");
  }
  if (path == "/_emulator/cloud" && get) {
    return jsonResponse(200, R"({"cloud":")" + std::string(cloudName(emu_.cloud())) + R"("})");
  }
  if (path == "/_emulator/aws/imdsv1" && (get || set)) {
    if (set) {
      if (auto error = parseObject(request.body, body)) return *error;
      const auto* allowed = member(body, "allowed");
      if (allowed == nullptr || !allowed->IsBool())
        return badRequest(R"(expected {"allowed": true|false})");
      emu_.setAwsImdsV1Allowed(allowed->GetBool());
    }
    return jsonResponse(
        200, std::string(R"({"allowed":)") + (emu_.awsImdsV1Allowed() ? "true" : "false") + "}");
  }
  if (path == "/_emulator/token_expires_in" && set) {
    if (auto error = parseObject(request.body, body)) return *error;
    const auto* claimed = member(body, "expires_in");
    if (claimed == nullptr || !claimed->IsString())
      return badRequest(R"(expected {"expires_in": "JSON number text, or empty"})");
    emu_.setReportedTokenExpiresIn(claimed->GetString());
    return okResponse();
  }
  if (path == "/_emulator/legacy_token_status" && set) {
    if (auto error = parseObject(request.body, body)) return *error;
    const auto* status = member(body, "status");
    if (status == nullptr || !status->IsInt() || status->GetInt() < 200 || status->GetInt() > 299) {
      return badRequest(R"(expected {"status": 200..299})");
    }
    emu_.setLegacyTokenStatus(status->GetInt());
    return okResponse();
  }
  return errorResponse(notFound("No control route " + method + " " + request.path +
                                "; GET /_emulator/ lists them."));
}

}  // namespace mdfs::emu
