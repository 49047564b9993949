// AWS EC2's well-known facts, from the tree mounted from IMDS (the mount root is /latest/;
// docs/clouds/aws.md).
#include "files/well_known.h"

namespace mdfs::files {

WellKnownTable awsWellKnown() {
  auto fact = [](std::string name, std::vector<std::string> paths) {
    FactRule r;
    r.name = std::move(name);
    r.paths = std::move(paths);
    return r;
  };
  WellKnownTable t;
  FactRule cloud;
  cloud.name = "cloud";
  cloud.constant = "aws";
  t.facts.push_back(cloud);
  t.facts.push_back(fact("instance-id", {"meta-data/instance-id"}));
  t.facts.push_back(fact("hostname", {"meta-data/hostname"}));
  t.facts.push_back(fact("instance-type", {"meta-data/instance-type"}));
  t.facts.push_back(fact("zone", {"meta-data/placement/availability-zone"}));
  t.facts.push_back(fact("region", {"meta-data/placement/region"}));
  t.facts.push_back(fact("image-id", {"meta-data/ami-id"}));
  // The primary interface is the one whose MAC meta-data/mac names.
  t.facts.push_back(fact("vpc-id", {"meta-data/network/interfaces/macs/{meta-data/mac}/vpc-id"}));
  t.facts.push_back(fact("ipv4-private", {"meta-data/local-ipv4"}));
  t.facts.push_back(fact("ipv4-public", {"meta-data/public-ipv4"}));
  FactRule keys = fact("ssh-key", {"meta-data/public-keys/*/openssh-key"});
  keys.combine = Combine::lines;
  t.facts.push_back(keys);
  FactRule userdata = fact("userdata", {"user-data"});
  userdata.secret = true;
  t.facts.push_back(userdata);
  return t;
}

}  // namespace mdfs::files
