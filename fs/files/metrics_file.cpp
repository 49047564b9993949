#include "files/metrics_file.h"

#include <cmath>
#include <cstdio>
#include <utility>

namespace mdfs::files {
namespace {

// Numbers as Prometheus reads them: integers as such, other values with enough digits.
std::string number(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

double seconds(WallTime t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// Writes one metric family: HELP and TYPE once, then its samples.
class Exposition {
 public:
  void family(const std::string& name, const char* type, const char* help) {
    out_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void sample(const std::string& name, const std::string& labels, double value) {
    out_ += name;
    if (!labels.empty()) out_ += "{" + labels + "}";
    out_ += " " + number(value) + "\n";
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string label(const char* name, std::string_view value) {
  return std::string(name) + "=\"" + escapeLabel(value) + "\"";
}

void endpointCounters(Exposition& x, const Report& r) {
  struct Counter {
    const char* name;
    const char* help;
    std::uint64_t cache::EndpointStatus::*field;
  };
  const Counter counters[] = {
      {"metadatafs_fetches_total", "Fetches of an endpoint (each one page set).",
       &cache::EndpointStatus::fetches},
      {"metadatafs_http_requests_total", "HTTP requests for an endpoint, pages and retries.",
       &cache::EndpointStatus::http_requests},
      {"metadatafs_retries_total", "Requests that repeated a failed one.",
       &cache::EndpointStatus::retries},
      {"metadatafs_stale_serves_total", "Reads answered from a copy past its TTL.",
       &cache::EndpointStatus::stale_serves},
  };
  for (const auto& c : counters) {
    x.family(c.name, "counter", c.help);
    for (const auto& e : r.endpoints)
      x.sample(c.name, label("endpoint", e.mount_path), static_cast<double>(e.*c.field));
  }
  x.family("metadatafs_fetch_failures_total", "counter", "Failed fetches, by error kind.");
  for (const auto& e : r.endpoints) {
    for (const auto& [kind, count] : e.failures_by_kind) {
      x.sample("metadatafs_fetch_failures_total",
               label("endpoint", e.mount_path) + "," + label("kind", kindName(kind)),
               static_cast<double>(count));
    }
  }
  x.family("metadatafs_endpoint_failing", "gauge",
           "1 while the last fetch of the endpoint failed.");
  for (const auto& e : r.endpoints)
    x.sample("metadatafs_endpoint_failing", label("endpoint", e.mount_path), e.failing ? 1 : 0);
}

void latency(Exposition& x, const cache::LatencyHistogram& h) {
  const std::string name = "metadatafs_fetch_duration_seconds";
  x.family(name, "histogram", "How long fetches took, retries and pages included.");
  for (std::size_t i = 0; i < h.kBounds.size(); ++i) {
    x.sample(name + "_bucket", label("le", number(h.kBounds[i])), static_cast<double>(h.within[i]));
  }
  x.sample(name + "_bucket", label("le", "+Inf"), static_cast<double>(h.count));
  x.sample(name + "_sum", "", h.sum_seconds);
  x.sample(name + "_count", "", static_cast<double>(h.count));
}

void tokens(Exposition& x, const Report& r) {
  x.family("metadatafs_token_expiry_timestamp_seconds", "gauge",
           "When the current token expires (Unix time).");
  for (const auto& t : r.tokens) {
    if (t.health.expires_at) {
      x.sample("metadatafs_token_expiry_timestamp_seconds", label("token", t.name),
               seconds(*t.health.expires_at));
    }
  }
  x.family("metadatafs_token_requests_total", "counter", "Requests to a token endpoint.");
  for (const auto& t : r.tokens) {
    x.sample("metadatafs_token_requests_total", label("token", t.name),
             static_cast<double>(t.requests));
  }
  x.family("metadatafs_token_failures_total", "counter", "Failed token requests.");
  for (const auto& t : r.tokens) {
    x.sample("metadatafs_token_failures_total", label("token", t.name),
             static_cast<double>(t.health.failures));
  }
}

void summary(Exposition& x, const Report& r, WallTime started) {
  x.family("metadatafs_healthy", "gauge",
           "1 when every endpoint is fresh or absent, no token request fails and the "
           "service answers.");
  x.sample("metadatafs_healthy", "", r.healthy ? 1 : 0);
  x.family("metadatafs_service_up", "gauge", "1 while the metadata service answers.");
  x.sample("metadatafs_service_up", "", r.service_answering ? 1 : 0);
  x.family("metadatafs_service_outages_total", "counter", "Times the service stopped answering.");
  x.sample("metadatafs_service_outages_total", "", static_cast<double>(r.outages));
  if (r.last_success) {
    x.family("metadatafs_last_success_timestamp_seconds", "gauge",
             "The most recent successful fetch (Unix time).");
    x.sample("metadatafs_last_success_timestamp_seconds", "", seconds(*r.last_success));
  }
  x.family("metadatafs_start_time_seconds", "gauge", "When the daemon started (Unix time).");
  x.sample("metadatafs_start_time_seconds", "", seconds(started));
  x.family("metadatafs_build_info", "gauge", "The version, as a label.");
  x.sample("metadatafs_build_info", label("version", MDFS_VERSION), 1);
}

}  // namespace

std::string escapeLabel(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

MetricsFile::MetricsFile(Sources sources, const Clock& clock)
    : sources_(sources), clock_(clock), started_wall_(clock.wall()) {}

mount::DynamicFile MetricsFile::file() const {
  return liveReport(
      ".metrics", [this] { return render(); }, clock_);
}

std::string MetricsFile::render() const {
  const Report r = observe(sources_);
  Exposition x;
  summary(x, r, started_wall_);
  endpointCounters(x, r);
  latency(x, r.latency);
  tokens(x, r);
  return x.take();
}

}  // namespace mdfs::files
