#include "files/well_known.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <utility>

#include "tree/names.h"

namespace mdfs::files {
namespace {

constexpr std::uint32_t kFilePerm = 0444;
constexpr std::uint32_t kSecretPerm = 0400;
// The filesystem bounds a derived file's life by its sources' TTLs; this is only a ceiling.
constexpr Millis kLongLife{24LL * 3600 * 1000};

// "a/{b/c}/*/d" -> "a", "{b/c}", "*", "d": a '/' inside braces does not split.
std::vector<std::string> segments(std::string_view pattern) {
  std::vector<std::string> out;
  std::string current;
  int depth = 0;
  for (char c : pattern) {
    if (c == '{') ++depth;
    if (c == '}') --depth;
    if (c == '/' && depth == 0) {
      out.push_back(std::move(current));
      current.clear();
      continue;
    }
    current += c;
  }
  out.push_back(std::move(current));
  return out;
}

bool isSubstitution(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

std::string join(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  return std::string(dir) + "/" + std::string(name);
}

bool hasLineBreak(std::string_view v) {
  return v.find_first_of("\n\r") != std::string_view::npos;
}

// The length of the UTF-8 sequence starting with `lead` and the smallest code point it may
// encode (overlong forms are invalid); 0 for a byte that cannot start one.
std::pair<std::size_t, char32_t> sequenceOf(unsigned char lead) {
  if (lead < 0x80) return {1, 0};
  if (lead >= 0xC2 && lead <= 0xDF) return {2, 0x80};
  if (lead >= 0xE0 && lead <= 0xEF) return {3, 0x800};
  if (lead >= 0xF0 && lead <= 0xF4) return {4, 0x10000};
  return {0, 0};
}

}  // namespace

bool validUtf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    auto lead = static_cast<unsigned char>(text[i]);
    auto [length, smallest] = sequenceOf(lead);
    if (length == 0 || i + length > text.size()) return false;
    if (length == 1) {
      ++i;
      continue;
    }
    char32_t cp = lead & (0xFFU >> (length + 1));
    for (std::size_t k = 1; k < length; ++k) {
      auto byte = static_cast<unsigned char>(text[i + k]);
      if ((byte & 0xC0U) != 0x80U) return false;
      cp = (cp << 6U) | (byte & 0x3FU);
    }
    if (cp < smallest || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

bool envSafe(std::string_view value) {
  return value.find('\0') == std::string_view::npos && validUtf8(value);
}

std::string envQuote(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\' || c == '`' || c == '$') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string envName(std::string_view fact) {
  std::string out = "METADATA_";
  for (char c : fact) {
    auto u = static_cast<unsigned char>(c);
    out += std::isalnum(u) != 0 ? static_cast<char>(std::toupper(u)) : '_';
  }
  return out;
}

FactRule factAt(std::string name, std::vector<std::string> paths,
                std::vector<Transform> transforms) {
  FactRule r;
  r.name = std::move(name);
  r.paths = std::move(paths);
  r.transforms = std::move(transforms);
  return r;
}

WellKnownTable tableFor(std::string cloud) {
  FactRule fact;
  fact.name = "cloud";
  fact.constant = std::move(cloud);
  WellKnownTable t;
  t.facts.push_back(std::move(fact));
  return t;
}

std::string applyTransform(Transform transform, std::string value) {
  switch (transform) {
    case Transform::none:
      return value;
    case Transform::last_path_part: {
      auto slash = value.rfind('/');
      return slash == std::string::npos ? value : value.substr(slash + 1);
    }
    case Transform::gce_ssh_keys: {
      std::string out;
      std::size_t start = 0;
      while (start < value.size()) {
        std::size_t end = value.find('\n', start);
        if (end == std::string::npos) end = value.size();
        std::string_view line(value.data() + start, end - start);
        start = end + 1;
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || colon + 1 >= line.size()) continue;
        out += (out.empty() ? "" : "\n");
        out += line.substr(colon + 1);
      }
      return out;
    }
    case Transform::drop_last_dash_part: {
      // A zone is its region and one more "-part"; a name without one has no region in it.
      auto dash = value.rfind('-');
      if (dash == std::string::npos || dash == 0 || dash + 1 == value.size()) return {};
      return value.substr(0, dash);
    }
  }
  return value;
}

std::string applyTransforms(const std::vector<Transform>& transforms, std::string value) {
  for (Transform t : transforms)
    value = applyTransform(t, std::move(value));
  return value;
}

std::vector<std::string> sourcePaths(const FactRule& rule) {
  std::vector<std::string> out;
  auto add = [&](std::string path) {
    if (std::find(out.begin(), out.end(), path) == out.end()) out.push_back(std::move(path));
  };
  for (const auto& pattern : rule.paths) {
    std::string prefix;
    bool computed = false;
    for (const auto& segment : segments(pattern)) {
      if (isSubstitution(segment)) add(segment.substr(1, segment.size() - 2));
      computed = computed || segment == "*" || isSubstitution(segment);
      if (!computed) prefix = join(prefix, segment);
    }
    if (!prefix.empty()) add(prefix);
  }
  if (!rule.blocked_by.empty()) add(rule.blocked_by);
  return out;
}

WellKnownTable wellKnownFor(Cloud cloud) {
  switch (cloud) {
    case Cloud::aws:
      return awsWellKnown();
    case Cloud::gcp:
      return gcpWellKnown();
    case Cloud::azure:
      return azureWellKnown();
    case Cloud::ibm:
      break;
  }
  return ibmWellKnown();
}

WellKnown::WellKnown(WellKnownTable table, mount::TreeReader& tree, bool newline)
    : table_(std::move(table)), tree_(tree), newline_(newline) {}

Result<std::optional<std::string>> WellKnown::valueAt(const std::string& path, bool exact,
                                                      Deadline deadline) const {
  auto bytes = tree_.readFile(path, deadline);
  if (!bytes) {
    if (bytes.error().kind == ErrorKind::not_found) return std::optional<std::string>();
    return bytes.error();
  }
  std::string v = std::move(bytes).value();
  if (!exact && newline_ && !v.empty() && v.back() == '\n') v.pop_back();
  return std::optional<std::string>(std::move(v));
}

// The concrete paths a pattern names, in order.
Result<std::vector<std::string>> WellKnown::expand(std::string_view pattern,
                                                   Deadline deadline) const {
  std::vector<std::string> paths{""};
  for (const auto& segment : segments(pattern)) {
    std::vector<std::string> next;
    if (segment == "*") {
      for (const auto& dir : paths) {
        auto names = tree_.listDirectory(dir, deadline);
        if (!names && names.error().kind != ErrorKind::not_found) return names.error();
        if (!names) continue;
        for (const auto& name : names.value())
          next.push_back(join(dir, name));
      }
    } else if (isSubstitution(segment)) {
      auto v = valueAt(segment.substr(1, segment.size() - 2), false, deadline);
      if (!v) return v.error();
      if (!v->has_value() || (*v)->empty()) return std::vector<std::string>{};
      std::string name = tree::escapeName(**v);
      for (const auto& dir : paths)
        next.push_back(join(dir, name));
    } else {
      for (const auto& dir : paths)
        next.push_back(join(dir, segment));
    }
    paths = std::move(next);
    if (paths.empty()) break;
  }
  return paths;
}

Result<std::optional<std::string>> WellKnown::value(const FactRule& rule, Deadline deadline) const {
  if (!rule.constant.empty()) return std::optional<std::string>(rule.constant);
  std::vector<std::string> found;
  std::size_t used = rule.paths.size();
  if (!rule.blocked_by.empty()) {
    auto block = valueAt(rule.blocked_by, false, deadline);
    if (!block) return block.error();
    std::string b = block->value_or("");
    std::transform(b.begin(), b.end(), b.begin(), [](unsigned char c) { return std::tolower(c); });
    if (b == "true") used = std::min(used, rule.blocked_from);
  }
  for (std::size_t i = 0; i < used; ++i) {
    const auto& pattern = rule.paths[i];
    auto paths = expand(pattern, deadline);
    if (!paths) return paths.error();
    for (const auto& path : paths.value()) {
      auto v = valueAt(path, rule.secret, deadline);
      if (!v) return v.error();
      if (!v->has_value() || (*v)->empty()) continue;
      if (rule.combine == Combine::first) {
        std::string out = applyTransforms(rule.transforms, std::move(**v));
        if (out.empty()) return std::optional<std::string>();
        return std::optional<std::string>(std::move(out));
      }
      if (rule.multiline || !hasLineBreak(**v)) {
        found.push_back(applyTransforms(rule.transforms, std::move(**v)));
      }
    }
  }
  std::string lines;
  for (const auto& v : found) {
    if (v.empty()) continue;
    lines += lines.empty() ? v : "\n" + v;
  }
  if (lines.empty()) return std::optional<std::string>();
  return std::optional<std::string>(std::move(lines));
}

Result<std::vector<std::pair<std::string, std::string>>> WellKnown::publicFacts(
    Deadline deadline) const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& rule : table_.facts) {
    if (rule.secret) continue;
    auto v = value(rule, deadline);
    if (!v) return v.error();
    if (v->has_value()) out.emplace_back(rule.name, std::move(**v));
  }
  return out;
}

// JSON text is UTF-8: a value that is not is left out rather than altered.
Result<std::string> WellKnown::json(Deadline deadline) const {
  auto facts = publicFacts(deadline);
  if (!facts) return facts.error();
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  for (const auto& [name, v] : facts.value()) {
    if (!validUtf8(v)) continue;
    writer.Key(name.c_str(), static_cast<rapidjson::SizeType>(name.size()));
    writer.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  }
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

Result<std::string> WellKnown::env(Deadline deadline) const {
  auto facts = publicFacts(deadline);
  if (!facts) return facts.error();
  std::string out;
  for (const auto& [name, v] : facts.value()) {
    if (envSafe(v)) out += envName(name) + "=" + envQuote(v) + "\n";
  }
  return out;
}

mount::DynamicFile WellKnown::factFile(const FactRule& rule) const {
  mount::DynamicFile f;
  f.path = "well-known/" + rule.name;
  f.perm = rule.secret ? kSecretPerm : kFilePerm;
  f.secret = rule.secret;  // secrets_group= applies to it as to its source
  f.sources = sourcePaths(rule);
  f.optional = rule.constant.empty();
  f.produce = [this, &rule](Deadline deadline) -> Result<mount::DynamicContent> {
    auto v = value(rule, deadline);
    if (!v) return v.error();
    mount::DynamicContent c;
    c.valid_for = kLongLife;
    c.absent = !v->has_value();
    if (!c.absent) c.bytes = **v + (rule.secret || !newline_ ? "" : "\n");
    return c;
  };
  return f;
}

std::vector<mount::DynamicFile> WellKnown::files() const {
  std::vector<mount::DynamicFile> out;
  std::vector<std::string> all_sources;
  for (const auto& rule : table_.facts) {
    out.push_back(factFile(rule));
    if (rule.secret) continue;
    for (auto& path : sourcePaths(rule)) {
      if (std::find(all_sources.begin(), all_sources.end(), path) == all_sources.end()) {
        all_sources.push_back(std::move(path));
      }
    }
  }
  for (bool json_file : {true, false}) {
    mount::DynamicFile f;
    f.path = json_file ? "well-known.json" : "well-known.env";
    f.perm = kFilePerm;
    f.sources = all_sources;
    f.produce = [this, json_file](Deadline deadline) -> Result<mount::DynamicContent> {
      auto text = json_file ? json(deadline) : env(deadline);
      if (!text) return text.error();
      mount::DynamicContent c;
      c.bytes = std::move(text).value();
      c.valid_for = kLongLife;
      return c;
    };
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace mdfs::files
