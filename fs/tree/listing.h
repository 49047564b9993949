// The text clouds (AWS EC2, Google Compute Engine) serve their metadata as a tree of
// listings and values, each a resource of its own (docs/clouds/aws.md, gcp.md): a
// directory's URL answers one name a line, "/" marking a subdirectory; a value's URL
// answers its bytes. This maps both onto snapshots under the same rules as JSON: names
// escaped by the one rule (names.h), values with the newline rule, blobs byte-exact.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/error.h"
#include "tree/catalog.h"
#include "tree/snapshot.h"

namespace mdfs::tree {

enum class ListingStyle : std::uint8_t {
  plain,  // GCE: "name" or "name/"
  aws,    // also "N=name" (public-keys/): directory N, and by-name/<name> -> ../N
};

// A listing as a one-level snapshot: subdirectories and values are remote nodes (their
// content is another resource), `by-name` links are local.
Result<std::shared_ptr<Snapshot>> buildListing(const EndpointSpec& spec, std::string body,
                                               ListingStyle style, std::int64_t now_ns);

// A value as a snapshot whose root is one file.
Result<std::shared_ptr<Snapshot>> buildValue(const EndpointSpec& spec, std::string body,
                                             const RenderOptions& options, std::int64_t now_ns);

// The resource of a listing's remote entry `url_name` (as listed) at tree path
// `mount_path`: a listing when `directory`, else a value; its secrets, tokens and queries
// from the text cloud's `root` spec.
EndpointSpec childSpec(const EndpointSpec& root, const EndpointSpec& parent, std::string mount_path,
                       std::string_view url_name, bool directory);

// A URL path segment for a listed name: unreserved characters as they are, the rest
// percent-encoded ('=' and '@' of GCE's account names included).
std::string urlSegment(std::string_view name);

}  // namespace mdfs::tree
