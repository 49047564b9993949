#include "emulator/scenario.h"

#include <rapidjson/error/en.h>
#include <rapidjson/pointer.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <mutex>
#include <sstream>

#include "emulator/crypto.h"

namespace mdfs::emu {
namespace {

using rapidjson::Document;
using rapidjson::Value;
using Allocator = rapidjson::Document::AllocatorType;

constexpr int kMaxExtendsDepth = 4;
constexpr std::array kObjectMembers = {"instance", "initialization"};
constexpr std::array kArrayMembers = {"network_interfaces",
                                      "network_attachments",
                                      "volume_attachments",
                                      "cluster_network_attachments",
                                      "software_attachments",
                                      "virtual_network_interfaces",
                                      "keys",
                                      "placement_groups",
                                      "linked_trusted_profiles"};

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError(ENOENT, "cannot read scenario file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string resolvePath(const std::string& name_or_path, const std::string& directory) {
  const bool is_path =
      name_or_path.find('/') != std::string::npos || name_or_path.ends_with(".json");
  return is_path ? name_or_path : directory + "/" + name_or_path + ".json";
}

Status parseInto(Document& doc, std::string_view text, const std::string& what) {
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError()) {
    return makeError(EINVAL, what + ": invalid JSON at offset " +
                                 std::to_string(doc.GetErrorOffset()) + ": " +
                                 rapidjson::GetParseError_En(doc.GetParseError()));
  }
  return Ok{};
}

Status checkShape(const Value& doc, const std::string& path) {
  if (!doc.IsObject()) return makeError(EINVAL, path + ": the scenario must be a JSON object");
  for (const char* name : kObjectMembers) {
    if (const Value* v = member(doc, name); v != nullptr && !v->IsObject()) {
      return makeError(EINVAL, path + ": \"" + name + "\" must be an object");
    }
  }
  for (const char* name : kArrayMembers) {
    if (const Value* v = member(doc, name); v != nullptr && !v->IsArray()) {
      return makeError(EINVAL, path + ": \"" + name + "\" must be an array");
    }
  }
  return Ok{};
}

// A fixed sequence of pseudo-random numbers (splitmix64): generated data has the same ids
// on every run, so tests can render the expected tree from the document.
class Sequence {
 public:
  explicit Sequence(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31U);
  }
  std::string uuid() {
    const std::uint64_t a = next();
    const std::uint64_t b = next();
    std::array<char, 40> buf{};
    std::snprintf(buf.data(), buf.size(),
                  "%08" PRIx64 "-%04" PRIx64 "-4%03" PRIx64 "-%04" PRIx64 "-%012" PRIx64, a >> 32U,
                  (a >> 16U) & 0xFFFFU, a & 0xFFFU, ((b >> 48U) & 0x3FFFU) | 0x8000U,
                  b & std::uint64_t{0xFFFFFFFFFFFF});
    return buf.data();
  }
  std::string bytes(std::size_t n) {
    std::string out;
    while (out.size() < n) {
      const std::uint64_t v = next();
      for (unsigned i = 0; i < 8 && out.size() < n; ++i)
        out += static_cast<char>(v >> (8U * i));
    }
    return out;
  }

 private:
  std::uint64_t state_;
};

std::string timestamp(std::int64_t epoch_seconds) {
  const auto t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf.data();
}

std::string sshString(std::string_view s) {
  std::string out;
  const auto n = static_cast<std::uint32_t>(s.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    out += static_cast<char>((n >> shift) & 0xFFU);
  out += s;
  return out;
}

struct GenerateContext {
  std::string account;
  std::string region;
  const Value* resource_group = nullptr;  // copied into each generated element
};

Value str(std::string_view s, Allocator& a) {
  return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

Value& arrayMember(Document& doc, const char* name) {
  if (!doc.HasMember(name))
    doc.AddMember(Value(name, doc.GetAllocator()), Value(rapidjson::kArrayType),
                  doc.GetAllocator());
  return doc[name];
}

void generatePlacementGroups(Document& doc, std::uint64_t count, const GenerateContext& ctx) {
  auto& a = doc.GetAllocator();
  Value& list = arrayMember(doc, "placement_groups");
  Sequence seq(0x70675F67656E0001ULL);
  constexpr std::int64_t kEpoch = 1748736000;  // 2025-06-01T00:00:00Z
  for (std::uint64_t i = 1; i <= count; ++i) {
    const std::string id = "r006-" + seq.uuid();
    std::array<char, 32> name{};
    std::snprintf(name.data(), name.size(), "pg-gen-%05" PRIu64, i);
    Value pg(rapidjson::kObjectType);
    pg.AddMember("created_at", str(timestamp(kEpoch + static_cast<std::int64_t>(i) * 60), a), a);
    pg.AddMember("crn",
                 str("crn:v1:bluemix:public:is:" + ctx.region + ":a/" + ctx.account +
                         "::placement-group:" + id,
                     a),
                 a);
    pg.AddMember("id", str(id, a), a);
    pg.AddMember("lifecycle_state", "stable", a);
    pg.AddMember("name", str(name.data(), a), a);
    if (ctx.resource_group != nullptr)
      pg.AddMember("resource_group", Value(*ctx.resource_group, a), a);
    pg.AddMember("resource_type", "placement_group", a);
    pg.AddMember("strategy", rapidjson::StringRef(i % 2 == 0 ? "power_spread" : "host_spread"), a);
    list.PushBack(pg, a);
  }
}

void generateKeys(Document& doc, std::uint64_t count, const GenerateContext& ctx) {
  auto& a = doc.GetAllocator();
  Value& list = arrayMember(doc, "keys");
  Sequence seq(0x6B65795F67656E01ULL);
  constexpr std::int64_t kEpoch = 1746057600;  // 2025-05-01T00:00:00Z
  for (std::uint64_t i = 1; i <= count; ++i) {
    const std::string id = "r006-" + seq.uuid();
    std::array<char, 32> name{};
    std::snprintf(name.data(), name.size(), "gen-key-%04" PRIu64, i);
    // The OpenSSH wire format of an ed25519 key, so parsers of public keys accept it.
    const std::string blob = sshString("ssh-ed25519") + sshString(seq.bytes(32));
    std::string fingerprint = base64(sha256(blob));
    while (!fingerprint.empty() && fingerprint.back() == '=')
      fingerprint.pop_back();
    Value key(rapidjson::kObjectType);
    key.AddMember("created_at", str(timestamp(kEpoch + static_cast<std::int64_t>(i) * 60), a), a);
    key.AddMember(
        "crn",
        str("crn:v1:bluemix:public:is:" + ctx.region + ":a/" + ctx.account + "::key:" + id, a), a);
    key.AddMember("fingerprint", str("SHA256:" + fingerprint, a), a);
    key.AddMember("id", str(id, a), a);
    key.AddMember("length", 256, a);
    key.AddMember("name", str(name.data(), a), a);
    key.AddMember("public_key",
                  str("ssh-ed25519 " + base64(blob) + " " + name.data() + "@emulator", a), a);
    if (ctx.resource_group != nullptr)
      key.AddMember("resource_group", Value(*ctx.resource_group, a), a);
    key.AddMember("resource_type", "key", a);
    key.AddMember("type", "ed25519", a);
    list.PushBack(key, a);
  }
}

Status expandGenerate(Document& doc, const std::string& path) {
  const Value* spec = member(doc, "generate");
  if (spec == nullptr) return Ok{};
  if (!spec->IsObject()) return makeError(EINVAL, path + ": \"generate\" must be an object");
  GenerateContext ctx;
  const std::string crn = stringAt(doc, "/instance/crn");
  // crn:v1:bluemix:public:is:<zone>:a/<account>::instance:<id>
  if (auto p = crn.find(":a/"); p != std::string::npos) {
    ctx.account = crn.substr(p + 3, crn.find(':', p + 3) - (p + 3));
  }
  const std::string zone = stringAt(doc, "/instance/zone/name");
  ctx.region = zone.substr(0, zone.rfind('-'));
  ctx.resource_group = rapidjson::Pointer("/instance/resource_group").Get(doc);
  // Copy the spec: generating appends to the document, which may move `spec`.
  Document counts;
  counts.CopyFrom(*spec, counts.GetAllocator());
  for (const auto& m : counts.GetObject()) {
    const std::string name = m.name.GetString();
    if (!m.value.IsUint64())
      return makeError(EINVAL, path + ": generate." + name + " must be a count");
    if (name == "placement_groups") {
      generatePlacementGroups(doc, m.value.GetUint64(), ctx);
    } else if (name == "keys") {
      generateKeys(doc, m.value.GetUint64(), ctx);
    } else {
      return makeError(EINVAL,
                       path + ": cannot generate \"" + name + "\" (known: placement_groups, keys)");
    }
  }
  doc.RemoveMember("generate");
  return Ok{};
}

Status applyPatches(Document& doc, const Value& patches, const std::string& path) {
  if (const Value* set = member(patches, "set")) {
    if (!set->IsObject()) return makeError(EINVAL, path + ": \"set\" must be an object");
    for (const auto& m : set->GetObject()) {
      const rapidjson::Pointer p(m.name.GetString(), m.name.GetStringLength());
      if (!p.IsValid()) return makeError(EINVAL, path + ": bad pointer in \"set\"");
      p.Set(doc, Value(m.value, doc.GetAllocator()));
    }
  }
  if (const Value* del = member(patches, "delete")) {
    if (!del->IsArray()) return makeError(EINVAL, path + ": \"delete\" must be an array");
    for (const auto& v : del->GetArray()) {
      if (!v.IsString()) return makeError(EINVAL, path + ": \"delete\" lists pointers");
      const rapidjson::Pointer p(v.GetString(), v.GetStringLength());
      if (!p.IsValid() || !p.Erase(doc)) {
        return makeError(EINVAL, path + ": nothing to delete at " + v.GetString());
      }
    }
  }
  return Ok{};
}

Status loadInto(Document& doc, const std::string& name_or_path, const std::string& directory,
                int depth) {
  const std::string path = resolvePath(name_or_path, directory);
  auto text = readFile(path);
  if (!text) {
    return makeError(ENOENT, "unknown scenario '" + name_or_path + "': no file " + path);
  }
  Document own;
  if (auto s = parseInto(own, *text, path); !s) return s;
  if (!own.IsObject()) return makeError(EINVAL, path + ": the scenario must be a JSON object");
  if (const Value* base = member(own, "extends")) {
    if (!base->IsString()) return makeError(EINVAL, path + ": \"extends\" must be a string");
    if (depth >= kMaxExtendsDepth) return makeError(EINVAL, path + ": \"extends\" nests too deep");
    if (auto s = loadInto(doc, base->GetString(), directory, depth + 1); !s) return s;
    own.RemoveMember("extends");
  } else {
    doc.SetObject();
  }
  // "set" and "delete" patch the merged document by JSON Pointer, so a variant scenario
  // can change one deep value of its base without copying the whole member.
  Document patches(rapidjson::kObjectType);
  for (const char* name : {"set", "delete"}) {
    if (auto it = own.FindMember(name); it != own.MemberEnd()) {
      patches.AddMember(Value(name, patches.GetAllocator()),
                        Value(it->value, patches.GetAllocator()), patches.GetAllocator());
      own.RemoveMember(name);
    }
  }
  // Members of this file replace those of the base, "generate" included.
  for (auto& m : own.GetObject()) {
    Value name(m.name, doc.GetAllocator());
    Value value(m.value, doc.GetAllocator());
    if (doc.HasMember(name)) {
      doc[name] = value;
    } else {
      doc.AddMember(name, value, doc.GetAllocator());
    }
  }
  if (auto s = applyPatches(doc, patches, path); !s) return s;
  if (depth == 0) {
    if (auto s = expandGenerate(doc, path); !s) return s;
  }
  return checkShape(doc, path);
}

rapidjson::Pointer parsePointer(std::string_view pointer) {
  return {pointer.data(), pointer.size()};
}

Status invalidPointer(std::string_view pointer) {
  return makeError(EINVAL, "invalid JSON pointer '" + std::string(pointer) + "'");
}

}  // namespace

std::string toJson(const Value& value) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buf);
  value.Accept(writer);
  return {buf.GetString(), buf.GetSize()};
}

const Value* member(const Value& object, std::string_view name) {
  if (!object.IsObject()) return nullptr;
  const auto it = object.FindMember(
      Value(rapidjson::StringRef(name.data(), static_cast<rapidjson::SizeType>(name.size()))));
  return it == object.MemberEnd() ? nullptr : &it->value;
}

std::string stringAt(const Value& root, const char* pointer) {
  const Value* v = rapidjson::Pointer(pointer).Get(root);
  return v != nullptr && v->IsString() ? std::string(v->GetString(), v->GetStringLength())
                                       : std::string();
}

Status ScenarioStore::load(const std::string& name_or_path, const std::string& directory) {
  Document doc;
  if (auto s = loadInto(doc, name_or_path, directory, 0); !s) return s;
  {
    std::unique_lock lock(mu_);
    doc_.Swap(doc);
    ++version_;
  }
  changed();
  return Ok{};
}

Status ScenarioStore::set(std::string_view pointer, std::string_view json_value) {
  const auto p = parsePointer(pointer);
  if (!p.IsValid()) return invalidPointer(pointer);
  Document value;
  if (auto s = parseInto(value, json_value, "value"); !s) return s;
  if (p.GetTokenCount() == 0 && !value.IsObject()) {
    return makeError(EINVAL, "the scenario document must stay an object");
  }
  {
    std::unique_lock lock(mu_);
    Value copy(value, doc_.GetAllocator());
    p.Set(doc_, copy);
    ++version_;
  }
  changed();
  return Ok{};
}

Status ScenarioStore::add(std::string_view pointer, std::string_view json_value) {
  const auto p = parsePointer(pointer);
  if (!p.IsValid()) return invalidPointer(pointer);
  Document value;
  if (auto s = parseInto(value, json_value, "value"); !s) return s;
  {
    std::unique_lock lock(mu_);
    Value* target = p.Get(doc_);
    if (target == nullptr || !target->IsArray()) {
      return makeError(EINVAL, "no array at '" + std::string(pointer) + "'");
    }
    target->PushBack(Value(value, doc_.GetAllocator()), doc_.GetAllocator());
    ++version_;
  }
  changed();
  return Ok{};
}

Status ScenarioStore::remove(std::string_view pointer) {
  const auto p = parsePointer(pointer);
  if (!p.IsValid()) return invalidPointer(pointer);
  if (p.GetTokenCount() == 0) return makeError(EINVAL, "cannot delete the whole scenario");
  {
    std::unique_lock lock(mu_);
    if (!p.Erase(doc_)) return makeError(ENOENT, "no value at '" + std::string(pointer) + "'");
    ++version_;
  }
  changed();
  return Ok{};
}

void ScenarioStore::changed() {
  { std::lock_guard lock(wait_mu_); }  // a waiter between its check and its wait sees it
  wait_cv_.notify_all();
}

bool ScenarioStore::waitForChange(std::uint64_t seen,
                                  std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(wait_mu_);
  const std::uint64_t generation = release_generation_;
  wait_cv_.wait_until(lock, deadline, [&] {
    return shutdown_ || generation != release_generation_ || version_.load() != seen;
  });
  return !shutdown_ && generation == release_generation_;
}

void ScenarioStore::releaseWaiters() {
  {
    std::lock_guard lock(wait_mu_);
    ++release_generation_;
  }
  wait_cv_.notify_all();
}

void ScenarioStore::shutdown() {
  {
    std::lock_guard lock(wait_mu_);
    shutdown_ = true;
  }
  wait_cv_.notify_all();
}

Result<std::string> ScenarioStore::get(std::string_view pointer) const {
  const auto p = parsePointer(pointer);
  if (!p.IsValid()) return invalidPointer(pointer).error();
  std::shared_lock lock(mu_);
  const Value* v = p.Get(doc_);
  if (v == nullptr) return makeError(ENOENT, "no value at '" + std::string(pointer) + "'");
  return toJson(*v);
}

std::string ScenarioStore::serialize() const {
  std::shared_lock lock(mu_);
  return toJson(doc_);
}

}  // namespace mdfs::emu
