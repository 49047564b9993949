#include "cli/options.h"

#include <curl/curl.h>

#include <cstring>
#include <ctime>
#include <fstream>

#include "cli/option_table.h"
#include "mount/fuse_compat.h"
#include "service/http_transport.h"

namespace mdfs::cli {
namespace {

// What fuse_opt_parse hands over: -o options one by one, flags, positionals.
struct ParseState {
  std::vector<RawOption> options;
  std::vector<std::string> positional;
  std::vector<std::string> flags;
};

int collect(void* data, const char* arg, int key, fuse_args* /*outargs*/) {
  auto& st = *static_cast<ParseState*>(data);
  if (key == FUSE_OPT_KEY_NONOPT) {
    st.positional.emplace_back(arg);
  } else if (arg[0] == '-') {
    st.flags.emplace_back(arg);
  } else {
    st.options.push_back(splitOption(arg));
  }
  return 0;  // everything is ours to interpret; libfuse gets a clean argument list later
}

Result<ParseState> splitCommandLine(int argc, char** argv) {
  ParseState st;
  fuse_args args = FUSE_ARGS_INIT(argc, argv);
  static const fuse_opt kNoTemplates[] = {FUSE_OPT_END};
  int rc = fuse_opt_parse(&args, &st, kNoTemplates, collect);
  fuse_opt_free_args(&args);
  if (rc != 0) return makeError(EINVAL, "cannot parse the command line");
  return st;
}

void trim(std::string& s) {
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t\r") + 1);
}

// key=value lines (or bare flags), # comments, blank lines; each remembers FILE:LINE.
Status readConfigFile(const std::string& path, std::vector<RawOption>& out) {
  std::ifstream in(path);
  if (!in) {
    const std::string why = std::strerror(errno);  // NOLINT(concurrency-mt-unsafe): start-up
    return makeError(ENOENT, "config file " + path + ": cannot read it (" + why + ")");
  }
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    trim(line);
    if (line.empty() || line[0] == '#') continue;
    RawOption o = splitOption(line);
    trim(o.key);
    trim(o.value);
    o.origin = path + ":" + std::to_string(number);
    if (o.key.empty()) return makeError(EINVAL, o.origin + ": expected key=value or a flag");
    out.push_back(std::move(o));
  }
  return Ok{};
}

Status applyFlags(Config& c, const std::vector<std::string>& flags) {
  for (const auto& f : flags) {
    bool known = false;
    for (const auto& spec : flagTable()) {
      if (f == spec.name || (!spec.long_name.empty() && f == spec.long_name)) {
        spec.apply(c);
        known = true;
      }
    }
    if (!known) return makeError(EINVAL, "unknown flag '" + f + "' (see metadatafs --help)");
  }
  return Ok{};
}

// The options in the order they apply: the config files', then the command line's.
Result<std::vector<RawOption>> orderedOptions(Config& c, const std::vector<RawOption>& given) {
  std::vector<RawOption> ordered;
  for (const auto& o : given) {
    if (o.key != "config") continue;
    if (!o.has_value || o.value.empty()) {
      return makeError(EINVAL,
                       "bad value for config: '" + o.value + "' (a file of key=value lines)");
    }
    c.config_file = o.value;
    if (auto s = readConfigFile(o.value, ordered); !s) return s.error();
  }
  for (const auto& o : given) {
    if (o.key != "config") ordered.push_back(o);
  }
  return ordered;
}

Status applyPositionals(Config& c, const std::vector<std::string>& positional) {
  if (positional.empty()) {
    return makeError(EINVAL, "no mountpoint given (metadatafs [SOURCE] MOUNTPOINT)");
  }
  if (positional.size() > 2) {
    return makeError(EINVAL, "too many arguments: '" + positional[2] +
                                 "' (metadatafs [SOURCE] MOUNTPOINT [-o OPTIONS])");
  }
  if (positional.size() == 2) c.source = positional[0];
  c.mountpoint = positional.back();
  if (c.source.empty() || c.source.find_first_of(", ") != std::string::npos) {
    return makeError(EINVAL, "bad SOURCE '" + c.source + "' (a name without commas or spaces)");
  }
  return Ok{};
}

std::string todayUtc() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

}  // namespace

service::Detected Config::resolveCloud() {
  service::Detected d;
  if (cloud == "auto") {
    d = service::detectCloud(dmi_dir);
  } else {
    d.cloud = service::parseCloud(cloud).value_or(service::Cloud::ibm);
    d.reason = "cloud=" + cloud;
  }
  if (!endpoint_given) endpoint = service::defaultEndpoint(d.cloud, ipv6);
  return d;
}

std::vector<std::string> Config::effectiveResolve() const {
  return resolve.empty() ? service::defaultResolve(endpoint) : resolve;
}

std::string Config::mountOptions() const {
  std::string out = std::string(kAlwaysAddedOptions) + ",fsname=" + source + ",subtype=metadatafs";
  for (const auto& o : fuse_options)
    out += "," + o;
  return out;
}

std::optional<std::string> futureVersionWarning(std::string_view version, std::string_view today) {
  // YYYY-MM-DD dates order lexicographically.
  if (version <= today) return std::nullopt;
  return "api_version " + std::string(version) + " is later than today (" + std::string(today) +
         ", UTC): the service accepts dates up to today and may refuse every request";
}

Result<Config> parseCommandLine(int argc, char** argv) {
  auto st = splitCommandLine(argc, argv);
  if (!st) return st.error();
  Config c;
  if (auto s = applyFlags(c, st->flags); !s) return s.error();
  if (c.show_help || c.show_version) return c;

  auto ordered = orderedOptions(c, st->options);
  if (!ordered) return ordered.error();
  // Later values win: defaults, then the config file, then the command line.
  for (const auto& o : *ordered) {
    if (auto s = applyOption(c, o); !s) return s.error();
  }
  if (auto s = applyPositionals(c, st->positional); !s) return s.error();
  // What options imply, once every option is in.
  c.debug = c.debug || c.debug_http;
  c.foreground = c.foreground || c.debug;
  if (auto w = futureVersionWarning(c.api_version, todayUtc())) c.warnings.push_back(*w);
  return c;
}

std::string versionText() {
  return std::string("metadatafs ") + MDFS_VERSION + " (libfuse " + fuse_pkgversion() +
         ", libcurl " + curl_version_info(CURLVERSION_NOW)->version + ")\n";
}

}  // namespace mdfs::cli
