// Issue 15: well-known/, well-known.json and well-known.env against the emulator's
// scenarios, for both shapes of the API (primary_ipv4_address before, primary_ip after),
// with and without a floating IP, with network attachments instead of interfaces; hostile
// values through sh and a parser that reads environment files the way systemd does.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "integration/mount_fixture.h"

namespace mdfs::itest {
namespace {

using namespace std::chrono_literals;
using Facts = std::map<std::string, std::string>;  // fact -> value, without the newline

const std::vector<std::string> kAllFacts = {
    "cloud",    "instance-id", "hostname",     "instance-type", "zone",    "region",
    "image-id", "vpc-id",      "ipv4-private", "ipv4-public",   "ssh-key", "userdata"};

emu::Options scenario(const std::string& name) {
  emu::Options o;
  o.scenario = name;
  return o;
}

std::string stringAt(const emu::Emulator& e, const std::string& pointer) {
  auto json = e.data(pointer);
  EXPECT_TRUE(json.ok()) << pointer;
  if (!json.ok()) return {};
  rapidjson::Document d;
  d.Parse(json->c_str(), json->size());
  if (!d.IsString()) return {};
  return {d.GetString(), d.GetStringLength()};
}

// What the scenario says each fact is (IPs are given: they are what the variants change).
Facts expectedFacts(const emu::Emulator& e, const std::string& ipv4_private,
                    const std::string& ipv4_public) {
  Facts f;
  f["cloud"] = "ibm";
  f["instance-id"] = stringAt(e, "/instance/id");
  f["hostname"] = stringAt(e, "/instance/name");
  f["instance-type"] = stringAt(e, "/instance/profile/name");
  f["zone"] = stringAt(e, "/instance/zone/name");
  f["region"] = f["zone"].substr(0, f["zone"].rfind('-'));
  f["image-id"] = stringAt(e, "/instance/image/id");
  f["vpc-id"] = stringAt(e, "/instance/vpc/id");
  f["ipv4-private"] = ipv4_private;
  if (!ipv4_public.empty()) f["ipv4-public"] = ipv4_public;
  // Keys in listing order: directories are listed by name, and keys are named by id.
  std::map<std::string, std::string> keys;
  for (int i = 0;; ++i) {
    auto id = e.data("/keys/" + std::to_string(i) + "/id");
    if (!id.ok()) break;
    keys[stringAt(e, "/keys/" + std::to_string(i) + "/id")] =
        stringAt(e, "/keys/" + std::to_string(i) + "/public_key");
  }
  for (const auto& [id, key] : keys)
    f["ssh-key"] += (f["ssh-key"].empty() ? "" : "\n") + key;
  f["userdata"] = stringAt(e, "/initialization/user_data");
  return f;
}

// An environment file read the way systemd's EnvironmentFile= reads it (src/basic/env-file.c:
// KEY=VALUE lines; in a double-quoted value a backslash escapes ", \, ` and $ and joins lines,
// and stays before anything else; single quotes take everything literally; unquoted, a
// backslash escapes the next character and trailing whitespace is dropped).
std::map<std::string, std::string> parseLikeSystemd(const std::string& text) {
  enum {
    pre_key,
    key,
    pre_value,
    value,
    value_escape,
    single,
    dbl,
    dbl_escape,
    comment
  } state = pre_key;
  std::map<std::string, std::string> out;
  std::string k;
  std::string v;
  std::size_t last_ws = std::string::npos;
  auto push = [&] {
    if (state == value && last_ws != std::string::npos) v.resize(last_ws);
    out[k] = v;
    k.clear();
    v.clear();
  };
  for (char c : text) {
    switch (state) {
      case pre_key:
        if (c == '#' || c == ';')
          state = comment;
        else if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
          state = key, k += c;
        break;
      case key:
        if (c == '\n' || c == '\r')
          state = pre_key, k.clear();
        else if (c == '=')
          state = pre_value, last_ws = std::string::npos;
        else
          k += c;
        break;
      case pre_value:
        if (c == '\n' || c == '\r')
          push(), state = pre_key;
        else if (c == '\'')
          state = single;
        else if (c == '"')
          state = dbl;
        else if (c == '\\')
          state = value_escape;
        else if (c != ' ' && c != '\t')
          state = value, v += c;
        break;
      case value:
        if (c == '\n' || c == '\r')
          push(), state = pre_key;
        else if (c == '\\')
          state = value_escape, last_ws = std::string::npos;
        else {
          if (c != ' ' && c != '\t')
            last_ws = std::string::npos;
          else if (last_ws == std::string::npos)
            last_ws = v.size();
          v += c;
        }
        break;
      case value_escape:
        state = value;
        if (c != '\n' && c != '\r') v += c;
        break;
      case single:
        if (c == '\'')
          state = pre_value;
        else
          v += c;
        break;
      case dbl:
        if (c == '"')
          state = pre_value;
        else if (c == '\\')
          state = dbl_escape;
        else
          v += c;
        break;
      case dbl_escape:
        state = dbl;
        if (c == '"' || c == '\\' || c == '`' || c == '$')
          v += c;
        else if (c != '\n')
          v += '\\', v += c;
        break;
      case comment:
        if (c == '\n' || c == '\r') state = pre_key;
        break;
    }
  }
  if (state != pre_key && state != key && state != comment) push();
  return out;
}

std::string envName(const std::string& fact) {
  std::string out = "METADATA_";
  for (char c : fact)
    out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Each variable's value, as `sh` has it after sourcing the file (NUL-separated).
std::map<std::string, std::string> sourcedBySh(const std::string& env_file) {
  std::string script = "set -eu; . " + quote(env_file) + "; ";
  for (const auto& fact : kAllFacts) {
    std::string var = envName(fact);
    script += "if [ -n \"${" + var + "+set}\" ]; then printf '%s=%s\\0' " + var + " \"$" + var +
              "\"; fi; ";
  }
  auto r = run(script);
  EXPECT_EQ(r.status, 0) << r.err;
  std::map<std::string, std::string> out;
  std::size_t at = 0;
  while (at < r.out.size()) {
    auto end = r.out.find('\0', at);
    std::string item = r.out.substr(at, end - at);
    auto eq = item.find('=');
    out[item.substr(0, eq)] = item.substr(eq + 1);
    at = end + 1;
  }
  return out;
}

void expectEverythingMatches(const Mount& m, const Facts& facts) {
  // The directory lists exactly the facts there are, and each one reads as its value.
  auto ls = run("ls -1 " + quote(m.at("well-known")));
  std::vector<std::string> listed;
  for (std::size_t at = 0; at < ls.out.size();) {
    auto end = ls.out.find('\n', at);
    listed.push_back(ls.out.substr(at, end - at));
    at = end + 1;
  }
  std::sort(listed.begin(), listed.end());
  std::vector<std::string> present;
  for (const auto& [fact, value] : facts)
    present.push_back(fact);
  EXPECT_EQ(listed, present);
  for (const auto& fact : kAllFacts) {
    SCOPED_TRACE(fact);
    std::string path = m.at("well-known/" + fact);
    struct stat st {};
    auto it = facts.find(fact);
    if (it == facts.end()) {
      EXPECT_NE(::stat(path.c_str(), &st), 0) << "absent facts are no files";
      EXPECT_EQ(errno, ENOENT);
      continue;
    }
    const bool secret = fact == "userdata";
    std::string expected = it->second + (secret ? "" : "\n");
    EXPECT_EQ(readFile(path), expected);
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_size, static_cast<off_t>(expected.size()));
    EXPECT_EQ(st.st_mode & 07777, secret ? 0400U : 0444U);
  }
  // well-known.json: the same keys, user data left out.
  rapidjson::Document doc;
  std::string json = readFile(m.at("well-known.json"));
  doc.Parse(json.c_str(), json.size());
  ASSERT_TRUE(doc.IsObject()) << json;
  std::map<std::string, std::string> in_json;
  for (const auto& member : doc.GetObject()) {
    in_json[member.name.GetString()] =
        std::string(member.value.GetString(), member.value.GetStringLength());
  }
  Facts shown = facts;
  shown.erase("userdata");
  EXPECT_EQ(in_json, shown);
  // well-known.env: the same through sh and through systemd's reading rules.
  std::map<std::string, std::string> by_name;
  for (const auto& [fact, value] : shown)
    by_name[envName(fact)] = value;
  EXPECT_EQ(sourcedBySh(m.at("well-known.env")), by_name);
  EXPECT_EQ(parseLikeSystemd(readFile(m.at("well-known.env"))), by_name);
}

struct Case {
  std::string scenario;
  std::string api_version;
  std::string ipv4_private;
  std::string ipv4_public;  // empty: absent
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.scenario << " at " << c.api_version;
}

class WellKnownScenarios : public ::testing::TestWithParam<Case> {};

TEST_P(WellKnownScenarios, EveryFileMatchesTheScenario) {
  const Case& c = GetParam();
  emu::Emulator emulator(scenario(c.scenario));
  ASSERT_TRUE(emulator.start().ok());
  Mount m(emulator, {"api_version=" + c.api_version});
  ASSERT_TRUE(m.mounted());
  auto root = run("ls " + quote(m.path()));
  for (const char* name : {"well-known\n", "well-known.json\n", "well-known.env\n"}) {
    EXPECT_NE(root.out.find(name), std::string::npos) << root.out;
  }
  expectEverythingMatches(m, expectedFacts(emulator, c.ipv4_private, c.ipv4_public));
}

INSTANTIATE_TEST_SUITE_P(
    IbmScenarios, WellKnownScenarios,
    ::testing::Values(Case{"default", "2025-08-26", "10.240.0.4", "169.59.212.34"},
                      Case{"default", "2022-03-01", "10.240.0.4", "169.59.212.34"},
                      Case{"no-floating-ip", "2025-08-26", "10.240.0.4", ""},
                      Case{"network-attachments", "2025-08-26", "10.240.0.5", ""},
                      Case{"legacy-interfaces", "2022-03-01", "10.240.0.6", "169.59.212.34"}),
    [](const auto& info) {
      std::string name = info.param.scenario + "_" + info.param.api_version;
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

class WellKnown : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(emulator_.start().ok()); }
  emu::Emulator emulator_{scenario("no-floating-ip")};
};

TEST_F(WellKnown, HostileValuesRoundTripThroughShAndSystemd) {
  const std::string marker = "/tmp/mdfs-wk-pwned-" + std::to_string(getpid());
  const std::string hostile = "a \"quoted\" 'single' $HOME ${PATH} $(touch " + marker +
                              ") `touch " + marker + "` back\\slash \\\" trailing\\\n" +
                              "second line\ttab é ☃ \\$ end  ";
  std::string json_text = "\"";
  for (char ch : hostile) {
    if (ch == '"' || ch == '\\') json_text += '\\';
    if (ch == '\n') {
      json_text += "\\n";
    } else if (ch == '\t') {
      json_text += "\\t";
    } else {
      json_text += ch;
    }
  }
  json_text += "\"";
  ASSERT_TRUE(emulator_.setData("/instance/name", json_text).ok());
  ASSERT_TRUE(emulator_.setData("/instance/zone/name", "\"us-$(x)\\\"`y`-7\"").ok());
  Mount m(emulator_);
  ASSERT_TRUE(m.mounted());
  Facts facts = expectedFacts(emulator_, "10.240.0.4", "");
  ASSERT_EQ(facts["hostname"], hostile);
  EXPECT_EQ(facts["region"], "us-$(x)\"`y`");
  expectEverythingMatches(m, facts);
  struct stat st {};
  EXPECT_NE(::stat(marker.c_str(), &st), 0) << "sourcing ran a command";
}

TEST_F(WellKnown, ListingLearnsEveryFactInOneRoundOfFetches) {
  Mount m(emulator_);
  emulator_.resetCounters();
  auto ls = run("ls -l " + quote(m.at("well-known")));
  ASSERT_EQ(ls.status, 0) << ls.err;
  EXPECT_EQ(ls.out.find('?'), std::string::npos) << ls.out;
  for (const char* path : {"/metadata/v1/instance", "/metadata/v1/instance/network_interfaces",
                           "/metadata/v1/keys", "/metadata/v1/instance/initialization"}) {
    EXPECT_EQ(emulator_.requests("GET", path), 1U) << path;
  }
  EXPECT_EQ(emulator_.requests("GET", "/metadata/v1/placement_groups"), 0U);
}

// A fact's freshness follows the TTLs of the endpoints it comes from; a fact that appears
// or vanishes is listed, found and read accordingly.
TEST_F(WellKnown, FactsChangeAppearAndVanishWithinTheTtl) {
  Mount m(emulator_, {"ttl=1"});
  EXPECT_EQ(readFile(m.at("well-known/hostname")), stringAt(emulator_, "/instance/name") + "\n");
  struct stat st {};
  EXPECT_NE(::stat(m.at("well-known/ipv4-public").c_str(), &st), 0);
  EXPECT_EQ(run("ls " + quote(m.at("well-known"))).out.find("ipv4-public"), std::string::npos);

  ASSERT_TRUE(emulator_.setData("/instance/name", "\"renamed-01\"").ok());
  ASSERT_TRUE(emulator_
                  .setData("/network_interfaces/0/floating_ips",
                           R"([{"address":"198.51.100.20","id":"r006-new-fip","name":"fip"}])")
                  .ok());
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(readFile(m.at("well-known/hostname")), "renamed-01\n");
  EXPECT_NE(run("ls " + quote(m.at("well-known"))).out.find("ipv4-public"), std::string::npos);
  EXPECT_EQ(readFile(m.at("well-known/ipv4-public")), "198.51.100.20\n");
  EXPECT_NE(readFile(m.at("well-known.env")).find("METADATA_IPV4_PUBLIC=\"198.51.100.20\""),
            std::string::npos);

  ASSERT_TRUE(emulator_.setData("/network_interfaces/0/floating_ips", "[]").ok());
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(run("ls " + quote(m.at("well-known"))).out.find("ipv4-public"), std::string::npos);
  EXPECT_NE(::stat(m.at("well-known/ipv4-public").c_str(), &st), 0);
  EXPECT_EQ(readFile(m.at("well-known.json")).find("ipv4-public"), std::string::npos);
}

}  // namespace
}  // namespace mdfs::itest
