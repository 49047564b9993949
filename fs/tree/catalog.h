// The static list of metadata endpoints and how each maps into the tree. Adding an
// endpoint is one line in catalog.cpp. Pure data: no I/O, no clock.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mdfs::tree {

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

  [[nodiscard]] std::string_view name() const;    // last component of mount_path
  [[nodiscard]] std::string_view parent() const;  // mount path of the parent ("" = root)
  [[nodiscard]] bool isCollection() const { return !list_key.empty(); }
  // <name>.json holds every member, so it is secret when any member is.
  [[nodiscard]] bool rawIsSecret() const { return !secrets.empty(); }
  [[nodiscard]] bool isSecret(std::string_view member_path) const;
  [[nodiscard]] bool isBlob(std::string_view member_path) const;
};

// The endpoints that exist at one API version.
class Catalog {
 public:
  explicit Catalog(std::string_view api_version);

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

// Every endpoint the catalog knows, whatever the version (for documentation and tests).
std::vector<EndpointSpec> allEndpoints();

}  // namespace mdfs::tree
