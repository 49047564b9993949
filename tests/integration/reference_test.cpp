// The reference test: the expected tree is rendered straight from the scenario JSON by
// DESIGN §1's rules (re-implemented here, independently of fs/tree), then the mount is
// walked with find, cat, stat, readlink, tar and cp -r and compared byte for byte.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "integration/mount_fixture.h"
#include "tree/names.h"

namespace mdfs::itest {
namespace {

using rapidjson::Value;

struct Expected {
  char type = 'd';  // d, f, l
  unsigned mode = 0555;
  std::string data;      // file bytes or link target
  bool json = false;     // a <name>.json file: compared as JSON
  std::string json_key;  // for collections: the list member
};

Expected dirNode(bool secret) {
  return {'d', secret ? 0500U : 0555U, {}, false, {}};
}
Expected fileNode(bool secret, std::string bytes) {
  return {'f', secret ? 0400U : 0444U, std::move(bytes), false, {}};
}
using Tree = std::map<std::string, Expected>;

struct EndpointRule {
  std::string mount;     // where it appears
  std::string data_key;  // member of the scenario document
  std::string list_key;  // collection member; "" for objects
};

// DESIGN §1's table at API version 2025-08-26.
const std::vector<EndpointRule>& endpointRules() {
  static const std::vector<EndpointRule> rules = {
      {"instance", "instance", ""},
      {"instance/initialization", "initialization", ""},
      {"instance/network_interfaces", "network_interfaces", "network_interfaces"},
      {"instance/network_attachments", "network_attachments", "network_attachments"},
      {"instance/volume_attachments", "volume_attachments", "volume_attachments"},
      {"instance/cluster_network_attachments", "cluster_network_attachments",
       "cluster_network_attachments"},
      {"virtual_network_interfaces", "virtual_network_interfaces", "virtual_network_interfaces"},
      {"keys", "keys", "keys"},
      {"placement_groups", "placement_groups", "placement_groups"},
  };
  return rules;
}

std::string join(const std::string& a, const std::string& b) {
  return a.empty() ? b : a + "/" + b;
}

std::string numberText(const Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return buf.GetString();
}

class Renderer {
 public:
  explicit Renderer(Tree& tree) : tree_(tree) {}

  void endpoint(const EndpointRule& rule, const Value& doc) {
    bool secret_raw = rule.mount == "instance/initialization";
    Expected raw{'f', secret_raw ? 0400U : 0444U, {}, true, rule.list_key};
    tree_[rule.mount + ".json"] = raw;
    const Value* data =
        doc.HasMember(rule.data_key.c_str()) ? &doc[rule.data_key.c_str()] : nullptr;
    mount_ = rule.mount;
    if (rule.list_key.empty()) {
      tree_[rule.mount] = dirNode(false);
      for (const auto& [name, value] : members(*data, rule.mount == "instance")) {
        render(join(rule.mount, name), value, name, false);
      }
    } else {
      render(rule.mount, *data, "", false);
    }
  }

 private:
  // Object members with unique names; the instance loses the members its sub-endpoints
  // replace.
  static std::vector<std::pair<std::string, const Value&>> members(const Value& object,
                                                                   bool instance) {
    static const std::set<std::string> replaced = {"initialization", "network_interfaces",
                                                   "network_attachments", "volume_attachments",
                                                   "cluster_network_attachments"};
    tree::NameAllocator names;
    std::vector<const Value*> values;
    for (const auto& m : object.GetObject()) {
      std::string key(m.name.GetString(), m.name.GetStringLength());
      if (instance && replaced.contains(key)) continue;
      names.add(key);
      values.push_back(&m.value);
    }
    names.assign();
    std::vector<std::pair<std::string, const Value&>> out;
    for (std::size_t i = 0; i < values.size(); ++i)
      out.emplace_back(std::string(names.name(i)), *values[i]);
    return out;
  }

  bool secretMember(const std::string& member) const {
    if (mount_ != "instance/initialization") return false;
    auto top = member.substr(0, member.find('/'));
    return top == "user_data" || top == "password";
  }

  void render(const std::string& path, const Value& v, const std::string& member, bool secret) {
    secret = secret || secretMember(member);
    if (v.IsObject()) {
      tree_[path] = dirNode(secret);
      for (const auto& [name, value] : members(v, false)) {
        render(join(path, name), value, join(member, name), secret);
      }
    } else if (v.IsArray()) {
      tree_[path] = dirNode(secret);
      array(path, v, member, secret);
    } else {
      std::string bytes;
      if (v.IsString()) {
        bytes.assign(v.GetString(), v.GetStringLength());
        bool blob = mount_ == "instance/initialization" && member == "user_data";
        if (!blob) bytes += "\n";
      } else if (v.IsBool()) {
        bytes = v.GetBool() ? "true\n" : "false\n";
      } else if (v.IsNumber()) {
        bytes = numberText(v) + "\n";
      }
      tree_[path] = fileNode(secret, bytes);
    }
  }

  static bool idKeyed(const Value& array) {
    if (array.Empty()) return false;
    std::set<std::string> ids;
    for (const auto& item : array.GetArray()) {
      if (!item.IsObject() || !item.HasMember("id") || !item["id"].IsString()) return false;
      std::string id = item["id"].GetString();
      if (id == "by-name" || !ids.insert(id).second) return false;
    }
    return true;
  }

  void array(const std::string& path, const Value& v, const std::string& member, bool secret) {
    bool by_id = idKeyed(v);
    tree::NameAllocator names;
    if (by_id) names.reserve("by-name");
    std::map<std::string, int> name_count;
    std::vector<std::string> element_names;
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
      names.add(by_id ? v[i]["id"].GetString() : std::to_string(i));
    names.assign();
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      const Value& item = v[i];
      std::string name(names.name(i));
      element_names.push_back(name);
      if (by_id && item.HasMember("name") && item["name"].IsString()) {
        ++name_count[item["name"].GetString()];
      }
      render(join(path, name), item, join(member, name), secret);
    }
    if (!by_id) return;
    tree_[join(path, "by-name")] = dirNode(secret);
    tree::NameAllocator links;
    std::vector<rapidjson::SizeType> linked;
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      const Value& item = v[i];
      if (!item.HasMember("name") || !item["name"].IsString()) continue;
      std::string n = item["name"].GetString();
      if (name_count[n] != 1) continue;
      links.add(n);
      linked.push_back(i);
    }
    links.assign();
    for (std::size_t k = 0; k < linked.size(); ++k) {
      tree_[join(path, "by-name/" + std::string(links.name(k)))] = {
          'l', 0777, "../" + element_names[linked[k]], false, {}};
    }
  }

  Tree& tree_;
  std::string mount_;
};

Tree expectedTree(const std::string& scenario_json) {
  rapidjson::Document doc;
  doc.Parse(scenario_json.data(), scenario_json.size());
  EXPECT_FALSE(doc.HasParseError());
  Tree tree;
  Renderer r(tree);
  for (const auto& rule : endpointRules())
    r.endpoint(rule, doc);
  return tree;
}

struct Walked {
  char type = 0;
  unsigned mode = 0;
  std::uint64_t size = 0;
  std::string data;
};

// find + stat (via -printf), then cat and readlink on every entry.
std::map<std::string, Walked> walk(const std::string& root) {
  std::map<std::string, Walked> out;
  auto listing = run("find " + quote(root) + " -mindepth 1 -printf '%y %m %s %P\\0'");
  EXPECT_EQ(listing.status, 0) << listing.err;
  std::istringstream in(listing.out);
  std::string record;
  while (std::getline(in, record, '\0')) {
    Walked w;
    std::istringstream fields(record);
    std::string mode;
    fields >> w.type >> mode >> w.size;
    w.mode = static_cast<unsigned>(std::stoul(mode, nullptr, 8));
    std::string path = record.substr(static_cast<std::size_t>(fields.tellg()) + 1);
    if (w.type == 'f') {
      int err = 0;
      w.data = readFile(root + "/" + path, &err);
      EXPECT_EQ(err, 0) << path;
    } else if (w.type == 'l') {
      w.data = std::filesystem::read_symlink(root + "/" + path).string();
    }
    out[path] = std::move(w);
  }
  return out;
}

bool sameJson(const std::string& actual, const std::string& expected_doc_json,
              const std::string& list_key) {
  rapidjson::Document a;
  rapidjson::Document e;
  a.Parse(actual.data(), actual.size());
  e.Parse(expected_doc_json.data(), expected_doc_json.size());
  if (a.HasParseError() || e.HasParseError()) return false;
  if (list_key.empty()) return a == e;
  // A collection: one merged document holding every item in order.
  return a.HasMember(list_key.c_str()) && a[list_key.c_str()] == e && !a.HasMember("next") &&
         (!a.HasMember("total_count") || a["total_count"].GetUint64() == e.Size());
}

std::string serialized(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return buf.GetString();
}

// The views synthesized beside the endpoint tree (well_known_test.cpp checks them).
bool synthesized(const std::string& path) {
  return path == "well-known" || path.rfind("well-known/", 0) == 0 || path == "well-known.json" ||
         path == "well-known.env";
}

// Compares a walked tree with the expected one; `modes` false skips permission bits.
void compare(const Tree& expected, const std::map<std::string, Walked>& actual,
             const rapidjson::Document& scenario, const std::string& how, bool modes = true) {
  std::set<std::string> missing;
  std::set<std::string> extra;
  for (const auto& [path, e] : expected) {
    if (!actual.contains(path)) missing.insert(path);
  }
  for (const auto& [path, a] : actual) {
    if (!expected.contains(path) && !synthesized(path)) extra.insert(path);
  }
  EXPECT_TRUE(missing.empty()) << how << ": missing " << missing.size() << ", e.g. "
                               << (missing.empty() ? "" : *missing.begin());
  EXPECT_TRUE(extra.empty()) << how << ": unexpected " << extra.size() << ", e.g. "
                             << (extra.empty() ? "" : *extra.begin());
  int mismatches = 0;
  for (const auto& [path, e] : expected) {
    auto it = actual.find(path);
    if (it == actual.end() || mismatches > 5) continue;
    const Walked& a = it->second;
    bool ok = a.type == e.type && (!modes || a.mode == e.mode);
    if (e.type == 'f') ok = ok && a.size == a.data.size();  // st_size tells the truth
    if (e.type == 'f' && e.json) {
      std::string data_key = path.substr(0, path.size() - 5);
      auto slash = data_key.rfind('/');
      data_key = slash == std::string::npos ? data_key : data_key.substr(slash + 1);
      ok = ok && sameJson(a.data, serialized(scenario[data_key.c_str()]), e.json_key);
    } else if (e.type != 'd') {
      ok = ok && a.data == e.data;
    }
    if (!ok) {
      ++mismatches;
      ADD_FAILURE() << how << ": " << path << " is " << a.type << " " << std::oct << a.mode
                    << std::dec << " size " << a.size << " [" << a.data.substr(0, 200)
                    << "], expected " << e.type << " " << std::oct << e.mode << std::dec << " ["
                    << e.data.substr(0, 200) << "]";
    }
  }
}

class ReferenceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ReferenceTest, MountMatchesTheScenarioByteForByte) {
  emu::Options o;
  o.scenario = GetParam();
  emu::Emulator emulator(o);
  ASSERT_TRUE(emulator.start().ok());
  std::string scenario = emulator.scenarioJson();
  rapidjson::Document doc;
  doc.Parse(scenario.data(), scenario.size());
  Tree expected = expectedTree(scenario);
  ASSERT_GT(expected.size(), 50U);

  // A TTL longer than the walk, so every byte comes from one fetch per endpoint.
  Mount m(emulator, {"ttl=3600"});
  ASSERT_TRUE(m.mounted());
  auto started = std::chrono::steady_clock::now();
  compare(expected, walk(m.path()), doc, "find/cat/stat/readlink");
  std::cout << "walked " << expected.size() << " entries in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count()
            << " ms\n";

  char tar_dir[] = "/dev/shm/mdfs-tar-XXXXXX";
  ASSERT_NE(mkdtemp(tar_dir), nullptr);
  auto tar = run("tar -C " + quote(m.path()) + " -cf - . | tar -C " + quote(tar_dir) + " -xf -");
  EXPECT_EQ(tar.status, 0) << tar.err;
  compare(expected, walk(tar_dir), doc, "tar");
  run("rm -rf " + quote(tar_dir));

  char cp_dir[] = "/dev/shm/mdfs-cp-XXXXXX";
  ASSERT_NE(mkdtemp(cp_dir), nullptr);
  auto cp = run("cp -r " + quote(m.path()) + "/. " + quote(cp_dir));
  EXPECT_EQ(cp.status, 0) << cp.err;
  compare(expected, walk(cp_dir), doc, "cp -r", false);
  run("rm -rf " + quote(cp_dir));

  // Every byte came from one token and one fetch per endpoint, plus its extra pages
  // (the client asks for 100 items per page).
  std::uint64_t total = 1;
  for (const auto& rule : endpointRules()) {
    std::uint64_t gets = 1;
    if (rule.mount == "placement_groups" || rule.mount == "virtual_network_interfaces" ||
        rule.mount == "instance/cluster_network_attachments") {
      std::uint64_t items = doc[rule.data_key.c_str()].Size();
      gets = items == 0 ? 1 : (items + 99) / 100;
    }
    EXPECT_EQ(emulator.requests("GET", "/metadata/v1/" + rule.mount), gets) << rule.mount;
    total += gets;
  }
  EXPECT_EQ(emulator.requests("PUT", "/identity/v1/token"), 1U);
  EXPECT_EQ(emulator.totalRequests(), total);
  std::cout << GetParam() << ": full walk = " << total << " requests\n";
}

INSTANTIATE_TEST_SUITE_P(Scenarios, ReferenceTest, ::testing::Values("default", "large"));

}  // namespace
}  // namespace mdfs::itest
