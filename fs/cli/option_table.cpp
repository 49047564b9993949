#include "cli/option_table.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <type_traits>
#include <vector>

#include "cli/privileges.h"
#include "service/api.h"
#include "tree/catalog.h"

namespace mdfs::cli {
namespace {

constexpr std::size_t kMaxSuggestedKey = 64;
constexpr long long kMaxSeconds = 365LL * 24 * 3600;  // the longest ttl or max_stale: a year

Error badValue(const RawOption& o, std::string_view accepts) {
  return makeError(EINVAL,
                   "bad value for " + o.key + ": '" + o.value + "' (" + std::string(accepts) + ")");
}

Error badValue(const RawOption& o, const OptionSpec& s) {
  std::string accepts(s.accepts);
  if (s.hasRange()) accepts += (accepts.empty() ? "" : ", ") + s.rangeText();
  return badValue(o, accepts);
}

std::optional<long long> parseInteger(std::string_view s) {
  long long v = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<bool> parseBool(std::string_view v) {
  if (v == "1" || v == "yes" || v == "true") return true;
  if (v == "0" || v == "no" || v == "false") return false;
  return std::nullopt;
}

// A number within the spec's range, into an integer or Seconds member.
template <auto Field>
Status setNumber(Config& c, const RawOption& o, const OptionSpec& s) {
  auto v = parseInteger(o.value);
  if (!o.has_value || !v || *v < s.min || *v > s.max) return badValue(o, s);
  auto& field = c.*Field;
  using T = std::remove_reference_t<decltype(field)>;
  if constexpr (std::is_same_v<T, Seconds>) {
    field = Seconds(*v);
  } else {
    field = static_cast<T>(*v);
  }
  return Ok{};
}

template <auto Field>
std::string showNumber(const Config& c) {
  const auto& field = c.*Field;
  if constexpr (std::is_same_v<std::remove_cvref_t<decltype(field)>, Seconds>) {
    return std::to_string(field.count());
  } else {
    return std::to_string(field);
  }
}

// A flag: "identity", or "identity=0|1".
template <bool Config::*Field>
Status setFlag(Config& c, const RawOption& o, const OptionSpec& /*spec*/) {
  auto b = o.has_value ? parseBool(o.value) : std::optional<bool>(true);
  if (!b) return badValue(o, "no value, or 0 or 1");
  c.*Field = *b;
  return Ok{};
}

template <bool Config::*Field>
std::string showFlag(const Config& c) {
  return c.*Field ? "on" : "off";
}

// A switch that needs its value: "newline=0".
template <bool Config::*Field>
Status setBool(Config& c, const RawOption& o, const OptionSpec& /*spec*/) {
  auto b = parseBool(o.value);
  if (!o.has_value || !b) return badValue(o, "0 or 1");
  c.*Field = *b;
  return Ok{};
}

template <bool Config::*Field>
std::string showBool(const Config& c) {
  return c.*Field ? "1" : "0";
}

template <std::string Config::*Field>
std::string showText(const Config& c) {
  return c.*Field;
}

Status setEndpoint(Config& c, const RawOption& o, const OptionSpec& /*spec*/) {
  auto endpoint = service::parseEndpoint(o.value);
  if (!endpoint) return badValue(o, endpoint.error().message);
  c.endpoint = std::move(*endpoint);
  c.endpoint_given = true;
  return Ok{};
}

Status setCloud(Config& c, const RawOption& o, const OptionSpec& s) {
  if (!o.has_value || (o.value != "auto" && !service::parseCloud(o.value))) return badValue(o, s);
  c.cloud = o.value;
  return Ok{};
}

// A value that must not be empty (a path, a URI, an audience).
template <std::string Config::*Field>
Status setText(Config& c, const RawOption& o, const OptionSpec& s) {
  if (!o.has_value || o.value.empty()) return badValue(o, s);
  c.*Field = o.value;
  return Ok{};
}

bool isDate(std::string_view v) {
  if (v.size() != 10 || v[4] != '-' || v[7] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (v[i] < '0' || v[i] > '9') return false;
  return true;
}

Status setAzureVersion(Config& c, const RawOption& o, const OptionSpec& s) {
  if (!o.has_value || !isDate(o.value)) return badValue(o, s);
  c.azure_api_version = o.value;
  return Ok{};
}

Status setVersion(Config& c, const RawOption& o, const OptionSpec& /*spec*/) {
  if (auto s = service::checkVersion(o.value); !s) return badValue(o, s.error().message);
  c.api_version = o.value;
  return Ok{};
}

Status setCacert(Config& c, const RawOption& o, const OptionSpec& s) {
  if (!o.has_value || access(o.value.c_str(), R_OK) != 0) return badValue(o, s);
  c.cacert = o.value;
  return Ok{};
}

// HOST:PORT:ADDR, as curl's --resolve takes it.
Status addResolve(Config& c, const RawOption& o, const OptionSpec& s) {
  std::string_view v = o.value;
  auto first = v.find(':');
  auto second = first == std::string_view::npos ? first : v.find(':', first + 1);
  bool ok = o.has_value && first != std::string_view::npos && first > 0 &&
            second != std::string_view::npos && second + 1 < v.size();
  if (ok) {
    auto port = parseInteger(v.substr(first + 1, second - first - 1));
    ok = port && *port > 0 && *port < 65536;
  }
  if (!ok) return badValue(o, s);
  c.resolve.emplace_back(v);
  return Ok{};
}

std::string showResolve(const Config& c) {
  if (c.resolve.empty()) {
    return std::string(service::kMetadataHost) +
           ":80|443:" + std::string(service::kMetadataAddress);
  }
  std::string out;
  for (const auto& r : c.resolve)
    out += (out.empty() ? "" : " ") + r;
  return out;
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

Status setUid(Config& c, const RawOption& o, const OptionSpec& /*spec*/) {
  return parseOwner(o, true, c.uid);
}

Status setGid(Config& c, const RawOption& o, const OptionSpec& /*spec*/) {
  return parseOwner(o, false, c.gid);
}

Status setSecretsGroup(Config& c, const RawOption& o, const OptionSpec& /*spec*/) {
  return parseOwner(o, false, c.secrets_group);
}

Status setRunAs(Config& c, const RawOption& o, const OptionSpec& s) {
  if (!o.has_value || o.value.empty()) return badValue(o, s);
  auto user = lookUpUser(o.value);
  if (!user) return badValue(o, "a user of this system, by name or uid");
  c.run_as = o.value;
  return Ok{};
}

Status setTrustedProfile(Config& c, const RawOption& o, const OptionSpec& s) {
  if (!o.has_value || o.value.empty()) return badValue(o, s);
  c.trusted_profile = o.value;
  return Ok{};
}

// "ttl.instance.network_interfaces" for the endpoint at "instance/network_interfaces".
std::vector<std::string> ttlKeys() {
  std::vector<std::string> keys;
  for (const auto& e : tree::allEndpoints()) {
    std::string dotted = e.mount_path;
    std::replace(dotted.begin(), dotted.end(), '/', '.');
    keys.push_back("ttl." + dotted);
  }
  return keys;
}

Status setTtlOverride(Config& c, const RawOption& o, const OptionSpec& s) {
  const auto keys = ttlKeys();
  if (std::find(keys.begin(), keys.end(), o.key) == keys.end()) {
    std::string known;
    for (const auto& k : keys)
      known += (known.empty() ? "" : ", ") + k;
    std::string guess = closestKey(o.key);
    return makeError(EINVAL, "unknown option " + o.key +
                                 (guess.empty() ? "" : "; did you mean " + guess + "?") +
                                 " (per-endpoint TTLs: " + known + ")");
  }
  auto v = parseInteger(o.value);
  if (!o.has_value || !v || *v < s.min || *v > s.max) return badValue(o, s);
  std::string path = o.key.substr(4);
  std::replace(path.begin(), path.end(), '.', '/');
  c.ttl_overrides[path] = Seconds(*v);
  return Ok{};
}

// libfuse's own mount options: passed on as written.
Status passThrough(Config& c, const RawOption& o, const OptionSpec& s) {
  if (o.has_value != !s.value_name.empty()) {
    return badValue(o, s.value_name.empty() ? "no value" : s.accepts);
  }
  c.fuse_options.push_back(o.text());
  return Ok{};
}

Status refuseNestedConfig(Config& /*c*/, const RawOption& o, const OptionSpec& /*spec*/) {
  return makeError(EINVAL, o.key + " is for the command line; a config file cannot name another");
}

// clang-format off
constexpr OptionSpec kOptions[] = {
    {.key = "debug", .section = Section::general, .apply = setFlag<&Config::debug>,
     .show = showFlag<&Config::debug>,
     .help = "debug logging; implies -f"},
    {.key = "debug_http", .section = Section::general, .apply = setFlag<&Config::debug_http>,
     .show = showFlag<&Config::debug_http>,
     .help = "debug logging and libcurl's wire trace (request and\n"
             "response headers, body sizes; never a token); implies debug"},
    {.key = "cloud", .value_name = "C", .section = Section::service, .apply = setCloud,
     .show = showText<&Config::cloud>, .accepts = "auto, ibm, aws, gcp or azure",
     .help = "whose metadata service: auto (from the SMBIOS markers\n"
             "under dmi_dir; IBM when none is known), ibm, aws, gcp or azure"},
    {.key = "dmi_dir", .value_name = "PATH", .section = Section::service,
     .apply = setText<&Config::dmi_dir>, .show = showText<&Config::dmi_dir>,
     .accepts = "a directory of SMBIOS strings",
     .help = "where cloud=auto reads the SMBIOS strings"},
    {.key = "endpoint", .value_name = "URL", .section = Section::service, .apply = setEndpoint,
     .show = showText<&Config::endpoint>,
     .help = "metadata service base URL (the default is the cloud's:\n"
             "IBM's shown; https://{host} for secure access)"},
    {.key = "ipv6", .section = Section::service, .apply = setFlag<&Config::ipv6>,
     .show = showFlag<&Config::ipv6>,
     .help = "AWS: use the service's IPv6 address [fd00:ec2::254]"},
    {.key = "aws_token_ttl", .value_name = "N", .section = Section::service,
     .apply = setNumber<&Config::aws_token_ttl>, .show = showNumber<&Config::aws_token_ttl>,
     .accepts = "whole seconds", .min = 1, .max = service::kAwsMaxTokenTtl,
     .help = "AWS: IMDSv2 session token lifetime, seconds, {range}"},
    {.key = "aws_imdsv1", .section = Section::service, .apply = setFlag<&Config::aws_imdsv1>,
     .show = showFlag<&Config::aws_imdsv1>,
     .help = "AWS: fall back to IMDSv1 (no session token) when no\n"
             "token can be had"},
    {.key = "azure_api_version", .value_name = "DATE", .section = Section::service,
     .apply = setAzureVersion, .show = showText<&Config::azure_api_version>,
     .accepts = "a date YYYY-MM-DD",
     .help = "Azure: api-version of the instance document"},
    {.key = "azure_resource", .value_name = "URI", .section = Section::tree,
     .apply = setText<&Config::azure_resource>, .default_text = "off",
     .accepts = "a resource URI",
     .help = "Azure: add identity/oauth2/token, a managed identity\n"
             "token for resource URI"},
    {.key = "gcp_audience", .value_name = "URL", .section = Section::tree,
     .apply = setText<&Config::gcp_audience>, .default_text = "off",
     .accepts = "an audience URL",
     .help = "GCE: list instance/service-accounts/*/identity, identity\n"
             "tokens for this audience"},
    {.key = "api_version", .value_name = "DATE", .section = Section::service,
     .apply = setVersion, .show = showText<&Config::api_version>,
     .help = "API version date YYYY-MM-DD, {min_version} or later\n"
             "(before {identity_break} the legacy /instance_identity paths are used)"},
    {.key = "token_ttl", .value_name = "N", .section = Section::service,
     .apply = setNumber<&Config::token_ttl>, .show = showNumber<&Config::token_ttl>,
     .accepts = "whole seconds", .min = service::kMinTokenTtl, .max = service::kMaxTokenTtl,
     .help = "identity token lifetime in seconds, {range}"},
    {.key = "timeout", .value_name = "N", .section = Section::service,
     .apply = setNumber<&Config::timeout>, .show = showNumber<&Config::timeout>,
     .accepts = "whole seconds", .min = 1, .max = 600,
     .help = "deadline of one filesystem operation, seconds, {range}"},
    {.key = "cacert", .value_name = "FILE", .section = Section::service, .apply = setCacert,
     .show = showText<&Config::cacert>, .default_text = "the system trust store",
     .accepts = "a readable PEM file of CA certificates",
     .help = "PEM CA bundle for https"},
    {.key = "resolve", .value_name = "H:P:A", .section = Section::service, .apply = addResolve,
     .show = showResolve, .accepts = "HOST:PORT:ADDR, e.g. {host}:443:127.0.0.1",
     .help = "connect to address A for host H, port P (repeatable)"},
    {.key = "ttl", .value_name = "N", .section = Section::freshness,
     .apply = setNumber<&Config::ttl>, .show = showNumber<&Config::ttl>,
     .accepts = "whole seconds", .min = 1, .max = kMaxSeconds,
     .help = "seconds before data is fetched again\n"
             "(instance/initialization never changes: 10 x ttl)"},
    {.key = "ttl.", .value_name = "N", .section = Section::freshness, .apply = setTtlOverride,
     .default_text = "ttl", .accepts = "whole seconds", .min = 1, .max = kMaxSeconds,
     .help = "TTL of one endpoint, PATH with '/' written as '.',\n"
             "e.g. ttl.instance.network_interfaces=10 or ttl.keys=300"},
    {.key = "max_stale", .value_name = "N", .section = Section::freshness,
     .apply = setNumber<&Config::max_stale>, .show = showNumber<&Config::max_stale>,
     .accepts = "whole seconds", .min = 0, .max = kMaxSeconds,
     .help = "keep serving the last good copy this long when the\n"
             "service fails, seconds; 0 disables"},
    {.key = "newline", .value_name = "0|1", .section = Section::tree,
     .apply = setBool<&Config::newline>, .show = showBool<&Config::newline>,
     .help = "end rendered values with a newline"},
    {.key = "uid", .value_name = "USER", .section = Section::tree, .apply = setUid,
     .default_text = "the mounting user",
     .help = "owner of every file and directory"},
    {.key = "gid", .value_name = "GROUP", .section = Section::tree, .apply = setGid,
     .default_text = "the mounting group",
     .help = "group of every file and directory"},
    {.key = "secrets_group", .value_name = "GROUP", .section = Section::tree,
     .apply = setSecretsGroup, .default_text = "none: secrets are 0400, owner only",
     .help = "group that may read secrets (identity tokens, user_data,\n"
             "passwords): they become 0440, owned by GROUP"},
    {.key = "identity", .section = Section::tree, .apply = setFlag<&Config::identity>,
     .show = showFlag<&Config::identity>,
     .help = "add identity/token: a currently valid identity token"},
    {.key = "trusted_profile", .value_name = "P", .section = Section::tree,
     .apply = setTrustedProfile, .default_text = "off",
     .accepts = "'default', a profile id (Profile-...) or a profile CRN (crn:...)",
     .help = "add identity/iam_token for trusted profile P: 'default',\n"
             "a profile id or a profile CRN"},
    {.key = "config", .value_name = "FILE", .section = Section::other,
     .apply = refuseNestedConfig, .accepts = "a file of key=value lines",
     .help = "read options from FILE (key=value lines, # comments);\n"
             "the command line wins over the file, the file over defaults"},
    {.key = "allow_other", .section = Section::other, .apply = passThrough,
     .help = "let other users see the mount (with default_permissions)"},
    {.key = "auto_unmount", .section = Section::other, .apply = passThrough,
     .help = "unmount when the daemon dies"},
    {.key = "recover", .section = Section::other, .apply = setFlag<&Config::recover>,
     .show = showFlag<&Config::recover>,
     .help = "when MOUNTPOINT is a dead metadatafs mount (its daemon was\n"
             "killed), clear it (lazy unmount) and mount again"},
    {.key = "run_as", .value_name = "USER", .section = Section::other, .apply = setRunAs,
     .default_text = "metadatafs, or nobody without such a user",
     .accepts = "a user name or uid",
     .help = "after a mount as root, serve as USER: no capabilities,\n"
             "no_new_privs, a seccomp filter; root keeps root (warned)"},
    {.key = "max_threads", .value_name = "N", .section = Section::other,
     .apply = setNumber<&Config::max_threads>, .show = showNumber<&Config::max_threads>,
     .accepts = "whole threads", .min = 1, .max = 256,
     .help = "FUSE worker threads, {range}"},
};

constexpr FlagSpec kFlags[] = {
    {"-f", "", "stay in the foreground (logs go to standard error)",
     [](Config& c) { c.foreground = true; }},
    {"-d", "--debug", "the same as -o debug", [](Config& c) { c.debug = true; }},
    {"-h", "--help", "this text", [](Config& c) { c.show_help = true; }},
    {"-V", "--version", "version information", [](Config& c) { c.show_version = true; }},
};
// clang-format on

// Other libfuse mount options that make sense here; passed on as written.
constexpr std::string_view kPassThroughFlags[] = {
    "allow_root", "exec",       "noexec",      "atime",         "noatime",
    "relatime",   "norelatime", "strictatime", "nostrictatime", "sync",
    "async",      "dirsync",    "lazytime",    "nolazytime",    "diratime"};
constexpr std::string_view kPassThroughValued[] = {"max_read", "context", "fscontext", "defcontext",
                                                   "rootcontext"};

// Options mount(8) and mount.fuse3 may hand us that mean nothing here, or that metadatafs
// always overrides (the mount is read-only, nosuid and nodev regardless).
constexpr std::string_view kIgnored[] = {
    "defaults", "_netdev", "nofail", "auto", "noauto", "user", "users", "nouser",
    "owner",    "rw",      "ro",     "suid", "nosuid", "dev",  "nodev", "default_permissions"};

template <std::size_t N>
bool contains(const std::string_view (&list)[N], std::string_view key) {
  return std::find(std::begin(list), std::end(list), key) != std::end(list);
}

bool isIgnored(const RawOption& o) {
  if (o.key.starts_with("x-") || o.key == "comment") return true;
  return !o.has_value && contains(kIgnored, o.key);
}

bool isPassThrough(const RawOption& o) {
  return o.has_value ? contains(kPassThroughValued, o.key) : contains(kPassThroughFlags, o.key);
}

Error unknownOption(const RawOption& o) {
  std::string guess = closestKey(o.key);
  if (guess.empty()) {
    return makeError(EINVAL,
                     "unknown option '" + o.text() + "' (see metadatafs --help for the list)");
  }
  RawOption meant = o;
  meant.key = guess;
  return makeError(EINVAL, "unknown option '" + o.text() + "'; did you mean '" + meant.text() +
                               "'? (see metadatafs --help)");
}

Status dispatch(Config& c, const RawOption& o) {
  if (const OptionSpec* spec = findOption(o.key)) return spec->apply(c, o, *spec);
  if (isIgnored(o)) return Ok{};
  if (isPassThrough(o)) {
    c.fuse_options.push_back(o.text());
    return Ok{};
  }
  return unknownOption(o);
}

}  // namespace

RawOption splitOption(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos) return {std::string(text), {}, false, {}};
  return {std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)), true, {}};
}

std::span<const OptionSpec> optionTable() {
  return kOptions;
}

std::span<const FlagSpec> flagTable() {
  return kFlags;
}

std::span<const std::string_view> passThroughFlags() {
  return kPassThroughFlags;
}

std::span<const std::string_view> passThroughValued() {
  return kPassThroughValued;
}

const OptionSpec* findOption(std::string_view key) {
  for (const auto& spec : kOptions) {
    bool prefix = spec.key.ends_with('.');
    if (prefix ? key.starts_with(spec.key) : key == spec.key) return &spec;
  }
  return nullptr;
}

Status applyOption(Config& c, const RawOption& o) {
  Status s = dispatch(c, o);
  if (s || o.origin.empty()) return s;
  Error e = s.error();
  e.message = o.origin + ": " + e.message;
  return e;
}

std::size_t editDistance(std::string_view a, std::string_view b) {
  // Three rows of the optimal-string-alignment table suffice.
  std::vector<std::size_t> before(b.size() + 1);
  std::vector<std::size_t> prev(b.size() + 1);
  std::vector<std::size_t> cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], before[j - 2] + 1);
      }
    }
    std::swap(before, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closestKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxSuggestedKey) return {};
  std::vector<std::string> known;
  for (const auto& spec : kOptions) {
    if (!spec.key.ends_with('.')) known.emplace_back(spec.key);
  }
  for (auto& k : ttlKeys())
    known.push_back(std::move(k));
  for (auto k : kPassThroughFlags)
    known.emplace_back(k);
  for (auto k : kPassThroughValued)
    known.emplace_back(k);
  // A typo is a slip of a few keys: allow one edit per three characters, at most three.
  const std::size_t allowed = std::clamp<std::size_t>(key.size() / 3, 1, 3);
  std::string best;
  std::size_t best_distance = allowed + 1;
  for (const auto& k : known) {
    std::size_t d = editDistance(key, k);
    if (d > 0 && d < best_distance) {
      best = k;
      best_distance = d;
    }
  }
  return best;
}

}  // namespace mdfs::cli
