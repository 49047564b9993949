#include "cli/status_file.h"

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <ctime>
#include <system_error>

namespace mdfs::cli {
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

void writeError(Writer& w, const cache::EndpointStatus& s) {
  w.Key("last_error");
  if (!s.last_error) return (void)w.Null();
  const Error& e = *s.last_error;
  w.StartObject();
  w.Key("message");
  w.String(e.message);
  w.Key("errno");
  w.String(std::error_code(e.errnum, std::generic_category()).message());
  w.Key("http_status");
  if (e.http_status != 0) {
    w.Int(e.http_status);
  } else {
    w.Null();
  }
  w.Key("code");
  e.code.empty() ? w.Null() : w.String(e.code);
  w.Key("trace");
  e.trace.empty() ? w.Null() : w.String(e.trace);
  writeTime(w, "at", s.last_error_time);
  w.EndObject();
}

void writeCounter(Writer& w, const char* key, std::uint64_t value) {
  w.Key(key);
  w.Uint64(value);
}

void writeEndpoint(Writer& w, const cache::EndpointStatus& s, std::int64_t ttl) {
  w.Key(s.mount_path);
  w.StartObject();
  w.Key("state");
  w.String(s.state);
  w.Key("ttl_s");
  w.Int64(ttl);
  writeTime(w, "last_fetch", s.last_fetch);
  writeTime(w, "expires", s.expires);
  writeError(w, s);
  writeCounter(w, "fetches", s.fetches);
  writeCounter(w, "retries", s.retries);
  writeCounter(w, "failures", s.failures);
  writeCounter(w, "stale_serves", s.stale_serves);
  writeCounter(w, "bytes", s.memory_bytes);
  w.EndObject();
}

// A token's expiry and request count, never the token.
void writeToken(Writer& w, const char* key, const std::optional<WallTime>& expires,
                std::uint64_t requests) {
  w.Key(key);
  w.StartObject();
  writeTime(w, "expires_at", expires);
  writeCounter(w, "requests", requests);
  w.EndObject();
}

}  // namespace

std::string formatTime(WallTime t) {
  auto ms = std::chrono::duration_cast<Millis>(t.time_since_epoch()).count();
  auto secs = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buf + n, sizeof buf - n, ".%03lldZ", static_cast<long long>(ms % 1000));
  return buf;
}

StatusFile::StatusFile(const Config& config, const cache::ResourceCache& cache,
                       const service::TokenSource& tokens, const Clock& clock)
    : config_(config),
      cache_(cache),
      tokens_(tokens),
      clock_(clock),
      started_(clock.steady()),
      started_wall_(clock.wall()) {}

mount::DynamicFile StatusFile::file() const {
  mount::DynamicFile f;
  f.path = ".status";
  f.perm = 0444;
  f.hidden = true;
  f.produce = [this](Deadline) -> Result<mount::DynamicContent> {
    mount::DynamicContent c;
    c.bytes = render();
    c.mtime_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.wall().time_since_epoch())
            .count();
    c.valid_for = Millis(1000);
    return c;
  };
  return f;
}

std::string StatusFile::render() const {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("endpoint");
  w.String(config_.endpoint);
  w.Key("api_version");
  w.String(config_.api_version);
  w.Key("mountpoint");
  w.String(config_.mountpoint);
  writeTime(w, "started_at", started_wall_);
  w.Key("uptime_s");
  w.Int64(std::chrono::duration_cast<Seconds>(clock_.steady() - started_).count());
  writeToken(w, "identity_token", tokens_.expiresAt(), tokens_.requestCount());
  if (iam_ != nullptr) writeToken(w, "iam_token", iam_->expiresAt(), iam_->requestCount());
  w.Key("endpoints");
  w.StartObject();
  auto all = cache_.status();
  for (std::size_t i = 0; i < all.size(); ++i) {
    writeEndpoint(w, all[i], cache_.ttlOf(static_cast<int>(i)).count());
  }
  w.EndObject();
  w.EndObject();
  std::string out = buf.GetString();
  out += '\n';
  return out;
}

}  // namespace mdfs::cli
