#include "common/cloud.h"

namespace mdfs {

std::string_view cloudName(Cloud cloud) {
  switch (cloud) {
    case Cloud::ibm:
      return "ibm";
    case Cloud::aws:
      return "aws";
    case Cloud::gcp:
      return "gcp";
    case Cloud::azure:
      return "azure";
  }
  return "ibm";
}

std::optional<Cloud> parseCloud(std::string_view name) {
  for (const Cloud c : {Cloud::ibm, Cloud::aws, Cloud::gcp, Cloud::azure}) {
    if (cloudName(c) == name) return c;
  }
  return std::nullopt;
}

}  // namespace mdfs
