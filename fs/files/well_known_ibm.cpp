// IBM Cloud VPC's well-known facts: where each cloud-neutral name is found in the tree that
// metadatafs mounts from IBM's metadata service (README "Well-known names"). Another cloud
// adds a table like this one.
#include "files/well_known.h"

namespace mdfs::files {

WellKnownTable ibmWellKnown() {
  WellKnownTable t = tableFor("ibm");
  t.facts.push_back(factAt("instance-id", {"instance/id"}));
  t.facts.push_back(factAt("hostname", {"instance/name"}));
  t.facts.push_back(factAt("instance-type", {"instance/profile/name"}));
  t.facts.push_back(factAt("zone", {"instance/zone/name"}));
  FactRule region = factAt("region", {"instance/zone/name"});
  region.transforms = {Transform::drop_last_dash_part};  // us-south-1 -> us-south
  t.facts.push_back(region);
  t.facts.push_back(factAt("image-id", {"instance/image/id"}));
  t.facts.push_back(factAt("vpc-id", {"instance/vpc/id"}));
  // Older API versions give the interface's address as primary_ipv4_address, newer ones as
  // primary_ip.address; instances with network attachments have no interfaces at all.
  t.facts.push_back(
      factAt("ipv4-private", {"instance/primary_network_interface/primary_ip/address",
                              "instance/primary_network_interface/primary_ipv4_address",
                              "instance/primary_network_attachment/primary_ip/address"}));
  // Floating IPs are listed by the interface's own endpoint (an array named by id).
  t.facts.push_back(factAt("ipv4-public", {"instance/network_interfaces/"
                                           "{instance/primary_network_interface/id}/floating_ips/*/"
                                           "address"}));
  FactRule keys = factAt("ssh-key", {"keys/*/public_key"});
  keys.combine = Combine::lines;
  t.facts.push_back(keys);
  FactRule userdata = factAt("userdata", {"instance/initialization/user_data"});
  userdata.secret = true;
  t.facts.push_back(userdata);
  return t;
}

}  // namespace mdfs::files
