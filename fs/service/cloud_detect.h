// cloud=auto: which cloud this machine runs on, from its SMBIOS strings in
// /sys/class/dmi/id/ (markers and their sources: docs/clouds/README.md). Unknown hardware
// means IBM, and the reason says so.
#pragma once

#include <string>

#include "service/cloud.h"

namespace mdfs::service {

inline constexpr const char* kDmiDir = "/sys/class/dmi/id";

struct Detected {
  Cloud cloud = Cloud::ibm;
  std::string reason;  // "chassis_asset_tag is Azure's", "no cloud's marker: IBM assumed"
};

Detected detectCloud(const std::string& dmi_dir = kDmiDir);

}  // namespace mdfs::service
