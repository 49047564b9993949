// AWS EC2's well-known facts, from the tree mounted from IMDS (the mount root is /latest/;
// docs/clouds/aws.md).
#include "files/well_known.h"

namespace mdfs::files {

WellKnownTable awsWellKnown() {
  WellKnownTable t = tableFor("aws");
  t.facts.push_back(factAt("instance-id", {"meta-data/instance-id"}));
  t.facts.push_back(factAt("hostname", {"meta-data/hostname"}));
  t.facts.push_back(factAt("instance-type", {"meta-data/instance-type"}));
  t.facts.push_back(factAt("zone", {"meta-data/placement/availability-zone"}));
  t.facts.push_back(factAt("region", {"meta-data/placement/region"}));
  t.facts.push_back(factAt("image-id", {"meta-data/ami-id"}));
  // The primary interface is the one whose MAC meta-data/mac names.
  t.facts.push_back(factAt("vpc-id", {"meta-data/network/interfaces/macs/{meta-data/mac}/vpc-id"}));
  t.facts.push_back(factAt("ipv4-private", {"meta-data/local-ipv4"}));
  t.facts.push_back(factAt("ipv4-public", {"meta-data/public-ipv4"}));
  FactRule keys = factAt("ssh-key", {"meta-data/public-keys/*/openssh-key"});
  keys.combine = Combine::lines;
  t.facts.push_back(keys);
  FactRule userdata = factAt("userdata", {"user-data"});
  userdata.secret = true;
  t.facts.push_back(userdata);
  return t;
}

}  // namespace mdfs::files
