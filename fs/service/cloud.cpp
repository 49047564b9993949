#include "service/cloud.h"

#include "service/api.h"
#include "service/errors.h"

namespace mdfs::service {

std::string defaultEndpoint(Cloud cloud, bool ipv6) {
  switch (cloud) {
    case Cloud::ibm:
      return std::string(kDefaultEndpoint);
    case Cloud::aws:
      return ipv6 ? "http://[fd00:ec2::254]" : "http://169.254.169.254";
    case Cloud::gcp:
      return "http://metadata.google.internal";
    case Cloud::azure:
      return "http://169.254.169.254";
  }
  return std::string(kDefaultEndpoint);
}

std::string_view apiRoot(Cloud cloud) {
  switch (cloud) {
    case Cloud::aws:
      return "/latest";
    case Cloud::gcp:
      return "/computeMetadata/v1";
    case Cloud::azure:
      return "/metadata";
    case Cloud::ibm:
      break;
  }
  return "";
}

Result<std::string> bodyOrError(Result<HttpResponse> response, const std::string& what) {
  if (!response) return response.error();
  if (isSuccessStatus(response->status)) return std::move(response->body);
  return responseError(outcomeForStatus(response->status), what, response->status, response->body,
                       response->request_id);
}

}  // namespace mdfs::service
