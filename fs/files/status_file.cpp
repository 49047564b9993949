#include "files/status_file.h"

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <unistd.h>

#include <system_error>
#include <utility>

namespace mdfs::files {
namespace {

using Writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

void writeTime(Writer& w, const char* key, const std::optional<WallTime>& t) {
  w.Key(key);
  if (t) {
    w.String(formatTime(*t));
  } else {
    w.Null();
  }
}

void writeText(Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  value.empty() ? w.Null() : w.String(value);
}

void writeCounter(Writer& w, const char* key, std::uint64_t value) {
  w.Key(key);
  w.Uint64(value);
}

void writeError(Writer& w, const std::optional<Error>& error, const std::optional<WallTime>& at) {
  w.Key("last_error");
  if (!error) return (void)w.Null();
  const Error& e = *error;
  w.StartObject();
  w.Key("message");
  w.String(e.message);
  w.Key("kind");
  w.String(kindName(e.kind));
  w.Key("errno");
  w.String(std::error_code(e.errnum, std::generic_category()).message());
  w.Key("http_status");
  e.http_status != 0 ? w.Int(e.http_status) : w.Null();
  writeText(w, "code", e.code);
  writeText(w, "trace", e.trace);
  writeTime(w, "at", at);
  w.EndObject();
}

void writeOptions(Writer& w, const Settings& s) {
  w.Key("options");
  w.StartObject();
  w.Key("endpoint");
  w.String(s.endpoint);
  w.Key("api_version");
  w.String(s.api_version);
  w.Key("ttl_s");
  w.Int64(s.ttl.count());
  w.Key("timeout_s");
  w.Int64(s.timeout.count());
  w.Key("max_stale_s");
  w.Int64(s.max_stale.count());
  w.Key("token_ttl_s");
  w.Int(s.token_ttl);
  w.Key("identity");
  w.Bool(s.identity);
  writeText(w, "trusted_profile", s.trusted_profile);
  w.EndObject();
}

void writeService(Writer& w, const Report& r) {
  w.Key("service");
  w.StartObject();
  w.Key("answering");
  w.Bool(r.service_answering);
  writeTime(w, "down_since", r.service_down_since);
  writeCounter(w, "outages", r.outages);
  w.EndObject();
}

void writeToken(Writer& w, const TokenReport& t) {
  w.Key(t.name);
  w.StartObject();
  writeTime(w, "expires_at", t.health.expires_at);
  writeCounter(w, "requests", t.requests);
  writeCounter(w, "failures", t.health.failures);
  w.Key("failing");
  w.Bool(t.health.failing);
  writeError(w, t.health.last_error, t.health.last_error_time);
  w.EndObject();
}

void writeEndpoint(Writer& w, const cache::EndpointStatus& s, Seconds ttl) {
  w.Key(s.mount_path);
  w.StartObject();
  w.Key("state");
  w.String(s.state);
  w.Key("ttl_s");
  w.Int64(ttl.count());
  writeTime(w, "last_fetch", s.last_fetch);
  writeTime(w, "expires", s.expires);
  w.Key("failing");
  w.Bool(s.failing);
  writeError(w, s.last_error, s.last_error_time);
  writeCounter(w, "fetches", s.fetches);
  writeCounter(w, "http_requests", s.http_requests);
  writeCounter(w, "retries", s.retries);
  writeCounter(w, "failures", s.failures);
  writeCounter(w, "stale_serves", s.stale_serves);
  writeCounter(w, "json_bytes", s.raw_bytes);
  writeCounter(w, "memory_bytes", s.memory_bytes);
  w.EndObject();
}

}  // namespace

StatusFile::StatusFile(Settings settings, Sources sources, const Clock& clock)
    : settings_(std::move(settings)),
      sources_(sources),
      clock_(clock),
      started_(clock.steady()),
      started_wall_(clock.wall()) {}

mount::DynamicFile StatusFile::file() const {
  return liveReport(
      ".status", [this] { return render(); }, clock_);
}

std::string StatusFile::render() const {
  const Report r = observe(sources_);
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("healthy");
  w.Bool(r.healthy);
  w.Key("version");
  w.String(MDFS_VERSION);
  w.Key("pid");
  w.Int64(static_cast<std::int64_t>(getpid()));
  w.Key("cloud");
  w.String(settings_.cloud);
  w.Key("cloud_reason");
  w.String(settings_.cloud_reason);
  w.Key("mountpoint");
  w.String(settings_.mountpoint);
  writeTime(w, "started_at", started_wall_);
  w.Key("uptime_s");
  w.Int64(std::chrono::duration_cast<Seconds>(clock_.steady() - started_).count());
  writeTime(w, "last_success", r.last_success);
  writeOptions(w, settings_);
  writeService(w, r);
  for (const auto& t : r.tokens)
    writeToken(w, t);
  w.Key("endpoints");
  w.StartObject();
  for (std::size_t i = 0; i < r.endpoints.size(); ++i)
    writeEndpoint(w, r.endpoints[i], r.ttls[i]);
  w.EndObject();
  w.EndObject();
  std::string out = buf.GetString();
  out += '\n';
  return out;
}

}  // namespace mdfs::files
