#include "tree/snapshot.h"

#include <algorithm>
#include <climits>
#include <utility>

#include "common/json_reader.h"
#include "tree/names.h"

namespace mdfs::tree {
namespace {

constexpr std::string_view kByName = "by-name";
constexpr std::uint32_t kNone = UINT32_MAX;
// The clock is read once per this many values or nodes.
constexpr std::uint32_t kTicksPerClockRead = 4096;

std::string joinPath(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  std::string out(dir);
  out += '/';
  out += name;
  return out;
}

// One JSON value of the body, 16 bytes. Values are in document order, so a container's
// members follow it and `end` skips its whole subtree.
struct Item {
  std::uint32_t key_offset = 0;  // member name (members only): token offset in the body
  std::uint32_t key_size : 28 = 0;
  std::uint32_t kind : 4 = 0;
  std::uint32_t a = 0;  // scalar: token offset of its text; container: index past its subtree
  std::uint32_t b = 0;  // scalar: text size; container: number of children
  [[nodiscard]] json::Kind type() const { return static_cast<json::Kind>(kind); }
  [[nodiscard]] bool container() const {
    return type() == json::Kind::object || type() == json::Kind::array;
  }
};
static_assert(sizeof(Item) == 16);

// Records the body as Items: a compact stand-in for a DOM (a 4 MiB body holds at most two
// million values).
class Tape final : public json::Handler {
 public:
  Tape(const json::JsonReader& reader, Deadline deadline) : reader_(reader), deadline_(deadline) {}

  bool scalar(json::Kind kind, std::string_view text) override {
    Item& item = push(kind);
    bool quoted = kind == json::Kind::string;
    item.a = static_cast<std::uint32_t>(reader_.tokenBegin() + (quoted ? 1 : 0));
    item.b = static_cast<std::uint32_t>(text.size());
    if (kind == json::Kind::string && open_.size() >= 2 && key_ == "name" &&
        items[open_.back()].type() == json::Kind::object &&
        items[open_[open_.size() - 2]].type() == json::Kind::array) {
      ++named_elements;  // a possible by-name link
    }
    return tick();
  }
  bool key(std::string_view name) override {
    key_offset_ = static_cast<std::uint32_t>(reader_.tokenBegin() + 1);
    key_ = name;
    return true;
  }
  bool open(json::Kind kind) override {
    if (kind == json::Kind::array) ++arrays;
    push(kind);
    open_.push_back(static_cast<std::uint32_t>(items.size() - 1));
    return tick();
  }
  bool close(json::Kind /*kind*/) override {
    items[open_.back()].a = static_cast<std::uint32_t>(items.size());
    open_.pop_back();
    return true;
  }
  [[nodiscard]] std::string why() const override { return "the deadline passed"; }
  [[nodiscard]] bool expired() const { return expired_; }

  std::vector<Item> items;
  std::size_t arrays = 0;
  std::size_t named_elements = 0;

 private:
  Item& push(json::Kind kind) {
    if (!open_.empty()) ++items[open_.back()].b;
    Item& item = items.emplace_back();
    item.kind = static_cast<std::uint32_t>(kind);
    if (!open_.empty() && items[open_.back()].type() == json::Kind::object) {
      item.key_offset = key_offset_;
      item.key_size = static_cast<std::uint32_t>(key_.size());
    }
    return item;
  }
  bool tick() {
    if (items.size() % kTicksPerClockRead != 0 || std::chrono::steady_clock::now() < deadline_)
      return true;
    expired_ = true;
    return false;
  }

  const json::JsonReader& reader_;
  Deadline deadline_;
  std::vector<std::uint32_t> open_;  // indices of the open containers
  std::uint32_t key_offset_ = 0;
  std::string_view key_;
  bool expired_ = false;
};

// The decimal names 0 .. n-1 in the order a name sort puts them ("0", "1", "10", "100",
// "11", ...), so an indexed array needs no sorting. Calls f(index) for each.
template <class F>
void forEachIndexInNameOrder(std::uint32_t n, F f) {
  if (n == 0) return;
  f(0);
  std::uint64_t cur = 1;
  for (std::uint32_t done = 1; done < n; ++done) {
    f(static_cast<std::uint32_t>(cur));
    if (cur * 10 < n) {
      cur *= 10;
      continue;
    }
    while (cur + 1 >= n || cur % 10 == 9)
      cur /= 10;
    ++cur;
  }
}

}  // namespace

// Turns the tape into the flat node vector. Each directory's entries are appended as one
// contiguous, name-sorted block, then each child directory is filled in turn.
class SnapshotBuilder {
 public:
  SnapshotBuilder(const EndpointSpec& spec, const RenderOptions& options, std::int64_t now_ns,
                  Deadline deadline, const Tape& tape, std::string_view decoded, Snapshot& out)
      : spec_(spec),
        options_(options),
        now_ns_(now_ns),
        deadline_(deadline),
        items_(tape.items),
        decoded_(decoded),
        out_(out),
        paths_(!spec.secrets.empty() || !spec.blobs.empty()) {}

  Status fillObject(std::uint32_t dir, std::uint32_t object, const std::string& path,
                    const std::vector<std::string>& hidden);
  Status fillArray(std::uint32_t dir, std::uint32_t array, const std::string& path);
  [[nodiscard]] const Item* member(std::uint32_t object, std::string_view key) const;

 private:
  [[nodiscard]] std::uint32_t next(std::uint32_t i) const {
    return items_[i].container() ? items_[i].a : i + 1;
  }
  [[nodiscard]] std::string_view keyOf(std::uint32_t i) const {
    return decoded_.substr(items_[i].key_offset, items_[i].key_size);
  }
  [[nodiscard]] std::string_view stringOf(const Item& item) const {
    return decoded_.substr(item.a, item.b);
  }
  [[nodiscard]] std::vector<std::uint32_t> childrenOf(std::uint32_t container) const;
  [[nodiscard]] bool isIdKeyed(const std::vector<std::uint32_t>& elements) const;
  void pushNode(std::string_view name, std::uint32_t item, const std::string& member_path,
                bool secret);
  void pushLink(std::string_view name, std::string_view target, bool secret);
  void sortBlock(std::uint32_t dir, std::uint32_t first);
  Status fillChildren(std::uint32_t dir, const std::string& path, bool use_keys);
  void fillLinks(std::uint32_t dir, const std::vector<std::uint32_t>& elements,
                 const NameAllocator& element_names);
  [[nodiscard]] std::string render(const Item& item, bool blob) const;
  std::uint32_t append(std::string_view bytes);
  Status tick();

  const EndpointSpec& spec_;
  const RenderOptions& options_;
  std::int64_t now_ns_;
  Deadline deadline_;
  const std::vector<Item>& items_;
  std::string_view decoded_;
  Snapshot& out_;
  bool paths_;             // member paths matter only when the endpoint has secrets or blobs
  bool overflow_ = false;  // more text or nodes than 32-bit offsets address
  std::uint32_t ticks_ = 0;
};

const Item* SnapshotBuilder::member(std::uint32_t object, std::string_view key) const {
  if (items_[object].type() != json::Kind::object) return nullptr;
  for (std::uint32_t c = object + 1; c < items_[object].a; c = next(c)) {
    if (keyOf(c) == key) return &items_[c];
  }
  return nullptr;
}

std::vector<std::uint32_t> SnapshotBuilder::childrenOf(std::uint32_t container) const {
  std::vector<std::uint32_t> out;
  out.reserve(items_[container].b);
  for (std::uint32_t c = container + 1; c < items_[container].a; c = next(c))
    out.push_back(c);
  return out;
}

// DESIGN rule 2: elements are named by id when every element is an object with a string
// id, the ids are unique, and none would shadow the by-name directory.
bool SnapshotBuilder::isIdKeyed(const std::vector<std::uint32_t>& elements) const {
  if (elements.empty()) return false;
  std::vector<std::string_view> ids;
  ids.reserve(elements.size());
  for (std::uint32_t e : elements) {
    const Item* id = member(e, "id");
    if (id == nullptr || id->type() != json::Kind::string || stringOf(*id) == kByName) return false;
    ids.push_back(stringOf(*id));
  }
  std::sort(ids.begin(), ids.end());
  return std::adjacent_find(ids.begin(), ids.end()) == ids.end();
}

Status SnapshotBuilder::fillObject(std::uint32_t dir, std::uint32_t object, const std::string& path,
                                   const std::vector<std::string>& hidden) {
  NameAllocator names;
  for (const std::string& h : hidden) {
    names.reserve(h);
    names.reserve(h + ".json");
  }
  std::vector<std::uint32_t> members;
  for (std::uint32_t c = object + 1; c < items_[object].a; c = next(c)) {
    if (std::find(hidden.begin(), hidden.end(), keyOf(c)) != hidden.end()) continue;
    names.add(keyOf(c));
    members.push_back(c);
  }
  names.assign();
  auto first = static_cast<std::uint32_t>(out_.nodes_.size());
  bool secret = out_.nodes_[dir].secret;
  for (std::size_t i = 0; i < members.size(); ++i) {
    std::string member_path = paths_ ? joinPath(path, keyOf(members[i])) : std::string();
    pushNode(names.name(i), members[i], member_path, secret);
  }
  sortBlock(dir, first);
  return fillChildren(dir, path, true);
}

Status SnapshotBuilder::fillArray(std::uint32_t dir, std::uint32_t array, const std::string& path) {
  std::vector<std::uint32_t> elements = childrenOf(array);
  auto first = static_cast<std::uint32_t>(out_.nodes_.size());
  bool secret = out_.nodes_[dir].secret;
  if (!isIdKeyed(elements)) {
    // Decimal indices are unique and valid names: no allocator, and already in order.
    forEachIndexInNameOrder(static_cast<std::uint32_t>(elements.size()), [&](std::uint32_t i) {
      std::string name = std::to_string(i);
      pushNode(name, elements[i], paths_ ? joinPath(path, name) : std::string(), secret);
    });
    out_.nodes_[dir].first = first;
    out_.nodes_[dir].count = static_cast<std::uint32_t>(elements.size());
    return fillChildren(dir, path, false);
  }
  NameAllocator names;
  names.reserve(kByName);
  for (std::uint32_t e : elements)
    names.add(stringOf(*member(e, "id")));
  names.assign();
  for (std::size_t i = 0; i < elements.size(); ++i) {
    pushNode(names.name(i), elements[i], paths_ ? joinPath(path, names.name(i)) : std::string(),
             secret);
  }
  auto by_name = static_cast<std::uint32_t>(out_.nodes_.size());
  pushLink(kByName, {}, secret);
  out_.nodes_[by_name].kind = Node::Kind::directory;
  out_.nodes_[by_name].first = kNone;  // filled below, not from the tape
  sortBlock(dir, first);
  if (Status done = fillChildren(dir, path, false); !done) return done;
  const Node* kids = out_.nodes_.data() + first;
  const auto* it = std::find_if(kids, kids + out_.nodes_[dir].count,
                                [this](const Node& n) { return out_.name(n) == kByName; });
  fillLinks(static_cast<std::uint32_t>(it - out_.nodes_.data()), elements, names);
  return tick();
}

// by-name/<name> -> ../<id> for every element whose name is unique in the array. The
// target is "../" and one valid name, so no link leaves the array's directory.
void SnapshotBuilder::fillLinks(std::uint32_t dir, const std::vector<std::uint32_t>& elements,
                                const NameAllocator& element_names) {
  std::vector<std::pair<std::string_view, std::uint32_t>> named;
  for (std::uint32_t i = 0; i < elements.size(); ++i) {
    const Item* name = member(elements[i], "name");
    if (name != nullptr && name->type() == json::Kind::string)
      named.emplace_back(stringOf(*name), i);
  }
  std::sort(named.begin(), named.end());
  std::vector<std::uint32_t> unique;  // element indices, in document order
  for (std::size_t i = 0; i < named.size(); ++i) {
    bool dup = (i > 0 && named[i - 1].first == named[i].first) ||
               (i + 1 < named.size() && named[i + 1].first == named[i].first);
    if (!dup) unique.push_back(named[i].second);
  }
  std::sort(unique.begin(), unique.end());
  NameAllocator names;
  for (std::uint32_t i : unique)
    names.add(stringOf(*member(elements[i], "name")));
  names.assign();
  auto first = static_cast<std::uint32_t>(out_.nodes_.size());
  bool secret = out_.nodes_[dir].secret;
  for (std::size_t k = 0; k < unique.size(); ++k) {
    pushLink(names.name(k), "../" + std::string(element_names.name(unique[k])), secret);
  }
  sortBlock(dir, first);
}

// Fills every directory of `dir`'s block; a directory's `first` still holds its item.
Status SnapshotBuilder::fillChildren(std::uint32_t dir, const std::string& path, bool use_keys) {
  std::uint32_t first = out_.nodes_[dir].first;
  std::uint32_t count = out_.nodes_[dir].count;
  for (std::uint32_t k = first; k < first + count; ++k) {
    if (out_.nodes_[k].kind != Node::Kind::directory || out_.nodes_[k].first == kNone) continue;
    std::uint32_t item = out_.nodes_[k].first;
    std::string child_path;
    if (paths_) child_path = joinPath(path, use_keys ? keyOf(item) : out_.name(out_.nodes_[k]));
    Status done = items_[item].type() == json::Kind::object ? fillObject(k, item, child_path, {})
                                                            : fillArray(k, item, child_path);
    if (!done) return done;
  }
  return tick();
}

void SnapshotBuilder::pushNode(std::string_view name, std::uint32_t item,
                               const std::string& member_path, bool secret) {
  const Item& value = items_[item];
  Node n;
  n.name_offset = append(name);
  n.name_size = static_cast<std::uint32_t>(name.size());
  n.mtime_ns = now_ns_;
  n.secret = secret || (paths_ && spec_.isSecret(member_path));
  if (value.container()) {
    n.kind = Node::Kind::directory;
    n.first = item;  // until fillChildren reaches it
  } else {
    n.kind = Node::Kind::file;
    std::string bytes = render(value, paths_ && spec_.isBlob(member_path));
    if (paths_ && spec_.isBase64(member_path) && value.type() == json::Kind::string) {
      if (auto decoded = decodeBase64(stringOf(value))) bytes = std::move(*decoded);
    }
    n.first = append(bytes);
    n.count = static_cast<std::uint32_t>(bytes.size());
  }
  out_.nodes_.push_back(n);
}

void SnapshotBuilder::pushLink(std::string_view name, std::string_view target, bool secret) {
  Node n;
  n.name_offset = append(name);
  n.name_size = static_cast<std::uint32_t>(name.size());
  n.mtime_ns = now_ns_;
  n.secret = secret;
  n.kind = Node::Kind::symlink;
  n.first = append(target);
  n.count = static_cast<std::uint32_t>(target.size());
  out_.nodes_.push_back(n);
}

void SnapshotBuilder::sortBlock(std::uint32_t dir, std::uint32_t first) {
  auto begin = out_.nodes_.begin() + first;
  std::sort(begin, out_.nodes_.end(),
            [this](const Node& a, const Node& b) { return out_.name(a) < out_.name(b); });
  out_.nodes_[dir].first = first;
  out_.nodes_[dir].count = static_cast<std::uint32_t>(out_.nodes_.size() - first);
  if (out_.nodes_.size() >= kNone) overflow_ = true;
}

std::string SnapshotBuilder::render(const Item& item, bool blob) const {
  std::string text;
  switch (item.type()) {
    case json::Kind::null:
      return text;
    case json::Kind::boolean:
      text = item.b == 4 ? "true" : "false";  // b is the size of the literal
      break;
    case json::Kind::number:
      text = out_.raw_.substr(item.a, item.b);
      break;
    default:
      text = stringOf(item);
      if (blob) return text;
  }
  if (options_.newline) text += '\n';
  return text;
}

std::uint32_t SnapshotBuilder::append(std::string_view bytes) {
  if (out_.text_.size() + bytes.size() >= kNone) {
    overflow_ = true;
    return 0;
  }
  auto offset = static_cast<std::uint32_t>(out_.text_.size());
  out_.text_.append(bytes);
  return offset;
}

Status SnapshotBuilder::tick() {
  if (overflow_ || out_.nodes_.size() >= kNone)
    return makeError(ErrorKind::oversized, "unexpected answer: too large to map");
  if (++ticks_ % kTicksPerClockRead == 0 && std::chrono::steady_clock::now() >= deadline_) {
    return makeError(ErrorKind::timed_out, "timed out building the tree");
  }
  return Ok{};
}

Result<std::shared_ptr<Snapshot>> Snapshot::build(const EndpointSpec& spec, std::string body,
                                                  const RenderOptions& options,
                                                  const std::vector<std::string>& hidden,
                                                  std::int64_t now_ns, Deadline deadline) {
  if (body.size() > kMaxBodyBytes) {
    return makeError(ErrorKind::oversized, "unexpected answer: " + std::to_string(body.size()) +
                                               " bytes, more than the " +
                                               std::to_string(kMaxBodyBytes) +
                                               " a tree is built from");
  }
  if (std::chrono::steady_clock::now() >= deadline) {
    return makeError(ErrorKind::timed_out, "timed out before building the tree");
  }
  auto snap = std::shared_ptr<Snapshot>(new Snapshot());
  snap->raw_ = std::move(body);
  snap->raw_mtime_ns_ = now_ns;
  snap->raw_secret_ = spec.rawIsSecret();
  json::JsonReader reader(snap->raw_);
  Tape tape(reader, deadline);
  if (auto read = reader.read(tape); !read) {
    if (tape.expired()) return makeError(ErrorKind::timed_out, "timed out reading the answer");
    return read.error();
  }
  if (tape.items.front().type() != json::Kind::object) {
    return makeError(ErrorKind::malformed, "unexpected answer: the document is not a JSON object");
  }
  snap->nodes_.reserve(tape.items.size() + tape.arrays + tape.named_elements);
  Node root;
  root.mtime_ns = now_ns;
  snap->nodes_.push_back(root);
  SnapshotBuilder builder(spec, options, now_ns, deadline, tape, reader.decoded(), *snap);
  Status filled = Ok{};
  if (spec.isCollection()) {
    const Item* list = builder.member(0, spec.list_key);
    if (list == nullptr || list->type() != json::Kind::array) {
      return makeError(ErrorKind::malformed,
                       "unexpected answer: no \"" + spec.list_key + "\" array");
    }
    filled = builder.fillArray(0, static_cast<std::uint32_t>(list - tape.items.data()), "");
  } else {
    filled = builder.fillObject(0, 0, "", hidden);
  }
  if (!filled) return filled.error();
  snap->text_.shrink_to_fit();
  return snap;
}

std::span<const Node> Snapshot::children(const Node& dir) const {
  if (dir.kind != Node::Kind::directory || dir.remote || dir.count == 0) return {};
  return {nodes_.data() + dir.first, dir.count};
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
    if (before.remote || now.remote) {
      // A text cloud's listed entry: its content is another resource; only its URL name
      // (first/count index the text, not nodes) tells whether it is the same entry.
      if (before.remote == now.remote && old_.remoteName(before) == new_.remoteName(now)) {
        now.mtime_ns = before.mtime_ns;
      } else {
        note(changes_ ? &changes_->changed : nullptr, path);
      }
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
    std::uint32_t first = fresh_[after].first;
    std::uint32_t count = fresh_[after].count;
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
