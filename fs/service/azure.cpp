#include "service/azure.h"

#include <variant>

namespace mdfs::service {
namespace {

// Scheduled events and managed identity keep API versions of their own.
std::string_view versionFor(std::string_view path, std::string_view instance_version) {
  if (path.starts_with("/metadata/scheduledevents")) return "2020-07-01";
  if (path.starts_with("/metadata/identity/")) return "2018-02-01";
  return instance_version;
}

}  // namespace

AzureClient::AzureClient(const AzureConfig& azure, HttpTransport& http, const Logger& log,
                         ServiceHealth* health)
    : azure_(azure), retrier_(azure.retry, http, log, health) {}

std::string AzureClient::url(std::string_view path) const {
  std::string out = azure_.endpoint;
  while (!out.empty() && out.back() == '/')
    out.pop_back();
  const std::string_view bare = path.substr(0, path.find('?'));
  out += path;
  out += path.find('?') == std::string_view::npos ? '?' : '&';
  out += "api-version=";
  out += versionFor(bare, azure_.api_version);
  return out;
}

Result<std::string> AzureClient::get(std::string_view path, std::string_view /*list_key*/,
                                     Deadline deadline, FetchStats* stats) {
  FetchStats local;
  FetchStats& counts = stats != nullptr ? *stats : local;
  ++counts.pages;
  HttpRequest request;
  request.url = url(path);
  request.headers = {"Metadata: true"};
  request.secret_response = path.starts_with("/metadata/identity/");
  HttpResult result = retrier_.send(request, deadline, &counts);
  if (auto* failure = std::get_if<TransferError>(&result)) return failure->error;
  return bodyOrError(std::get<HttpResponse>(std::move(result)), "GET " + request.url);
}

}  // namespace mdfs::service
