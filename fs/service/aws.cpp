#include "service/aws.h"

#include <variant>

#include "service/errors.h"
#include "service/token_source.h"

namespace mdfs::service {
namespace {

constexpr const char* kTokenHeader = "X-aws-ec2-metadata-token";

std::string withoutTrailingSlash(std::string url) {
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  return url;
}

// The token request's failure, with what usually causes it.
Error tokenError(Error error, long status) {
  if (status == 403) {
    error.message +=
        " (IMDS is turned off for this instance, or refuses this request: "
        "aws ec2 modify-instance-metadata-options --http-endpoint enabled)";
  } else if (error.kind == ErrorKind::timed_out) {
    error.message +=
        " (a token request that gets no answer from a container is usually "
        "the hop limit: raise it to 2 with aws ec2 modify-instance-metadata-options "
        "--http-put-response-hop-limit 2, or allow IMDSv1 with -o aws_imdsv1=1)";
  }
  return error;
}

}  // namespace

AwsTokenSource::AwsTokenSource(const AwsConfig& aws, HttpTransport& http, const Clock& clock,
                               const Logger& log, ServiceHealth* health)
    : aws_(aws),
      clock_(clock),
      log_(log),
      retrier_(aws.retry, http, log, health),
      cache_(clock, "IMDSv2 session token") {}

Result<IssuedToken> AwsTokenSource::token(Deadline deadline) {
  return cache_.get(deadline, [this](Deadline d) { return request(d); });
}

Result<IssuedToken> AwsTokenSource::request(Deadline deadline) {
  HttpRequest request;
  request.method = "PUT";
  request.url = withoutTrailingSlash(aws_.endpoint) + "/latest/api/token";
  request.headers = {"X-aws-ec2-metadata-token-ttl-seconds: " + std::to_string(aws_.token_ttl_s)};
  request.secret_response = true;
  const std::string what = "IMDSv2 token request PUT " + request.url;
  FetchStats stats;
  Result<std::string> body = bodyOrError(
      [&]() -> Result<HttpResponse> {
        HttpResult result = retrier_.send(request, deadline, &stats);
        if (auto* failure = std::get_if<TransferError>(&result)) return failure->error;
        return std::get<HttpResponse>(std::move(result));
      }(),
      what);
  requests_ += static_cast<std::uint64_t>(stats.attempts);
  if (!body) return reportedOnce(failing_, log_, tokenError(body.error(), stats.status));
  if (body->empty() || body->find_first_of(" \r\n\t") != std::string::npos) {
    return reportedOnce(failing_, log_,
                        makeError(ErrorKind::malformed, what + ": the answer is not a token"));
  }
  failing_ = false;
  IssuedToken issued;
  issued.access_token = std::move(body).value();
  issued.expires_in = aws_.token_ttl_s;
  issued.obtained = clock_.steady();
  issued.expiry = issued.obtained + Seconds(aws_.token_ttl_s);
  issued.expiry_wall = clock_.wall() + Seconds(aws_.token_ttl_s);
  return issued;
}

AwsClient::AwsClient(const AwsConfig& aws, HttpTransport& http, AwsTokenSource& tokens,
                     const Logger& log, ServiceHealth* health)
    : aws_(aws), tokens_(tokens), log_(log), retrier_(aws.retry, http, log, health) {}

Result<std::string> AwsClient::get(std::string_view path, std::string_view /*list_key*/,
                                   Deadline deadline, FetchStats* stats) {
  FetchStats local;
  FetchStats& counts = stats != nullptr ? *stats : local;
  ++counts.pages;
  const std::string url = withoutTrailingSlash(aws_.endpoint) + std::string(path);
  auto build = [&url](const IssuedToken& token) {
    HttpRequest r;
    r.url = url;
    if (!token.access_token.empty())
      r.headers = {std::string(kTokenHeader) + ": " + token.access_token};
    return r;
  };
  if (aws_.imdsv1 && !tokens_.token(deadline).ok()) {
    // IMDSv1, allowed by the operator: the same GET without a token (a container beyond
    // the hop limit gets no token, but its GETs are answered).
    HttpResult plain = retrier_.send(build(IssuedToken{}), deadline, &counts);
    if (auto* failure = std::get_if<TransferError>(&plain)) return failure->error;
    return bodyOrError(std::get<HttpResponse>(std::move(plain)), "GET " + url);
  }
  Result<HttpResponse> response = sendWithToken(tokens_, retrier_, deadline, build, counts, log_);
  return bodyOrError(std::move(response), "GET " + url);
}

}  // namespace mdfs::service
