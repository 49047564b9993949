// --help, generated from the option table: each option with its value, its help and its
// default, by section.
#include <algorithm>
#include <string>

#include "cli/option_table.h"
#include "cli/options.h"
#include "service/api.h"

namespace mdfs::cli {
namespace {

constexpr std::size_t kHelpColumn = 24;  // where help text starts in --help
constexpr std::size_t kHelpWidth = 88;   // defaults end here

void replaceAll(std::string& text, std::string_view from, std::string_view to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// The API facts that help texts mention, filled in from where they are defined.
std::string expand(std::string_view text, const OptionSpec& spec) {
  std::string out(text);
  if (spec.hasRange()) replaceAll(out, "{range}", spec.rangeText());
  replaceAll(out, "{host}", service::kMetadataHost);
  replaceAll(out, "{min_version}", service::kMinimumVersion);
  replaceAll(out, "{identity_break}", service::kIdentityPathBreak);
  return out;
}

std::string padTo(std::string line, std::size_t column) {
  line.resize(std::max(line.size() + 1, column), ' ');
  return line;
}

// "  -o ttl=N              first help line          [60]" and the other help lines.
std::string optionHelp(const OptionSpec& spec) {
  std::string name = "  -o " + std::string(spec.key);
  if (name.back() == '.') name += "PATH";
  if (!spec.value_name.empty()) name += "=" + std::string(spec.value_name);
  std::string help = helpOf(spec);
  std::string first = help.substr(0, help.find('\n'));
  std::string rest = first.size() < help.size() ? help.substr(first.size() + 1) : "";
  std::string out = padTo(name, kHelpColumn) + first;
  if (std::string def = defaultOf(spec); !def.empty()) {
    // Right-aligned on the first line, or on a line of its own when it does not fit.
    if (out.size() + 1 + def.size() > kHelpWidth) {
      rest += (rest.empty() ? "" : "\n") + def;
    } else {
      out = padTo(out, kHelpWidth - def.size()) + def;
    }
  }
  out += "\n";
  for (std::size_t at = 0; at < rest.size();) {
    auto eol = std::min(rest.find('\n', at), rest.size());
    out += std::string(kHelpColumn, ' ') + rest.substr(at, eol - at) + "\n";
    at = eol + 1;
  }
  return out;
}

std::string flagHelp(const FlagSpec& flag) {
  std::string name = "  " + std::string(flag.name);
  if (!flag.long_name.empty()) name += ", " + std::string(flag.long_name);
  return padTo(name, kHelpColumn) + std::string(flag.help) + "\n";
}

std::string sectionTitle(Section s) {
  switch (s) {
    case Section::general:
      return "General:";
    case Section::service:
      return "Service:";
    case Section::freshness:
      return "Freshness:";
    case Section::tree:
      return "Tree:";
    case Section::other:
      return "Other:";
  }
  return {};
}

// "  other libfuse mount options are accepted: allow_root, exec, ..." wrapped.
std::string passThroughHelp() {
  std::string out = "  other libfuse mount options are accepted:";
  std::size_t line_start = 0;
  auto add = [&](const std::string& word) {
    if (out.size() - line_start + word.size() + 2 > kHelpWidth) {
      out += ",\n   ";
      line_start = out.size() - 3;
    } else {
      out += out.back() == ':' ? " " : ", ";
    }
    out += word;
  };
  for (auto f : passThroughFlags())
    add(std::string(f));
  for (auto v : passThroughValued())
    add(std::string(v) + "=");
  return out + "\n";
}

}  // namespace

std::string defaultOf(const OptionSpec& spec) {
  std::string value = spec.show != nullptr ? spec.show(Config{}) : "";
  if (value.empty()) value = spec.default_text;
  return value.empty() ? "" : "[" + value + "]";
}

std::string helpOf(const OptionSpec& spec) {
  return expand(spec.help, spec);
}

std::string helpText(const std::string& program) {
  std::string out = "usage: " + program +
                    " [SOURCE] MOUNTPOINT [-f] [-d] [-o OPTION[,OPTION...]]\n"
                    "       " +
                    program +
                    " watch [--once] [--timeout S] PATH...   (waits for files to change)\n\n"
                    "Mounts the IBM Cloud VPC instance metadata service as a read-only "
                    "directory tree.\n";
  for (Section section :
       {Section::general, Section::service, Section::freshness, Section::tree, Section::other}) {
    out += "\n" + sectionTitle(section) + "\n";
    if (section == Section::general) {
      for (const auto& flag : flagTable())
        out += flagHelp(flag);
    }
    for (const auto& spec : optionTable()) {
      if (spec.section == section) out += optionHelp(spec);
    }
  }
  out += passThroughHelp();
  std::string always(kAlwaysAddedOptions);
  replaceAll(always, ",", ", ");
  out += "\nAlways added: " + always +
         ", fsname=SOURCE, subtype=metadatafs.\n"
         "In /etc/fstab:  metadatafs /metadata fuse.metadatafs ro,allow_other,_netdev,nofail 0 0\n";
  return out;
}

}  // namespace mdfs::cli
