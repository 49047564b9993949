#include "service/token_source.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <utility>
#include <variant>

#include "service/errors.h"

namespace mdfs::service {
namespace {

// The Error for a failing answer from a token endpoint. A 404 there does not mean "absent"
// (that would make the whole tree vanish): the identity path and version don't match.
Error tokenEndpointError(const HttpResponse& response, const std::string& what,
                         const std::string& version) {
  if (response.status == 404) {
    return responseError(Outcome::bad_request,
                         what + ": token endpoint not found (api version " + version + ")",
                         response.status, response.body, response.request_id);
  }
  return responseError(outcomeForStatus(response.status), what, response.status, response.body,
                       response.request_id);
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
                         const Logger& log)
    : api_(api),
      clock_(clock),
      log_(log),
      retrier_(api.retry, http, log),
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
  if (auto* failure = std::get_if<TransferError>(&result)) return std::move(failure->error);
  const HttpResponse& response = std::get<HttpResponse>(result);
  if (!isSuccessStatus(response.status)) return tokenEndpointError(response, what, api_.version);
  Result<IssuedToken> issued = parseIssuedToken(response.body, clock_, what);
  if (issued) logAcquired(log_, "identity token", issued.value());
  return issued;
}

IamTokenSource::IamTokenSource(const ApiConfig& api, TrustedProfile profile, HttpTransport& http,
                               TokenSource& identity, const Clock& clock, const Logger& log)
    : api_(api),
      profile_(std::move(profile)),
      identity_(identity),
      clock_(clock),
      log_(log),
      retrier_(api.retry, http, log),
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
  for (int round = 0;; ++round) {
    Result<IssuedToken> identity = identity_.token(deadline);
    if (!identity) return identity.error();
    FetchStats stats;
    HttpResult result = retrier_.send(buildRequest(identity.value()), deadline, &stats);
    requests_ += static_cast<std::uint64_t>(stats.attempts);
    if (auto* failure = std::get_if<TransferError>(&result)) return std::move(failure->error);
    const HttpResponse& response = std::get<HttpResponse>(result);
    if (response.status == 401 && round == 0) {
      log_.debug(what + ": identity token refused (HTTP 401); re-acquiring it once");
      identity_.invalidate(identity->access_token);
      continue;
    }
    if (isSuccessStatus(response.status)) {
      Result<IssuedToken> issued = parseIssuedToken(response.body, clock_, what);
      if (issued) logAcquired(log_, "IAM token", issued.value());
      return issued;
    }
    Error error = tokenEndpointError(response, what, api_.version);
    if (response.status == 400 && error.code == "profile_not_linked") {
      return reclassified(std::move(error), Outcome::profile_not_linked);
    }
    if (response.status == 400 && error.code == "missing_field" &&
        profile_.by == TrustedProfile::By::default_profile) {
      return reclassified(std::move(error), Outcome::no_default_profile);
    }
    return error;
  }
}

}  // namespace mdfs::service
