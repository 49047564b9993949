// One endpoint's answer as an immutable tree of directories, files and symlinks, with
// every file's bytes rendered up front (so sizes are exact and a read is a slice), plus the
// raw body for <name>.json. Built once per fetch; never modified after publication.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "tree/catalog.h"

namespace mdfs::tree {

// Bodies larger than this are refused before parsing (the service client caps answers at
// 4 MiB by default); it keeps every offset within 32 bits with room to spare.
inline constexpr std::size_t kMaxBodyBytes = std::size_t{64} << 20;

struct RenderOptions {
  bool newline = true;  // append "\n" to rendered values (never to blob fields)
};

// A node's name and bytes live in its snapshot's text buffer (Snapshot::name/data): one
// allocation per snapshot instead of two per node, and 32 bytes a node, keep
// 2,000,000-node trees small.
struct Node {
  enum class Kind : std::uint8_t { directory, file, symlink };
  std::uint32_t name_offset = 0;
  std::uint32_t name_size = 0;
  // A directory's children are nodes [first, first + count) of its snapshot; a file's
  // bytes or a symlink's target are its text [first, first + count).
  std::uint32_t first = 0;
  std::uint32_t count = 0;
  std::int64_t mtime_ns = 0;  // when this node's content last changed (wall clock)
  Kind kind = Kind::directory;
  bool secret = false;  // 0400 instead of 0444
  // Text clouds (AWS, GCE): the directory's entries or the file's bytes are a resource of
  // their own; [first, first + count) of the text is then its name in the service's URLs.
  bool remote = false;
};

// What a new snapshot changed relative to its predecessor, as paths relative to the
// endpoint's directory ("" is the directory itself). `changed` lists nodes whose bytes,
// link target or list of entries differ; `removed` and `added` list vanished and new
// entries. The raw <name>.json counts as changed when `raw_changed`.
struct ChangeList {
  std::vector<std::string> changed;
  std::vector<std::string> removed;
  std::vector<std::string> added;
  bool raw_changed = false;
  [[nodiscard]] bool empty() const {
    return changed.empty() && removed.empty() && added.empty() && !raw_changed;
  }
};

class Snapshot {
 public:
  // Maps `body` by DESIGN rule 2. `hidden` names members of the top-level object that a
  // sub-resource endpoint replaces: they are left out, and `<hidden>` and `<hidden>.json`
  // are reserved there so that no member can take the synthesized names. Every node's
  // mtime is `now_ns`. Fails with EIO when the body is not JSON (common/json_reader.h),
  // not of the expected shape, or larger than kMaxBodyBytes; with ETIMEDOUT when
  // `deadline` passes first. Work and memory are linear in the body's size (README).
  static Result<std::shared_ptr<Snapshot>> build(const EndpointSpec& spec, std::string body,
                                                 const RenderOptions& options,
                                                 const std::vector<std::string>& hidden,
                                                 std::int64_t now_ns,
                                                 Deadline deadline = Deadline::max());

  // Carries mtimes over from `previous` wherever content is equal, so mtime tells when a
  // value last changed. Fills `changes` when given. Call before publishing the snapshot.
  void inheritTimes(const Snapshot& previous, ChangeList* changes);

  [[nodiscard]] const Node& root() const { return nodes_.front(); }
  [[nodiscard]] std::string_view name(const Node& n) const {
    return {text_.data() + n.name_offset, n.name_size};
  }
  [[nodiscard]] std::string_view data(const Node& n) const {
    if (n.kind == Node::Kind::directory || n.remote) return {};
    return {text_.data() + n.first, n.count};
  }
  // A remote node's name in the service's URLs (as listed, before escaping).
  [[nodiscard]] std::string_view remoteName(const Node& n) const {
    if (!n.remote) return {};
    return {text_.data() + n.first, n.count};
  }
  [[nodiscard]] std::span<const Node> children(const Node& dir) const;
  [[nodiscard]] const Node* child(const Node& dir, std::string_view name) const;
  // The node at `path` relative to the endpoint directory ("" = root), or nullptr.
  [[nodiscard]] const Node* find(std::string_view path) const;

  [[nodiscard]] const std::string& raw() const { return raw_; }
  [[nodiscard]] std::int64_t rawMtime() const { return raw_mtime_ns_; }
  [[nodiscard]] bool rawSecret() const { return raw_secret_; }
  // Bytes held, for the memory figures in .status.
  [[nodiscard]] std::size_t memoryBytes() const;

 private:
  friend class SnapshotBuilder;
  friend class ListingBuilder;
  Snapshot() = default;

  std::vector<Node> nodes_;  // nodes_[0] is the endpoint directory; siblings are contiguous
  std::string text_;         // every node's name and data
  std::string raw_;
  std::int64_t raw_mtime_ns_ = 0;
  bool raw_secret_ = false;
};

}  // namespace mdfs::tree
