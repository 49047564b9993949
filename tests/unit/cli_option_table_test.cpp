// The option table is the one list of options: --help, the man page and the config
// template must show every option in it, with its default.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "cli/option_table.h"
#include "cli/options.h"

namespace mdfs::cli {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// How groff source writes text: '-' is "\-".
std::string groff(std::string_view text) {
  std::string out;
  for (char c : text)
    out += c == '-' ? std::string("\\-") : std::string(1, c);
  return out;
}

std::string bare(const std::string& def) {
  return def.substr(1, def.size() - 2);  // "[60]" -> "60"
}

std::string manPage() {
  return std::string(MDFS_SOURCE_DIR) + "/packaging/metadatafs.8";
}

std::string configTemplate() {
  return std::string(MDFS_SOURCE_DIR) + "/packaging/metadatafs.conf.in";
}

TEST(OptionTable, EveryOptionIsInHelpWithItsDefault) {
  const std::string help = helpText("metadatafs");
  for (const auto& spec : optionTable()) {
    std::string name = "-o " + std::string(spec.key);
    if (name.back() == '.') name += "PATH";
    EXPECT_NE(help.find(name), std::string::npos) << name;
    const std::string def = defaultOf(spec);
    if (!def.empty()) {
      EXPECT_NE(help.find(def + "\n"), std::string::npos) << name << " " << def;
    }
    EXPECT_EQ(helpOf(spec).find('{'), std::string::npos) << "unexpanded placeholder: " << name;
  }
  for (const auto& flag : flagTable()) {
    EXPECT_NE(help.find("  " + std::string(flag.name)), std::string::npos) << flag.name;
  }
}

TEST(OptionTable, EveryOptionIsInTheManPageWithItsDefault) {
  const std::string man_page = manPage();
  const std::string man = slurp(man_page);
  ASSERT_FALSE(man.empty()) << man_page;
  for (const auto& spec : optionTable()) {
    EXPECT_NE(man.find(groff(spec.key)), std::string::npos)
        << "option " << spec.key << " is not in " << man_page;
    const std::string def = defaultOf(spec);
    if (def.empty()) continue;
    const std::string value = groff(bare(def));
    EXPECT_TRUE(man.find("[\\fB" + value + "\\fR]") != std::string::npos ||
                man.find("[" + value + "]") != std::string::npos)
        << "default " << def << " of " << spec.key << " is not in " << man_page;
  }
  for (const auto& flag : flagTable()) {
    EXPECT_NE(man.find(groff(flag.name)), std::string::npos) << flag.name;
  }
}

TEST(OptionTable, EveryOptionIsInTheConfigTemplateWithItsDefault) {
  const std::string conf_path = configTemplate();
  const std::string conf = slurp(conf_path);
  ASSERT_FALSE(conf.empty()) << conf_path;
  for (const auto& spec : optionTable()) {
    EXPECT_NE(conf.find(spec.key), std::string::npos)
        << "option " << spec.key << " is not in " << conf_path;
    // A default that is one value is the commented-out line of the template.
    const std::string def = defaultOf(spec);
    if (spec.value_name.empty() || spec.show == nullptr || def.empty()) continue;
    const std::string value = bare(def);
    if (value.find_first_of("| ") != std::string::npos) continue;
    EXPECT_NE(conf.find("\n#" + std::string(spec.key) + "=" + value + "\n"), std::string::npos)
        << spec.key << "=" << value << " is not in " << conf_path;
  }
}

TEST(OptionTable, KeysAreUniqueAndFound) {
  for (const auto& spec : optionTable()) {
    if (spec.key.ends_with('.')) continue;
    EXPECT_EQ(findOption(spec.key), &spec) << spec.key;
  }
  EXPECT_EQ(findOption("ttl.keys")->key, "ttl.");
  EXPECT_EQ(findOption("ttl")->key, "ttl");
  EXPECT_EQ(findOption("nonsense"), nullptr);
}

TEST(OptionTable, RangesComeFromTheService) {
  const auto* token = findOption("token_ttl");
  ASSERT_NE(token, nullptr);
  EXPECT_EQ(token->min, service::kMinTokenTtl);
  EXPECT_EQ(token->max, service::kMaxTokenTtl);
  EXPECT_NE(helpOf(*token).find("5..3600"), std::string::npos);
  EXPECT_EQ(defaultOf(*token), "[" + std::to_string(service::kDefaultTokenTtl) + "]");
  EXPECT_EQ(defaultOf(*findOption("endpoint")), "[" + std::string(service::kDefaultEndpoint) + "]");
  EXPECT_EQ(defaultOf(*findOption("api_version")),
            "[" + std::string(service::kDefaultVersion) + "]");
}

TEST(OptionTable, EditDistanceCountsTypos) {
  EXPECT_EQ(editDistance("ttl", "ttl"), 0U);
  EXPECT_EQ(editDistance("tll", "ttl"), 1U);
  EXPECT_EQ(editDistance("tlt", "ttl"), 1U);  // a swap is one edit
  EXPECT_EQ(editDistance("", "abc"), 3U);
  EXPECT_EQ(editDistance("kitten", "sitting"), 3U);
}

TEST(OptionTable, ClosestKeySuggestsOnlyLikelyTypos) {
  EXPECT_EQ(closestKey("tll"), "ttl");
  EXPECT_EQ(closestKey("timout"), "timeout");
  EXPECT_EQ(closestKey("alow_other"), "allow_other");
  EXPECT_EQ(closestKey("tokenttl"), "token_ttl");
  EXPECT_EQ(closestKey("ttl.keyz"), "ttl.keys");
  EXPECT_EQ(closestKey("noatim"), "noatime");
  EXPECT_EQ(closestKey("frobnicate"), "");
  EXPECT_EQ(closestKey("bogus"), "");
  EXPECT_EQ(closestKey(std::string(200, 'x')), "");
}

}  // namespace
}  // namespace mdfs::cli
