#include "tree/listing.h"

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "tree/names.h"

namespace mdfs::tree {
namespace {

constexpr std::string_view kByName = "by-name";

struct Listed {
  std::string_view url_name;  // as the service names it in URLs
  bool directory = false;
  std::string_view link_name;  // AWS public-keys: the key's name, for by-name/
};

std::vector<Listed> parseLines(std::string_view body, ListingStyle style) {
  std::vector<Listed> out;
  while (!body.empty()) {
    auto eol = body.find('\n');
    std::string_view line = body.substr(0, eol);
    body = eol == std::string_view::npos ? std::string_view{} : body.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    Listed e;
    const auto eq = line.find('=');
    if (style == ListingStyle::aws && eq != std::string_view::npos && eq > 0 &&
        std::all_of(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(eq),
                    [](char c) { return c >= '0' && c <= '9'; })) {
      e.url_name = line.substr(0, eq);
      e.directory = true;
      e.link_name = line.substr(eq + 1);
    } else if (line.back() == '/') {
      e.url_name = line.substr(0, line.size() - 1);
      e.directory = true;
    } else {
      e.url_name = line;
    }
    if (!e.url_name.empty()) out.push_back(e);
  }
  return out;
}

std::string joinMember(std::string_view dir, std::string_view name) {
  return dir.empty() ? std::string(name) : std::string(dir) + "/" + std::string(name);
}

}  // namespace

// Builds the nodes of one listing: remote entries sorted by name, then the by-name
// directory's links.
class ListingBuilder {
 public:
  static std::shared_ptr<Snapshot> listing(const EndpointSpec& spec, std::string body,
                                           ListingStyle style, std::int64_t now_ns) {
    auto snap = std::shared_ptr<Snapshot>(new Snapshot());
    auto listed = parseLines(body, style);
    listed.erase(std::remove_if(listed.begin(), listed.end(),
                                [&](const Listed& e) {
                                  return spec.isOmitted(joinMember(spec.mount_path, e.url_name));
                                }),
                 listed.end());
    ListingBuilder(spec, now_ns, *snap).fill(listed);
    snap->raw_ = std::move(body);
    snap->raw_mtime_ns_ = now_ns;
    return snap;
  }

  static std::shared_ptr<Snapshot> value(const EndpointSpec& spec, std::string body,
                                         const RenderOptions& options, std::int64_t now_ns) {
    auto snap = std::shared_ptr<Snapshot>(new Snapshot());
    Node root;
    root.kind = Node::Kind::file;
    root.mtime_ns = now_ns;
    root.secret = spec.isSecret(spec.mount_path);
    snap->text_.reserve(body.size() + 1);  // one allocation, not a doubling for the newline
    snap->text_ = body;
    if (options.newline && !spec.isBlob(spec.mount_path)) snap->text_ += '\n';
    root.count = static_cast<std::uint32_t>(snap->text_.size());
    snap->nodes_.push_back(root);
    snap->raw_ = std::move(body);
    snap->raw_mtime_ns_ = now_ns;
    snap->raw_secret_ = root.secret;
    return snap;
  }

 private:
  ListingBuilder(const EndpointSpec& spec, std::int64_t now_ns, Snapshot& out)
      : spec_(spec), now_ns_(now_ns), out_(out) {}

  void fill(const std::vector<Listed>& listed) {
    NameAllocator names;
    const bool links = std::any_of(listed.begin(), listed.end(),
                                   [](const Listed& e) { return !e.link_name.empty(); });
    if (links) names.reserve(kByName);
    for (const auto& e : listed)
      names.add(e.url_name);
    names.assign();
    std::vector<std::size_t> order(listed.size());
    for (std::size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return names.name(a) < names.name(b); });
    Node root;
    root.mtime_ns = now_ns_;
    // A listing below a secret path (iam/security-credentials/) is itself 0500.
    root.secret = !spec_.mount_path.empty() && spec_.isSecret(spec_.mount_path);
    out_.nodes_.push_back(root);
    std::vector<Node> kids;
    for (std::size_t i : order)
      kids.push_back(remoteNode(listed[i], names.name(i)));
    if (links) kids.push_back(byNameDirectory());
    std::sort(kids.begin(), kids.end(),
              [this](const Node& a, const Node& b) { return out_.name(a) < out_.name(b); });
    out_.nodes_[0].first = 1;
    out_.nodes_[0].count = static_cast<std::uint32_t>(kids.size());
    out_.nodes_.insert(out_.nodes_.end(), kids.begin(), kids.end());
    if (links) fillByName(listed, names);
  }

  Node remoteNode(const Listed& e, std::string_view name) {
    Node n;
    std::tie(n.name_offset, n.name_size) = append(name);
    std::tie(n.first, n.count) = append(e.url_name);
    const std::string path = joinMember(spec_.mount_path, name);
    const bool directory =
        e.directory || std::find(spec_.directories.begin(), spec_.directories.end(), path) !=
                           spec_.directories.end();
    n.kind = directory ? Node::Kind::directory : Node::Kind::file;
    n.remote = true;
    n.mtime_ns = now_ns_;
    // A text cloud's secrets are named by their paths in the tree (catalog.h).
    n.secret = spec_.isSecret(path);
    return n;
  }

  Node byNameDirectory() {
    Node n;
    std::tie(n.name_offset, n.name_size) = append(kByName);
    n.mtime_ns = now_ns_;
    return n;
  }

  // by-name/<name> -> ../<dir> for the names listed once.
  void fillByName(const std::vector<Listed>& listed, const NameAllocator& dirs) {
    NameAllocator names;
    std::vector<std::pair<std::size_t, std::size_t>> links;  // link entry, listed entry
    for (std::size_t i = 0; i < listed.size(); ++i) {
      if (listed[i].link_name.empty()) continue;
      const auto uses = std::count_if(listed.begin(), listed.end(), [&](const Listed& e) {
        return e.link_name == listed[i].link_name;
      });
      if (uses == 1) links.emplace_back(names.add(listed[i].link_name), i);
    }
    names.assign();
    std::sort(links.begin(), links.end(), [&](const auto& a, const auto& b) {
      return names.name(a.first) < names.name(b.first);
    });
    Node* by_name = nullptr;
    for (auto& n : out_.nodes_) {
      if (out_.name(n) == kByName && !n.remote) by_name = &n;
    }
    by_name->first = static_cast<std::uint32_t>(out_.nodes_.size());
    by_name->count = static_cast<std::uint32_t>(links.size());
    for (const auto& [link, entry] : links) {
      Node n;
      n.kind = Node::Kind::symlink;
      n.mtime_ns = now_ns_;
      std::tie(n.name_offset, n.name_size) = append(names.name(link));
      std::tie(n.first, n.count) = append("../" + std::string(dirs.name(entry)));
      out_.nodes_.push_back(n);
    }
  }

  std::pair<std::uint32_t, std::uint32_t> append(std::string_view bytes) {
    auto offset = static_cast<std::uint32_t>(out_.text_.size());
    out_.text_.append(bytes);
    return {offset, static_cast<std::uint32_t>(bytes.size())};
  }

  const EndpointSpec& spec_;
  std::int64_t now_ns_;
  Snapshot& out_;
};

Result<std::shared_ptr<Snapshot>> buildListing(const EndpointSpec& spec, std::string body,
                                               ListingStyle style, std::int64_t now_ns) {
  if (body.size() > kMaxBodyBytes) {
    return makeError(ErrorKind::oversized,
                     "unexpected answer: a listing of " + std::to_string(body.size()) + " bytes");
  }
  return ListingBuilder::listing(spec, std::move(body), style, now_ns);
}

Result<std::shared_ptr<Snapshot>> buildValue(const EndpointSpec& spec, std::string body,
                                             const RenderOptions& options, std::int64_t now_ns) {
  if (body.size() > kMaxBodyBytes) {
    return makeError(ErrorKind::oversized,
                     "unexpected answer: a value of " + std::to_string(body.size()) + " bytes");
  }
  return ListingBuilder::value(spec, std::move(body), options, now_ns);
}

EndpointSpec childSpec(const EndpointSpec& root, const EndpointSpec& parent, std::string mount_path,
                       std::string_view url_name, bool directory) {
  EndpointSpec spec;
  spec.secrets = root.secrets;
  spec.blobs = root.blobs;
  spec.tokens = root.tokens;
  spec.omitted = root.omitted;
  spec.queries = root.queries;
  spec.aws_listing = root.aws_listing;
  spec.directories = root.directories;
  spec.format = directory ? Format::listing : Format::value;
  spec.no_stale = !directory && root.isToken(mount_path);
  std::string base = parent.api_path.substr(0, parent.api_path.find('?'));
  if (base.empty() || base.back() != '/') base += '/';
  spec.api_path = base + urlSegment(url_name) + (directory ? "/" : "");
  std::string query = root.queryOf(mount_path);
  if (!query.empty()) spec.api_path += "?" + query;
  spec.mount_path = std::move(mount_path);
  return spec;
}

std::string urlSegment(std::string_view name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : name) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      const auto b = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 0x0F];
    }
  }
  return out;
}

}  // namespace mdfs::tree
