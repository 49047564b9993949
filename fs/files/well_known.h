// well-known/: the facts configuration tools want, under cloud-neutral names (issue 15),
// like systemd-imds's --well-known= keys and cloud-init's v1 keys: well-known/<fact> (one
// file per fact: its value and the newline rule), well-known.json (one object) and
// well-known.env (sh and systemd's EnvironmentFile=).
//
// A cloud supplies a table of facts, not code: each fact is a rule over paths of the
// mounted tree, read through the filesystem (fetched lazily, fresh within the TTLs of the
// endpoints behind them), and a transform. The rules and transforms here know no cloud;
// well_known_ibm.cpp holds IBM's table.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/cloud.h"
#include "common/error.h"
#include "mount/filesystem.h"
#include "mount/tree_reader.h"

namespace mdfs::files {

// What is done to a value once found.
enum class Transform {
  none,
  last_path_part,       // "projects/7/zones/us-central1-a" -> "us-central1-a"
  drop_last_dash_part,  // a region from a zone: "us-south-1" -> "us-south", "us-central1-a" ->
                        // "us-central1"
  gce_ssh_keys,         // GCE's "user:key" lines -> "key" lines (lines without a user dropped)
};

// How the values of a fact's paths make its value.
enum class Combine {
  first,  // the first path (in order, "*" in listing order) with a non-empty value
  lines,  // every non-empty value, one per line (a value holding a line break is left out)
};

// One fact. A path names a file of the mounted tree ("instance/zone/name"); two kinds of
// segment are computed: "*" is every entry of the directory so far, in listing order, and
// "{a/b}" is the value of the file a/b, as a name (the tree's name-escaping rule applied):
// "instance/network_interfaces/{instance/primary_network_interface/id}/floating_ips/*/address".
// A value is the file's bytes without the newline the tree adds. A fact with no value is
// absent: no file, no JSON member, no line.
struct FactRule {
  std::string name;      // "hostname": the file name, the JSON key, METADATA_HOSTNAME
  std::string constant;  // a value needing no path ("ibm"); then `paths` is empty
  std::vector<std::string> paths;
  Combine combine = Combine::first;
  // Applied in order ("projects/7/zones/us-central1-a": last_path_part, then
  // drop_last_dash_part, gives the region us-central1).
  std::vector<Transform> transforms;
  // Byte-exact and secret (user data): served as it is, 0400, left out of the .json and
  // .env files (which are 0444).
  bool secret = false;
  // Combine::lines: values are lists of lines themselves (GCE's ssh-keys), kept whole.
  bool multiline = false;
  // The paths from index `blocked_from` on are skipped when the file `blocked_by` reads
  // "true" (any case): GCE's block-project-ssh-keys.
  std::string blocked_by;
  std::size_t blocked_from = 0;
};

// The facts of one cloud, in the order the .json and .env files list them.
struct WellKnownTable {
  std::vector<FactRule> facts;
};

// A fact read from `paths`, then transformed in order.
FactRule factAt(std::string name, std::vector<std::string> paths,
                std::vector<Transform> transforms = {});
// A table whose first fact is `cloud`, the cloud's own name ("ibm").
WellKnownTable tableFor(std::string cloud);

WellKnownTable ibmWellKnown();
WellKnownTable awsWellKnown();
WellKnownTable gcpWellKnown();
WellKnownTable azureWellKnown();
WellKnownTable wellKnownFor(Cloud cloud);

// The pure parts, unit-tested on their own.
std::string applyTransform(Transform transform, std::string value);
std::string applyTransforms(const std::vector<Transform>& transforms, std::string value);
// The tree paths a rule reads: each path up to its first computed segment, and the paths
// inside "{...}" (what a derived file's freshness follows).
std::vector<std::string> sourcePaths(const FactRule& rule);
// METADATA_INSTANCE_ID for "instance-id".
std::string envName(std::string_view fact);
// A value as sh and systemd's environment files both read back exactly: double quotes,
// with ", \, ` and $ escaped. Nothing else is special inside them for either (a newline
// stays a newline).
std::string envQuote(std::string_view value);
// Whether a value can be an environment variable: no NUL byte, valid UTF-8 (systemd
// refuses a whole file otherwise).
bool envSafe(std::string_view value);
bool validUtf8(std::string_view text);

class WellKnown {
 public:
  // `newline`: the tree's newline rule (stripped from what is read, added to what is served).
  WellKnown(WellKnownTable table, mount::TreeReader& tree, bool newline);
  WellKnown(const WellKnown&) = delete;  // its files refer to it
  WellKnown& operator=(const WellKnown&) = delete;

  // well-known/<fact> for every fact, well-known.json and well-known.env.
  [[nodiscard]] std::vector<mount::DynamicFile> files() const;
  // The value of one fact: nullopt when absent; an error when the tree fails to answer.
  [[nodiscard]] Result<std::optional<std::string>> value(const FactRule& rule,
                                                         Deadline deadline) const;
  // The .json and .env renderings of every fact but the secret ones.
  [[nodiscard]] Result<std::string> json(Deadline deadline) const;
  [[nodiscard]] Result<std::string> env(Deadline deadline) const;

 private:
  [[nodiscard]] Result<std::vector<std::string>> expand(std::string_view pattern,
                                                        Deadline deadline) const;
  [[nodiscard]] Result<std::optional<std::string>> valueAt(const std::string& path, bool exact,
                                                           Deadline deadline) const;
  [[nodiscard]] Result<std::vector<std::pair<std::string, std::string>>> publicFacts(
      Deadline deadline) const;
  [[nodiscard]] mount::DynamicFile factFile(const FactRule& rule) const;

  WellKnownTable table_;
  mount::TreeReader& tree_;
  bool newline_;
};

}  // namespace mdfs::files
