#include "tree/snapshot.h"

#include <algorithm>
#include <climits>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "tree/json_value.h"
#include "tree/names.h"

namespace mdfs::tree {
namespace {

constexpr std::string_view kByName = "by-name";

std::string joinPath(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  std::string out(dir);
  out += '/';
  out += name;
  return out;
}

// DESIGN rule 2: elements are named by id when every element is an object with a string
// id, the ids are unique, and none would shadow the by-name directory.
bool isIdKeyed(const JsonValue& array) {
  if (array.items.empty()) return false;
  std::unordered_map<std::string_view, int> seen;
  for (const auto& item : array.items) {
    const JsonValue* id = item.type == JsonValue::Type::object ? item.member("id") : nullptr;
    if (id == nullptr || id->type != JsonValue::Type::string || id->text == kByName) return false;
    if (++seen[id->text] > 1) return false;
  }
  return true;
}

}  // namespace

// Turns JsonValues into the flat node vector. Each directory's entries are appended as one
// contiguous, name-sorted block, then each child directory is filled in turn.
class SnapshotBuilder {
 public:
  SnapshotBuilder(const EndpointSpec& spec, const RenderOptions& options, std::int64_t now_ns,
                  Snapshot& out)
      : spec_(spec), options_(options), now_ns_(now_ns), out_(out) {}

  struct Entry {
    std::string name;
    const JsonValue* value = nullptr;  // a member or element; nullptr for synthetic entries
    std::string member_path;           // path of JSON members, for the secret/blob rules
    std::vector<std::pair<std::string, std::string>> links;  // by-name: (name, target)
    bool by_name = false;
    std::string link_target;  // non-empty for a symlink
  };

  [[nodiscard]] bool overflowed() const { return overflow_; }

  void fill(std::uint32_t dir, std::vector<Entry> entries, bool secret) {
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return a.name < b.name; });
    auto first = static_cast<std::uint32_t>(out_.nodes_.size());
    out_.nodes_[dir].first_child = first;
    out_.nodes_[dir].child_count = static_cast<std::uint32_t>(entries.size());
    for (const auto& e : entries)
      out_.nodes_.push_back(makeNode(e, secret));
    for (std::size_t i = 0; i < entries.size(); ++i) {
      auto index = first + static_cast<std::uint32_t>(i);
      if (out_.nodes_[index].kind != Node::Kind::directory) continue;
      bool child_secret = out_.nodes_[index].secret;
      fill(index, childEntries(entries[i]), child_secret);
    }
  }

  [[nodiscard]] static std::vector<Entry> objectEntries(const JsonValue& object,
                                                        const std::string& path,
                                                        const std::vector<std::string>& hidden) {
    NameAllocator names;
    std::vector<Entry> out;
    for (std::size_t i = 0; i < object.keys.size(); ++i) {
      const std::string& key = object.keys[i];
      if (std::find(hidden.begin(), hidden.end(), key) != hidden.end()) continue;
      Entry e;
      e.name = names.allocate(key);
      e.value = &object.items[i];
      e.member_path = joinPath(path, key);
      out.push_back(std::move(e));
    }
    return out;
  }

  [[nodiscard]] static std::vector<Entry> arrayEntries(const JsonValue& array,
                                                       const std::string& path) {
    NameAllocator names;
    std::vector<Entry> out;
    bool by_id = isIdKeyed(array);
    if (by_id) names.reserve(std::string(kByName));
    std::unordered_map<std::string_view, int> name_uses;
    for (std::size_t i = 0; i < array.items.size(); ++i) {
      const JsonValue& item = array.items[i];
      Entry e;
      e.name = names.allocate(by_id ? std::string_view(item.member("id")->text)
                                    : std::string_view(std::to_string(i)));
      e.value = &item;
      e.member_path = joinPath(path, e.name);
      if (by_id) {
        const JsonValue* name = item.member("name");
        if (name != nullptr && name->type == JsonValue::Type::string) ++name_uses[name->text];
      }
      out.push_back(std::move(e));
    }
    if (by_id) out.push_back(byNameEntry(array, out, name_uses));
    return out;
  }

 private:
  // by-name/<name> -> ../<id> for every element whose name is unique in the array.
  static Entry byNameEntry(const JsonValue& array, const std::vector<Entry>& elements,
                           const std::unordered_map<std::string_view, int>& name_uses) {
    Entry e;
    e.name = std::string(kByName);
    e.by_name = true;
    NameAllocator names;
    for (std::size_t i = 0; i < array.items.size(); ++i) {
      const JsonValue* name = array.items[i].member("name");
      if (name == nullptr || name->type != JsonValue::Type::string) continue;
      if (name_uses.at(name->text) != 1) continue;
      e.links.emplace_back(names.allocate(name->text), "../" + elements[i].name);
    }
    return e;
  }

  [[nodiscard]] static std::vector<Entry> childEntries(const Entry& parent) {
    if (parent.by_name) {
      std::vector<Entry> links;
      for (const auto& [name, target] : parent.links) {
        Entry e;
        e.name = name;
        e.link_target = target;
        links.push_back(std::move(e));
      }
      return links;
    }
    if (parent.value->type == JsonValue::Type::object) {
      return objectEntries(*parent.value, parent.member_path, {});
    }
    return arrayEntries(*parent.value, parent.member_path);
  }

  [[nodiscard]] Node makeNode(const Entry& e, bool parent_secret) {
    Node n;
    std::tie(n.name_offset, n.name_size) = append(e.name);
    n.mtime_ns = now_ns_;
    n.secret = parent_secret || (e.value != nullptr && spec_.isSecret(e.member_path));
    if (!e.link_target.empty()) {
      n.kind = Node::Kind::symlink;
      std::tie(n.data_offset, n.data_size) = append(e.link_target);
    } else if (e.by_name || e.value->type == JsonValue::Type::object ||
               e.value->type == JsonValue::Type::array) {
      n.kind = Node::Kind::directory;
    } else {
      n.kind = Node::Kind::file;
      std::tie(n.data_offset, n.data_size) = append(render(*e.value, spec_.isBlob(e.member_path)));
    }
    return n;
  }

  [[nodiscard]] std::string render(const JsonValue& v, bool blob) const {
    if (v.type == JsonValue::Type::null) return {};
    if (blob && v.type == JsonValue::Type::string) return v.text;
    return options_.newline ? v.text + "\n" : v.text;
  }

  std::pair<std::uint32_t, std::uint32_t> append(std::string_view bytes) {
    auto offset = static_cast<std::uint32_t>(out_.text_.size());
    out_.text_.append(bytes);
    return {offset, static_cast<std::uint32_t>(bytes.size())};
  }

  const EndpointSpec& spec_;
  const RenderOptions& options_;
  std::int64_t now_ns_;
  Snapshot& out_;
  bool overflow_ = false;  // more text than 32-bit offsets address
};

Result<std::shared_ptr<Snapshot>> Snapshot::build(const EndpointSpec& spec, std::string body,
                                                  const RenderOptions& options,
                                                  const std::vector<std::string>& hidden,
                                                  std::int64_t now_ns) {
  auto parsed = parseJson(body);
  if (!parsed) return parsed.error();
  const JsonValue& doc = parsed.value();
  if (doc.type != JsonValue::Type::object) {
    return makeError(EIO, "unexpected answer: the document is not a JSON object");
  }
  auto snap = std::shared_ptr<Snapshot>(new Snapshot());
  snap->raw_ = std::move(body);
  snap->raw_mtime_ns_ = now_ns;
  snap->raw_secret_ = spec.rawIsSecret();
  Node root;
  root.mtime_ns = now_ns;
  snap->nodes_.push_back(root);

  SnapshotBuilder builder(spec, options, now_ns, *snap);
  if (spec.isCollection()) {
    const JsonValue* list = doc.member(spec.list_key);
    if (list == nullptr || list->type != JsonValue::Type::array) {
      return makeError(EIO, "unexpected answer: no \"" + spec.list_key + "\" array");
    }
    builder.fill(0, SnapshotBuilder::arrayEntries(*list, ""), false);
  } else {
    builder.fill(0, SnapshotBuilder::objectEntries(doc, "", hidden), false);
  }
  if (builder.overflowed()) return makeError(EIO, "unexpected answer: too large to map");
  snap->text_.shrink_to_fit();
  return snap;
}

std::span<const Node> Snapshot::children(const Node& dir) const {
  if (dir.kind != Node::Kind::directory || dir.child_count == 0) return {};
  return {nodes_.data() + dir.first_child, dir.child_count};
}

const Node* Snapshot::child(const Node& dir, std::string_view name) const {
  auto kids = children(dir);
  auto it =
      std::lower_bound(kids.begin(), kids.end(), name,
                       [this](const Node& n, std::string_view key) { return this->name(n) < key; });
  return it != kids.end() && this->name(*it) == name ? &*it : nullptr;
}

const Node* Snapshot::find(std::string_view path) const {
  const Node* node = &root();
  while (!path.empty() && node != nullptr) {
    auto slash = path.find('/');
    node = child(*node, path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
  }
  return node;
}

std::size_t Snapshot::memoryBytes() const {
  return sizeof(Snapshot) + raw_.capacity() + text_.capacity() + nodes_.capacity() * sizeof(Node);
}

namespace {

// Walks the old and new trees side by side (children are name-sorted in both).
class TimeCarrier {
 public:
  TimeCarrier(const Snapshot& old_snap, const Snapshot& fresh_snap, std::vector<Node>& fresh,
              ChangeList* changes)
      : old_(old_snap), new_(fresh_snap), fresh_(fresh), changes_(changes) {}

  void walk(const Node& before, std::uint32_t after, const std::string& path) {
    Node& now = fresh_[after];
    if (before.kind != now.kind) {
      note(changes_ ? &changes_->removed : nullptr, path);
      note(changes_ ? &changes_->added : nullptr, path);
      return;
    }
    if (now.kind != Node::Kind::directory) {
      if (old_.data(before) == new_.data(now)) {
        now.mtime_ns = before.mtime_ns;
      } else {
        note(changes_ ? &changes_->changed : nullptr, path);
      }
      return;
    }
    if (walkChildren(before, after, path)) {
      fresh_[after].mtime_ns = before.mtime_ns;
    } else {
      note(changes_ ? &changes_->changed : nullptr, path);
    }
  }

 private:
  // True when both directories hold the same names.
  bool walkChildren(const Node& before, std::uint32_t after, const std::string& path) {
    auto olds = old_.children(before);
    std::uint32_t first = fresh_[after].first_child;
    std::uint32_t count = fresh_[after].child_count;
    std::size_t i = 0;
    std::uint32_t j = 0;
    bool same = true;
    while (i < olds.size() || j < count) {
      int cmp = i == olds.size() ? 1
                : j == count     ? -1
                                 : old_.name(olds[i]).compare(new_.name(fresh_[first + j]));
      if (cmp < 0) {
        note(changes_ ? &changes_->removed : nullptr, joinPath(path, old_.name(olds[i++])));
        same = false;
      } else if (cmp > 0) {
        note(changes_ ? &changes_->added : nullptr, joinPath(path, new_.name(fresh_[first + j++])));
        same = false;
      } else {
        walk(olds[i], first + j, joinPath(path, old_.name(olds[i])));
        ++i;
        ++j;
      }
    }
    return same;
  }

  static void note(std::vector<std::string>* list, const std::string& path) {
    if (list != nullptr) list->push_back(path);
  }

  const Snapshot& old_;
  const Snapshot& new_;
  std::vector<Node>& fresh_;
  ChangeList* changes_;
};

}  // namespace

void Snapshot::inheritTimes(const Snapshot& previous, ChangeList* changes) {
  TimeCarrier(previous, *this, nodes_, changes).walk(previous.root(), 0, "");
  if (previous.raw_ == raw_) {
    raw_mtime_ns_ = previous.raw_mtime_ns_;
  } else if (changes != nullptr) {
    changes->raw_changed = true;
  }
}

}  // namespace mdfs::tree
