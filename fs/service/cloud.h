// Which cloud's metadata service metadatafs speaks (DESIGN §7): IBM Cloud VPC, AWS EC2
// (IMDSv2), Google Compute Engine or Azure IMDS. Each cloud is a client behind one
// interface, CloudClient: the cache asks for a resource by its URL path and gets its body.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/cloud.h"
#include "common/error.h"
#include "common/fetch_stats.h"
#include "service/http_transport.h"

namespace mdfs::service {

using mdfs::Cloud;

using mdfs::cloudName;
using mdfs::parseCloud;

// Each cloud's service address: IBM's and Google's by name (pinned to the link-local
// address, see defaultResolve), AWS's and Azure's by the address itself.
std::string defaultEndpoint(Cloud cloud, bool ipv6 = false);

// The URL path of the tree's root (the mount root): "/latest" (AWS),
// "/computeMetadata/v1" (GCE), "/metadata" (Azure); IBM's endpoints name their own paths.
std::string_view apiRoot(Cloud cloud);

// What one cloud's metadata service answers, as the cache needs it.
class CloudClient {
 public:
  virtual ~CloudClient() = default;
  // The body of GET <path> (the URL path: "/latest/meta-data/placement/", or for IBM
  // "/metadata/v1/keys" with the collection's `list_key`). A resource that does not exist
  // is an Error of kind not_found; every other failure is final (retries are done).
  virtual Result<std::string> get(std::string_view path, std::string_view list_key,
                                  Deadline deadline, FetchStats* stats) = 0;
};

// The body of a 2xx answer, or the Error for any other status: a 404 is not_found (the
// resource does not exist), everything else by the table of outcomeForStatus. `what`
// ("GET <url>") starts the message.
Result<std::string> bodyOrError(Result<HttpResponse> response, const std::string& what);

}  // namespace mdfs::service
