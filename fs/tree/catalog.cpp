#include "tree/catalog.h"

#include <algorithm>

#include "tree/listing.h"

namespace mdfs::tree {

// One line per endpoint (ref §2.1). Versions are the dates the API gained them.
std::vector<EndpointSpec> allEndpoints() {
  const std::string v1 = "/metadata/v1/";
  auto ep = [&](std::string mount, std::string list_key, bool paginated, std::string since) {
    EndpointSpec e;
    e.api_path = v1 + mount;
    e.mount_path = std::move(mount);
    e.list_key = std::move(list_key);
    e.paginated = paginated;
    e.since = std::move(since);
    return e;
  };
  std::vector<EndpointSpec> all;
  all.push_back(ep("instance", "", false, "2022-03-01"));
  EndpointSpec init = ep("instance/initialization", "", false, "2022-03-01");
  init.ttl_class = TtlClass::stable;
  init.secrets = {"user_data", "password"};
  init.blobs = {"user_data"};
  all.push_back(init);
  all.push_back(ep("instance/network_interfaces", "network_interfaces", false, "2022-03-01"));
  all.push_back(ep("instance/network_attachments", "network_attachments", false, "2023-12-19"));
  all.push_back(ep("instance/volume_attachments", "volume_attachments", false, "2022-03-01"));
  all.push_back(ep("instance/cluster_network_attachments", "cluster_network_attachments", true,
                   "2024-11-12"));
  all.push_back(ep("instance/software_attachments", "software_attachments", false, "2026-06-23"));
  all.push_back(ep("virtual_network_interfaces", "virtual_network_interfaces", true, "2023-12-19"));
  all.push_back(ep("keys", "keys", false, "2022-03-01"));
  all.push_back(ep("placement_groups", "placement_groups", true, "2022-03-01"));
  return all;
}

namespace {

bool isPrefixPath(std::string_view prefix, std::string_view path) {
  if (prefix.empty()) return true;
  if (path.size() < prefix.size() || path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

// `pattern` names `path` or one of its ancestors, component by component; a "*" component
// stands for any one name (GCE's service accounts).
bool coversPath(std::string_view pattern, std::string_view path) {
  if (pattern.find('*') == std::string_view::npos) return isPrefixPath(pattern, path);
  while (!pattern.empty()) {
    if (path.empty()) return false;
    auto p_end = pattern.find('/');
    auto n_end = path.find('/');
    std::string_view want = pattern.substr(0, p_end);
    std::string_view have = path.substr(0, n_end);
    if (want != "*" && want != have) return false;
    pattern = p_end == std::string_view::npos ? std::string_view{} : pattern.substr(p_end + 1);
    path = n_end == std::string_view::npos ? std::string_view{} : path.substr(n_end + 1);
  }
  return true;
}

std::size_t depthOf(std::string_view path) {
  return static_cast<std::size_t>(std::count(path.begin(), path.end(), '/'));
}

bool matchesMember(const std::vector<std::string>& paths, std::string_view member_path) {
  return std::any_of(paths.begin(), paths.end(),
                     [&](const std::string& p) { return coversPath(p, member_path); });
}

}  // namespace

std::string_view EndpointSpec::name() const {
  std::string_view m = mount_path;
  auto slash = m.rfind('/');
  return slash == std::string_view::npos ? m : m.substr(slash + 1);
}

std::string_view EndpointSpec::parent() const {
  std::string_view m = mount_path;
  auto slash = m.rfind('/');
  return slash == std::string_view::npos ? std::string_view{} : m.substr(0, slash);
}

bool EndpointSpec::isSecret(std::string_view member_path) const {
  return matchesMember(secrets, member_path);
}

bool EndpointSpec::isBase64(std::string_view member_path) const {
  return std::find(base64.begin(), base64.end(), member_path) != base64.end();
}

bool EndpointSpec::isToken(std::string_view path) const {
  return std::any_of(tokens.begin(), tokens.end(), [&](const std::string& p) {
    return coversPath(p, path) && depthOf(p) == depthOf(path);
  });
}

bool EndpointSpec::isOmitted(std::string_view path) const {
  return std::any_of(omitted.begin(), omitted.end(), [&](const std::string& p) {
    return coversPath(p, path) && depthOf(p) == depthOf(path);
  });
}

std::string EndpointSpec::queryOf(std::string_view path) const {
  for (const auto& [pattern, query] : queries) {
    if (coversPath(pattern, path) && depthOf(pattern) == depthOf(path)) return query;
  }
  return {};
}

bool EndpointSpec::isBlob(std::string_view member_path) const {
  return std::find(blobs.begin(), blobs.end(), member_path) != blobs.end();
}

Catalog::Catalog(std::string_view api_version, Cloud cloud, const CloudTreeOptions& options) {
  if (cloud != Cloud::ibm) {
    endpoints_ = cloudEndpoints(cloud, options);
    return;
  }
  for (const auto& e : allEndpoints()) {
    // YYYY-MM-DD strings order like the dates they name.
    if (e.since <= api_version) endpoints_.push_back(e);
  }
}

// Azure's documents, and the text clouds' root: the mount root is the API root
// (docs/clouds/). Secrets and blobs of the text clouds are named by their tree paths.
std::vector<EndpointSpec> cloudEndpoints(Cloud cloud, const CloudTreeOptions& options) {
  EndpointSpec root;
  root.format = Format::listing;
  switch (cloud) {
    case Cloud::aws:
      root.api_path = "/latest/";
      root.aws_listing = true;
      root.directories = {"meta-data", "dynamic"};
      root.secrets = {"meta-data/iam/security-credentials", "meta-data/identity-credentials",
                      "user-data"};
      root.blobs = {"user-data"};
      return {root};
    case Cloud::gcp:
      root.api_path = "/computeMetadata/v1/";
      root.secrets = {"instance/service-accounts/*/token", "instance/service-accounts/*/identity",
                      "instance/attributes/user-data", "instance/attributes/startup-script",
                      "project/attributes/startup-script"};
      root.blobs = {"instance/attributes/user-data", "instance/attributes/startup-script",
                    "project/attributes/startup-script"};
      root.tokens = {"instance/service-accounts/*/token", "instance/service-accounts/*/identity"};
      // An identity token needs the audience it is for: without one the name is left out
      // (a listed name must be readable).
      if (options.gcp_audience.empty()) {
        root.omitted = {"instance/service-accounts/*/identity"};
      } else {
        root.queries = {{"instance/service-accounts/*/identity",
                         "audience=" + urlSegment(options.gcp_audience) + "&format=full"}};
      }
      return {root};
    case Cloud::azure: {
      EndpointSpec instance;
      instance.mount_path = "instance";
      instance.api_path = "/metadata/instance";
      instance.secrets = {"compute/userData"};
      instance.blobs = {"compute/userData"};
      instance.base64 = {"compute/userData"};
      EndpointSpec events;
      events.mount_path = "scheduledevents";
      events.api_path = "/metadata/scheduledevents";
      return {instance, events};
    }
    case Cloud::ibm:
      break;
  }
  return allEndpoints();
}

int Catalog::find(std::string_view mount_path) const {
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    if (endpoints_[i].mount_path == mount_path) return static_cast<int>(i);
  }
  return -1;
}

std::vector<int> Catalog::childrenOf(std::string_view mount_path) const {
  std::vector<int> out;
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    // A text cloud's root listing ("") is the root itself, no child of it.
    if (endpoints_[i].mount_path.empty()) continue;
    if (endpoints_[i].parent() == mount_path) out.push_back(static_cast<int>(i));
  }
  return out;
}

int Catalog::owner(std::string_view path) const {
  int best = -1;
  std::size_t best_len = 0;
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    const auto& m = endpoints_[i].mount_path;
    if (isPrefixPath(m, path) && (best < 0 || m.size() > best_len)) {
      best = static_cast<int>(i);
      best_len = m.size();
    }
  }
  return best;
}

}  // namespace mdfs::tree
