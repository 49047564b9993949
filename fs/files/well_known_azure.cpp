// Azure's well-known facts, from the tree mounted from IMDS (instance/ is the instance
// document; docs/clouds/azure.md). Azure exposes no virtual network id: no vpc-id.
#include "files/well_known.h"

namespace mdfs::files {

WellKnownTable azureWellKnown() {
  WellKnownTable t = tableFor("azure");
  t.facts.push_back(factAt("instance-id", {"instance/compute/vmId"}));
  t.facts.push_back(factAt("hostname", {"instance/compute/osProfile/computerName"}));
  t.facts.push_back(factAt("instance-type", {"instance/compute/vmSize"}));
  t.facts.push_back(factAt("region", {"instance/compute/location"}));
  // As served ("1"); absent when the VM is in no availability zone (an empty string).
  t.facts.push_back(factAt("zone", {"instance/compute/zone"}));
  t.facts.push_back(factAt("image-id", {"instance/compute/storageProfile/imageReference/id"}));
  t.facts.push_back(
      factAt("ipv4-private", {"instance/network/interface/0/ipv4/ipAddress/0/privateIpAddress"}));
  t.facts.push_back(
      factAt("ipv4-public", {"instance/network/interface/0/ipv4/ipAddress/0/publicIpAddress"}));
  FactRule keys = factAt("ssh-key", {"instance/compute/publicKeys/*/keyData"});
  keys.combine = Combine::lines;
  t.facts.push_back(keys);
  FactRule userdata = factAt("userdata", {"instance/compute/userData"});
  userdata.secret = true;
  t.facts.push_back(userdata);
  return t;
}

}  // namespace mdfs::files
