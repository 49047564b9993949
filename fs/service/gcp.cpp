#include "service/gcp.h"

#include <algorithm>
#include <cctype>
#include <variant>

namespace mdfs::service {
namespace {

std::string withoutTrailingSlash(std::string url) {
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  return url;
}

// An ETag in a query: anything but unreserved characters percent-encoded (the server's
// tags are hex, but they are the server's bytes).
std::string queryValue(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

}  // namespace

GcpClient::GcpClient(const GcpConfig& gcp, HttpTransport& http, const Logger& log,
                     ServiceHealth* health, HttpTransport* long_polls)
    : gcp_(gcp), retrier_(gcp.retry, http, log, health), long_polls_(long_polls) {}

Result<HttpResponse> GcpClient::send(const std::string& url, Deadline deadline, FetchStats& stats) {
  HttpRequest request;
  request.url = url;
  request.headers = {"Metadata-Flavor: Google"};
  HttpResult result = retrier_.send(request, deadline, &stats);
  if (auto* failure = std::get_if<TransferError>(&result)) return failure->error;
  return checked(std::get<HttpResponse>(std::move(result)), url);
}

Result<HttpResponse> GcpClient::checked(HttpResponse response, const std::string& url) const {
  if (response.metadata_flavor != "Google") {
    return makeError(ErrorKind::malformed,
                     "GET " + url +
                         ": the answer has no `Metadata-Flavor: Google`, so it is "
                         "not from the metadata server (a proxy or another host?)");
  }
  return response;
}

Result<std::string> GcpClient::get(std::string_view path, std::string_view /*list_key*/,
                                   Deadline deadline, FetchStats* stats) {
  FetchStats local;
  FetchStats& counts = stats != nullptr ? *stats : local;
  ++counts.pages;
  std::string url = withoutTrailingSlash(gcp_.endpoint) + std::string(path);
  Result<HttpResponse> response = send(url, deadline, counts);
  // A directory asked without its slash answers 301; redirects are never followed, the
  // slash form is asked instead.
  if (response && response->status == 301 && !url.empty() && url.back() != '/') {
    url += '/';
    response = send(url, deadline, counts);
  }
  if (response) counts.etag = response->etag;
  return bodyOrError(std::move(response), "GET " + url);
}

Result<std::string> GcpClient::waitForChange(std::string_view path, const std::string& etag,
                                             Seconds wait, Deadline deadline, FetchStats& stats,
                                             const std::atomic<bool>* cancel) {
  if (long_polls_ == nullptr) {
    return makeError(ErrorKind::internal, "no transport for wait_for_change", LogLevel::debug);
  }
  HttpRequest request;
  request.url = withoutTrailingSlash(gcp_.endpoint) + std::string(path) +
                "?wait_for_change=true&last_etag=" + queryValue(etag) + "&timeout_sec=" +
                std::to_string(std::clamp(wait, Seconds(1), kGcpMaxChangeWait).count());
  request.headers = {"Metadata-Flavor: Google"};
  request.cancel = cancel;
  ++stats.pages;
  ++stats.attempts;
  HttpResult result = long_polls_->perform(request, deadline);
  if (auto* failure = std::get_if<TransferError>(&result)) return failure->error;
  Result<HttpResponse> response = checked(std::get<HttpResponse>(std::move(result)), request.url);
  if (response) {
    stats.status = response->status;
    stats.bytes += response->body.size();
    stats.etag = response->etag;
  }
  return bodyOrError(std::move(response), "GET " + request.url);
}

}  // namespace mdfs::service
