#include "files/health_report.h"

#include <algorithm>
#include <ctime>
#include <utility>

namespace mdfs::files {

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

mount::DynamicFile liveReport(std::string path, std::function<std::string()> render,
                              const Clock& clock) {
  mount::DynamicFile f;
  f.path = std::move(path);
  f.perm = 0444;
  f.hidden = true;
  f.produce = [render = std::move(render), &clock](Deadline) -> Result<mount::DynamicContent> {
    mount::DynamicContent c;
    c.bytes = render();
    c.mtime_ns = nanosSinceEpoch(clock.wall());
    c.valid_for = Millis(1000);
    return c;
  };
  return f;
}

Report observe(const Sources& sources) {
  Report r;
  r.endpoints = sources.cache.status();
  for (std::size_t i = 0; i < r.endpoints.size(); ++i) {
    r.ttls.push_back(r.endpoints[i].ttl);
    const auto& e = r.endpoints[i];
    if (e.failing) r.healthy = false;
    if (e.last_fetch && (!r.last_success || *e.last_fetch > *r.last_success)) {
      r.last_success = e.last_fetch;
    }
  }
  r.latency = sources.cache.latency();
  if (sources.identity != nullptr) {
    r.tokens.push_back(
        {sources.identity_name, sources.identity->health(), sources.identity->requestCount()});
  }
  if (sources.iam != nullptr) {
    r.tokens.push_back({"iam_token", sources.iam->health(), sources.iam->requestCount()});
  }
  for (const auto& t : r.tokens) {
    if (t.health.failing) r.healthy = false;
  }
  if (sources.service != nullptr) {
    r.service_down_since = sources.service->downSince();
    r.service_answering = !r.service_down_since.has_value();
    r.outages = sources.service->outages();
    if (!r.service_answering) r.healthy = false;
  }
  return r;
}

}  // namespace mdfs::files
