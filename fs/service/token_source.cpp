#include "service/token_source.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <atomic>
#include <utility>
#include <variant>

#include "service/errors.h"

namespace mdfs::service {
namespace {

bool mentionsVersion(const Error& error) {
  return error.code.find("version") != std::string::npos ||
         error.message.find("version") != std::string::npos;
}

// The Error for a failing answer from a token endpoint, with the likely cause. A 404 there
// never means "absent" (that would make the whole tree vanish): the endpoint or the API
// version does not fit the service.
Error tokenEndpointError(const HttpResponse& response, const std::string& what,
                         const std::string& version) {
  Error error = responseError(outcomeForStatus(response.status), what, response.status,
                              response.body, response.request_id);
  if (response.status == 404) {
    error.reclassify(Outcome::bad_request);
    error.message +=
        " (token endpoint not found: check endpoint=, and whether the service "
        "supports api_version=" +
        version + "; the token path changed at " + std::string(kIdentityPathBreak) + ")";
  } else if (response.status == 400 && mentionsVersion(error)) {
    error.message += " (the service refuses api_version=" + version + ": use an older date)";
  } else if (response.status == 403) {
    error.message += " (the metadata service may not be enabled for this instance)";
  }
  return error;
}

std::string profileBody(const TrustedProfile& profile) {
  if (profile.by == TrustedProfile::By::default_profile) return {};
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("trusted_profile");
  writer.StartObject();
  writer.Key(profile.by == TrustedProfile::By::id ? "id" : "crn");
  writer.String(profile.value.c_str(), static_cast<rapidjson::SizeType>(profile.value.size()));
  writer.EndObject();
  writer.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

void logAcquired(const Logger& log, std::string_view name, const IssuedToken& token) {
  log.debug(std::string(name) + " acquired, valid for " + std::to_string(token.expires_in) +
            " s until " + token.expires_at);
}

}  // namespace

TokenSource::TokenSource(const ApiConfig& api, HttpTransport& http, const Clock& clock,
                         const Logger& log, ServiceHealth* health)
    : api_(api),
      clock_(clock),
      log_(log),
      retrier_(api.retry, http, log, health),
      cache_(clock, "identity token") {}

Result<IssuedToken> TokenSource::token(Deadline deadline) {
  return cache_.get(deadline, [this](Deadline d) { return request(d); });
}

void TokenSource::invalidate(std::string_view access_token) {
  cache_.invalidate(access_token);
}

std::optional<WallTime> TokenSource::expiresAt() const {
  return cache_.expiresAt();
}

Result<IssuedToken> TokenSource::request(Deadline deadline) {
  HttpRequest request;
  request.method = "PUT";
  request.url = api_.tokenUrl();
  request.headers = {"Metadata-Flavor: ibm", "Content-Type: application/json",
                     "Accept: application/json"};
  request.body = "{\"expires_in\": " + std::to_string(api_.token_ttl_s) + "}";
  request.secret_response = true;
  const std::string what = "identity token request PUT " + request.url;

  FetchStats stats;
  HttpResult result = retrier_.send(request, deadline, &stats);
  requests_ += static_cast<std::uint64_t>(stats.attempts);
  if (auto* failure = std::get_if<TransferError>(&result)) {
    return reportedOnce(failing_, log_, std::move(failure->error));
  }
  const HttpResponse& response = std::get<HttpResponse>(result);
  if (!isSuccessStatus(response.status)) {
    return reportedOnce(failing_, log_, tokenEndpointError(response, what, api_.version));
  }
  Result<IssuedToken> issued = parseIssuedToken(response.body, clock_, what);
  if (!issued) return reportedOnce(failing_, log_, issued.error());
  if (failing_.exchange(false)) log_.info("identity token acquired again");
  logAcquired(log_, "identity token", issued.value());
  return issued;
}

IamTokenSource::IamTokenSource(const ApiConfig& api, TrustedProfile profile, HttpTransport& http,
                               TokenSource& identity, const Clock& clock, const Logger& log,
                               ServiceHealth* health)
    : api_(api),
      profile_(std::move(profile)),
      identity_(identity),
      clock_(clock),
      log_(log),
      retrier_(api.retry, http, log, health),
      cache_(clock, "IAM token") {}

Result<IssuedToken> IamTokenSource::token(Deadline deadline) {
  return cache_.get(deadline, [this](Deadline d) { return request(d); });
}

std::optional<WallTime> IamTokenSource::expiresAt() const {
  return cache_.expiresAt();
}

HttpRequest IamTokenSource::buildRequest(const IssuedToken& identity) const {
  HttpRequest request;
  request.method = "POST";
  request.url = api_.iamTokenUrl();
  request.headers = {"Authorization: Bearer " + identity.access_token, "Accept: application/json"};
  request.body = profileBody(profile_);
  if (!request.body.empty()) request.headers.emplace_back("Content-Type: application/json");
  request.secret_response = true;
  return request;
}

Result<IssuedToken> IamTokenSource::request(Deadline deadline) {
  const std::string what = "IAM token request POST " + api_.iamTokenUrl();
  FetchStats stats;
  Result<HttpResponse> response = sendWithToken(
      identity_, retrier_, deadline,
      [this](const IssuedToken& identity) { return buildRequest(identity); }, stats, log_);
  requests_ += static_cast<std::uint64_t>(stats.attempts);
  if (!response) return response.error();
  if (isSuccessStatus(response->status)) {
    Result<IssuedToken> issued = parseIssuedToken(response->body, clock_, what);
    if (issued) logAcquired(log_, "IAM token", issued.value());
    return issued;
  }
  Error error = tokenEndpointError(*response, what, api_.version);
  if (response->status == 400 && error.code == "profile_not_linked") {
    return reclassified(std::move(error), Outcome::profile_not_linked);
  }
  if (response->status == 400 && error.code == "missing_field" &&
      profile_.by == TrustedProfile::By::default_profile) {
    return reclassified(std::move(error), Outcome::no_default_profile);
  }
  return error;
}

TrustedProfile parseTrustedProfile(const std::string& value) {
  TrustedProfile p;
  if (value == "default") return p;
  p.by = value.rfind("crn:", 0) == 0 ? TrustedProfile::By::crn : TrustedProfile::By::id;
  p.value = value;
  return p;
}

Result<HttpResponse> sendWithToken(SessionTokens& tokens, Retrier& retrier, Deadline deadline,
                                   const std::function<HttpRequest(const IssuedToken&)>& build,
                                   FetchStats& stats, const Logger& log) {
  for (int round = 0;; ++round) {
    Result<IssuedToken> token = tokens.token(deadline);
    if (!token) return token.error();
    const HttpRequest request = build(token.value());
    HttpResult result = retrier.send(request, deadline, &stats);
    if (auto* failure = std::get_if<TransferError>(&result)) return std::move(failure->error);
    auto& response = std::get<HttpResponse>(result);
    if (response.status != 401 || round > 0) return std::move(response);
    log.debug(request.method + " " + request.url +
              ": token refused (HTTP 401); re-acquiring it once");
    tokens.invalidate(token->access_token);
    ++stats.retries;
  }
}

}  // namespace mdfs::service
