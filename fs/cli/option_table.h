// Every option metadatafs understands, as one table in the manner of sshfs's fuse_opt
// table: key, how its value is parsed into a Config, how its default is shown, and its help.
// The parser, the config file, the refusal messages, --help and the tests that hold the man
// page and the config template to it all read this table, so an option exists in one place.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "cli/options.h"
#include "common/error.h"

namespace mdfs::cli {

// One option as written: "ttl=5" is {"ttl", "5", true}; "allow_other" has no value.
struct RawOption {
  std::string key;
  std::string value;
  bool has_value = false;
  std::string origin;  // "FILE:LINE" for a config-file line; empty on the command line

  // As written: "key=value" or "key".
  [[nodiscard]] std::string text() const { return has_value ? key + "=" + value : key; }
};

RawOption splitOption(std::string_view text);

enum class Section { general, service, freshness, tree, other };

struct OptionSpec;
using ApplyFn = Status (*)(Config&, const RawOption&, const OptionSpec&);
using ShowFn = std::string (*)(const Config&);

struct OptionSpec {
  std::string_view key{};         // before '='; a key ending in '.' takes every key it begins
  std::string_view value_name{};  // "N", "URL", ...; empty for a flag
  Section section = Section::other;
  ApplyFn apply = nullptr;
  // The value as --help shows it (for Config{}, the default); empty: `default_text`.
  ShowFn show = nullptr;
  std::string_view default_text{};  // a default that is not a value: "the system trust store"
  std::string_view accepts{};       // for refusals: "whole seconds"; a range is added
  long long min = 0;                // inclusive range of a number (min == max: none)
  long long max = 0;
  std::string_view help{};  // lines joined by '\n'; "{range}" becomes "min..max"

  [[nodiscard]] bool hasRange() const { return min != max; }
  [[nodiscard]] std::string rangeText() const {
    return std::to_string(min) + ".." + std::to_string(max);
  }
};

// The -X flags (not -o options): -f, -d, -h, -V.
struct FlagSpec {
  std::string_view name;
  std::string_view long_name;  // may be empty
  std::string_view help;
  void (*apply)(Config&);
};

std::span<const OptionSpec> optionTable();
std::span<const FlagSpec> flagTable();
// Other libfuse mount options, passed on as written: flags, and those taking a value.
std::span<const std::string_view> passThroughFlags();
std::span<const std::string_view> passThroughValued();
// The spec for `key` (a prefix entry matches every key it begins), or nullptr.
const OptionSpec* findOption(std::string_view key);

// Applies one option to `c`: a table option, a libfuse mount option passed on, or one that
// mount(8) hands over and that means nothing here. An unknown key is refused with the
// closest known one when there is one ("did you mean"). Errors of a config-file line
// start with its FILE:LINE.
Status applyOption(Config& c, const RawOption& o);

// In help_text.cpp:
// "[DEFAULT]" as --help and the man page show it, or "" when an option has none.
std::string defaultOf(const OptionSpec& spec);
// The first help line of `spec` with "{range}" filled in, and the others.
std::string helpOf(const OptionSpec& spec);

// The known key closest to `key` by edit distance, when close enough to be a likely typo.
std::string closestKey(std::string_view key);
// Levenshtein distance with adjacent transpositions (optimal string alignment).
std::size_t editDistance(std::string_view a, std::string_view b);

}  // namespace mdfs::cli
