#include "cli/options.h"

#include <curl/curl.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <set>
#include <string_view>

#include "mount/fuse_compat.h"
#include "service/api.h"
#include "tree/catalog.h"

namespace mdfs::cli {
namespace {

// One option as written: "ttl=5" becomes {"ttl", "5", true}; "allow_other" has no value.
struct RawOption {
  std::string key;
  std::string value;
  bool has_value = false;
};

RawOption splitOption(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos) return {std::string(text), {}, false};
  return {std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)), true};
}

Error badValue(const RawOption& o, std::string_view expected) {
  return makeError(
      EINVAL, "bad value for " + o.key + ": '" + o.value + "' (" + std::string(expected) + ")");
}

std::optional<long long> parseInteger(std::string_view s) {
  long long v = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

Status parseRange(const RawOption& o, long long lo, long long hi, long long& out,
                  std::string_view unit = "seconds") {
  auto v = parseInteger(o.value);
  if (!o.has_value || !v || *v < lo || *v > hi) {
    return badValue(
        o, "whole " + std::string(unit) + ", " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  out = *v;
  return Ok{};
}

Status parseSeconds(const RawOption& o, long long lo, long long hi, Seconds& out) {
  long long v = 0;
  auto s = parseRange(o, lo, hi, v);
  if (s) out = Seconds(v);
  return s;
}

Status parseEndpoint(const RawOption& o, std::string& out) {
  std::string_view url = o.value;
  bool https = url.rfind("https://", 0) == 0;
  bool http = url.rfind("http://", 0) == 0;
  if (!o.has_value || (!http && !https)) {
    return badValue(o, "an http:// or https:// URL such as " + std::string(kDefaultEndpoint));
  }
  std::string_view rest = url.substr(https ? 8 : 7);
  while (!rest.empty() && rest.back() == '/')
    rest.remove_suffix(1);
  if (rest.empty() || rest.find_first_of("/?#@ ") != std::string_view::npos) {
    return badValue(o, "scheme://host[:port] with no path, e.g. " + std::string(kDefaultEndpoint));
  }
  out = std::string(https ? "https://" : "http://") + std::string(rest);
  return Ok{};
}

Status parseResolve(const RawOption& o, std::vector<std::string>& out) {
  // HOST:PORT:ADDR, as curl's --resolve takes it.
  std::string_view v = o.value;
  auto first = v.find(':');
  auto second = first == std::string_view::npos ? first : v.find(':', first + 1);
  bool ok = o.has_value && first != std::string_view::npos && first > 0 &&
            second != std::string_view::npos && second + 1 < v.size();
  if (ok) {
    auto port = parseInteger(v.substr(first + 1, second - first - 1));
    ok = port && *port > 0 && *port < 65536;
  }
  if (!ok) return badValue(o, "HOST:PORT:ADDR, e.g. api.metadata.cloud.ibm.com:443:127.0.0.1");
  out.emplace_back(v);
  return Ok{};
}

Status parseOwner(const RawOption& o, bool user, std::optional<std::uint32_t>& out) {
  if (!o.has_value || o.value.empty()) return badValue(o, user ? "a user" : "a group");
  if (auto n = parseInteger(o.value)) {
    if (*n < 0 || *n > 0xFFFFFFFELL) return badValue(o, "a numeric id or a name");
    out = static_cast<std::uint32_t>(*n);
    return Ok{};
  }
  if (user) {
    const passwd* pw = getpwnam(o.value.c_str());  // NOLINT(concurrency-mt-unsafe): startup
    if (pw == nullptr) return badValue(o, "a user name or numeric uid");
    out = pw->pw_uid;
  } else {
    const group* gr = getgrnam(o.value.c_str());  // NOLINT(concurrency-mt-unsafe): startup
    if (gr == nullptr) return badValue(o, "a group name or numeric gid");
    out = gr->gr_gid;
  }
  return Ok{};
}

// ttl.instance.network_interfaces=5 -> "instance/network_interfaces".
Status parseTtlOverride(const RawOption& o, Config& c) {
  std::string path = o.key.substr(4);
  std::replace(path.begin(), path.end(), '.', '/');
  std::string known;
  bool found = false;
  for (const auto& e : tree::allEndpoints()) {
    std::string dotted = e.mount_path;
    std::replace(dotted.begin(), dotted.end(), '/', '.');
    known += (known.empty() ? "" : ", ") + ("ttl." + dotted);
    found = found || e.mount_path == path;
  }
  if (!found) {
    return makeError(EINVAL, "unknown option " + o.key + " (per-endpoint TTLs: " + known + ")");
  }
  Seconds ttl{};
  auto s = parseSeconds(o, 1, 31536000, ttl);
  if (s) c.ttl_overrides[path] = ttl;
  return s;
}

Status parseBool(const RawOption& o, bool& out) {
  if (o.value == "1" || o.value == "yes" || o.value == "true") {
    out = true;
  } else if (o.value == "0" || o.value == "no" || o.value == "false") {
    out = false;
  } else {
    return badValue(o, "0 or 1");
  }
  return Ok{};
}

// Options libfuse understands and that make sense here; passed through as written.
bool isPassThrough(const RawOption& o) {
  static constexpr std::array<std::string_view, 17> kFlags = {
      "allow_other", "allow_root", "auto_unmount", "exec",        "noexec",        "atime",
      "noatime",     "relatime",   "norelatime",   "strictatime", "nostrictatime", "sync",
      "async",       "dirsync",    "lazytime",     "nolazytime",  "diratime"};
  static constexpr std::array<std::string_view, 5> kValued = {"max_read", "context", "fscontext",
                                                              "defcontext", "rootcontext"};
  if (!o.has_value) return std::find(kFlags.begin(), kFlags.end(), o.key) != kFlags.end();
  return std::find(kValued.begin(), kValued.end(), o.key) != kValued.end();
}

// Options mount(8) and mount.fuse3 may hand us that mean nothing here, or that
// metadatafs always overrides (the mount is read-only, nosuid and nodev regardless).
bool isIgnored(const RawOption& o) {
  static const std::set<std::string, std::less<>> kIgnored = {
      "defaults", "_netdev", "nofail", "auto", "noauto", "user", "users", "nouser",
      "owner",    "rw",      "ro",     "suid", "nosuid", "dev",  "nodev", "default_permissions"};
  if (o.key.rfind("x-", 0) == 0 || o.key == "comment") return true;
  return !o.has_value && kIgnored.contains(o.key);
}

Status applyOption(Config& c, const RawOption& o) {
  long long n = 0;
  const std::string& k = o.key;
  if (k == "endpoint") return parseEndpoint(o, c.endpoint);
  if (k == "api_version") {
    if (!o.has_value || !service::isValidVersionDate(o.value) ||
        o.value < service::kMinimumVersion) {
      return badValue(o, "a date YYYY-MM-DD from 2022-03-01 on, e.g. 2025-08-26 or 2024-11-12");
    }
    c.api_version = o.value;
    return Ok{};
  }
  if (k == "ttl") return parseSeconds(o, 1, 31536000, c.ttl);
  if (k.rfind("ttl.", 0) == 0) return parseTtlOverride(o, c);
  if (k == "token_ttl") {
    auto s = parseRange(o, 5, 3600, n);
    if (s) c.token_ttl = static_cast<int>(n);
    return s;
  }
  if (k == "timeout") return parseSeconds(o, 1, 600, c.timeout);
  if (k == "max_threads") {
    auto s = parseRange(o, 1, 256, n, "threads");
    if (s) c.max_threads = static_cast<unsigned>(n);
    return s;
  }
  if (k == "max_stale") return parseSeconds(o, 0, 31536000, c.max_stale);
  if (k == "newline") return parseBool(o, c.newline);
  if (k == "cacert") {
    if (!o.has_value || access(o.value.c_str(), R_OK) != 0) {
      return badValue(o, "a readable PEM file of CA certificates");
    }
    c.cacert = o.value;
    return Ok{};
  }
  if (k == "resolve") return parseResolve(o, c.resolve);
  if (k == "uid") return parseOwner(o, true, c.uid);
  if (k == "gid") return parseOwner(o, false, c.gid);
  if (k == "identity") {
    if (o.has_value) return parseBool(o, c.identity);
    c.identity = true;
    return Ok{};
  }
  if (k == "trusted_profile") {
    if (!o.has_value || o.value.empty()) {
      return badValue(o, "'default', a profile id (Profile-...) or a profile CRN (crn:...)");
    }
    c.trusted_profile = o.value;
    return Ok{};
  }
  if (k == "debug" && !o.has_value) {
    c.debug = c.foreground = true;
    return Ok{};
  }
  if (isIgnored(o)) return Ok{};
  if (isPassThrough(o)) {
    c.fuse_options.push_back(o.has_value ? k + "=" + o.value : k);
    return Ok{};
  }
  return makeError(EINVAL, "unknown option '" + (o.has_value ? k + "=" + o.value : k) +
                               "' (see metadatafs --help for the list)");
}

// Collects what fuse_opt_parse hands over: -o options one by one, flags, positionals.
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

Status readConfigFile(const std::string& path, std::vector<RawOption>& out) {
  std::ifstream in(path);
  if (!in) return makeError(ENOENT, "config: cannot read '" + path + "'");
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    auto last = line.find_last_not_of(" \t\r");
    RawOption o = splitOption(std::string_view(line).substr(first, last - first + 1));
    auto trim = [](std::string& s) {
      s.erase(0, s.find_first_not_of(" \t"));
      s.erase(s.find_last_not_of(" \t") + 1);
    };
    trim(o.key);
    trim(o.value);
    if (o.key.empty() || o.key == "config") {
      return makeError(EINVAL, path + ":" + std::to_string(number) + ": expected key=value");
    }
    out.push_back(std::move(o));
  }
  return Ok{};
}

Status applyFlags(Config& c, const std::vector<std::string>& flags) {
  for (const auto& f : flags) {
    if (f == "-f") {
      c.foreground = true;
    } else if (f == "-d" || f == "--debug") {
      c.debug = c.foreground = true;
    } else if (f == "-h" || f == "--help") {
      c.show_help = true;
    } else if (f == "-V" || f == "--version") {
      c.show_version = true;
    } else {
      return makeError(EINVAL, "unknown flag '" + f + "' (see metadatafs --help)");
    }
  }
  return Ok{};
}

}  // namespace

std::vector<std::string> Config::effectiveResolve() const {
  if (!resolve.empty()) return resolve;
  bool https = endpoint.rfind("https://", 0) == 0;
  std::string_view hostport = std::string_view(endpoint).substr(https ? 8 : 7);
  std::string_view host = hostport.substr(0, hostport.find(':'));
  if (host != kMetadataHost) return {};
  auto colon = hostport.find(':');
  std::string port = colon == std::string_view::npos ? (https ? "443" : "80")
                                                     : std::string(hostport.substr(colon + 1));
  return {std::string(host) + ":" + port + ":" + kLinkLocalAddress};
}

std::string Config::mountOptions() const {
  std::string out = "ro,default_permissions,nosuid,nodev,fsname=" + source + ",subtype=metadatafs";
  for (const auto& o : fuse_options)
    out += "," + o;
  return out;
}

Result<Config> parseCommandLine(int argc, char** argv) {
  ParseState st;
  fuse_args args = FUSE_ARGS_INIT(argc, argv);
  static const fuse_opt kNoTemplates[] = {FUSE_OPT_END};
  int rc = fuse_opt_parse(&args, &st, kNoTemplates, collect);
  fuse_opt_free_args(&args);
  if (rc != 0) return makeError(EINVAL, "cannot parse the command line");

  Config c;
  if (auto s = applyFlags(c, st.flags); !s) return s.error();
  if (c.show_help || c.show_version) return c;

  std::vector<RawOption> ordered;
  for (const auto& o : st.options) {
    if (o.key != "config") continue;
    if (!o.has_value || o.value.empty()) return badValue(o, "a file of key=value lines");
    c.config_file = o.value;
    if (auto s = readConfigFile(o.value, ordered); !s) return s.error();
  }
  for (const auto& o : st.options) {
    if (o.key != "config") ordered.push_back(o);
  }
  // Later values win: defaults, then the config file, then the command line.
  for (const auto& o : ordered) {
    if (auto s = applyOption(c, o); !s) return s.error();
  }
  if (st.positional.empty())
    return makeError(EINVAL, "no mountpoint given (metadatafs [SOURCE] MOUNTPOINT)");
  if (st.positional.size() > 2) {
    return makeError(EINVAL, "too many arguments: '" + st.positional[2] +
                                 "' (metadatafs [SOURCE] MOUNTPOINT [-o OPTIONS])");
  }
  if (st.positional.size() == 2) c.source = st.positional[0];
  c.mountpoint = st.positional.back();
  if (c.source.empty() || c.source.find_first_of(", ") != std::string::npos) {
    return makeError(EINVAL, "bad SOURCE '" + c.source + "' (a name without commas or spaces)");
  }
  return c;
}

std::string versionText() {
  return std::string("metadatafs ") + MDFS_VERSION + " (libfuse " + fuse_pkgversion() +
         ", libcurl " + curl_version_info(CURLVERSION_NOW)->version + ")\n";
}

std::string helpText(const std::string& program) {
  return "usage: " + program + R"( [SOURCE] MOUNTPOINT [-f] [-d] [-o OPTION[,OPTION...]]

Mounts the IBM Cloud VPC instance metadata service as a read-only directory tree.

  -f                    stay in the foreground (logs go to standard error)
  -d, -o debug          debug logging; implies -f
  -h, --help            this text
  -V, --version         version information

Service:
  -o endpoint=URL       metadata service base URL          [http://api.metadata.cloud.ibm.com]
                        (https://api.metadata.cloud.ibm.com for secure access)
  -o api_version=DATE   API version date YYYY-MM-DD, 2022-03-01 or later      [2025-08-26]
                        (before 2025-08-26 the legacy /instance_identity paths are used)
  -o token_ttl=N        identity token lifetime in seconds, 5..3600                 [300]
  -o timeout=N          deadline of one filesystem operation, seconds, 1..600        [10]
  -o cacert=FILE        PEM CA bundle for https     [the system trust store]
  -o resolve=H:P:A      connect to address A for host H, port P (repeatable)
                        [api.metadata.cloud.ibm.com:80|443:169.254.169.254]

Freshness:
  -o ttl=N              seconds before data is fetched again                       [60]
                        (instance/initialization never changes: 10 x ttl)
  -o ttl.PATH=N         TTL of one endpoint, PATH with '/' written as '.',
                        e.g. ttl.instance.network_interfaces=10 or ttl.keys=300
  -o max_stale=N        keep serving the last good copy this long when the service
                        fails, seconds; 0 disables                               [3600]

Tree:
  -o newline=0|1        end rendered values with a newline                          [1]
  -o uid=USER           owner of every file and directory    [the mounting user]
  -o gid=GROUP          group of every file and directory    [the mounting group]
  -o identity           add identity/token: a currently valid identity token      [off]
  -o trusted_profile=P  add identity/iam_token for trusted profile P: 'default',
                        a profile id or a profile CRN                               [off]

Other:
  -o config=FILE        read options from FILE (key=value lines, # comments);
                        the command line wins over the file, the file over defaults
  -o allow_other        let other users see the mount (with default_permissions)
  -o auto_unmount       unmount when the daemon dies
  -o max_threads=N      FUSE worker threads                                         [16]
  other libfuse mount options are accepted: allow_root, noexec, noatime, ...

Always added: ro, default_permissions, nosuid, nodev, fsname=SOURCE, subtype=metadatafs.
In /etc/fstab:  metadatafs /metadata fuse.metadatafs ro,allow_other,_netdev,nofail 0 0
)";
}

}  // namespace mdfs::cli
