// Google Compute Engine's well-known facts, from the tree mounted from the metadata server
// (the mount root is /computeMetadata/v1/; docs/clouds/gcp.md).
#include "files/well_known.h"

namespace mdfs::files {

WellKnownTable gcpWellKnown() {
  WellKnownTable t = tableFor("gcp");
  t.facts.push_back(factAt("instance-id", {"instance/id"}));
  t.facts.push_back(factAt("hostname", {"instance/hostname"}));
  // projects/612349876543/machineTypes/e2-standard-2 -> e2-standard-2
  t.facts.push_back(
      factAt("instance-type", {"instance/machine-type"}, {Transform::last_path_part}));
  // projects/612349876543/zones/europe-west4-c -> europe-west4-c, its region europe-west4
  t.facts.push_back(factAt("zone", {"instance/zone"}, {Transform::last_path_part}));
  t.facts.push_back(factAt("region", {"instance/zone"},
                           {Transform::last_path_part, Transform::drop_last_dash_part}));
  t.facts.push_back(factAt("image-id", {"instance/image"}));
  // The VPC network of the primary interface: projects/N/networks/default -> default
  t.facts.push_back(
      factAt("vpc-id", {"instance/network-interfaces/0/network"}, {Transform::last_path_part}));
  t.facts.push_back(factAt("ipv4-private", {"instance/network-interfaces/0/ip"}));
  t.facts.push_back(
      factAt("ipv4-public", {"instance/network-interfaces/0/access-configs/0/external-ip"}));
  // "user:key" lines of the instance, then of the project unless the instance blocks them.
  FactRule keys = factAt("ssh-key", {"instance/attributes/ssh-keys", "project/attributes/ssh-keys"},
                         {Transform::gce_ssh_keys});
  keys.combine = Combine::lines;
  keys.multiline = true;
  keys.blocked_by = "instance/attributes/block-project-ssh-keys";
  keys.blocked_from = 1;
  t.facts.push_back(keys);
  FactRule userdata = factAt("userdata", {"instance/attributes/user-data"});
  userdata.secret = true;
  t.facts.push_back(userdata);
  return t;
}

}  // namespace mdfs::files
