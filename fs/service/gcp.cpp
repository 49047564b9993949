#include "service/gcp.h"

#include <variant>

namespace mdfs::service {
namespace {

std::string withoutTrailingSlash(std::string url) {
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  return url;
}

}  // namespace

GcpClient::GcpClient(const GcpConfig& gcp, HttpTransport& http, const Logger& log,
                     ServiceHealth* health)
    : gcp_(gcp), retrier_(gcp.retry, http, log, health) {}

Result<HttpResponse> GcpClient::send(const std::string& url, Deadline deadline, FetchStats& stats) {
  HttpRequest request;
  request.url = url;
  request.headers = {"Metadata-Flavor: Google"};
  HttpResult result = retrier_.send(request, deadline, &stats);
  if (auto* failure = std::get_if<TransferError>(&result)) return failure->error;
  auto& response = std::get<HttpResponse>(result);
  if (response.metadata_flavor != "Google") {
    return makeError(ErrorKind::malformed,
                     "GET " + url +
                         ": the answer has no `Metadata-Flavor: Google`, so it is "
                         "not from the metadata server (a proxy or another host?)");
  }
  return std::move(response);
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
  return bodyOrError(std::move(response), "GET " + url);
}

}  // namespace mdfs::service
