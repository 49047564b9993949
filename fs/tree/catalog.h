// The static list of metadata endpoints and how each maps into the tree. Adding an
// endpoint is one line in catalog.cpp. Pure data: no I/O, no clock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/cloud.h"

namespace mdfs::tree {

// How an endpoint's answer becomes a tree.
enum class Format : std::uint8_t {
  json,     // a JSON document (IBM, Azure): DESIGN rule 2
  listing,  // a text listing (AWS, GCE): one name a line, "/" marking a directory
  value,    // one value (AWS, GCE leaves)
};

// How long an endpoint's data stays fresh, before per-endpoint overrides.
enum class TtlClass {
  standard,  // the global ttl
  stable,    // set at provisioning and never changed (initialization): 10 x the global ttl
};

struct EndpointSpec {
  std::string mount_path;  // "instance/network_interfaces": where it appears in the tree
  std::string api_path;    // "/metadata/v1/instance/network_interfaces"
  // For collections, the member holding the items ("keys"); the endpoint's directory is
  // that array. Empty for single objects, whose directory is the whole document.
  std::string list_key;
  bool paginated = false;  // documented as paginated (every collection tolerates pages)
  TtlClass ttl_class = TtlClass::standard;
  std::string since;                 // first API version (YYYY-MM-DD) that has it
  std::vector<std::string> secrets;  // member paths ("password") whose subtree is 0400
  std::vector<std::string> blobs;    // member paths served byte-exact, never with "\n"
  // Member paths whose strings are base64 and are served decoded, byte-exact (Azure's
  // compute/userData); the raw value stays in <name>.json.
  std::vector<std::string> base64;
  Format format = Format::json;
  bool aws_listing = false;  // listings say "N=name" for AWS's public keys
  // Text clouds, by tree path ("*" for one name): values that are tokens (never served
  // past their TTL, which the cache keeps short), names left out of listings (GCE's identity
  // without an audience), and queries added to a resource's URL ("audience=...").
  std::vector<std::string> tokens;
  std::vector<std::string> omitted;
  // Names a listing gives without the "/" of a directory that are directories all the same
  // (AWS's /latest/ lists "meta-data" and "dynamic" bare).
  std::vector<std::string> directories;
  std::vector<std::pair<std::string, std::string>> queries;
  bool no_stale = false;  // a token: never served past its TTL

  [[nodiscard]] std::string_view name() const;    // last component of mount_path
  [[nodiscard]] std::string_view parent() const;  // mount path of the parent ("" = root)
  [[nodiscard]] bool isCollection() const { return !list_key.empty(); }
  // <name>.json holds every member, so it is secret when any member is.
  [[nodiscard]] bool rawIsSecret() const { return !secrets.empty(); }
  [[nodiscard]] bool isSecret(std::string_view member_path) const;
  [[nodiscard]] bool isBlob(std::string_view member_path) const;
  [[nodiscard]] bool isBase64(std::string_view member_path) const;
  [[nodiscard]] bool isToken(std::string_view path) const;
  [[nodiscard]] bool isOmitted(std::string_view path) const;
  // The query for the resource at `path` ("" when none).
  [[nodiscard]] std::string queryOf(std::string_view path) const;
};

// Settings of a cloud's tree that come from options.
struct CloudTreeOptions {
  std::string gcp_audience;  // GCE: the audience of service-accounts/*/identity; "" = none
};

// The endpoints that exist at one API version of one cloud. For the text clouds (AWS,
// GCE) that is the root listing alone: the rest is found by listing (listing.h).
class Catalog {
 public:
  explicit Catalog(std::string_view api_version, Cloud cloud = Cloud::ibm,
                   const CloudTreeOptions& options = {});

  [[nodiscard]] const std::vector<EndpointSpec>& endpoints() const { return endpoints_; }
  // Index of the endpoint mounted exactly at `mount_path`, or -1.
  [[nodiscard]] int find(std::string_view mount_path) const;
  // Indices of the endpoints whose parent is `mount_path` ("" = the root).
  [[nodiscard]] std::vector<int> childrenOf(std::string_view mount_path) const;
  // The endpoint whose tree contains `path` (deepest mount path that is a prefix of it at
  // a component boundary), or -1 when `path` lies outside every endpoint.
  [[nodiscard]] int owner(std::string_view path) const;

 private:
  std::vector<EndpointSpec> endpoints_;
};

// Every IBM endpoint the catalog knows, whatever the version (documentation and tests).
std::vector<EndpointSpec> allEndpoints();
// Another cloud's fixed endpoints (Azure's documents; the text clouds' root listing).
std::vector<EndpointSpec> cloudEndpoints(Cloud cloud, const CloudTreeOptions& options = {});

}  // namespace mdfs::tree
